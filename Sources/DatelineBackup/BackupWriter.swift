import CDatelineZlib
public import DatelineProtocol
public import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a backup directory from log records handed to it in offset order (as a Subscribe stream delivers
/// them): consecutive records are gathered into chunks of about ``chunkBytes``, each written and fsynced as a
/// zlib-compressed `LogBatch`; ``finish(source:createdBy:)`` writes the manifest last, atomically.
public final class BackupWriter {
    /// The directory being written.
    public let directory: String
    /// Raw (encoded, uncompressed) bytes gathered before a chunk is written.
    public let chunkBytes: Int

    private var pending: [(offset: UInt64, storedArticle: [UInt8])] = []
    private var pendingBytes = 0
    private var chunks: [BackupManifest.Chunk] = []
    /// The offset the next record must have.
    public private(set) var nextOffset: UInt64 = 0
    /// The query index copied into `index/`, once ``addIndex(_:)`` has been given all of it.
    private var index: IndexCopyWriter?

    /// Prepares `directory`, which must not exist or be empty.
    public init(directory: String, chunkBytes: Int = 4 << 20) throws(BackupError) {
        self.directory = directory
        self.chunkBytes = max(1, chunkBytes)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BackupError(.directoryNotEmpty, "\(directory) exists and is not a directory") }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
            guard contents.isEmpty else {
                throw BackupError(.directoryNotEmpty, "the backup directory \(directory) is not empty: give a new or empty directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw BackupError(.io, "cannot create the backup directory \(directory): \(error.localizedDescription)")
            }
        }
    }

    /// Adds the next records; each must carry the offset after the previous one's (the first, 0).
    public func add(_ entries: [LogEntry]) throws(BackupError) {
        let encoder = DatelineBinaryEncoder()
        for entry in entries {
            guard entry.offset == self.nextOffset else {
                throw BackupError(.sourceInconsistent, "the log sent offset \(entry.offset) where \(self.nextOffset) was expected")
            }
            let bytes: [UInt8]
            do {
                bytes = Array(try encoder.encode(entry.article).readableBytesView)
            } catch {
                throw BackupError(.sourceInconsistent, "the article at offset \(entry.offset) cannot be encoded: \(error)")
            }
            self.pending.append((entry.offset, bytes))
            self.pendingBytes += bytes.count + 16
            self.nextOffset += 1
            if self.pendingBytes >= self.chunkBytes { try self.writeChunk() }
        }
    }

    /// Writes what is gathered, then the manifest (temporary file, fsync, rename, directory fsync): from then on
    /// the directory is a backup of offsets `0 ..< nextOffset`.
    public func finish(source: BackupManifest.Source, createdBy: String, createdAt: Date = Date()) throws(BackupError) -> BackupManifest {
        try self.writeChunk()
        let manifest = BackupManifest(
            createdAt: createdAt, createdBy: createdBy, source: source, endOffset: self.nextOffset, chunks: self.chunks, index: self.index?.copy
        )
        try manifest.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do {
            data = try encoder.encode(manifest)
        } catch {
            throw BackupError(.io, "cannot encode the manifest: \(error)")
        }
        let temporary = BackupManifest.fileName + ".tmp"
        try BackupFiles.write(Array(data), to: self.directory + "/" + temporary)
        guard rename(self.directory + "/" + temporary, self.directory + "/" + BackupManifest.fileName) == 0 else {
            throw BackupError(.io, "cannot put the manifest in place in \(self.directory): \(String(cString: strerror(errno)))")
        }
        try BackupFiles.syncDirectory(self.directory)
        return manifest
    }

    /// Writes one chunk of the query index's commit point (an `IndexBackupRequest` stream's elements, in order)
    /// into `index/`; call before the log's records, so that the index holds no record the backup lacks.
    public func addIndex(_ chunk: IndexBackupChunk, from address: String) throws(BackupError) {
        if self.index == nil { self.index = try IndexCopyWriter(directory: self.directory + "/index", address: address) }
        try self.index!.add(chunk)
    }

    /// One past the last log offset the copied index holds (nil without one): the log's copy must reach it.
    public var indexAppliedOffset: UInt64? { self.index?.copy.appliedOffset }

    /// Checks that the index copy received every file its stream announced.
    public func finishIndex() throws(BackupError) {
        guard let index = self.index else { throw BackupError(.sourceInconsistent, "dateline-query sent no file of its index") }
        try index.finish()
    }

    /// Removes the chunk files written so far (a backup that will not be finished), leaving the directory as
    /// it was given: empty.
    public func abandon() {
        self.index?.abandon()
        for chunk in self.chunks { try? FileManager.default.removeItem(atPath: self.directory + "/" + chunk.file) }
        try? FileManager.default.removeItem(atPath: self.directory + "/" + BackupManifest.fileName + ".tmp")
        try? FileManager.default.removeItem(atPath: self.directory + "/index")
        self.chunks.removeAll()
        self.pending.removeAll()
    }

    private func writeChunk() throws(BackupError) {
        guard let first = self.pending.first else { return }
        let batch = LogBatch.encode(records: self.pending, endOffset: self.nextOffset, epoch: "")
        let raw = Array(batch.readableBytesView)
        let stored = try BackupFiles.deflate(raw)
        let name = BackupFiles.chunkName(first.offset)
        try BackupFiles.write(stored, to: self.directory + "/" + name)
        self.chunks.append(.init(file: name, firstOffset: first.offset, records: self.pending.count, storedBytes: stored.count, rawBytes: raw.count, crc32: BackupFiles.crc32(stored)))
        self.pending.removeAll(keepingCapacity: true)
        self.pendingBytes = 0
        if self.chunks.count == 1 { try BackupFiles.syncDirectory(self.directory) }
    }
}

