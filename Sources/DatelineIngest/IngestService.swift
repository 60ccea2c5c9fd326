import DatelineArticles
import DatelineExtraction
public import DatelineProtocol
public import DatelineStorage
import Foundation
public import Logging
import NIOCore
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
        /// Deduplication keys → article id (reserved before the append, so concurrent batches cannot both
        /// store the same article).
        var byExternalID: [String: String] = [:]
        var byContent: [String: String] = [:]
        var ids: Set<String> = []
        var accepted: UInt64 = 0
        var duplicates: UInt64 = 0
        var rejected: UInt64 = 0
        /// (second, articles accepted in it) for the last minute.
        var recent: [(second: Int64, count: Int)] = []
        var followers: [UInt64: FollowerStatus] = [:]
        var nextFollower: UInt64 = 0
    }

    public let configuration: IngestServiceConfiguration
    public let log: DatelineLog
    private let index: Mutex<Index>
    private let processor: ArticleProcessor
    private let enrich: Enricher
    private let extractor: ArticleExtractor?
    private let logger: Logger
    private let startedAt = ContinuousClock.now

    private init(configuration: IngestServiceConfiguration, log: DatelineLog, index: Index, enrich: @escaping Enricher, logger: Logger) {
        self.configuration = configuration
        self.log = log
        self.index = Mutex(index)
        self.processor = ArticleProcessor(maximumBodyBytes: configuration.maximumBodyBytes)
        self.enrich = enrich
        self.extractor = configuration.extraction ? ArticleExtractor() : nil
        self.logger = logger
    }

    /// Opens the log (recovering it) and rebuilds the deduplication index from it.
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
                let article = try decoder.decode(StoredArticle.self, from: record.payload)
                if let externalID = article.externalID { index.byExternalID[externalID] = article.id }
                index.byContent[article.contentKey] = article.id
                index.ids.insert(article.id)
                offset = record.offset + 1
            }
        }
        logger.info("deduplication index rebuilt", metadata: ["dateline.articles": "\(index.ids.count)"])
        return IngestService(configuration: configuration, log: log, index: index, enrich: enrich, logger: logger)
    }

    /// Syncs and closes the log.
    public func close() async throws {
        try await self.log.close()
    }

    /// The protocol handlers: IngestRequest, SubscribeRequest, IngestStatsRequest and HealthRequest.
    public var router: DatelineRouter {
        var router = DatelineRouter()
        router.on(IngestRequest.self) { request, context in
            try await self.ingest(request, logger: context.logger)
        }
        router.onStream(SubscribeRequest.self) { request, writer, context in
            try await self.subscribe(request, writer: writer, logger: context.logger)
        }
        router.onEventLoop(IngestStatsRequest.self) { _, _ in self.stats() }
        router.onEventLoop(HealthRequest.self) { _, _ in
            HealthResponse(
                status: .serving,
                service: self.configuration.server.serviceName,
                version: self.configuration.server.version,
                uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
                details: ["endOffset": "\(self.log.endOffset)", "articles": "\(self.log.endOffset)"]
            )
        }
        return router
    }

    // MARK: Ingest

    /// `items.map(transform)`, in chunks on as many tasks as there are cores when the batch is large enough.
    static func parallelMap<Element: Sendable, Result: Sendable>(
        _ items: [Element],
        _ transform: @escaping @Sendable (Element) -> Result
    ) async -> [Result] {
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, items.count / 16)
        guard workers > 1 else { return items.map(transform) }
        let chunk = (items.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Result]).self) { group in
            for worker in 0..<workers {
                let range = (worker * chunk)..<min(items.count, (worker + 1) * chunk)
                let slice = Array(items[range])
                group.addTask { (worker, slice.map(transform)) }
            }
            var parts = [[Result]](repeating: [], count: workers)
            for await (worker, part) in group { parts[worker] = part }
            return parts.flatMap { $0 }
        }
    }

    /// Runs a batch through the pipeline. One bad article never fails the others.
    public func ingest(_ request: IngestRequest, logger: Logger) async throws -> IngestResponse {
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
        let outcomes = await Self.parallelMap(request.articles) { [processor = self.processor, extractor = self.extractor, enrich = self.enrich] submission in
            processor.process(submission).map { parsed in
                var article = Self.stored(parsed, submission: submission, ingestedAt: now)
                if let extractor { article.extraction = extractor.extract(article) }
                enrich(&article)
                return article
            }
        }
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .failure(let rejection):
                results[index] = IngestResult(index: UInt32(index), status: .rejected, reason: rejection.description)
            case .success(let article):
                candidates.append((index, article))
            }
        }
        // Reserve deduplication keys (and thus decide duplicates) atomically for the whole batch.
        var accepted: [(index: Int, article: StoredArticle)] = []
        self.index.withLock { state in
            for (index, var article) in candidates {
                if let existing = article.externalID.flatMap({ state.byExternalID[$0] }) ?? state.byContent[article.contentKey] {
                    results[index] = IngestResult(index: UInt32(index), status: .duplicate, articleID: existing, duplicateOf: existing)
                    state.duplicates += 1
                    continue
                }
                if state.ids.contains(article.id) { article.id += "-\(state.ids.count)" }  // a 64-bit fingerprint collision
                state.ids.insert(article.id)
                if let externalID = article.externalID { state.byExternalID[externalID] = article.id }
                state.byContent[article.contentKey] = article.id
                accepted.append((index, article))
            }
            state.rejected += UInt64(results.count(where: { $0?.status == .rejected }))
        }
        if !accepted.isEmpty {
            let offsets: Range<UInt64>
            do {
                let encoder = DatelineBinaryEncoder()
                let payloads = try accepted.map { try Array(encoder.encode($0.article).readableBytesView) }
                offsets = try await self.log.append(payloads)
            } catch {
                // Nothing of this batch was acknowledged: release its keys so a retry can succeed.
                self.index.withLock { state in
                    for (_, article) in accepted {
                        state.ids.remove(article.id)
                        if let externalID = article.externalID, state.byExternalID[externalID] == article.id { state.byExternalID[externalID] = nil }
                        if state.byContent[article.contentKey] == article.id { state.byContent[article.contentKey] = nil }
                    }
                }
                logger.error("append failed", metadata: ["dateline.error": "\(error)"])
                throw DatelineError(code: .unavailable, message: "the log could not store the batch: \(error)", cause: error)
            }
            for (position, entry) in accepted.enumerated() {
                results[entry.index] = IngestResult(
                    index: UInt32(entry.index),
                    status: .accepted,
                    articleID: entry.article.id,
                    offset: offsets.lowerBound + UInt64(position)
                )
            }
            let second = Int64(Date().timeIntervalSince1970)
            self.index.withLock { state in
                state.accepted += UInt64(accepted.count)
                if state.recent.last?.second == second {
                    state.recent[state.recent.count - 1].count += accepted.count
                } else {
                    state.recent.append((second, accepted.count))
                }
                state.recent.removeAll { $0.second < second - 60 }
            }
        }
        logger.debug("ingested batch", metadata: ["dateline.accepted": "\(accepted.count)", "dateline.articles": "\(request.articles.count)"])
        return IngestResponse(results: results.map { $0! }, endOffset: self.log.endOffset)
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
    public func subscribe(_ request: SubscribeRequest, writer: DatelineStreamWriter<LogBatch>, logger: Logger) async throws {
        let bounds = self.log.bounds
        guard request.fromOffset >= bounds.lowerBound, request.fromOffset <= bounds.upperBound else {
            throw DatelineError(
                code: .invalidArgument,
                message: "offset \(request.fromOffset) is outside the log, which holds offsets \(bounds.lowerBound)..<\(bounds.upperBound)",
                details: ["endOffset": "\(bounds.upperBound)"]
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
        logger.info("follower subscribed", metadata: ["dateline.follower": "\(name)", "dateline.offset": "\(request.fromOffset)"])
        var position = request.fromOffset
        while !Task.isCancelled {
            let records = try self.log.read(from: position, maximumRecords: batchRecords, maximumBytes: 4 << 20)
            if records.isEmpty {
                await self.log.waitForRecord(at: position)
                continue
            }
            // The stored payloads are StoredArticle encodings already: splice them in without decoding.
            let batch = LogBatch.encode(records: records.map { ($0.offset, $0.payload) }, endOffset: self.log.endOffset)
            try await writer.write(encoded: batch)
            position = records.last!.offset + 1
            self.index.withLock { $0.followers[followerID]?.position = position }
        }
        throw CancellationError()
    }

    // MARK: Stats

    /// The service's figures.
    public func stats() -> IngestStatsResponse {
        let fsync = self.log.fsyncLatency
        let now = Int64(Date().timeIntervalSince1970)
        return self.index.withLock { state in
            let lastMinute = state.recent.filter { $0.second >= now - 60 }.reduce(0) { $0 + $1.count }
            return IngestStatsResponse(
                articleCount: self.log.endOffset,
                endOffset: self.log.endOffset,
                bytesOnDisk: UInt64(self.log.bytesOnDisk),
                segments: UInt32(self.log.segmentCount),
                followers: state.followers.values.sorted { $0.name < $1.name },
                ingestRatePerSecond: Double(lastMinute) / 60,
                fsyncCount: UInt64(fsync.count),
                fsyncMeanMicroseconds: fsync.mean.seconds * 1e6,
                fsyncLastMicroseconds: fsync.last.seconds * 1e6,
                accepted: state.accepted,
                duplicates: state.duplicates,
                rejected: state.rejected,
                durability: self.configuration.durability.description,
                uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
                memory: ProcessMemory.current()
            )
        }
    }
}

extension Duration {
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
