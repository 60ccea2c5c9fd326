import CoreMetrics
import DatelineIngest
import DatelineMetrics
import DatelineProtocol
import DatelineTestSupport
import Foundation
import Logging
import NIOCore
import Prometheus
import Testing

private let quiet = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `dateline-ingest` in process with its metrics in a registry of its own, and the endpoint serving them.
private func withMeteredIngest(_ body: (_ ingestPort: Int, _ metricsPort: Int) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-metrics-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let registry = PrometheusCollectorRegistry()
    let factory = PrometheusMetricsFactory.dateline(registry: registry)
    let configuration = IngestServiceConfiguration(
        dataDirectory: directory,
        server: DatelineServerConfiguration(serviceName: "dateline-ingest", drainTimeout: .seconds(1), metricsFactory: factory),
        extraction: false
    )
    let service = try IngestService.open(configuration: configuration, logger: quiet)
    let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quiet)
    let endpoint = DatelineMetricsEndpoint(configuration: .init(), registry: registry, refresh: { service.refreshMetrics() }, logger: quiet)
    let tasks = [Task { try await server.run() }, Task { try await endpoint.run() }]
    do {
        try await body(try await server.listeningAddress().port!, try await endpoint.listeningAddress().port!)
    } catch {
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
        try await service.close()
        throw error
    }
    for task in tasks { task.cancel() }
    for task in tasks { _ = await task.result }
    try await service.close()
}

@Suite("The metrics endpoint")
struct MetricsEndpointTests {
    @Test func aScrapeCountsRequestsByTypeAndOutcomeAndReportsTheLog() async throws {
        try await withMeteredIngest { ingestPort, metricsPort in
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
            let samples = try Samples.submissions()
            _ = try await connection.send(IngestRequest(articles: samples))
            let again = try await connection.send(IngestRequest(articles: samples + [ArticleSubmission(body: "   ")]))
            #expect(again.results.map(\.status) == [.duplicate, .duplicate, .rejected])
            _ = try await connection.ping()
            await #expect(throws: DatelineError.self) { _ = try await connection.send(SearchRequest(query: "minister")) }

            let (status, body) = try await RawHTTP.get(port: metricsPort)
            #expect(status == 200)
            let scrape = PrometheusSamples(body)
            let ingest = ["service": "dateline-ingest"]
            func requests(_ type: String, _ code: String) -> Double? {
                scrape.value("dateline_requests_total", ["service": "dateline-ingest", "type": type, "code": code])
            }
            #expect(requests("IngestRequest", "OK") == 2)
            #expect(requests("Ping", "OK") == 1)
            #expect(requests("SearchRequest", "UNKNOWN_MESSAGE_TYPE") == 1)
            #expect(scrape.value("dateline_request_duration_seconds_count", ["type": "IngestRequest", "code": "OK"]) == 2)
            #expect(scrape.value("dateline_request_duration_seconds_bucket", ["type": "IngestRequest", "code": "OK", "le": "+Inf"]) == 2)
            #expect(scrape.value("dateline_ingest_articles_total", ingest.merging(["outcome": "accepted"]) { $1 }) == 2)
            #expect(scrape.value("dateline_ingest_articles_total", ingest.merging(["outcome": "duplicate"]) { $1 }) == 2)
            #expect(scrape.value("dateline_ingest_articles_total", ingest.merging(["outcome": "rejected"]) { $1 }) == 1)
            #expect(scrape.value("dateline_log_end_offset", ingest) == 2)
            #expect((scrape.value("dateline_log_bytes", ingest) ?? 0) > 0)
            #expect(scrape.value("dateline_connections", ingest) == 1)
            #expect(scrape.value("dateline_connections_total", ingest) == 1)
            #expect(scrape.value("dateline_requests_in_flight", ingest) == 0)
            #expect((scrape.value("dateline_received_bytes_total", ingest) ?? 0) > 0)
            #expect((scrape.value("dateline_sent_bytes_total", ingest) ?? 0) > 0)
            #expect((scrape.value("dateline_log_fsync_duration_seconds_count") ?? 0) >= 1)
            #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 0)
            #expect((scrape.value("process_cpu_seconds_total") ?? 0) > 0)

            // Counters refreshed from the service's figures do not grow by being scraped again.
            let second = PrometheusSamples(try await RawHTTP.get(port: metricsPort).body)
            #expect(second.value("dateline_ingest_articles_total", ingest.merging(["outcome": "accepted"]) { $1 }) == 2)
            try await connection.close()
        }
    }

