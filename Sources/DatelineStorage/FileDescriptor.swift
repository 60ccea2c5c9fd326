#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin, throwing wrapper over a POSIX file descriptor: the few calls the log needs, with errors that
/// name the file.
struct FileDescriptor: ~Copyable {
    let raw: Int32
    let path: String

    enum Mode {
        case readOnly
        /// Read and write, created if missing.
        case readWrite
    }

    init(path: String, mode: Mode) throws(DatelineStorageError) {
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

    func size() throws(DatelineStorageError) -> Int {
        var info = stat()
        guard fstat(self.raw, &info) == 0 else { throw .io("cannot stat \(self.path)", errno: errno) }
        return Int(info.st_size)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws(DatelineStorageError) -> [UInt8] {
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
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(DatelineStorageError) {
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

    func sync() throws(DatelineStorageError) {
        guard fsync(self.raw) == 0 else { throw .io("cannot fsync \(self.path)", errno: errno) }
    }

    func truncate(to size: Int) throws(DatelineStorageError) {
        guard ftruncate(self.raw, off_t(size)) == 0 else { throw .io("cannot truncate \(self.path)", errno: errno) }
    }

    /// fsyncs a directory, so that files created or renamed in it survive a power loss.
    static func syncDirectory(_ path: String) throws(DatelineStorageError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open directory \(path)", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io("cannot fsync directory \(path)", errno: errno) }
    }
}

func describeErrno(_ code: Int32) -> String {
    String(cString: strerror(code))
}
