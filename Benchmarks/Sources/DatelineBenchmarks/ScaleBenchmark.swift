import DatelineArticles
import DatelineIngest
import DatelineProtocol
import DatelineQuery
import Foundation
import Logging

/// The Reuters corpus repeated `factor` times (each copy with its own ids and a marker line, so nothing is a
/// duplicate), ingested with extraction on into an index on disk and searched: how cost grows with the data.
enum ScaleBenchmark {
    static func report(factor: Int, items: [ReutersReader.Item], queries: [SearchRequest], baseline: (ingest: Double, p50: Double, p99: Double)) async throws -> String {
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
        // The query service keeps its index in segments on disk, as dateline-query does.
        let indexDirectory = NSTemporaryDirectory() + "dateline-bench-scale-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: indexDirectory) }
        let run = try await IngestBenchmark.ingestRun(submissions, extraction: true, logger: logger, indexDirectory: indexDirectory) { service, query in
            let queryServer = DatelineServer(configuration: .init(port: 0, serviceName: "dateline-query"), router: query.router, logger: logger)
            let queryServerTask = Task { try await queryServer.run() }
            let queryPort = try await queryServer.listeningAddress().port!
            let latency = try await IngestBenchmark.measureQueries(queries, port: queryPort, clients: 1, rounds: 1)
            queryServerTask.cancel()
            _ = await queryServerTask.result
            return (service.stats(), latency, ProcessMemory.current())
        }
        let (durable, searchable) = (run.durable, run.searchable)
        let (stats, latency, memory) = run.result
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
