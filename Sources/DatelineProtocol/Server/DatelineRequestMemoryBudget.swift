public import NIOCore
import Synchronization

/// The bytes of requests one server holds at once, over all its connections: frames being received (from the
/// moment their header announces their size), requests being handled (until their handler returns) and replies
/// written but not yet on the socket.
///
/// Each connection's own limits bound what one peer can make the server hold (a frame, the requests in flight),
/// but not what many can together. A frame whose size does not fit in what is left waits: its connection stops
/// reading (TCP pushes back on the peer) until requests finish and free room, then goes on where it stopped.
/// Nothing is refused, so a well-behaved client only sees its request take longer; a server under attack holds
/// at most ``capacity`` bytes of requests (and an eighth more, in small frames: see ``smallFrameBytes``).
///
/// Reserving and releasing are lock-free; only a connection that has to wait takes the lock.
public final class DatelineRequestMemoryBudget: Sendable {
    /// A registered wait, to cancel when the connection closes first.
    public struct WaitToken: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private struct Waiter {
        /// What its frame needs.
        let bytes: Int
        let eventLoop: any EventLoop
        let resume: @Sendable () -> Void
    }

    private struct Waiters {
        var nextID: UInt64 = 0
        var entries: [UInt64: Waiter] = [:]
    }

    /// The most bytes held at once.
    public let capacity: Int
    private let used = Atomic<Int>(0)
    private let waiterCount = Atomic<Int>(0)
    private let waiters = Mutex(Waiters())

    /// Frames of at most this size may go an eighth past ``capacity``: replies waiting for slow readers can fill
    /// the budget, and they must not keep small requests (pings, searches, health checks) out as they keep large
    /// ones.
    public static let smallFrameBytes = 64 << 10

    /// What a reservation of `bytes` may bring the total to.
    @inline(__always)
    private func limit(for bytes: Int) -> Int {
        bytes <= Self.smallFrameBytes ? self.capacity + self.capacity / 8 : self.capacity
    }

    /// Creates a budget of `capacity` bytes (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The bytes held now.
    public var bytesInUse: Int { self.used.load(ordering: .sequentiallyConsistent) }

    /// The connections waiting for room now.
    public var waitingConnections: Int { self.waiterCount.load(ordering: .sequentiallyConsistent) }

    /// Takes `bytes` if they fit in what is left (small frames in an eighth more). A request larger than what is
    /// left also goes through while no more than an eighth of the budget is held: a budget smaller than two of the
    /// largest frames, or one that a subscription holds a little of for days, slows such a request down instead of
    /// blocking it for ever.
    public func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = self.used.load(ordering: .sequentiallyConsistent)
        while true {
            guard self.fits(bytes, with: current) else { return false }
            let (exchanged, original) = self.used.weakCompareExchange(
                expected: current, desired: current + bytes, successOrdering: .sequentiallyConsistent, failureOrdering: .sequentiallyConsistent
            )
            if exchanged { return true }
            current = original
        }
    }

    /// Counts `bytes` that are held already, fit or not (a reply written and not yet on the socket): reservations
    /// wait for them as for any other. Give them back with ``release(_:)``.
    public func hold(_ bytes: Int) {
        guard bytes > 0 else { return }
        self.used.add(bytes, ordering: .sequentiallyConsistent)
    }

    /// Gives `bytes` back and wakes the connections waiting for room whose frames now fit (the others wait for a
    /// later release: waking every waiter at every release would cost each release all of them, under the very
    /// load that makes connections wait).
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        self.used.subtract(bytes, ordering: .sequentiallyConsistent)
        guard self.waiterCount.load(ordering: .sequentiallyConsistent) > 0 else { return }
        let woken: [Waiter] = self.waiters.withLock { waiters in
            let current = self.used.load(ordering: .sequentiallyConsistent)
            var woken: [Waiter] = []
            for (id, waiter) in waiters.entries where self.fits(waiter.bytes, with: current) {
                woken.append(waiter)
                waiters.entries.removeValue(forKey: id)
            }
            self.waiterCount.store(waiters.entries.count, ordering: .sequentiallyConsistent)
            return woken
        }
        for waiter in woken { waiter.eventLoop.execute(waiter.resume) }
    }

    /// Whether a reservation of `bytes` may be made while `current` bytes are held.
    @inline(__always)
    private func fits(_ bytes: Int, with current: Int) -> Bool {
        current + bytes <= self.limit(for: bytes) || current <= self.capacity / 8
    }

    /// Registers `resume` to be called on `eventLoop` at the first release after which `bytes` fit, unless they fit now: then it returns
    /// nil and the caller tries its reservation again at once. (Registering and checking under one lock, against a
    /// release that lowers the count before it looks for waiters, means no release between the caller's failed
    /// reservation and this call goes unseen.) A woken caller tries again, and waits again if it still does not fit.
    public func waitForRoom(for bytes: Int, on eventLoop: any EventLoop, _ resume: @escaping @Sendable () -> Void) -> WaitToken? {
        self.waiters.withLock { waiters in
            let id = waiters.nextID
            waiters.nextID += 1
            waiters.entries[id] = Waiter(bytes: bytes, eventLoop: eventLoop, resume: resume)
            self.waiterCount.store(waiters.entries.count, ordering: .sequentiallyConsistent)
            let current = self.used.load(ordering: .sequentiallyConsistent)
            guard !self.fits(bytes, with: current) else {
                waiters.entries.removeValue(forKey: id)
                self.waiterCount.store(waiters.entries.count, ordering: .sequentiallyConsistent)
                return nil
            }
            return WaitToken(id: id)
        }
    }

    /// Forgets a wait (its connection closed).
    public func cancelWait(_ token: WaitToken) {
        self.waiters.withLock { waiters in
            waiters.entries.removeValue(forKey: token.id)
            self.waiterCount.store(waiters.entries.count, ordering: .sequentiallyConsistent)
        }
    }
}

/// The streams (subscriptions, backups) one server runs at once, over all its connections.
///
/// A stream's handler builds its next element (a batch of the log: up to 4 MiB) whether or not the client reads the
/// last, so the number of streams bounds what streams can make the server hold.
package final class DatelineStreamLimit: Sendable {
    package let limit: Int
    private let running = Atomic<Int>(0)

    package init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Counts a new stream in; false (nothing counted) when `limit` run already.
    package func start() -> Bool {
        let now = self.running.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= self.limit else {
            self.running.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// A stream ended.
    package func end() {
        self.running.wrappingSubtract(1, ordering: .relaxed)
    }

    /// The streams running now.
    package var count: Int { self.running.load(ordering: .relaxed) }
}
