import DatelineArticles
import DatelineExtraction
public import DatelineProtocol
public import DatelineStorage
import Foundation
public import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The ingest pipeline and its protocol handlers: parse → enrich → deduplicate → log, and the Subscribe
/// stream that followers read the log through.
///
/// Build it with ``open(configuration:logger:)``, serve ``router`` with a `DatelineServer`, and call
/// ``close()`` after the server has stopped.
public final class IngestService: Sendable {
    /// A place for the extraction step (people, places, dates, events...): it runs on every parsed article
    /// before it is logged. The default leaves the article as parsed.
    public typealias Enricher = @Sendable (inout StoredArticle) -> Void

    private struct Index {
        /// Deduplication keys → article (reserved before the append, so concurrent batches cannot both store
        /// the same article, and awaited by the requests that meet them while the append is in flight).
        var deduplication = DeduplicationIndex()
        /// Damage found while serving the log to followers (health says degraded until a restart).
        var readDamage: DatelineStorageError?
        var accepted: UInt64 = 0
        var duplicates: UInt64 = 0
        var rejected: UInt64 = 0
        /// (second, articles accepted in it) for the last minute.
        var recent: [(second: Int64, count: Int)] = []
        var followers: [UInt64: FollowerStatus] = [:]
        var nextFollower: UInt64 = 0
    }

    public let configuration: IngestServiceConfiguration
    /// The log articles are stored in: the file log under the data directory, or a shared one (PostgreSQL) that
    /// deduplicates itself.
    public let log: any IngestLog
    private let index: Mutex<Index>
    private let processor: ArticleProcessor
    private let enrich: Enricher
    private let extractor: ArticleExtractor?
    private let logger: Logger
    private let startedAt = ContinuousClock.now
    private let metrics: IngestMetrics
    /// Threads for parsing and extraction, apart from Swift's cooperative pool.
    private let workers: NIOThreadPool

    private init(configuration: IngestServiceConfiguration, log: any IngestLog, index: Index, enrich: @escaping Enricher, logger: Logger) {
        self.configuration = configuration
        self.log = log
        self.index = Mutex(index)
        self.processor = ArticleProcessor(maximumBodyBytes: configuration.maximumBodyBytes)
        self.enrich = enrich
        self.extractor = configuration.extraction ? ArticleExtractor() : nil
        self.logger = logger
        self.metrics = IngestMetrics(service: configuration.server.serviceName, factory: configuration.server.resolvedMetricsFactory)
        self.workers = NIOThreadPool(numberOfThreads: ProcessInfo.processInfo.activeProcessorCount)
        self.workers.start()
    }

    /// Opens the file log under the data directory (recovering it) and rebuilds the deduplication index from it.
    /// - Throws: ``DatelineStorageError`` when the log cannot be opened (corruption in the middle of it included).
    public static func open(
        configuration: IngestServiceConfiguration,
        enrich: @escaping Enricher = { _ in },
        logger: Logger
    ) throws -> IngestService {
        let log = try DatelineLog(configuration: configuration.logConfiguration, logger: logger)
        var index = Index()
        let decoder = DatelineBinaryDecoder()
        var offset = log.bounds.lowerBound
        let end = log.endOffset
        while offset < end {
            for record in try log.read(from: offset, maximumRecords: 4_096, maximumBytes: 16 << 20) {
                index.deduplication.insertStored(try decoder.decode(StoredArticle.self, from: record.payload))
                offset = record.offset + 1
            }
        }
        logger.info("deduplication index rebuilt", metadata: ["dateline.articles": "\(index.deduplication.ids.count)"])
        return IngestService(configuration: configuration, log: log, index: index, enrich: enrich, logger: logger)
    }