/// File and zlib helpers for backups.
enum BackupFiles {
    static func chunkName(_ offset: UInt64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".chunk"
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(CDatelineZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    static func deflate(_ input: [UInt8]) throws(BackupError) -> [UInt8] {
        var capacity = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in compress2(out.baseAddress, &capacity, source.baseAddress, uLong(input.count), 6) }
        }
        guard status == Z_OK else { throw BackupError(.io, "zlib could not compress a chunk (status \(status))") }
        output.removeSubrange(Int(capacity)...)
        return output
    }

    static func inflate(_ input: [UInt8], size: Int, name: String) throws(BackupError) -> [UInt8] {
        var length = uLong(size)
        var output = [UInt8](repeating: 0, count: max(1, size))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in uncompress(out.baseAddress, &length, source.baseAddress, uLong(input.count)) }
        }
        guard status == Z_OK, Int(length) == size else {
            throw BackupError(.damaged, "the chunk \(name) does not inflate to the \(size) bytes the manifest gives (zlib status \(status))")
        }
        return Array(output.prefix(size))
    }

    /// Writes `bytes` to a new file and fsyncs it.
    static func write(_ bytes: [UInt8], to path: String) throws(BackupError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BackupError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        do throws(BackupError) {
            try Self.writeAll(bytes, to: descriptor, name: path)
            guard fsync(descriptor) == 0 else { throw BackupError(.io, "cannot sync \(path): \(String(cString: strerror(errno)))") }
        } catch {
            unlink(path)  // a file half written (a full disk) is no part of anything
            throw error
        }
    }

    /// Copies the file at `source` to a new file at `target` in pieces of 1 MiB, fsyncs it, and returns the size
    /// and CRC-32 of what was written.
    static func copy(from source: String, to target: String) throws(BackupError) -> (size: Int, crc32: UInt32) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BackupError(.damaged, "cannot read \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw BackupError(.io, "cannot create \(target): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size = 0
        var crc = CDatelineZlib.crc32(0, nil, 0)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw BackupError(.damaged, "cannot read \(source): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            let piece = Array(buffer[0..<count])
            try Self.writeAll(piece, to: output, name: target)
            crc = piece.withUnsafeBufferPointer { CDatelineZlib.crc32(crc, $0.baseAddress, uInt(count)) }
            size += count
        }
        guard fsync(output) == 0 else { throw BackupError(.io, "cannot sync \(target): \(String(cString: strerror(errno)))") }
        return (size, UInt32(crc))
    }

    /// Writes all of `bytes` at the descriptor's position (`name` is for the error).
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, name: String) throws(BackupError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                throw BackupError(.io, "cannot write \(name): \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }

    static func syncDirectory(_ path: String) throws(BackupError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BackupError(.io, "cannot open the directory \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw BackupError(.io, "cannot sync the directory \(path): \(String(cString: strerror(errno)))") }
    }
}
