#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a reader-writer lock: any number of readers at once, or one writer.
///
/// Searches read the index in parallel; applying a batch from the ingest log writes. A waiting writer goes before
/// readers that arrive after it (glibc's default lets new readers in ahead of it, so a steady stream of overlapping
/// searches could hold the follower off for ever). The price: a reader must never read again inside `read`, which
/// would wait behind a waiting writer that waits for it.
final class ReadWriteLocked<Value: ~Copyable>: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private var value: Value

    init(_ value: consuming Value) {
        self.value = value
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(self.lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(self.lock)
        self.lock.deallocate()
    }

    /// Runs `body` with shared access (other readers may run at the same time).
    func read<Result>(_ body: (borrowing Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_rdlock(self.lock)
        defer { pthread_rwlock_unlock(self.lock) }
        return try body(self.value)
    }

    /// Runs `body` with shared access if no writer holds the lock or waits for it; nil otherwise.
    func readIfFree<Result>(_ body: (borrowing Value) throws -> Result) rethrows -> Result? {
        guard pthread_rwlock_tryrdlock(self.lock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(self.lock) }
        return try body(self.value)
    }

    /// Runs `body` with exclusive access.
    func write<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(self.lock)
        defer { pthread_rwlock_unlock(self.lock) }
        return try body(&self.value)
    }
}
