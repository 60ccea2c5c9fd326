import DatelineArticles
import DatelineExtraction
import DatelineIngest
import DatelineProtocol
import DatelineQuery
import DatelineSearch
import DatelineStorage
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The Reuters-21578 corpus through dateline-ingest end to end (client → protocol → parse → deduplicate →
/// fsynced log), against the same records appended straight to the log in the same run.
enum IngestBenchmark {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/corpora/reuters21578")

    /// At least 200 queries built from the corpus's own titles.
    static func queries(from items: [ReutersReader.Item]) -> [SearchRequest] {
        self.queries(pairing: self.titleWords(items), start: 0, end: 400, from: Date(timeIntervalSince1970: 541_000_000))  // early March 1987
    }

    /// Every 8th word from `start` (below `end`) with the next one: as a term, AND, OR and a phrase, each top 10
    /// with and without `from` as a date bound.
    static func queries(pairing words: [String], start: Int, end: Int, from: Date) -> [SearchRequest] {
        self.texts(pairing: words, start: start, end: end).flatMap { text in
            [SearchRequest(query: text, limit: 10), SearchRequest(query: text, limit: 10, from: from)]
        }
    }

    /// Every 8th word from `start` (below `end`) with the next one: as a term, AND, OR and a phrase.
    static func texts(pairing words: [String], start: Int, end: Int) -> [String] {
        stride(from: start, to: min(words.count - 2, end), by: 8).flatMap { index in
            let (a, b) = (words[index], words[index + 1])
            return [a, "\(a) \(b)", "\(a) OR \(b)", "\"\(a) \(b)\""]
        }
    }

    /// The words of the corpus's titles (five letters or more, each once, in order of appearance).
    static func titleWords(_ items: [ReutersReader.Item]) -> [String] {
        let words = items.compactMap(\.title).flatMap { title in
            title.split(separator: " ").map { $0.lowercased().filter(\.isLetter) }.filter { $0.count >= 5 }
        }
        var seen = Set<String>()
        return words.filter { seen.insert($0).inserted }
    }

    struct Latency {
        var rate: Double
        var p50: Double
        var p95: Double
        var p99: Double
    }

    struct LatencyRuns {
        var runs: [Latency]

        var median: Latency {
            func middle(_ key: KeyPath<Latency, Double>) -> Double { self.runs.map { $0[keyPath: key] }.sorted()[self.runs.count / 2] }
            return Latency(rate: middle(\.rate), p50: middle(\.p50), p95: middle(\.p95), p99: middle(\.p99))
        }

        func text(_ key: KeyPath<Latency, Double>, micro: Bool = true) -> String {
            let values = self.runs.map { $0[keyPath: key] }.sorted()
            let show = { (value: Double) in micro ? micros(value) : "\(Int(value))" }
            let median = show(values[values.count / 2])
            return values.count > 1 ? "\(median) (\(show(values.first!))–\(show(values.last!)))" : median
        }
    }

    static func measureQueryRuns(_ queries: [SearchRequest], port: Int, clients: Int, runs: Int) async throws -> LatencyRuns {
        var results: [Latency] = []
        for _ in 0..<runs { results.append(try await self.measureQueries(queries, port: port, clients: clients, rounds: 1)) }
        return LatencyRuns(runs: results)
    }

    static func measureQueries(_ queries: [SearchRequest], port: Int, clients: Int, rounds: Int) async throws -> Latency {
        try await self.measureQueries(queries, ports: [port], clients: clients, rounds: rounds)
    }

    /// `clients` connections, each sending every query in turn (client `i` to `ports[i % ports.count]`, as a
    /// load balancer in front of replicas would place them).
    static func measureQueries(_ queries: [SearchRequest], ports: [Int], clients: Int, rounds: Int) async throws -> Latency {
        let clock = ContinuousClock()
        let connections = try await (0..<clients).asyncMap { index in
            try await DatelineClientConnection.connect(host: "127.0.0.1", port: ports[index % ports.count])
        }
        for connection in connections.prefix(ports.count) { for query in queries.prefix(50) { _ = try await connection.send(query) } }  // warm-up
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for connection in connections {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in 0..<rounds {
                        for query in queries {
                            let begin = clock.now
                            _ = try await connection.send(query)
                            latencies.append((clock.now - begin).seconds)
                        }
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = (clock.now - start).seconds
        for connection in connections { try await connection.close() }
        let sorted = latencies.sorted()
        return Latency(rate: Double(latencies.count) / elapsed, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99))
    }

    /// The p50 of a bare NIO echo round trip, one at a time, measured now.
    static func echoP50() async throws -> Double {
        let group = MultiThreadedEventLoopGroup.singleton
        let echo = try await ServerBootstrap(group: group)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RoundTripBenchmark.LengthPrefixedDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RoundTripBenchmark.EchoServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let result = try await RoundTripBenchmark.echo(port: echo.localAddress!.port!, connections: 1, window: 1, total: 5_000, group: group)
        try await echo.close()
        return result.p50
    }

    /// Ingests `submissions` through the protocol with a follower indexing them; returns the seconds until every
    /// batch was acknowledged (durable) and until the follower applied everything (searchable).
    static func ingestRun(_ submissions: [ArticleSubmission], extraction: Bool, logger: Logger) async throws -> (durable: Double, searchable: Double) {
        let run = try await self.ingestRun(submissions, extraction: extraction, logger: logger) { _, _ in }
        return (run.durable, run.searchable)
    }

    /// Like ``ingestRun(_:extraction:logger:)``, then `afterwards` with both services still running (the query
    /// service has applied everything).
    static func ingestRun<Result>(
        _ submissions: [ArticleSubmission],
        extraction: Bool,
        logger: Logger,
        indexDirectory: String? = nil,
        afterwards: (IngestService, QueryService) async throws -> Result
    ) async throws -> (durable: Double, searchable: Double, result: Result) {
        let clock = ContinuousClock()
        let dataDirectory = NSTemporaryDirectory() + "dateline-bench-ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let configuration = IngestServiceConfiguration(
            dataDirectory: dataDirectory,
            server: DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest"),
            extraction: extraction
        )
        let service = try IngestService.open(configuration: configuration, logger: logger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: logger)
        let serverTask = Task { try await server.run() }
        let port = try await server.listeningAddress().port!
        let query = QueryService(configuration: QueryServiceConfiguration(ingestPort: port, indexDirectory: indexDirectory), logger: logger)
        let followerTask = Task { try await query.run() }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for batchStart in stride(from: lane * 100, to: submissions.count, by: 400) {
                        let batch = Array(submissions[batchStart..<min(batchStart + 100, submissions.count)])
                        _ = try await connection.send(IngestRequest(articles: batch), timeout: .seconds(300))
                    }
                }
            }
            try await group.waitForAll()
        }
        let durable = (clock.now - start).seconds
        let end = service.stats().endOffset
        while query.appliedOffset < end { try await Task.sleep(for: .milliseconds(1)) }
        let searchable = (clock.now - start).seconds
        let result = try await afterwards(service, query)
        followerTask.cancel()
        _ = await followerTask.result
        try await connection.close()
        serverTask.cancel()
        _ = await serverTask.result
        try await service.close()
        return (durable, searchable, result)
    }

    /// Parse-only and parse+extract rates in process, one core and all cores.
    /// "median/s (min–max)" of the rates `count / time` over several runs, and the median rate.
    static func rates(_ times: [Double], count: Int) -> (text: String, median: Double) {
        let rates = times.map { Double(count) / $0 }.sorted()
        let median = rates[rates.count / 2]
        guard rates.count > 1 else { return ("\(Int(median))", median) }
        return ("\(Int(median)) (\(Int(rates.first!))–\(Int(rates.last!)))", median)
    }

    /// Parse-only (the baseline) and extraction rates in process on one core and on all, as the head and first
    /// rows of a Markdown table (`--extraction` prints it alone).
    static func inProcessExtraction(_ submissions: [ArticleSubmission]) async -> String {
        let clock = ContinuousClock()
        let processor = ArticleProcessor()
        let parsed: [StoredArticle] = submissions.compactMap { submission in
            guard case .success(let article) = processor.process(submission) else { return nil }
            return StoredArticle(
                id: "x", title: article.title, publishedAt: article.publishedAt, datelinePlace: article.datelinePlace,
                paragraphs: article.paragraphs, contentKey: "", ingestedAt: Date(), format: .fields
            )
        }
        var start = clock.now
        for submission in submissions { _ = processor.process(submission) }
        let parseTime = (clock.now - start).seconds
        let full = ArticleExtractor()
        let rules = ArticleExtractor(model: nil)
        start = clock.now
        var mentions = 0
        var events = 0
        for article in parsed {
            let extraction = full.extract(article)
            mentions += extraction.mentions.count
            events += extraction.events.count
        }
        let extractTime = (clock.now - start).seconds
        start = clock.now
        for article in parsed { _ = rules.extract(article) }
        let rulesTime = (clock.now - start).seconds
        let cores = ProcessInfo.processInfo.activeProcessorCount
        start = clock.now
        await withTaskGroup(of: Void.self) { group in
            for core in 0..<cores {
                group.addTask {
                    for index in stride(from: core, to: parsed.count, by: cores) { _ = full.extract(parsed[index]) }
                }
            }
        }
        let parallelTime = (clock.now - start).seconds
        let n = Double(parsed.count)
        return """
            ### Extraction on Reuters-21578 (\(parsed.count) articles; \(mentions) mentions and \(events) events found)

            | path | articles/s | ratio |
            |---|---|---|
            | parse only (baseline), 1 core | \(Int(Double(submissions.count) / parseTime)) | 1.00× |
            | extract (rules, gazetteers, NER model), 1 core | **\(Int(n / extractTime))** | \(ratio((n / extractTime) / (Double(submissions.count) / parseTime))) |
            | extract with rules and gazetteers only (no NER model), 1 core | \(Int(n / rulesTime)) | \(ratio((n / rulesTime) / (Double(submissions.count) / parseTime))) |
            | extract, \(cores) cores | \(Int(n / parallelTime)) | |

            """
    }

    static func extractionReport(_ submissions: [ArticleSubmission], extractionOff: [(durable: Double, searchable: Double)], extractionOn: [(durable: Double, searchable: Double)]) async -> String {
        let offDurable = Self.rates(extractionOff.map(\.durable), count: submissions.count)
        let onDurable = Self.rates(extractionOn.map(\.durable), count: submissions.count)
        let offSearchable = Self.rates(extractionOff.map(\.searchable), count: submissions.count)
        let onSearchable = Self.rates(extractionOn.map(\.searchable), count: submissions.count)
        let inProcess = await Self.inProcessExtraction(submissions)
        return """
            \(inProcess)| end to end durable, extraction off (median of \(extractionOff.count) runs, min–max) | \(offDurable.text) | 1.00× |
            | end to end durable, extraction on (the default) | **\(onDurable.text)** | \(ratio(onDurable.median / offDurable.median)) |
            | end to end searchable, extraction off | \(offSearchable.text) | 1.00× |
            | end to end searchable, extraction on | **\(onSearchable.text)** | \(ratio(onSearchable.median / offSearchable.median)) |

            """
    }

    /// `Benchmarks/.build/peers/`: `articles.jsonl` (id, title, body, date) and `input.json` (queries, Dateline's
    /// results and figures), for the peer script.
    static func writePeerInput(items: [ReutersReader.Item], queries: [[String: Any]], dateline: [String: Double]) throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/peers")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = Data()
        for item in items where !item.body.isEmpty {
            var object: [String: Any] = ["id": "reuters-\(item.newID)", "title": item.title ?? "", "body": item.body]
            if let date = item.date { object["date"] = Int(date.timeIntervalSince1970) }
            lines.append(try JSONSerialization.data(withJSONObject: object))
            lines.append(0x0A)
        }
        try lines.write(to: directory.appendingPathComponent("articles.jsonl"))
        let input: [String: Any] = ["queries": queries, "dateline": dateline]
        try JSONSerialization.data(withJSONObject: input, options: [.prettyPrinted, .sortedKeys]).write(to: directory.appendingPathComponent("input.json"))
    }

    static func extractionOnlyReport() async -> String {
        var items: [ReutersReader.Item] = []
        for index in 0..<22 {
            items += ReutersReader.items(in: (try? Data(contentsOf: self.corpus.appendingPathComponent(String(format: "reut2-%03d.sgm", index)))) ?? Data())
        }
        let report = await Self.extractionReport(items.map(\.submission), extractionOff: [(1, 1)], extractionOn: [(1, 1)])
        // Decoding cost of stored articles with and without their extraction.
        let processor = ArticleProcessor()
        let extractor = ArticleExtractor()
        var with: [[UInt8]] = []
        var without: [[UInt8]] = []
        let encoder = DatelineBinaryEncoder()
        // A digest of every extraction, so that a change meant only to be faster can show it found the same.
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for item in items {
            guard case .success(let parsed) = processor.process(item.submission) else { continue }
            var article = StoredArticle(id: "x", title: parsed.title, publishedAt: parsed.publishedAt, paragraphs: parsed.paragraphs, contentKey: "", ingestedAt: Date(), format: .fields)
            without.append(Array((try? encoder.encode(article))!.readableBytesView))
            article.extraction = extractor.extract(article)
            for byte in (try? encoder.encode(article.extraction!))!.readableBytesView { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
            with.append(Array((try? encoder.encode(article))!.readableBytesView))
        }
        let decoder = DatelineBinaryDecoder()
        let clock = ContinuousClock()
        var start = clock.now
        for bytes in without { _ = try? decoder.decode(StoredArticle.self, from: bytes) }
        let plain = (clock.now - start).seconds
        start = clock.now
        for bytes in with { _ = try? decoder.decode(StoredArticle.self, from: bytes) }
        let full = (clock.now - start).seconds
        return report + "\ndecode \(with.count) stored articles: without extraction \(String(format: "%.2f", plain)) s (\(without.reduce(0) { $0 + $1.count } / 1_000_000) MB), with \(String(format: "%.2f", full)) s (\(with.reduce(0) { $0 + $1.count } / 1_000_000) MB)\nextraction digest: \(String(digest, radix: 16))\n"
    }

    static func report(quick: Bool) async throws -> String {
        guard FileManager.default.fileExists(atPath: self.corpus.path) else {
            return "### Ingest\n\nSkipped: ../shared/corpora/reuters21578 is not present.\n"
        }
        let clock = ContinuousClock()
        let readStart = clock.now
        var items: [ReutersReader.Item] = []
        for index in 0..<(quick ? 3 : 22) {
            items += ReutersReader.items(in: try Data(contentsOf: self.corpus.appendingPathComponent(String(format: "reut2-%03d.sgm", index))))
        }
        let readTime = (clock.now - readStart).seconds
        let submissions = items.map(\.submission)
        let bytes = submissions.reduce(0) { $0 + $1.body.utf8.count + ($1.title?.utf8.count ?? 0) }
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

        // Baseline: the log alone, the same articles already parsed and encoded, batches of 100, fsync per batch.
        let processor = ArticleProcessor()
        let encoder = DatelineBinaryEncoder()
        let payloads: [[UInt8]] = try submissions.compactMap { submission in
            guard case .success(let parsed) = processor.process(submission) else { return nil }
            let article = StoredArticle(id: "x", paragraphs: parsed.paragraphs, contentKey: "", ingestedAt: Date(), format: .fields)
            return Array(try encoder.encode(article).readableBytesView)
        }
        let logDirectory = NSTemporaryDirectory() + "dateline-bench-log-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: logDirectory) }
        let log = try DatelineLog(configuration: .init(directory: logDirectory), logger: logger)
        let logStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for start in stride(from: lane * 100, to: payloads.count, by: 400) {
                        _ = try await log.append(Array(payloads[start..<min(start + 100, payloads.count)]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let logTime = (clock.now - logStart).seconds
        let fsyncs = log.fsyncLatency
        try await log.close()

        // End to end through the protocol.
        let dataDirectory = NSTemporaryDirectory() + "dateline-bench-ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let configuration = IngestServiceConfiguration(
            dataDirectory: dataDirectory,
            server: DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest")
        )
        let service = try IngestService.open(configuration: configuration, logger: logger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: logger)
        let serverTask = Task { try await server.run() }
        let port = try await server.listeningAddress().port!
        // dateline-query follows along, so the run measures "durable and searchable".
        let query = QueryService(configuration: QueryServiceConfiguration(ingestPort: port), logger: logger)
        var followerTask = Task { try await query.run() }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        let start = clock.now
        let counts = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
            for lane in 0..<4 {
                group.addTask {
                    var counts = (0, 0, 0)
                    for batchStart in stride(from: lane * 100, to: submissions.count, by: 400) {
                        let batch = Array(submissions[batchStart..<min(batchStart + 100, submissions.count)])
                        let response = try await connection.send(IngestRequest(articles: batch), timeout: .seconds(120))
                        for result in response.results {
                            switch result.status {
                            case .accepted: counts.0 += 1
                            case .duplicate: counts.1 += 1
                            default: counts.2 += 1
                            }
                        }
                    }
                    return counts
                }
            }
            return try await group.reduce(into: (0, 0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1, $0.2 + $1.2) }
        }
        let endToEnd = (clock.now - start).seconds
        let stats = service.stats()
        while query.appliedOffset < stats.endOffset { try await Task.sleep(for: .milliseconds(1)) }
        let searchable = (clock.now - start).seconds
        // Query latency on the full index, through the client library over loopback: top-10 with snippets.
        let queryServer = DatelineServer(
            configuration: .init(port: 0, serviceName: "dateline-query"),
            router: query.router,
            logger: logger
        )
        let queryServerTask = Task { try await queryServer.run() }
        let queryPort = try await queryServer.listeningAddress().port!
        let queries = Self.queries(from: items)
        if ProcessInfo.processInfo.environment["DATELINE_BENCH_BREAKDOWN"] != nil {
            // In-process breakdown of one search's cost (no network).
            let parser = SearchQueryParser()
            var clockStart = clock.now
            for request in queries { _ = try query.search(request) }
            let whole = (clock.now - clockStart).seconds / Double(queries.count)
            let index = SearchIndex()
            for item in items.prefix(21_578) { index.add(IndexedDocument(id: item.newID, title: item.title ?? "", body: item.body)) }
            clockStart = clock.now
            var matched = 0
            for request in queries { matched += index.matches(try parser.parse(request.query)).count }
            let matching = (clock.now - clockStart).seconds / Double(queries.count)
            clockStart = clock.now
            for request in queries {
                let parsed = try parser.parse(request.query)
                for document in index.matches(parsed).prefix(10) { _ = index.snippets(of: document.document, for: parsed) }
            }
            let withSnippets = (clock.now - clockStart).seconds / Double(queries.count)
            clockStart = clock.now
            var scoredTotal = 0
            for request in queries { scoredTotal += index.topMatches(try parser.parse(request.query), limit: 11).scored }
            let topK = (clock.now - clockStart).seconds / Double(queries.count)
            clockStart = clock.now
            for request in queries {
                let all = index.matches(try parser.parse(request.query))
                _ = all.sorted { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }.prefix(11)
            }
            let sortAll = (clock.now - clockStart).seconds / Double(queries.count)
            print("BREAKDOWN top 10: MaxScore \(micros(topK)) (mean \(scoredTotal / queries.count) documents scored), score all and sort \(micros(sortAll))")
            print("BREAKDOWN search \(micros(whole)), matches \(micros(matching)) (mean \(matched / queries.count) matches), matches+10 snippets \(micros(withSnippets))")
        }
        // What the peers (scripts/bench.sh runs Benchmarks/peers/peers.py) need: the same articles, the same
        // queries, Dateline's top 10 for each (to compare rankings) and its figures (for ratios).
        var inProcess: [Double] = []
        var peerQueries: [[String: Any]] = []
        for request in queries {
            let begin = clock.now
            let response = try query.search(request)
            inProcess.append((clock.now - begin).seconds)
            let top = try response.hits.map { try query.article($0.articleID).article.externalID ?? "" }
            peerQueries.append(["query": request.query, "from": request.from.map { $0.timeIntervalSince1970 } as Any, "datelineTop10": top])
        }
        inProcess.sort()
        let sequentialRuns = try await Self.measureQueryRuns(queries, port: queryPort, clients: 1, runs: quick ? 1 : 3)
        let concurrentRuns = try await Self.measureQueryRuns(queries, port: queryPort, clients: 8, runs: quick ? 1 : 3)
        let sequential = sequentialRuns.median
        let concurrent = concurrentRuns.median
        let echoP50 = try await Self.echoP50()
        queryServerTask.cancel()
        _ = await queryServerTask.result
        followerTask.cancel()
        _ = await followerTask.result
        // Restart to ready from the index on disk: commit it, then time opening it.
        let indexDirectory = NSTemporaryDirectory() + "dateline-bench-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: indexDirectory) }
        let committing = QueryService(configuration: QueryServiceConfiguration(ingestPort: port, indexDirectory: indexDirectory), logger: logger)
        let commitTask = Task { try await committing.run() }
        while committing.appliedOffset < stats.endOffset { try await Task.sleep(for: .milliseconds(1)) }
        commitTask.cancel()
        _ = await commitTask.result  // commits as it stops
        let snapshotBytes = ((try? FileManager.default.contentsOfDirectory(atPath: indexDirectory)) ?? []).reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: indexDirectory + "/" + name)[.size] as? Int) ?? 0)
        }
        let loadStart = clock.now
        let loaded = QueryService(configuration: QueryServiceConfiguration(ingestPort: port, indexDirectory: indexDirectory), logger: logger)
        let snapshotLoad = (clock.now - loadStart).seconds
        precondition(loaded.appliedOffset == stats.endOffset, "the committed index did not open")
        _ = try loaded.entities(EntitiesRequest(limit: 20))
        let entityReady = (clock.now - loadStart).seconds
        // Restart to ready without a snapshot: replaying the whole log.
        let restarted = QueryService(configuration: QueryServiceConfiguration(ingestPort: port), logger: logger)
        let restartStart = clock.now
        followerTask = Task { try await restarted.run() }
        while restarted.appliedOffset < stats.endOffset { try await Task.sleep(for: .milliseconds(1)) }
        let restartTime = (clock.now - restartStart).seconds
        followerTask.cancel()
        _ = await followerTask.result
        try await connection.close()
        serverTask.cancel()
        _ = await serverTask.result
        try await service.close()

        let rate = Double(submissions.count) / endToEnd
        let logRate = Double(payloads.count) / logTime
        let repeats = quick ? 1 : 3
        var extractionOffRuns: [(durable: Double, searchable: Double)] = []
        var extractionOnRuns: [(durable: Double, searchable: Double)] = [(endToEnd, searchable)]
        for _ in 0..<repeats { extractionOffRuns.append(try await Self.ingestRun(submissions, extraction: false, logger: logger)) }
        for _ in 1..<max(1, repeats) { extractionOnRuns.append(try await Self.ingestRun(submissions, extraction: true, logger: logger)) }
        let extractionOff = extractionOffRuns.sorted { $0.searchable < $1.searchable }[extractionOffRuns.count / 2]
        try Self.writePeerInput(
            items: items, queries: peerQueries,
            dateline: [
                "ingestDurableExtractionOn": Double(submissions.count) / endToEnd,
                "ingestSearchableExtractionOn": Double(submissions.count) / searchable,
                "ingestDurableExtractionOff": Double(submissions.count) / extractionOff.durable,
                "ingestSearchableExtractionOff": Double(submissions.count) / extractionOff.searchable,
                "queryP50": sequential.p50, "queryP95": sequential.p95, "queryP99": sequential.p99, "queryRate": sequential.rate,
                "queryInProcessP50": inProcess[inProcess.count / 2], "queryInProcessP99": inProcess[min(inProcess.count - 1, inProcess.count * 99 / 100)],
                "echoP50": echoP50, "snapshotRestart": snapshotLoad, "replayRestart": restartTime,
                "bytesPerArticle": Double(stats.bytesOnDisk) / Double(max(1, counts.0)),
            ]
        )
        let extraction = await Self.extractionReport(submissions, extractionOff: extractionOffRuns, extractionOn: extractionOnRuns)
        var scale = ""
        if let index = CommandLine.arguments.firstIndex(of: "--scale"), index + 1 < CommandLine.arguments.count, let factor = Int(CommandLine.arguments[index + 1]), factor > 1 {
            scale = "\n" + (try await ScaleBenchmark.report(
                factor: factor, items: items, queries: queries,
                baseline: (Double(submissions.count) / searchable, sequential.p50, sequential.p99)
            ))
        }
        return extraction + scale + "\n" + """
            ### Ingest: Reuters-21578 (\(submissions.count) articles, \(bytes / 1_000_000) MB of text; batches of 100, 4 in flight, fsync before every acknowledgement)

            | path | time | articles/s | MB/s | ratio |
            |---|---|---|---|---|
            | end to end: client → protocol → parse → dedup → fsynced log | \(String(format: "%.2f s", endToEnd)) | **\(Int(rate))** | \(String(format: "%.1f", Double(bytes) / endToEnd / 1e6)) | \(ratio(rate / logRate)) of the log alone |
            | ... and searchable: dateline-query following and indexing | \(String(format: "%.2f s", searchable)) | **\(Int(Double(submissions.count) / searchable))** | \(String(format: "%.1f", Double(bytes) / searchable / 1e6)) | |
            | dateline-query restart to ready from its index on disk (\(snapshotBytes / 1_000_000) MB) | \(String(format: "%.2f s", snapshotLoad)) | \(Int(Double(stats.endOffset) / snapshotLoad)) | | |
            | ... and answering an entity look-up (read from the segments) | \(String(format: "%.2f s", entityReady)) | | | |
            | dateline-query restart to ready without its index (full replay of the log) | \(String(format: "%.2f s", restartTime)) | \(Int(Double(stats.endOffset) / restartTime)) | | |
            | baseline: the log alone (same records, same batches) | \(String(format: "%.2f s", logTime)) | \(Int(logRate)) | \(String(format: "%.1f", Double(bytes) / logTime / 1e6)) | 1.00× |
            | reading the SGML files | \(String(format: "%.2f s", readTime)) | \(Int(Double(submissions.count) / readTime)) | | |

            ### Query latency on the Reuters index (\(queries.count) queries from the corpus's titles: single terms, two-term AND, OR, phrases, each also with a date filter; top 10 with snippets; through the client library over loopback)

            | clients | queries/s | p50 | p95 | p99 |
            |---|---|---|---|---|
            | 1 | \(sequentialRuns.text(\.rate, micro: false)) | \(sequentialRuns.text(\.p50)) | \(sequentialRuns.text(\.p95)) | \(sequentialRuns.text(\.p99)) |
            | 8 concurrent | \(concurrentRuns.text(\.rate, micro: false)) | \(concurrentRuns.text(\.p50)) | \(concurrentRuns.text(\.p95)) | \(concurrentRuns.text(\.p99)) |

            (Median of \(sequentialRuns.runs.count) runs of all \(queries.count) queries, min–max in brackets.)
            | baseline: NIO echo round trip, same run | | \(micros(echoP50)) | | |

            Search p50 − echo p50 = \(micros(sequential.p50 - echoP50)) (target: ≤ 80 µs); p99 \(micros(sequential.p99)) (target: ≤ 2 ms).

            Outcome: \(counts.0) accepted, \(counts.1) duplicates (same normalised text under another NEWID), \(counts.2) rejected (NEWID 12793 has no text). \
            \(stats.fsyncCount) fsyncs in the end-to-end run (mean \(String(format: "%.0f", stats.fsyncMeanMicroseconds)) µs); \(fsyncs.count) in the baseline. \
            \(stats.bytesOnDisk / UInt64(max(1, counts.0))) bytes on disk per article.

            """
    }
}

extension Range where Bound == Int {
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for value in self { results.append(try await transform(value)) }
        return results
    }
}
