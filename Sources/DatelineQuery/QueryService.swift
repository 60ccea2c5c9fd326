public import DatelineProtocol
import DatelineSearch
import Foundation
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

/// Follows the ingest log, indexes every article, and answers Search, GetArticle, QueryStats and Health.
///
/// Run it as a `Service` (it follows the log until shut down) next to a `DatelineServer` serving ``router``.
public final class QueryService: Service, Sendable {
    /// What filters, sorts and facets need of an article, kept compact so that a search does not copy articles.
    struct DocumentFacts {
        var publishedAt: Double?
        var source: String
        var language: String
        var tags: [String]

        init(_ article: StoredArticle) {
            self.publishedAt = article.publishedAt?.timeIntervalSince1970
            self.source = (article.source ?? "").lowercased()
            self.language = (article.language ?? "").lowercased()
            self.tags = (article.tags + article.categories).map { $0.lowercased() }
        }
    }

    private struct State: ~Copyable {
        var index: SearchIndex
        var articles: [StoredArticle] = []
        var facts: [DocumentFacts] = []
        var newestPublishedAt: Double?
        var offsets: [UInt64] = []
        var byID: [String: Int] = [:]
        /// External ids (as the publisher gave them) → position, so that `get` takes either.
        var byExternalID: [String: Int] = [:]
        /// One past the last log offset applied.
        var appliedOffset: UInt64 = 0
        var ingestEndOffset: UInt64 = 0
        var following = false
        /// The log epoch the applied offsets belong to; nil until the first batch tells (for an empty index).
        var epoch: String?
        /// Whether the index has reached the ingest log's end since it started or was rebuilt: until then health
        /// says catching-up, and look-ups of ids not held answer UNAVAILABLE rather than NOT_FOUND.
        var caughtUp = false
        /// Why the index is not following, or was rebuilt (for health), while it is so.
        var condition: String?
        /// Entities, topics and engagements from the extractor's output.
        var extraction = ExtractionIndex()
        /// Per article, its encoded extraction when the article was loaded from a snapshot without it (decoded
        /// when the article is asked for); nil otherwise.
        var extractionBytes: [[UInt8]?] = []
        /// True while the entity index of articles loaded from a snapshot is being built (searches are answered
        /// meanwhile; entity look-ups, timelines and entity filters wait for it).
        var extractionPending = false
        /// Bumped when everything is forgotten, so a warm-up finishing afterwards is discarded.
        var generation = 0
    }

    /// Query latencies (the last 4,096) and the query count, apart from the index so searches need not write it.
    private struct Latencies {
        var samples: [Double] = []
        var cursor = 0
        var queries: UInt64 = 0
    }

    public let configuration: QueryServiceConfiguration
    private let state: ReadWriteLocked<State>
    private let latencies = Mutex(Latencies())
    private let logger: Logger
    private let startedAt = ContinuousClock.now
    private let parser = SearchQueryParser()
    /// Offsets, following and readiness, published apart from the index (health and waits read it lock-free).
    private let progress = QueryProgress()

