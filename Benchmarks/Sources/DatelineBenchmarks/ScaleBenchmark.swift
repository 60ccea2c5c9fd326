import DatelineArticles
import DatelineIngest
import DatelineProtocol
import DatelineQuery
import Foundation
import Logging

/// The Reuters corpus repeated `factor` times (each copy with its own ids and a marker line, so nothing is a
/// duplicate), ingested with extraction on and searched: how cost grows with the data.
enum ScaleBenchmark {
    static func report(factor: Int, items: [ReutersReader.Item], queries: [SearchRequest], baseline: (ingest: Double, p50: Double, p99: Double)) async throws -> String {
        let clock = ContinuousClock()
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var submissions: [ArticleSubmission] = []
        submissions.reserveCapacity(items.count * factor)
        for copy in 0..<factor {
            for item in items {
                var submission = item.submission
                submission.externalID = "reuters-\(item.newID)-\(copy)"
                if copy > 0 { submission.body += "\n\n(Copy \(copy) of this story.)" }
                submissions.append(submission)
            }
        }
        let dataDirectory = NSTemporaryDirectory() + "dateline-bench-scale-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let configuration = IngestServiceConfiguration(dataDirectory: dataDirectory, server: DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest"))
        let service = try IngestService.open(configuration: configuration, logger: logger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: logger)
        let serverTask = Task { try await server.run() }
        let port = try await server.listeningAddress().port!
        let query = QueryService(configuration: QueryServiceConfiguration(ingestPort: port), logger: logger)
        let followerTask = Task { try await query.run() }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        let all = submissions
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for batchStart in stride(from: lane * 100, to: all.count, by: 400) {
                        let batch = Array(all[batchStart..<min(batchStart + 100, all.count)])
                        _ = try await connection.send(IngestRequest(articles: batch), timeout: .seconds(300))
                    }
                }
            }
            try await group.waitForAll()
        }
        let durable = (clock.now - start).seconds
        let stats = service.stats()
        while query.appliedOffset < stats.endOffset { try await Task.sleep(for: .milliseconds(5)) }
        let searchable = (clock.now - start).seconds
        let queryServer = DatelineServer(configuration: .init(port: 0, serviceName: "dateline-query"), router: query.router, logger: logger)
        let queryServerTask = Task { try await queryServer.run() }
        let queryPort = try await queryServer.listeningAddress().port!
        let latency = try await IngestBenchmark.measureQueries(queries, port: queryPort, clients: 1, rounds: 1)
        let memory = ProcessMemory.current()
        queryServerTask.cancel()
        _ = await queryServerTask.result
        followerTask.cancel()
        _ = await followerTask.result
        try await connection.close()
        serverTask.cancel()
        _ = await serverTask.result
        try await service.close()
        let rate = Double(submissions.count) / searchable
        return """
            ### The corpus at \(factor)× (\(submissions.count) articles, \(stats.articleCount) accepted; extraction on)

            | measurement | 1× (same run) | \(factor)× | \(factor)× ÷ 1× |
            |---|---|---|---|
            | durable and searchable, articles/s | \(Int(baseline.ingest)) | \(Int(rate)) (\(String(format: "%.0f", durable)) s durable, \(String(format: "%.0f", searchable)) s searchable) | \(ratio(rate / baseline.ingest)) |
            | query p50, top 10 with snippets over loopback | \(micros(baseline.p50)) | \(micros(latency.p50)) | \(ratio(latency.p50 / baseline.p50)) |
            | query p99 | \(micros(baseline.p99)) | \(micros(latency.p99)) | \(ratio(latency.p99 / baseline.p99)) |
            | bytes on disk per article | | \(stats.bytesOnDisk / max(1, stats.articleCount)) | |
            | resident memory of the benchmark process (both services, both corpora built so far) | | \(memory.map { String(format: "%.0f MB (peak %.0f MB)", Double($0.residentBytes) / 1e6, Double($0.peakResidentBytes) / 1e6) } ?? "—") | |

            """
    }
}