    /// Serves a log opened by the caller, such as the PostgreSQL log several ingest nodes share. A log that
    /// deduplicates itself is the only judge of duplicates (no node holds an index of its own); for one that does
    /// not, the index is rebuilt from it as ``open(configuration:enrich:logger:)`` does.
    public static func open(
        configuration: IngestServiceConfiguration,
        log: any IngestLog,
        enrich: @escaping Enricher = { _ in },
        logger: Logger
    ) async throws -> IngestService {
        var index = Index()
        if !log.deduplicatesByKey {
            let decoder = DatelineBinaryDecoder()
            var offset = log.bounds.lowerBound
            while offset < log.endOffset {
                for record in try await log.read(from: offset, maximumRecords: 4_096, maximumBytes: 16 << 20) {
                    index.deduplication.insertStored(try decoder.decode(StoredArticle.self, from: record.payload))
                    offset = record.offset + 1
                }
            }
        }
        logger.info("serving the ingest log", metadata: ["dateline.log.backend": "\(log.backend)", "dateline.log.end": "\(log.endOffset)"])
        return IngestService(configuration: configuration, log: log, index: index, enrich: enrich, logger: logger)
    }

    /// Syncs and closes the log.
    public func close() async throws {
        try await self.log.close()
        try await self.workers.shutdownGracefully()
    }

    /// The protocol handlers: IngestRequest, SubscribeRequest, IngestStatsRequest and HealthRequest.
    public var router: DatelineRouter {
        var router = DatelineRouter()
        // The ingest handler keeps its deadline itself: once its append has started it completes, and the reply
        // says what was stored.
        router.on(IngestRequest.self, deadline: .handlerEnforced) { request, context in
            try await self.ingest(request, deadline: Self.deadline(context), logger: context.logger)
        }
        router.onStream(SubscribeRequest.self) { request, writer, context in
            try await self.subscribe(request, writer: writer, logger: context.logger)
        }
        router.onEventLoop(IngestStatsRequest.self) { _, _ in self.stats() }
        router.onEventLoop(HealthRequest.self) { _, _ in self.health() }
        return router
    }

    /// Serving, or degraded with the condition named: appends failing (a full disk), or damage met while
    /// reading the log for a follower.
    public func health() -> HealthResponse {
        var details = ["endOffset": "\(self.log.endOffset)", "articles": "\(self.log.endOffset)", "epoch": self.log.epoch, "log": self.log.backend]
        var status = DatelineHealthStatus.serving
        if let failure = self.log.writeFailure {
            status = .degraded
            details["condition"] = "appends are failing: \(failure.publicMessage)"
        } else if let damage = self.index.withLock({ $0.readDamage }) {
            status = .degraded
            details["condition"] = "log damaged at \(damage.segment ?? "?") byte \(damage.byteOffset ?? 0): followers cannot read past it"
        }
        return HealthResponse(
            status: status,
            service: self.configuration.server.serviceName,
            version: self.configuration.server.version,
            uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
            details: details
        )
    }

    // MARK: Ingest

    /// The request's deadline on the continuous clock (30 s when the client gave none).
    static func deadline(_ context: DatelineRequestContext) -> ContinuousClock.Instant {
        guard let deadline = context.deadline else { return .now + .seconds(30) }
        return .now + .nanoseconds(max(0, (deadline - NIODeadline.now()).nanoseconds))
    }