    @Test func requestTypesThisBuildDoesNotKnowShareOneSeries() {
        let registry = PrometheusCollectorRegistry()
        let metrics = DatelineServerMetrics(service: "dateline-ingest", factory: PrometheusMetricsFactory.dateline(registry: registry))
        for raw in UInt16(0x7000)..<0x7100 {
            let key = DatelineServerMetrics.RequestKey(labelling: DatelineMessageType(rawValue: raw), code: .unknownMessageType)
            metrics.handles(for: key).count.increment()
        }
        let scrape = PrometheusSamples(registry.emitToString())
        #expect(scrape.count("dateline_requests_total") == 1)
        #expect(scrape.value("dateline_requests_total", ["type": "unknown", "code": "UNKNOWN_MESSAGE_TYPE"]) == 256)
    }

    @Test func theEndpointAnswersHTTPAsAServerShould() async throws {
        let registry = PrometheusCollectorRegistry()
        let endpoint = DatelineMetricsEndpoint(configuration: .init(), registry: registry, logger: quiet)
        let task = Task { try await endpoint.run() }
        defer { task.cancel() }
        let port = try await endpoint.listeningAddress().port!

        #expect(try await RawHTTP.get(port: port, path: "/nowhere").status == 404)
        #expect(try await RawHTTP.get(port: port, path: "/").status == 200)
        #expect(try await RawHTTP.get(port: port, path: "/metrics?format=text").status == 200)
        let post = try await RawHTTP.exchange(port: port, sending: "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(post.hasPrefix("HTTP/1.1 405"))
        #expect(post.contains("Allow: GET, HEAD"))
        let head = try await RawHTTP.exchange(port: port, sending: "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200"))
        #expect(head.contains("text/plain; version=0.0.4"))
        #expect(head.hasSuffix("\r\n\r\n"), "a HEAD answer has no body")
        // Two requests on one connection, the second closing it: both answered, in order.
        let both = try await RawHTTP.exchange(
            port: port,
            sending: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        let statuses = both.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(statuses == ["200", "404"])
        // Not HTTP at all: a 400 and the connection closed, and the endpoint still serves.
        let garbage: [UInt8] = try await RawHTTP.exchange(port: port, sending: Array("\u{1}\u{2}NOT HTTP\r\n\r\n".utf8) + [0xFF, 0x00])
        #expect(String(decoding: garbage, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
        #expect(try await RawHTTP.get(port: port).status == 200)
    }

    @Test func processFiguresAreReadFromProcStatWhateverTheCommandIsCalled() throws {
        // The command name may hold spaces and parentheses; fields are counted from the last ')'.
        let stat = "4242 (dateline (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 123456789 2048 18446744073709551615"
        let sample = try #require(ProcessMetrics.parse(stat: stat, ticksPerSecond: 100, pageSize: 4096, bootTime: 1_700_000_000))
        #expect(sample.cpuSeconds == 3)
        #expect(sample.residentBytes == 2048 * 4096)
        #expect(sample.virtualBytes == 123_456_789)
        #expect(sample.startTimeSeconds == 1_700_000_010)
        #expect(ProcessMetrics.parse(stat: "no fields here", ticksPerSecond: 100, pageSize: 4096, bootTime: 0) == nil)
        var text: [UInt8] = []
        ProcessMetrics.write(sample, into: &text)
        let scrape = PrometheusSamples(String(decoding: text, as: UTF8.self))
        #expect(scrape.value("process_cpu_seconds_total") == 3)
        #expect(String(decoding: text, as: UTF8.self).contains("# TYPE process_cpu_seconds_total counter"))
    }
}
