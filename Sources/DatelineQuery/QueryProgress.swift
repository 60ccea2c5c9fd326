import Synchronization

/// How far the query service has got and whether it follows the log, published apart from the index.
///
/// Health, read-your-writes waits (`minimumOffset`) and entity-index readiness read this instead of taking the
/// index's lock, so none of them waits behind a write and none runs a lock on the event loop; waiters are woken
/// when a change satisfies them, instead of polling.
final class QueryProgress: Sendable {
    struct Snapshot: Sendable, Equatable {
        var appliedOffset: UInt64 = 0
        var ingestEndOffset: UInt64 = 0
        var following = false
        /// Whether the index reached the ingest log's end since it started or was rebuilt.
        var caughtUp = false
        var condition: String?
        var epoch: String?
        var articleCount = 0
        /// How far the background check of the opened segments' checksums has got (nil without an index on disk).
        var indexCheck: IndexCheck?
        /// Bytes of articles (as stored) applied but not yet committed (held in memory by the buffers).
        var uncommittedBytes = 0
        /// Whether the last commit failed.
        var commitFailing = false
    }

    /// The background check of the segments' checksums after a start, as health reports it.
    enum IndexCheck: Sendable, Equatable, CustomStringConvertible {
        case checking(segments: Int)
        case verified
        /// Damage found (the rebuild from the log has begun).
        case damaged(file: String)

        var description: String {
            switch self {
            case .checking(let segments): "checking \(segments) segments"
            case .verified: "verified"
            case .damaged(let file): "damaged: \(file)"
            }
        }
    }

    private struct Waiter {
        let isSatisfied: @Sendable (Snapshot) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var snapshot = Snapshot()
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The latest published state.
    var current: Snapshot { self.state.withLock { $0.snapshot } }

    /// Changes the published state and wakes the waiters it satisfies.
    func publish(_ change: (inout Snapshot) -> Void) {
        let ready: [CheckedContinuation<Bool, Never>] = self.state.withLock { state in
            change(&state.snapshot)
            let satisfied = state.waiters.filter { $0.value.isSatisfied(state.snapshot) }
            for id in satisfied.keys { state.waiters[id] = nil }
            return satisfied.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Waits until `isSatisfied` holds; false when `deadline` passes first or the task is cancelled.
    func wait(until deadline: ContinuousClock.Instant, for isSatisfied: @escaping @Sendable (Snapshot) -> Bool) async -> Bool {
        let id: UInt64? = self.state.withLock { state in
            guard !isSatisfied(state.snapshot) else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return true }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now: Bool? = self.state.withLock { state in
                    if isSatisfied(state.snapshot) { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = Waiter(isSatisfied: isSatisfied, continuation: continuation)
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: false)
        }
    }
}