    /// Creates the service, loading its snapshot when there is a usable one (otherwise it will replay the log).
    public init(configuration: QueryServiceConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var state = State(index: SearchIndex(parameters: configuration.bm25))
        var warmUp: (articles: [StoredArticle], bytes: [[UInt8]?])?
        if let directory = configuration.snapshotDirectory {
            let path = directory + "/" + QuerySnapshot.fileName
            let removed = QuerySnapshot.removeTemporaries(directory: directory)
            if removed > 0 { logger.info("removed temporary files a crash left beside the snapshot", metadata: ["dateline.files": "\(removed)"]) }
            if let data = FileManager.default.contents(atPath: path) {
                do {
                    let contents = try QuerySnapshot.decode(Array(data), analyzer: Analyzer(), parameters: configuration.bm25)
                    state.index = contents.index
                    state.articles = contents.articles
                    state.facts = contents.articles.map(DocumentFacts.init)
                    state.newestPublishedAt = state.facts.compactMap(\.publishedAt).max()
                    state.offsets = contents.offsets
                    state.appliedOffset = contents.appliedOffset
                    state.ingestEndOffset = contents.appliedOffset
                    state.epoch = contents.epoch
                    state.extractionBytes = contents.extractionBytes
                    for (position, article) in contents.articles.enumerated() {
                        state.byID[article.id] = position
                        if let externalID = article.externalID { state.byExternalID[externalID] = position }
                    }
                    state.extractionPending = !contents.articles.isEmpty
                    warmUp = (contents.articles, contents.extractionBytes)
                    logger.info("loaded index snapshot", metadata: ["dateline.articles": "\(contents.articles.count)", "dateline.offset": "\(contents.appliedOffset)"])
                } catch {
                    logger.warning("index snapshot unusable; replaying the whole log", metadata: ["dateline.snapshot": "\(path)", "dateline.error": "\(error)"])
                }
            } else {
                logger.info("no index snapshot yet; replaying the whole log", metadata: ["dateline.snapshot": "\(path)"])
            }
        }
        let applied = state.appliedOffset
        let loaded = QueryProgress.Snapshot(
            appliedOffset: state.appliedOffset, ingestEndOffset: state.ingestEndOffset, epoch: state.epoch,
            entityIndexReady: !state.extractionPending, articleCount: state.articles.count
        )
        self.state = ReadWriteLocked(state)
        self.progress.publish { $0 = loaded }
        self.snapshotOffset = Mutex(SnapshotMark(offset: applied, epoch: loaded.epoch))
        if let warmUp {
            Thread.detachNewThread { [self] in self.buildExtractionIndex(articles: warmUp.articles, bytes: warmUp.bytes, generation: 0) }
        }
    }

