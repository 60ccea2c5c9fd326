package import DatelineStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on an index directory (`flock(2)` on its `lock` file), so that two processes never write
/// one index: a second service pointed at the same directory is refused at start. The kernel releases the
/// lock when the process dies, so a crash never leaves it held.
package final class DirectoryLock: Sendable {
    package static let fileName = "lock"
    private let descriptor = Mutex<Int32>(-1)

    /// Takes the lock on `directory` (created if missing).
    /// - Throws: ``DatelineStorageError`` with code `inUse` when another process holds it.
    package init(directory: String) throws(DatelineStorageError) {
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot open \(path)", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw DatelineStorageError(code: .inUse, message: "the index directory \(directory) is in use by another process (\(path) is locked)")
            }
            throw .io("cannot lock \(path)", errno: code)
        }
        self.descriptor.withLock { $0 = fd }
    }

    /// Releases the lock (also done when the lock is deallocated).
    package func release() {
        self.descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit { self.release() }
}
