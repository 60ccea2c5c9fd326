import CDatelineZlib
import DatelineProtocol
import DatelineSearch
import DatelineStorage
import Foundation
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes the files of an `IndexBackupRequest` stream into a backup's `index/` directory, checking that each
/// arrives whole, in order, with the CRC-32 the service computed.
final class IndexCopyWriter {
    let directory: String
    private(set) var copy: BackupManifest.IndexCopy
    private var announced: Int?
    private var current: (name: String, descriptor: Int32, size: UInt64, written: UInt64, crc: uLong)?

    init(directory: String, address: String) throws(BackupError) {
        self.directory = directory
        self.copy = .init(address: address, appliedOffset: 0, lastArticleID: "", files: [])
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BackupError(.io, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    func add(_ chunk: IndexBackupChunk) throws(BackupError) {
        if self.announced == nil {
            guard chunk.files > 0 else { throw BackupError(.sourceInconsistent, "dateline-query's index copy announced no files") }
            self.announced = Int(chunk.files)
            self.copy.appliedOffset = chunk.appliedOffset
            self.copy.lastArticleID = chunk.lastArticleID
        }
        if self.current == nil {
            guard chunk.position == 0, !chunk.file.isEmpty, !chunk.file.contains("/"), !chunk.file.hasPrefix("."),
                !self.copy.files.contains(where: { $0.name == chunk.file })
            else {
                throw BackupError(.sourceInconsistent, "dateline-query sent index file '\(chunk.file)' at position \(chunk.position), which is not the start of a new file")
            }
            let path = self.directory + "/" + chunk.file
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw BackupError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
            self.current = (chunk.file, descriptor, chunk.fileSize, 0, crc32(0, nil, 0))
        }
        guard var file = self.current, chunk.file == file.name, chunk.position == file.written, chunk.fileSize == file.size,
            file.written + UInt64(chunk.data.count) <= file.size
        else {
            throw BackupError(.sourceInconsistent, "dateline-query sent index file '\(chunk.file)' out of order (at \(chunk.position))")
        }
        try BackupFiles.writeAll(chunk.data, to: file.descriptor, name: "\(self.directory)/\(file.name)")
        file.crc = chunk.data.withUnsafeBufferPointer { crc32(file.crc, $0.baseAddress, uInt($0.count)) }
        file.written += UInt64(chunk.data.count)
        self.current = file
        guard file.written == file.size else { return }
        defer {
            close(file.descriptor)
            self.current = nil
        }
        guard UInt32(file.crc) == chunk.fileCRC32 else {
            throw BackupError(.sourceInconsistent, "the index file \(file.name) arrived with another checksum than dateline-query computed")
        }
        guard fsync(file.descriptor) == 0 else { throw BackupError(.io, "cannot sync \(self.directory)/\(file.name)") }
        self.copy.files.append(.init(name: file.name, size: Int(file.size), crc32: chunk.fileCRC32))
    }

    /// Closes the file being written, if any (the copy will not be finished).
    func abandon() {
        if let file = self.current { close(file.descriptor) }
        self.current = nil
    }

    func finish() throws(BackupError) {
        guard self.current == nil, let announced = self.announced, self.copy.files.count == announced, self.copy.files.last?.name == "manifest" else {
            throw BackupError(.sourceInconsistent, "dateline-query's index copy ended after \(self.copy.files.count) of \(self.announced ?? 0) files")
        }
        try BackupFiles.syncDirectory(self.directory)
    }
}

/// Puts a backup's copy of the query index into an empty index directory, so that `dateline-query` starts from
/// it and replays only the log after it, instead of rebuilding from offset 0.
public enum IndexRestore {
    /// What ``install(_:into:logger:)`` did.
    public enum Outcome: Sendable, Equatable {
        /// The index was installed; it holds offsets below `appliedOffset`.
        case installed(appliedOffset: UInt64)
        /// The backup holds no index: dateline-query builds one from the log.
        case noIndexInBackup
        /// The directory already holds an index, which is kept.
        case indexPresent
        /// The backup's index cannot be checked against the log it will follow (it records no last article, as
        /// an index committed by a build before that was recorded): dateline-query builds one from the log.
        case indexUnusable(reason: String)
    }

    /// The manifest key naming the backup an index was restored from.
    public static let restoredFromKey = "restoredFrom"

    /// Checks every file of the backup's index (size, CRC-32), copies them into `directory` (fsynced), then writes
    /// the manifest last. The manifest keeps the applied offset and the last article's id but not the source's log
    /// epoch: the restored log has an epoch of its own, and the index adopts it once the record at
    /// `appliedOffset - 1` turns out to be the article it holds there (else it rebuilds from the log).
    public static func install(_ backup: BackupReader, into directory: String, logger: Logger) throws(BackupError) -> Outcome {
        guard let index = backup.manifest.index else { return .noIndexInBackup }
        guard index.appliedOffset == 0 || !index.lastArticleID.isEmpty else {
            return .indexUnusable(reason: "the backup's index records no last article, so the log it follows cannot be checked")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BackupError(.io, "cannot create the index directory \(directory): \(error.localizedDescription)")
        }
        // The directory's lock, as dateline-query takes it: no running service has its index changed under it.
        let lock: DirectoryLock
        do {
            lock = try DirectoryLock(directory: directory)
        } catch {
            throw BackupError(.io, "cannot restore into \(directory): \(error.message)")
        }
        defer { lock.release() }
        if FileManager.default.fileExists(atPath: directory + "/" + IndexManifest.fileName) { return .indexPresent }
        let source = backup.directory + "/index"
        try Self.copyFiles(of: index, from: source, into: directory)
        let read: IndexManifest?
        do {
            read = try IndexManifest.read(directory: source)
        } catch {
            throw BackupError(.damaged, "the backup's index manifest cannot be read: \(error.message)")
        }
        guard var manifest = read else { throw BackupError(.damaged, "the backup's index has no manifest") }
        guard manifest.data["lastArticleID"] ?? "" == index.lastArticleID else {
            throw BackupError(.damaged, "the backup's index manifest does not match the backup's manifest")
        }
        manifest.data["epoch"] = nil
        manifest.data[Self.restoredFromKey] = backup.directory
        do {
            try manifest.write(directory: directory)
        } catch {
            throw BackupError(.io, "cannot write the restored index's manifest in \(directory): \(error.message)")
        }
        logger.notice("restored the index from a backup", metadata: [
            "dateline.backup": "\(backup.directory)", "dateline.offset": "\(index.appliedOffset)", "dateline.files": "\(index.files.count)",
        ])
        return .installed(appliedOffset: index.appliedOffset)
    }

    /// Copies every file of `index` but its manifest from `source` into `directory`, each checked as it is
    /// copied (size and CRC-32 of the bytes written); the manifest is checked the same way but not kept. On a
    /// mismatch everything copied is removed.
    private static func copyFiles(of index: BackupManifest.IndexCopy, from source: String, into directory: String) throws(BackupError) {
        var copied: [String] = []
        do throws(BackupError) {
            for file in index.files {
                let target = directory + "/" + file.name + (file.name == IndexManifest.fileName ? ".restoring" : "")
                copied.append(target)
                let (size, crc) = try BackupFiles.copy(from: source + "/" + file.name, to: target)
                guard size == file.size, crc == file.crc32 else {
                    throw BackupError(.damaged, "the backup's index file \(file.name) fails its size or checksum: it was damaged after it was written")
                }
            }
            try BackupFiles.syncDirectory(directory)
        } catch {
            for path in copied { unlink(path) }
            throw error
        }
        unlink(directory + "/" + IndexManifest.fileName + ".restoring")
    }
}