    /// `items.map(transform)`, in chunks on the service's worker threads (as many as there are cores) when the
    /// batch is large enough.
    ///
    /// Parsing and extraction are CPU-bound and long: they run on threads of their own, never on Swift's
    /// cooperative pool, so a large batch cannot starve every other task of the process (subscriptions, other
    /// requests, timers). `transform`'s second argument says whether the calling task was cancelled, so that it
    /// can stop early.
    func parallelMap<Element: Sendable, Result: Sendable>(
        _ items: [Element],
        _ transform: @escaping @Sendable (Element, _ isCancelled: () -> Bool) -> Result
    ) async throws -> [Result] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count / 16))
        let chunk = (items.count + workers - 1) / max(1, workers)
        let cancelled = CancellationFlag()
        let pool = self.workers
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: (Int, [Result]).self) { group in
                for worker in 0..<workers {
                    let range = (worker * chunk)..<min(items.count, (worker + 1) * chunk)
                    let slice = Array(items[range])
                    group.addTask { (worker, try await pool.runIfActive { slice.map { transform($0, { cancelled.isSet }) } }) }
                }
                var parts = [[Result]](repeating: [], count: workers)
                for try await (worker, part) in group { parts[worker] = part }
                return parts.flatMap { $0 }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Runs a batch through the pipeline. One bad article never fails the others.
    ///
    /// `duplicate` is answered only for an article that is durable; one whose original is still being
    /// appended by another request waits for that append (until `deadline`) and is stored by this request if
    /// it failed. Once this request's own append has started it completes, and the reply says what happened.
    public func ingest(_ request: IngestRequest, deadline: ContinuousClock.Instant = .now + .seconds(30), logger: Logger) async throws -> IngestResponse {
        guard request.articles.count <= self.configuration.maximumBatchArticles else {
            throw DatelineError(
                code: .invalidArgument,
                message: "a batch of \(request.articles.count) articles exceeds the limit of \(self.configuration.maximumBatchArticles); send smaller batches"
            )
        }
        let now = Date()
        var results = [IngestResult?](repeating: nil, count: request.articles.count)
        var candidates: [(index: Int, article: StoredArticle)] = []
        // Parsing and extraction are pure and CPU-bound: spread large batches over the cores.
        let outcomes = try await self.parallelMap(request.articles) { [processor = self.processor, extractor = self.extractor, enrich = self.enrich] submission, isCancelled -> Result<StoredArticle, ArticleRejection> in
            // Extraction is the expensive part: skip it once the request is cancelled (nothing will be stored).
            if isCancelled() { return .failure(ArticleRejection(code: "cancelled", message: "the request was cancelled")) }
            return processor.process(submission).map { parsed in
                var article = Self.stored(parsed, submission: submission, ingestedAt: now)
                if let extractor { article.extraction = extractor.extract(article) }
                enrich(&article)
                return article
            }
        }
        // Nothing is stored yet: a client that went away (Cancel, closed connection) or a deadline that passed
        // stops it here, and the answer says that nothing was stored.
        try Task.checkCancellation()
        guard ContinuousClock.now < deadline else {
            throw DatelineError(
                code: .deadlineExceeded,
                message: "the batch's deadline passed while it was parsed and extracted; nothing of it was stored (retry, with a longer timeout or smaller batches)"
            )
        }
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .failure(let rejection):
                results[index] = IngestResult(index: UInt32(index), status: .rejected, reason: rejection.description, reasonCode: rejection.code)
            case .success(let article):
                candidates.append((index, article))
            }
        }
        self.index.withLock { $0.rejected += UInt64(results.count(where: { $0?.status == .rejected })) }
        if self.log.deduplicatesByKey {
            try await self.storeDeduplicatedByLog(candidates, results: &results, logger: logger)
            logger.debug("ingested batch", metadata: ["dateline.articles": "\(request.articles.count)"])
            return IngestResponse(results: results.map { $0! }, endOffset: self.log.endOffset)
        }
        var storedAny = false
        while !candidates.isEmpty {
            let round = try await self.storeOrWait(candidates, deadline: deadline, storedBefore: storedAny, results: &results, logger: logger)
            storedAny = storedAny || round.stored
            candidates = round.retry
        }
        logger.debug("ingested batch", metadata: ["dateline.articles": "\(request.articles.count)"])
        return IngestResponse(results: results.map { $0! }, endOffset: self.log.endOffset)
    }

    /// One round: reserves the new articles and appends them, then waits for the appends in flight that hold
    /// the others. Returns the articles whose original's append failed (to be stored by the next round).
    private func storeOrWait(
        _ candidates: [(index: Int, article: StoredArticle)],
        deadline: ContinuousClock.Instant,
        storedBefore: Bool,
        results: inout [IngestResult?],
        logger: Logger
    ) async throws -> (stored: Bool, retry: [(index: Int, article: StoredArticle)]) {
        let outcome = AppendOutcome()
        var reserved: [(index: Int, article: StoredArticle)] = []
        var waiting: [(index: Int, article: StoredArticle, outcome: AppendOutcome, original: String)] = []
        self.index.withLock { state in
            for (index, article) in candidates {
                switch state.deduplication.decide(article, outcome: outcome) {
                case .duplicate(let existing):
                    results[index] = IngestResult(index: UInt32(index), status: .duplicate, articleID: existing, duplicateOf: existing)
                    state.duplicates += 1
                case .wait(let inFlight, let original):
                    waiting.append((index, article, inFlight, original))
                case .reserved(let article):
                    reserved.append((index, article))
                }
            }
        }
        var stored = false
        var retry: [(index: Int, article: StoredArticle)] = []
        if !reserved.isEmpty {
            do {
                let offsets = try await self.appendToFileLog(reserved.map(\.article))
                self.index.withLock { $0.deduplication.commit(reserved.map(\.article), outcome: outcome) }
                outcome.resolve(committed: true)
                for (position, entry) in reserved.enumerated() {
                    results[entry.index] = IngestResult(
                        index: UInt32(entry.index), status: .accepted, articleID: entry.article.id, offset: offsets.lowerBound + UInt64(position)
                    )
                }
                self.countAccepted(reserved.count)
                stored = true
            } catch {
                self.index.withLock { $0.deduplication.release(reserved.map(\.article), outcome: outcome) }
                outcome.resolve(committed: false)
                // An article too large for a log record (with its extraction) is rejected alone; the others are
                // stored by the next round.
                if let rest = self.rejectingTooLarge(reserved, after: error, results: &results, logger: logger) {
                    retry += rest
                } else {
                    let message = (error as? DatelineStorageError)?.publicMessage ?? "the log could not store the batch"
                    logger.error("append failed", metadata: ["dateline.error": "\(error)", "dateline.articles": "\(reserved.count)"])
                    guard storedBefore else {
                        throw DatelineError(code: .unavailable, message: "\(message); retrying is safe (duplicates are detected)", cause: error)
                    }
                    // Part of this request is stored already: say per article what happened instead of failing it all.
                    for entry in reserved {
                        results[entry.index] = IngestResult(index: UInt32(entry.index), status: .unavailable, reason: message, reasonCode: "storage-failed")
                    }
                }
            }
        }
        for entry in waiting {
            self.configuration.reservationWaitObserver?(entry.original)
            switch await entry.outcome.wait(until: deadline) {
            case .committed:
                results[entry.index] = IngestResult(index: UInt32(entry.index), status: .duplicate, articleID: entry.original, duplicateOf: entry.original)
                self.index.withLock { $0.duplicates += 1 }
            case .failed:
                retry.append((entry.index, entry.article))
            case .timedOut:
                results[entry.index] = IngestResult(
                    index: UInt32(entry.index), status: .unavailable,
                    reason: "an identical article is being stored by another request, whose outcome was not known before the deadline; retry",
                    reasonCode: "in-flight-elsewhere"
                )
            }
        }
        return (stored || storedBefore, retry)
    }

    /// After an append failed with `invalidArgument`: rejects the entries too large for a log record (`too-large`)
    /// and returns the others, to be stored by the next round; nil when none is too large (the failure is another).
    private func rejectingTooLarge(
        _ entries: [(index: Int, article: StoredArticle)],
        after error: any Error,
        results: inout [IngestResult?],
        logger: Logger
    ) -> [(index: Int, article: StoredArticle)]? {
        guard (error as? DatelineStorageError)?.code == .invalidArgument else { return nil }
        let tooLarge = self.tooLargeForTheLog(entries)
        guard !tooLarge.isEmpty else { return nil }
        let limit = self.configuration.logConfiguration.maximumRecordBytes
        var rest: [(index: Int, article: StoredArticle)] = []
        for entry in entries {
            guard let size = tooLarge[entry.index] else {
                rest.append(entry)
                continue
            }
            results[entry.index] = IngestResult(
                index: UInt32(entry.index), status: .rejected,
                reason: "too-large: the article with its extraction encodes to \(size) bytes, above the log's record limit of \(limit)", reasonCode: "too-large"
            )
        }
        self.index.withLock { $0.rejected += UInt64(tooLarge.count) }
        logger.warning("articles too large for a log record rejected", metadata: ["dateline.articles": "\(tooLarge.count)", "dateline.error": "\(error)"])
        return rest
    }

    /// The articles of `entries` whose record exceeds the log's limit, by index, with their encoded size.
    private func tooLargeForTheLog(_ entries: [(index: Int, article: StoredArticle)]) -> [Int: Int] {
        let limit = self.configuration.logConfiguration.maximumRecordBytes
        let encoder = DatelineBinaryEncoder()
        var sizes: [Int: Int] = [:]
        for entry in entries {
            let size = (try? encoder.encode(entry.article).readableBytes) ?? Int.max
            if size > limit { sizes[entry.index] = size }
        }
        return sizes
    }

    /// Encodes and appends articles to a log that does not deduplicate; returns their offsets once durable.
    private func appendToFileLog(_ articles: [StoredArticle]) async throws -> Range<UInt64> {
        let offsets = try await self.log.append(try Self.entries(articles)).map { outcome -> UInt64 in
            guard case .appended(let offset) = outcome else { preconditionFailure("a log that does not deduplicate appends every entry") }
            return offset
        }
        return (offsets.first ?? self.log.endOffset)..<((offsets.last ?? self.log.endOffset - 1) + 1)
    }

    private static func entries(_ articles: [StoredArticle]) throws -> [IngestLogEntry] {
        let encoder = DatelineBinaryEncoder()
        return try articles.map { article in
            IngestLogEntry(
                payload: try Array(encoder.encode(article).readableBytesView),
                keys: DeduplicationKeys(articleID: article.id, externalID: article.externalID, contentKey: article.contentKey)
            )
        }
    }

    /// Stores the candidates in a log that deduplicates them itself (one append; a few more for articles whose
    /// id turned out to be taken by another article, renamed as the file log's index does).
    ///
    /// `duplicate` is answered only for articles the log holds durably; a failure before anything was stored
    /// fails the request (retryable), and one while committing says that the batch may have been stored.
    private func storeDeduplicatedByLog(
        _ candidates: [(index: Int, article: StoredArticle)],
        results: inout [IngestResult?],
        logger: Logger
    ) async throws {
        var pending = candidates
        var storedAny = false
        var round = 0
        while !pending.isEmpty {
            round += 1
            let outcomes: [IngestLogAppendOutcome]
            do {
                outcomes = try await self.log.append(try Self.entries(pending.map(\.article)))
            } catch {
                if let rest = self.rejectingTooLarge(pending, after: error, results: &results, logger: logger) {
                    pending = rest
                    continue
                }
                let storageError = error as? DatelineStorageError
                logger.error("append failed", metadata: ["dateline.error": "\(error)", "dateline.articles": "\(pending.count)"])
                let message = storageError?.code == .outcomeUnknown
                    ? "\(storageError!.publicMessage); retrying is safe (duplicates are detected, and an article stored by the first attempt is answered as a duplicate of itself)"
                    : "\(storageError?.publicMessage ?? "the log could not store the batch"); retrying is safe (duplicates are detected)"
                guard storedAny else { throw DatelineError(code: .unavailable, message: message, cause: error) }
                for entry in pending {
                    results[entry.index] = IngestResult(index: UInt32(entry.index), status: .unavailable, reason: message, reasonCode: "storage-failed")
                }
                return
            }
            var renamed: [(index: Int, article: StoredArticle)] = []
            var accepted = 0
            var duplicates = 0
            for (entry, outcome) in zip(pending, outcomes) {
                switch outcome {
                case .appended(let offset):
                    results[entry.index] = IngestResult(index: UInt32(entry.index), status: .accepted, articleID: entry.article.id, offset: offset)
                    accepted += 1
                case .duplicate(let existing, _):
                    results[entry.index] = IngestResult(index: UInt32(entry.index), status: .duplicate, articleID: existing, duplicateOf: existing)
                    duplicates += 1
                case .idTaken:
                    var article = entry.article
                    article.id = candidates[candidates.firstIndex { $0.index == entry.index }!].article.id + "-\(round + 1)"
                    renamed.append((entry.index, article))
                }
            }
            storedAny = storedAny || accepted > 0
            self.countAccepted(accepted)
            self.index.withLock { $0.duplicates += UInt64(duplicates) }
            pending = renamed
        }
    }

    private func countAccepted(_ count: Int) {
        let second = Int64(Date().timeIntervalSince1970)
        self.index.withLock { state in
            state.accepted += UInt64(count)
            if state.recent.last?.second == second {
                state.recent[state.recent.count - 1].count += count
            } else {
                state.recent.append((second, count))
            }
            state.recent.removeAll { $0.second < second - 60 }
        }
    }

    static func stored(_ parsed: ParsedArticle, submission: ArticleSubmission, ingestedAt: Date) -> StoredArticle {
        let keys = ArticleProcessor.deduplicationKeys(parsed)
        let id = TextNormalization.fingerprint((parsed.externalID.map { "external:" + $0 } ?? "") + "|" + keys.content)
        return StoredArticle(
            id: id,
            externalID: parsed.externalID,
            title: parsed.title,
            source: parsed.source,
            url: parsed.url,
            publishedAt: parsed.publishedAt,
            publishedAtPrecision: parsed.publishedAtPrecision?.rawValue,
            timeZone: parsed.timeZone,
            datelinePlace: parsed.datelinePlace,
            categories: parsed.categories,
            tags: parsed.tags,
            paragraphs: parsed.paragraphs,
            language: parsed.language,
            tagline: parsed.tagline,
            missingFields: parsed.missingFields,
            warnings: parsed.warnings,
            contentKey: keys.content,
            ingestedAt: ingestedAt,
            format: submission.format
        )
    }

    // MARK: Subscribe

    /// Streams the log from `request.fromOffset`, then follows it live until the client goes away.
    ///
    /// The first batch is sent at once (empty when there is nothing to send yet) so that the follower learns
    /// the log's epoch and end offset; every batch carries the epoch. A follower holding another epoch is
    /// refused with `FAILED_PRECONDITION`: its offsets no longer name the same records.
    public func subscribe(_ request: SubscribeRequest, writer: DatelineStreamWriter<LogBatch>, logger: Logger) async throws {
        let epoch = self.log.epoch
        if let theirs = request.epoch, theirs != epoch {
            throw DatelineError(
                code: .failedPrecondition,
                message: "the follower's offsets belong to log epoch \(theirs), but the log is now epoch \(epoch) (it was replaced or lost records): rebuild from offset 0",
                details: ["epoch": epoch, "endOffset": "\(self.log.endOffset)"]
            )
        }
        // A shared log may have grown through other nodes: an offset one of them returned is valid here too.
        let bounds = request.fromOffset > self.log.endOffset ? await self.log.currentBounds() : self.log.bounds
        guard request.fromOffset >= bounds.lowerBound, request.fromOffset <= bounds.upperBound else {
            throw DatelineError(
                code: .invalidArgument,
                message: "offset \(request.fromOffset) is outside the log, which holds offsets \(bounds.lowerBound)..<\(bounds.upperBound)",
                details: ["endOffset": "\(bounds.upperBound)", "epoch": epoch]
            )
        }
        let batchRecords = request.maximumBatchRecords == 0
            ? self.configuration.subscribeBatchRecords : min(Int(request.maximumBatchRecords), self.configuration.subscribeBatchRecords)
        let name = request.follower ?? "follower"
        let followerID = self.index.withLock { state in
            state.nextFollower += 1
            state.followers[state.nextFollower] = FollowerStatus(name: name, position: request.fromOffset)
            return state.nextFollower
        }
        defer { _ = self.index.withLock { $0.followers.removeValue(forKey: followerID) } }
        logger.info("follower subscribed", metadata: ["dateline.follower": "\(name)", "dateline.offset": "\(request.fromOffset)", "dateline.log.epoch": "\(epoch)"])
        var position = request.fromOffset
        var sentFirst = false
        while !Task.isCancelled {
            let records = try await self.readForFollower(from: position, maximumRecords: batchRecords, logger: logger)
            if records.isEmpty && sentFirst {
                await self.log.waitForRecord(at: position)
                continue
            }
            // The stored payloads are StoredArticle encodings already: splice them in without decoding.
            let batch = LogBatch.encode(records: records.map { ($0.offset, $0.payload) }, endOffset: self.log.endOffset, epoch: epoch)
            try await writer.write(encoded: batch)
            sentFirst = true
            position = records.last.map { $0.offset + 1 } ?? position
            self.index.withLock { $0.followers[followerID]?.position = position }
        }
        throw CancellationError()
    }

    /// Reads records for a follower. Damage is logged once (with where it is) and reported to the follower
    /// as `DATA_LOSS` without paths; health says degraded until it is repaired and the service restarted.
    private func readForFollower(from position: UInt64, maximumRecords: Int, logger: Logger) async throws -> [DatelineLogRecord] {
        do {
            return try await self.log.read(from: position, maximumRecords: maximumRecords, maximumBytes: 4 << 20)
        } catch let error as DatelineStorageError where error.code == .corrupt {
            let isNew = self.index.withLock { state in
                defer { state.readDamage = error }
                return state.readDamage != error
            }
            if isNew { self.logger.critical("the log is damaged; followers cannot read past it", metadata: ["dateline.error": "\(error)"]) }
            throw DatelineError(
                code: .dataLoss,
                message: "the ingest log is damaged near offset \(position) and cannot be read past it; an operator must repair it (the service's log says where)",
                details: ["offset": "\(position)"]
            )
        } catch let error as DatelineStorageError {
            throw DatelineError(code: .unavailable, message: error.publicMessage)
        }
    }

    // MARK: Stats

    /// Brings the service's metrics (``IngestMetrics``) up to date with its figures; a metrics endpoint calls it
    /// before each scrape.
    public func refreshMetrics() {
        self.metrics.refresh(from: self.stats())
    }

    /// The service's figures.
    public func stats() -> IngestStatsResponse {
        let statistics = self.log.statistics
        let now = Int64(Date().timeIntervalSince1970)
        return self.index.withLock { state in
            let lastMinute = state.recent.filter { $0.second >= now - 60 }.reduce(0) { $0 + $1.count }
            return IngestStatsResponse(
                articleCount: self.log.endOffset,
                endOffset: self.log.endOffset,
                bytesOnDisk: UInt64(statistics.bytesStored),
                segments: UInt32(statistics.segments),
                followers: state.followers.values.sorted { $0.name < $1.name },
                ingestRatePerSecond: Double(lastMinute) / 60,
                fsyncCount: UInt64(statistics.syncCount),
                fsyncMeanMicroseconds: statistics.syncMean.seconds * 1e6,
                fsyncLastMicroseconds: statistics.syncLast.seconds * 1e6,
                accepted: state.accepted,
                duplicates: state.duplicates,
                rejected: state.rejected,
                durability: self.log.backend == "file" ? self.configuration.durability.description : "\(self.log.backend) commit",
                uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
                memory: ProcessMemory.current()
            )
        }
    }
}

/// Set once, read from any thread: whether a task was cancelled, for work that runs outside it.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { self.value.store(true, ordering: .relaxed) }
    var isSet: Bool { self.value.load(ordering: .relaxed) }
}

extension Duration {
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}

extension IngestService: CustomReflectable {
    /// What a debugger or a failed test expectation shows: the log's end, not the locked state (whose
    /// non-copyable locks reflection would try to copy, and crash).
    public var customMirror: Mirror {
        Mirror(self, children: ["endOffset": self.log.endOffset, "backend": "\(self.log.backend)"], displayStyle: .class)
    }
}
