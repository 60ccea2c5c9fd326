import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

/// Both services as processes with `--metrics-port 0 --metrics-port-file`, driven by the CLI, scraped over HTTP.
@Suite("Metrics of the processes", .serialized)
struct MetricsServiceTests {
    /// Waits for a service to write the port of its metrics endpoint.
    func metricsPort(_ file: String, of process: ServiceProcess) async throws -> Int {
        while process.process.isRunning {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(process.name) exited before its metrics endpoint listened"])
    }

    @Test func bothServicesExportTheirFiguresForPrometheus() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-metrics-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ingest = try ServiceProcess("dateline-ingest", arguments: [
            "--data-dir", root + "/ingest", "--extraction", "off", "--metrics-port", "0", "--metrics-port-file", root + "/ingest.metrics",
        ])
        defer { ingest.kill(SIGTERM) }
        let ingestPort = try await ingest.port()
        let query = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", root + "/query", "--ingest", "127.0.0.1:\(ingestPort)", "--metrics-port", "0", "--metrics-port-file", root + "/query.metrics",
        ])
        defer { query.kill(SIGTERM) }
        let ports = (ingestPort, try await query.port())
        let ingested = try await CLI.run(["ingest", Samples.directory.path, "--wait"], ports: ports)
        #expect(ingested.status == 0, "\(ingested.errors)")
        let search = try await CLI.run(["search", "\"rare earth\" OR counterterrorism", "--no-color"], ports: ports)
        #expect(search.output.hasPrefix("2 articles match"), "\(search.errors)")

        let ingestScrape = try await RawHTTP.get(port: try await self.metricsPort(root + "/ingest.metrics", of: ingest))
        #expect(ingestScrape.status == 200)
        let i = PrometheusSamples(ingestScrape.body)
        #expect(i.value("dateline_ingest_articles_total", ["service": "dateline-ingest", "outcome": "accepted"]) == 2)
        #expect(i.value("dateline_requests_total", ["service": "dateline-ingest", "type": "IngestRequest", "code": "OK"]) ?? 0 >= 1)
        #expect(i.value("dateline_log_end_offset") == 2)
        #expect(i.value("dateline_log_followers") == 1)
        // The query node's subscription is a stream in flight for as long as it follows.
        #expect(i.value("dateline_requests_in_flight") ?? 0 >= 1)
        #expect(i.value("dateline_log_fsync_duration_seconds_count") ?? 0 >= 1)
        #expect(i.value("process_resident_memory_bytes") ?? 0 > 1_048_576)

        let queryScrape = try await RawHTTP.get(port: try await self.metricsPort(root + "/query.metrics", of: query))
        let q = PrometheusSamples(queryScrape.body)
        #expect(q.value("dateline_requests_total", ["service": "dateline-query", "type": "SearchRequest", "code": "OK"]) ?? 0 >= 1)
        #expect(q.value("dateline_request_duration_seconds_count", ["service": "dateline-query", "type": "SearchRequest", "code": "OK"]) ?? 0 >= 1)
        #expect(q.value("dateline_index_articles") == 2)
        #expect(q.value("dateline_index_applied_offset") == 2)
        #expect(q.value("dateline_follower_lag_records") == 0)
        #expect(q.value("dateline_follower_connected") == 1)
        #expect(q.value("dateline_index_commit_failing") == 0)
        #expect(q.value("dateline_index_uncommitted_bytes") != nil)
        #expect(q.value("process_open_fds") ?? 0 > 0)
        // `dateline stats` keeps working from the protocol beside the endpoint.
        let stats = try await CLI.run(["stats"], ports: ports)
        #expect(stats.status == 0, "\(stats.errors)")
    }

    /// `--max-connections` through the real binary: the connection over it is told OVERLOADED (which clients take
    /// as "try another node"), the refusal is counted, the request memory is exported, and the one admitted is served.
    @Test func aServiceOverItsConnectionLimitRefusesTheNextConnectionAndCountsIt() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-limits-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ingest = try ServiceProcess("dateline-ingest", arguments: [
            "--data-dir", root + "/ingest", "--extraction", "off", "--max-connections", "1", "--max-request-memory", "64M",
            "--metrics-port", "0", "--metrics-port-file", root + "/ingest.metrics",
        ])
        defer { ingest.kill(SIGTERM) }
        let port = try await ingest.port()
        let admitted = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        let refusal = await #expect(throws: DatelineError.self) {
            _ = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
        }
        #expect(refusal?.code == .overloaded)
        #expect(refusal?.message.contains("dateline-ingest is serving 1 connections") == true, "\(String(describing: refusal))")
        _ = try await admitted.send(HealthRequest())
        let scrape = PrometheusSamples(try await RawHTTP.get(port: try await self.metricsPort(root + "/ingest.metrics", of: ingest)).body)
        #expect(scrape.value("dateline_connections_refused_total", ["service": "dateline-ingest"]) == 1)
        #expect(scrape.value("dateline_request_memory_bytes", ["service": "dateline-ingest"]) != nil)
        try await admitted.close()
    }
}
