#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin, throwing wrapper over a POSIX file descriptor: the few calls the log needs, with errors that
/// name the file.
package struct FileDescriptor: ~Copyable {
    package let raw: Int32
    package let path: String

    package enum Mode {
        case readOnly
        /// Read and write, created if missing.
        case readWrite
    }

    package init(path: String, mode: Mode) throws(DatelineStorageError) {
        let flags: Int32 = switch mode {
        case .readOnly: O_RDONLY | O_CLOEXEC
        case .readWrite: O_RDWR | O_CREAT | O_CLOEXEC
        }
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw .io("cannot open \(path)", errno: errno) }
        self.raw = fd
        self.path = path
    }

    deinit { close(self.raw) }

    package func size() throws(DatelineStorageError) -> Int {
        var info = stat()
        guard fstat(self.raw, &info) == 0 else { throw .io("cannot stat \(self.path)", errno: errno) }
        return Int(info.st_size)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    package func read(at offset: Int, count: Int) throws(DatelineStorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { pointer in
                pread(self.raw, pointer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .io("cannot read \(self.path)", errno: errno)
            }
            if result == 0 { break }
            done += result
        }
        if done < count { bytes.removeLast(count - done) }
        return bytes
    }

    /// Writes all of `bytes` at `offset`.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(DatelineStorageError) {
        var done = 0
        while done < bytes.count {
            let result = pwrite(self.raw, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write \(self.path)", errno: errno)
            }
            done += result
        }
    }

    /// Writes all of `bytes` at `offset`.
    package func write(_ bytes: [UInt8], at offset: Int) throws(DatelineStorageError) {
        var failure: DatelineStorageError?
        bytes.withUnsafeBytes { pointer in
            do throws(DatelineStorageError) { try self.write(pointer, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package func sync() throws(DatelineStorageError) {
        guard fsync(self.raw) == 0 else { throw .io("cannot fsync \(self.path)", errno: errno) }
    }

    package func truncate(to size: Int) throws(DatelineStorageError) {
        guard ftruncate(self.raw, off_t(size)) == 0 else { throw .io("cannot truncate \(self.path)", errno: errno) }
    }

    /// fsyncs a directory, so that files created or renamed in it survive a power loss.
    package static func syncDirectory(_ path: String) throws(DatelineStorageError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open directory \(path)", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io("cannot fsync directory \(path)", errno: errno) }
    }
}


/// Small files replaced atomically: the log's identity file here, the query service's snapshot.
package enum AtomicFile {
    /// Replaces `path` with `bytes` so that a crash at any moment leaves either the old or the new contents:
    /// write a temporary file beside it, fsync it, `rename(2)` it over `path`, fsync the directory.
    /// - Throws: ``DatelineStorageError`` (``DatelineStorageError/Code/noSpace`` on a full disk); the temporary
    ///   file is removed on failure.
    package static func write(_ bytes: [UInt8], to path: String) throws(DatelineStorageError) {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let temporary = path + self.temporarySuffix + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        do throws(DatelineStorageError) {
            let descriptor = try FileDescriptor(path: temporary, mode: .readWrite)
            try descriptor.truncate(to: 0)
            try descriptor.write(bytes, at: 0)
            try descriptor.sync()
            guard rename(temporary, path) == 0 else { throw DatelineStorageError.io("cannot rename \(temporary) to \(path)", errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        try FileDescriptor.syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Reads a whole file, or nil when it does not exist.
    package static func read(_ path: String) throws(DatelineStorageError) -> [UInt8]? {
        guard access(path, F_OK) == 0 else { return nil }
        let descriptor = try FileDescriptor(path: path, mode: .readOnly)
        return try descriptor.read(at: 0, count: descriptor.size())
    }

    /// The suffix of temporaries (`NAME.tmp-XXXX`); ``removeTemporaries(of:)`` deletes leftovers of a crash.
    package static let temporarySuffix = ".tmp-"

    /// Deletes temporaries that a crash left beside `path`, returning how many.
    @discardableResult
    package static func removeTemporaries(of path: String) -> Int {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let directory = parts.dropLast().joined(separator: "/")
        let prefix = String(parts.last ?? "") + self.temporarySuffix
        guard let handle = opendir(directory.isEmpty ? "." : directory) else { return 0 }
        defer { closedir(handle) }
        var removed = 0
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix), unlink((directory.isEmpty ? "." : directory) + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }
}