    /// Builds the entity index of the articles loaded from a snapshot, decoding only their entities, topics and
    /// events, then installs it (with whatever was applied meanwhile).
    private func buildExtractionIndex(articles: [StoredArticle], bytes: [[UInt8]?], generation: Int) {
        let started = ContinuousClock.now
        var summaries = [ArticleExtraction?](repeating: nil, count: articles.count)
        let failures = Mutex(0)
        summaries.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                let decoder = DatelineBinaryDecoder()
                let range = part == 0 ? 0..<(articles.count / 2) : (articles.count / 2)..<articles.count
                for position in range {
                    guard let raw = bytes[position] else { continue }
                    do { slots[position] = try decoder.decode(QuerySnapshot.IndexedExtraction.self, from: raw).extraction } catch { failures.withLock { $0 += 1 } }
                }
            }
        }
        var index = ExtractionIndex()
        for (position, article) in articles.enumerated() {
            var summarized = article
            summarized.extraction = summaries[position]
            index.add(summarized, document: position)
        }
        let installed: Bool = self.state.write { state in
            guard state.generation == generation, state.extractionPending else { return false }
            for position in articles.count..<state.articles.count { index.add(state.articles[position], document: position) }
            state.extraction = index
            state.extractionPending = false
            self.publishProgress(state)
            return true
        }
        if installed {
            self.logger.info("entity index rebuilt from the snapshot", metadata: [
                "dateline.articles": "\(articles.count)", "dateline.seconds": "\((ContinuousClock.now - started).seconds)",
                "dateline.unreadable": "\(failures.withLock { $0 })",
            ])
        }
    }

    /// Whether entity look-ups, timelines and entity filters can be answered (false briefly after a restart).
    public var isEntityIndexReady: Bool { self.progress.current.entityIndexReady }

    /// Waits until the entity index covers every article (it is built in the background after a restart).
    func waitUntilExtractionReady(deadline: ContinuousClock.Instant) async throws {
        guard await self.progress.wait(until: deadline, for: { $0.entityIndexReady }) else {
            try Task.checkCancellation()
            throw DatelineError(code: .deadlineExceeded, message: "the entity index is still being rebuilt after a restart; try again shortly")
        }
    }

    /// Publishes what health and waiters read (called with the index's write lock held, after a change).
    private func publishProgress(_ state: borrowing State) {
        let snapshot = QueryProgress.Snapshot(
            appliedOffset: state.appliedOffset, ingestEndOffset: state.ingestEndOffset, following: state.following,
            caughtUp: state.caughtUp, condition: state.condition, epoch: state.epoch,
            entityIndexReady: !state.extractionPending, articleCount: state.articles.count
        )
        self.progress.publish { $0 = snapshot }
    }

    /// What the last snapshot written or loaded holds; its lock also serialises snapshot writers.
    private let snapshotOffset: Mutex<SnapshotMark>

    /// Writes a snapshot if records were applied since the last one.
    public func writeSnapshot() throws {
        guard let directory = self.configuration.snapshotDirectory else { return }
        // One writer at a time (the periodic one, the final one, a caller's): each snapshot replaces the last, in order.
        try self.snapshotOffset.withLock { written in
            let (bytes, mark): ([UInt8]?, SnapshotMark) = try self.state.read { state in
                let mark = SnapshotMark(offset: state.appliedOffset, epoch: state.epoch)
                guard mark != written else { return (nil, mark) }
                return (
                    try QuerySnapshot.encode(
                        appliedOffset: state.appliedOffset, epoch: state.epoch, offsets: state.offsets, articles: state.articles,
                        extractionBytes: state.extractionBytes, index: state.index
                    ),
                    mark
                )
            }
            guard let bytes else { return }
            try QuerySnapshot.write(bytes, directory: directory)
            written = mark
            self.logger.debug("wrote index snapshot", metadata: ["dateline.offset": "\(mark.offset)", "dateline.bytes": "\(bytes.count)"])
        }
    }

    /// What a snapshot holds: the applied offset within a log epoch (the same offset in a new epoch is new).
    struct SnapshotMark: Equatable, Sendable {
        var offset: UInt64
        var epoch: String?
    }

    /// Forgets everything (the ingest log no longer holds what the index was built from) and says why in
    /// health until the rebuild has caught up.
    private func reset(because reason: String) {
        self.state.write { state in
            state.byExternalID = [:]
            state.epoch = nil
            state.caughtUp = false
            state.condition = reason
            state.index = SearchIndex(parameters: self.configuration.bm25)
            state.articles = []
            state.facts = []
            state.newestPublishedAt = nil
            state.offsets = []
            state.byID = [:]
            state.extraction = ExtractionIndex()
            state.extractionBytes = []
            state.extractionPending = false
            state.generation += 1
            state.appliedOffset = 0
            state.ingestEndOffset = 0
            self.publishProgress(state)
        }
    }

    /// One past the last log offset applied to the index.
    public var appliedOffset: UInt64 { self.progress.current.appliedOffset }

    // MARK: Following

    /// Follows the ingest log until graceful shutdown or cancellation, reconnecting with backoff; writes
    /// snapshots periodically and a last one when it stops.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            if self.configuration.snapshotDirectory != nil {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: self.configuration.snapshotInterval)
                            guard !Task.isCancelled else { break }
                            do { try self.writeSnapshot() } catch {
                                self.logger.error("cannot write the index snapshot", metadata: ["dateline.error": "\(error)"])
                            }
                        }
                    }
                }
            }
            await group.waitForAll()
        }
        do { try self.writeSnapshot() } catch {
            self.logger.error("cannot write the index snapshot", metadata: ["dateline.error": "\(error)"])
        }
    }

    private func follow() async {
        await cancelWhenGracefulShutdown {
            var backoff = ReconnectBackoff(initial: self.configuration.reconnectBackoff.initial, maximum: self.configuration.reconnectBackoff.maximum)
            var lastProblem: String?
            while !Task.isCancelled {
                let problem: String
                do {
                    try await self.followOnce(onFollowing: {
                        backoff.reset()
                        if lastProblem != nil { self.logger.info("following dateline-ingest again") }
                        lastProblem = nil
                    })
                    problem = "dateline-ingest ended the subscription"
                } catch is CancellationError {
                    break
                } catch let error as DatelineError where error.code == .failedPrecondition {
                    let epoch = error.details["epoch"] ?? "?"
                    let reason = "rebuilding: the ingest log is now epoch \(epoch) (it was replaced or lost records)"
                    self.logger.warning("the ingest log's epoch changed; rebuilding the index from offset 0", metadata: [
                        "dateline.log.epoch": "\(epoch)", "dateline.applied": "\(self.appliedOffset)",
                    ])
                    self.reset(because: reason)
                    continue
                } catch let error as DatelineError where error.code == .invalidArgument && error.details["endOffset"] != nil {
                    // The ingest log is shorter than what the index has applied: it lost records. Start again.
                    let reason = "rebuilding: the ingest log ends at \(error.details["endOffset"] ?? "?"), before the index's offset \(self.appliedOffset)"
                    self.logger.warning("dateline-ingest's log ends before the index's applied offset; rebuilding the index from offset 0", metadata: [
                        "dateline.applied": "\(self.appliedOffset)", "dateline.ingest_end": "\(error.details["endOffset"] ?? "")",
                    ])
                    self.reset(because: reason)
                    continue
                } catch let error as LogEpochChanged {
                    self.logger.warning("the ingest log's epoch changed; rebuilding the index from offset 0", metadata: ["dateline.log.epoch": "\(error.epoch)"])
                    self.reset(because: "rebuilding: the ingest log is now epoch \(error.epoch)")
                    continue
                } catch {
                    if Task.isCancelled { break }
                    problem = (error as? DatelineError).map { "\($0.code): \($0.message)" } ?? "\(error)"
                }
                let delay = backoff.next()
                self.state.write { state in
                    state.following = false
                    state.condition = "not following dateline-ingest: \(problem)"
                    self.publishProgress(state)
                }
                // One line per change of condition; the same failure again is logged at debug only.
                if problem != lastProblem {
                    self.logger.warning("not following dateline-ingest; retrying with backoff", metadata: ["dateline.error": "\(problem)", "dateline.retry_in": "\(delay)"])
                    lastProblem = problem
                } else {
                    self.logger.debug("still not following dateline-ingest", metadata: ["dateline.error": "\(problem)", "dateline.retry_in": "\(delay)"])
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Connects, subscribes from the applied offset with the index's epoch, and applies batches until the
    /// stream ends or fails.
    private func followOnce(onFollowing: () -> Void) async throws {
        let connection = try await DatelineClientConnection.connect(
            host: self.configuration.ingestHost,
            port: self.configuration.ingestPort,
            configuration: self.configuration.ingestClient,
            logger: self.logger
        )
        defer { Task { try? await connection.close() } }
        let (from, epoch) = self.state.read { ($0.appliedOffset, $0.epoch) }
        self.logger.info("following dateline-ingest", metadata: ["dateline.offset": "\(from)", "dateline.log.epoch": "\(epoch ?? "(none yet)")"])
        var first = true
        for try await batch in try connection.stream(SubscribeRequest(fromOffset: from, follower: "dateline-query", epoch: epoch)) {
            if first {
                // The stream answered: following (set before the batch is applied, so that a reader that sees
                // the batch's records also sees that the index follows the log).
                first = false
                self.state.write { state in
                    state.following = true
                    if state.caughtUp || !(state.condition ?? "").hasPrefix("rebuilding") { state.condition = nil }
                    self.publishProgress(state)
                }
                onFollowing()
            }
            try self.apply(batch)
        }
    }

    /// Indexes a batch; records at offsets already applied are skipped, so each is applied exactly once.
    /// - Throws: ``LogEpochChanged`` when the batch comes from another epoch than the index's (nothing applied).
    public func apply(_ batch: LogBatch) throws {
        try self.state.write { state in
            if !batch.epoch.isEmpty {
                if let epoch = state.epoch, epoch != batch.epoch { throw LogEpochChanged(epoch: batch.epoch) }
                state.epoch = batch.epoch
            }
            for entry in batch.entries where entry.offset == state.appliedOffset {
                let article = entry.article
                state.index.add(IndexedDocument(id: article.id, title: article.title ?? "", body: article.body))
                state.byID[article.id] = state.articles.count
                if let externalID = article.externalID { state.byExternalID[externalID] = state.articles.count }
                if !state.extractionPending { state.extraction.add(article, document: state.articles.count) }
                state.articles.append(article)
                state.extractionBytes.append(nil)
                let facts = DocumentFacts(article)
                if let date = facts.publishedAt { state.newestPublishedAt = max(state.newestPublishedAt ?? date, date) }
                state.facts.append(facts)
                state.offsets.append(entry.offset)
                state.appliedOffset = entry.offset + 1
            }
            state.ingestEndOffset = max(state.ingestEndOffset, batch.endOffset, state.appliedOffset)
            if !state.caughtUp, state.appliedOffset >= batch.endOffset {
                state.caughtUp = true
                state.condition = nil
            }
            self.publishProgress(state)
        }
    }

    /// Waits until `offset` records are applied, or the deadline passes (woken by the apply, never polling).
    func waitUntilApplied(_ offset: UInt64, deadline: ContinuousClock.Instant) async throws {
        guard await self.progress.wait(until: deadline, for: { $0.appliedOffset >= offset }) else {
            try Task.checkCancellation()
            throw DatelineError(
                code: .deadlineExceeded,
                message: "the index has applied \(self.appliedOffset) records, not yet the \(offset) asked for (is dateline-ingest reachable?)"
            )
        }
    }

    /// The request's deadline on the continuous clock (10 s when the client gave none).
    static func deadline(_ context: DatelineRequestContext) -> ContinuousClock.Instant {
        guard let deadline = context.deadline else { return .now + .seconds(10) }
        return .now + .nanoseconds(max(0, (deadline - NIODeadline.now()).nanoseconds))
    }

    // MARK: Handlers

    /// The protocol handlers.
    public var router: DatelineRouter {
        var router = DatelineRouter()
        router.on(SearchRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            if request.facets || !request.entities.isEmpty || !request.topics.isEmpty || request.eventFrom != nil || request.eventTo != nil {
                try await self.waitUntilExtractionReady(deadline: Self.deadline(context))
            }
            return try self.search(request)
        }
        router.on(GetArticleRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            return try self.article(request.id)
        }
        router.on(EntitiesRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            try await self.waitUntilExtractionReady(deadline: Self.deadline(context))
            return try self.entities(request)
        }
        router.on(TimelineRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            try await self.waitUntilExtractionReady(deadline: Self.deadline(context))
            return try self.timeline(request)
        }
        // Stats sort the latency samples and read the index: off the event loop.
        router.on(QueryStatsRequest.self) { _, _ in self.stats() }
        router.onEventLoop(HealthRequest.self) { _, _ in self.health() }
        return router
    }

    /// Catching up (replaying the log after a start or a rebuild, with both offsets), degraded (not following,
    /// with why), or serving.
    public func health() -> HealthResponse {
        let published = self.progress.current
        let (applied, end, following, pending, caughtUp, condition, epoch) = (
            published.appliedOffset, published.ingestEndOffset, published.following, !published.entityIndexReady,
            published.caughtUp, published.condition, published.epoch
        )
        var details = [
            "appliedOffset": "\(applied)", "ingestEndOffset": "\(end)", "following": "\(following)",
            "entityIndex": pending ? "building" : "ready", "epoch": epoch ?? "",
        ]
        if let condition { details["condition"] = condition }
        let status: DatelineHealthStatus = !caughtUp ? .catchingUp : (following ? .serving : .degraded)
        if status == .catchingUp && condition == nil {
            details["condition"] = following ? "catching up: offset \(applied) of \(end)" : "catching up: not yet connected to dateline-ingest"
        }
        return HealthResponse(
            status: status,
            service: self.configuration.server.serviceName,
            version: self.configuration.server.version,
            uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
            details: details
        )
    }

    /// Runs a search against the current index.
    public func search(_ request: SearchRequest) throws -> SearchResponse {
        let started = ContinuousClock.now
        // An empty query with filters lists every article that passes them (newest first by default).
        let hasFilters = !request.entities.isEmpty || !request.topics.isEmpty || request.eventFrom != nil || request.eventTo != nil
            || !request.sources.isEmpty || !request.tags.isEmpty || request.from != nil || request.to != nil
        let query: SearchQuery?
        do {
            query = hasFilters && request.query.allSatisfy(\.isWhitespace) ? nil : try self.parser.parse(request.query)
        } catch {
            throw DatelineError(code: .invalidArgument, message: "query syntax: \(error.description)", details: ["position": "\(error.position)"])
        }
        for (name, date) in [("from", request.from), ("to", request.to), ("event_from", request.eventFrom), ("event_to", request.eventTo)] {
            if let date, !(-62_135_596_800.0..<253_402_300_800.0).contains(date.timeIntervalSince1970) {
                throw DatelineError(code: .invalidArgument, message: "\(name) is outside the years 1 to 9999")
            }
        }
        let limit = request.limit == 0 ? 10 : Int(request.limit)
        guard limit <= self.configuration.maximumLimit else {
            throw DatelineError(code: .invalidArgument, message: "limit \(limit) is above the maximum of \(self.configuration.maximumLimit)")
        }
        let sort = request.sort == .unspecified || (query == nil && request.sort == .relevance) ? (query == nil ? SearchSort.date : SearchSort.relevance) : request.sort
        let after = try request.cursor.map { try SearchCursor(decoding: $0, sort: sort) }
        let sources = Set(request.sources.map { $0.lowercased() })
        let tags = Set(request.tags.map { $0.lowercased() })
        let languages = Set(request.languages.map { $0.lowercased() })
        let topics = Set(request.topics.map { $0.lowercased() })
        let eventFrom = request.eventFrom.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let eventTo = request.eventTo.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let response: SearchResponse = try self.state.read { state in
            // Every named entity must be mentioned: each resolves to a set of ids, one of which must be there.
            let entitySets: [Set<String>] = try request.entities.map { name in
                let resolved = state.extraction.resolve(name)
                guard !resolved.ids.isEmpty else {
                    throw DatelineError(code: .notFound, message: "no entity called '\(name)' is known (try `dateline entities --match`)")
                }
                return Set(resolved.ids)
            }
            let newest = state.newestPublishedAt ?? Date().timeIntervalSince1970
            let from = request.from?.timeIntervalSince1970
            let to = request.to?.timeIntervalSince1970
            // Later pages see the index as the first page did (point in time), so pages never overlap.
            let asOf = after?.documents ?? state.index.count
            // Copies (shared storage, no copying) so the filter does not capture the borrowed state.
            let allFacts = state.facts
            let documentEntities = state.extraction.documentEntities
            let documentTopics = state.extraction.documentTopics
            let documentEventDays = state.extraction.documentEventDays
            let passes = { (document: Int) -> Bool in
                let facts = allFacts[document]
                if !entitySets.isEmpty {
                    let mentioned = documentEntities[document]
                    if !entitySets.allSatisfy({ set in mentioned.contains(where: set.contains) }) { return false }
                }
                if !topics.isEmpty, !documentTopics[document].contains(where: topics.contains) { return false }
                if eventFrom != nil || eventTo != nil {
                    let days = documentEventDays[document]
                    if !days.contains(where: { day in day >= (eventFrom ?? .min) && day <= (eventTo ?? .max) }) { return false }
                }
                if let from, (facts.publishedAt ?? -.greatestFiniteMagnitude) < from { return false }
                if let to, (facts.publishedAt ?? .greatestFiniteMagnitude) > to { return false }
                if !sources.isEmpty, !sources.contains(facts.source) { return false }
                if !languages.isEmpty, !languages.contains(facts.language) { return false }
                if !tags.isEmpty, !facts.tags.contains(where: tags.contains) { return false }
                return true
            }
            var ranked: [(key: SearchCursor, document: Int, score: Double)] = []
            var best: [(key: SearchCursor, document: Int, score: Double)] = []
            let total: Int
            if let query, sort == .relevance, !request.facets {
                // Ranked by relevance alone: MaxScore scores only the documents that can make the page.
                let result = state.index.topMatches(
                    query, limit: limit + 1, documents: asOf, after: after.map { ($0.primary, $0.document) }, include: { passes(Int($0)) }
                )
                total = result.total
                best = result.top.map { (SearchCursor(sort: sort, primary: $0.score, document: $0.document, documents: asOf), Int($0.document), $0.score) }
            } else {
                let candidates: [(UInt32, Double)] = query.map { state.index.matches($0, documents: asOf) } ?? (0..<asOf).map { (UInt32($0), 0) }
                for (step, (document, score)) in candidates.enumerated() where passes(Int(document)) {
                    if step % 4_096 == 4_095 { try Task.checkCancellation() }
                    let facts = state.facts[Int(document)]
                    let primary: Double
                    switch sort {
                    case .date:
                        primary = facts.publishedAt ?? -.greatestFiniteMagnitude
                    case .recent:
                        let ageDays = max(0, (newest - (facts.publishedAt ?? -.greatestFiniteMagnitude)) / 86_400)
                        primary = score * pow(0.5, ageDays / self.configuration.recencyHalfLifeDays)
                    default:
                        primary = score
                    }
                    ranked.append((SearchCursor(sort: sort, primary: primary, document: UInt32(document), documents: asOf), Int(document), score))
                }
                total = ranked.count
                // The best `limit + 1` entries after the cursor, kept in order, without sorting every match.
                best.reserveCapacity(limit + 2)
                for entry in ranked {
                    if let after, !after.precedes(entry.key) { continue }
                    if best.count > limit, let last = best.last, !entry.key.precedes(last.key) { continue }
                    var low = 0
                    var high = best.count
                    while low < high {
                        let middle = (low + high) / 2
                        if best[middle].key.precedes(entry.key) { low = middle + 1 } else { high = middle }
                    }
                    best.insert(entry, at: low)
                    if best.count > limit + 1 { best.removeLast() }
                }
            }
            let page = best.prefix(limit)
            let hits = page.map { entry in
                let article = state.articles[entry.document]
                return SearchHit(
                    articleID: article.id,
                    score: entry.score,
                    title: article.title ?? "",
                    source: article.source ?? "",
                    publishedAt: article.publishedAt,
                    snippets: query.map { state.index.snippets(of: UInt32(entry.document), for: $0) } ?? [Self.opening(of: article.body)]
                )
            }
            let next = best.count > limit ? page.last?.key.encoded : nil
            var facets = request.facets ? Self.facets(ranked.map { state.articles[$0.document] }, interval: request.histogramInterval) : nil
            if request.facets {
                var entityCounts: [String: UInt64] = [:]
                var topicCounts: [String: UInt64] = [:]
                for (step, entry) in ranked.enumerated() {
                    if step % 4_096 == 4_095 { try Task.checkCancellation() }
                    for id in state.extraction.documentEntities[entry.document] { entityCounts[id, default: 0] += 1 }
                    for topic in state.extraction.documentTopics[entry.document] { topicCounts[topic, default: 0] += 1 }
                }
                func top(_ counts: [String: UInt64]) -> [FacetCount] {
                    counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map { FacetCount(value: $0.key, count: $0.value) }
                }
                facets?.entities = top(entityCounts)
                facets?.topics = top(topicCounts)
            }
            return SearchResponse(total: UInt64(total), hits: hits, nextCursor: next, appliedOffset: state.appliedOffset, facets: facets)
        }
        self.record(ContinuousClock.now - started)
        return response
    }

    /// The first ~200 characters of a body, cut at a word boundary: the snippet when no words were searched.
    static func opening(of body: String) -> String {
        let flat = body.replacingOccurrences(of: "\n\n", with: " ")
        guard flat.count > 200 else { return flat }
        let prefix = flat.prefix(200)
        return String(prefix[..<(prefix.lastIndex(of: " ") ?? prefix.endIndex)]) + " …"
    }

    /// Entities known across every article.
    public func entities(_ request: EntitiesRequest) throws -> EntitiesResponse {
        try self.state.read { try $0.extraction.entitiesResponse(request) }
    }

    /// The most actors one timeline request may name.
    public static let maximumTimelineActors = 32

    /// Engagements involving every actor of the request, in date order.
    public func timeline(_ request: TimelineRequest) throws -> TimelineResponse {
        guard !request.actors.isEmpty else { throw DatelineError(code: .invalidArgument, message: "a timeline needs at least one actor") }
        guard request.actors.count <= Self.maximumTimelineActors else {
            throw DatelineError(code: .invalidArgument, message: "a timeline takes at most \(Self.maximumTimelineActors) actors, not \(request.actors.count)")
        }
        return try self.state.read { state in
            let response = try state.extraction.timeline(request, articles: state.articles)
            if let unknown = response.actors.first(where: { $0.ids.isEmpty }) {
                throw DatelineError(code: .notFound, message: "no person, office, organisation or country called '\(unknown.query)' is known (try `dateline entities --match`)")
            }
            return response
        }
    }

    /// Counts of `articles` by source, tag and publication date.
    static func facets(_ articles: [StoredArticle], interval: HistogramInterval, top: Int = 10) -> SearchFacets {
        var sources: [String: UInt64] = [:]
        var tags: [String: UInt64] = [:]
        var dates: [String: UInt64] = [:]
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for article in articles {
            sources[article.source ?? "(unknown)", default: 0] += 1
            for tag in Set(article.tags + article.categories) { tags[tag, default: 0] += 1 }
            guard let date = article.publishedAt else {
                dates["(no date)", default: 0] += 1
                continue
            }
            let parts = calendar.dateComponents([.year, .month, .day, .weekOfYear, .yearForWeekOfYear], from: date)
            let bucket: String
            switch interval {
            case .day: bucket = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            case .week: bucket = String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
            case .month, .unspecified: bucket = String(format: "%04d-%02d", parts.year!, parts.month!)
            }
            dates[bucket, default: 0] += 1
        }
        func topCounts(_ counts: [String: UInt64]) -> [FacetCount] {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(top).map { FacetCount(value: $0.key, count: $0.value) }
        }
        return SearchFacets(
            sources: topCounts(sources),
            tags: topCounts(tags),
            dates: dates.sorted { $0.key < $1.key }.map { FacetCount(value: $0.key, count: $0.value) }
        )
    }

    /// One article in full.
    public func article(_ id: String) throws -> GetArticleResponse {
        try self.state.read { state in
            guard let index = state.byID[id] ?? state.byExternalID[id] else {
                guard state.caughtUp else {
                    // Not a definite answer: the article may be in the part of the log not replayed yet.
                    let position = state.following ? "offset \(state.appliedOffset) of \(state.ingestEndOffset)" : "offset \(state.appliedOffset), not yet connected to dateline-ingest"
                    throw DatelineError(code: .unavailable, message: "catching up: \(position); no article \(id) yet, retry shortly", details: [
                        "appliedOffset": "\(state.appliedOffset)", "ingestEndOffset": "\(state.ingestEndOffset)",
                    ])
                }
                throw DatelineError(code: .notFound, message: "no article with id or external id \(id)")
            }
            var article = state.articles[index]
            if article.extraction == nil, index < state.extractionBytes.count, let bytes = state.extractionBytes[index] {
                article.extraction = try DatelineBinaryDecoder().decode(ArticleExtraction.self, from: bytes)
            }
            return GetArticleResponse(article: article, offset: state.offsets[index])
        }
    }

    private func record(_ latency: Duration) {
        self.latencies.withLock { latencies in
            latencies.queries += 1
            if latencies.samples.count < 4_096 {
                latencies.samples.append(latency.seconds)
            } else {
                latencies.samples[latencies.cursor] = latency.seconds
                latencies.cursor = (latencies.cursor + 1) % latencies.samples.count
            }
        }
    }

    /// The service's figures.
    public func stats() -> QueryStatsResponse {
        let (sorted, queries) = self.latencies.withLock { ($0.samples.sorted(), $0.queries) }
        return self.state.read { state in
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1e6
            }
            let textBytes = state.articles.reduce(0) { $0 + $1.body.utf8.count + ($1.title?.utf8.count ?? 0) + 256 }
            return QueryStatsResponse(
                articleCount: UInt64(state.articles.count),
                appliedOffset: state.appliedOffset,
                ingestEndOffset: state.ingestEndOffset,
                lag: state.ingestEndOffset - min(state.ingestEndOffset, state.appliedOffset),
                following: state.following,
                indexTerms: UInt64(state.index.termCount),
                indexBytes: UInt64(textBytes + state.index.estimatedBytes),
                queries: queries,
                queryP50Microseconds: percentile(0.5),
                queryP95Microseconds: percentile(0.95),
                queryP99Microseconds: percentile(0.99),
                uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
                memory: ProcessMemory.current()
            )
        }
    }
}

/// A batch from another log epoch than the index's: the index must be rebuilt.
public struct LogEpochChanged: Error, Sendable {
    public var epoch: String
}

/// The position after which the next page starts: the last hit's sort key. Opaque to clients.
struct SearchCursor: Hashable {
    var sort: SearchSort
    var primary: Double
    var document: UInt32
    /// How many documents the index held when the first page was served.
    var documents: Int

    /// Higher primary first; ties broken by older document first, so that new articles never shift a page.
    func precedes(_ other: SearchCursor) -> Bool {
        self.primary != other.primary ? self.primary > other.primary : self.document < other.document
    }

    var encoded: String {
        Data("\(self.sort.rawValue):\(self.primary.bitPattern):\(self.document):\(self.documents)".utf8).base64EncodedString()
    }

    init(sort: SearchSort, primary: Double, document: UInt32, documents: Int) {
        self.sort = sort
        self.primary = primary
        self.document = document
        self.documents = documents
    }

    init(decoding text: String, sort: SearchSort) throws {
        let parts = Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self).split(separator: ":") } ?? []
        guard parts.count == 4, let rawSort = UInt32(parts[0]), let bits = UInt64(parts[1]), let document = UInt32(parts[2]),
            let documents = Int(parts[3]), documents >= 0, SearchSort(rawValue: rawSort) == sort
        else {
            throw DatelineError(code: .invalidArgument, message: "the cursor is not one this service issued for this sort order")
        }
        self.init(sort: sort, primary: Double(bitPattern: bits), document: document, documents: documents)
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
