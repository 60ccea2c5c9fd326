import DatelineProtocol
import Synchronization

/// The outcome of one append in flight, awaited by the requests that meet its reservations.
final class AppendOutcome: Sendable {
    enum Result: Sendable, Equatable {
        /// The append is durable: the article is stored.
        case committed
        /// The append failed: nothing of it is stored.
        case failed
        /// The waiter's deadline came first.
        case timedOut
    }

    private struct State {
        var committed: Bool?
        var waiters: [UInt64: CheckedContinuation<Result, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Settles the outcome and wakes every waiter.
    func resolve(committed: Bool) {
        let waiters = self.state.withLock { state in
            state.committed = committed
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: committed ? .committed : .failed) }
    }

    /// Waits for the outcome, or until `deadline`.
    func wait(until deadline: ContinuousClock.Instant) async -> Result {
        let id: UInt64? = self.state.withLock { state in
            guard state.committed == nil else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return self.state.withLock { $0.committed! } ? .committed : .failed }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: .timedOut)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let settled: Bool? = self.state.withLock { state in
                if let committed = state.committed { return committed }
                state.waiters[id] = continuation
                return nil
            }
            if let settled { continuation.resume(returning: settled ? .committed : .failed) }
        }
    }
}

/// Deduplication keys (external id, content key) → the article holding them.
///
/// Keys are reserved before an append so that concurrent batches cannot both store an article; a key whose
/// append is still in flight names that append's ``AppendOutcome``. A request meeting such a key waits for the
/// outcome: `duplicate` only once the original is durable, and the article is stored afresh if it failed.
struct DeduplicationIndex {
    struct Entry {
        var articleID: String
        /// The append that will store the article, while it is in flight; nil once it is durable.
        var inFlight: AppendOutcome?
    }

    enum Decision {
        /// Already durable, as this article id.
        case duplicate(of: String)
        /// Being stored by another append: wait for it.
        case wait(AppendOutcome, articleID: String)
        /// Reserved for this append (the id may have been changed to avoid a fingerprint collision).
        case reserved(StoredArticle)
    }

    private(set) var byExternalID: [String: Entry] = [:]
    private(set) var byContent: [String: Entry] = [:]
    private(set) var ids: Set<String> = []

    /// Adds an article read back from the log (durable).
    mutating func insertStored(_ article: StoredArticle) {
        let entry = Entry(articleID: article.id, inFlight: nil)
        if let externalID = article.externalID { self.byExternalID[externalID] = entry }
        self.byContent[article.contentKey] = entry
        self.ids.insert(article.id)
    }

    /// Decides what to do with `article`, reserving its keys for `outcome` when it is new.
    mutating func decide(_ article: StoredArticle, outcome: AppendOutcome) -> Decision {
        if let existing = article.externalID.flatMap({ self.byExternalID[$0] }) ?? self.byContent[article.contentKey] {
            if let inFlight = existing.inFlight { return .wait(inFlight, articleID: existing.articleID) }
            return .duplicate(of: existing.articleID)
        }
        var article = article
        if self.ids.contains(article.id) { article.id += "-\(self.ids.count)" }  // a 64-bit fingerprint collision
        let entry = Entry(articleID: article.id, inFlight: outcome)
        self.ids.insert(article.id)
        if let externalID = article.externalID { self.byExternalID[externalID] = entry }
        self.byContent[article.contentKey] = entry
        return .reserved(article)
    }

    /// The append of `articles` is durable: their keys now say so.
    mutating func commit(_ articles: [StoredArticle], outcome: AppendOutcome) {
        for article in articles {
            if let externalID = article.externalID, self.byExternalID[externalID]?.inFlight === outcome { self.byExternalID[externalID]?.inFlight = nil }
            if self.byContent[article.contentKey]?.inFlight === outcome { self.byContent[article.contentKey]?.inFlight = nil }
        }
    }

    /// The append of `articles` failed: release their keys so that a retry (or a waiter) can store them.
    mutating func release(_ articles: [StoredArticle], outcome: AppendOutcome) {
        for article in articles {
            self.ids.remove(article.id)
            if let externalID = article.externalID, self.byExternalID[externalID]?.inFlight === outcome { self.byExternalID[externalID] = nil }
            if self.byContent[article.contentKey]?.inFlight === outcome { self.byContent[article.contentKey] = nil }
        }
    }
}
