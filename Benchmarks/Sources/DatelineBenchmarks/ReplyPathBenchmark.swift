import DatelineClient
import DatelineProtocol
import DatelineQuery
import Foundation
import Logging
import NIOCore

/// Where a search's time goes between the index and the caller (issue 16): the same queries answered in
/// process, then each step of the reply path alone (encode, frame with compression, inflate and decode on the
/// client side), then the whole round trip over loopback. What the steps do not explain is the hop between
/// threads and the system calls.
///
/// `DatelineBenchmarks --reply-path [--rounds N]`; `--on-disk` indexes into segments on disk as dateline-query
/// does with `--data-dir`.
enum ReplyPathBenchmark {
    static func report(rounds: Int, onDisk: Bool) async throws -> String {
        let items = try GeneratedScaleBenchmark.reutersItems()
        let queries = IngestBenchmark.queries(from: items)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let indexDirectory = onDisk ? NSTemporaryDirectory() + "dateline-bench-reply-\(UUID().uuidString)" : nil
        defer { if let indexDirectory { try? FileManager.default.removeItem(atPath: indexDirectory) } }
        let run = try await IngestBenchmark.ingestRun(items.map(\.submission), extraction: false, logger: logger, indexDirectory: indexDirectory) { _, query in
            try await self.measure(queries, query: query, rounds: rounds, onDisk: indexDirectory != nil, logger: logger)
        }
        guard let indexDirectory else { return run.result }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: indexDirectory)) ?? []
        let stores = files.filter { $0.hasSuffix(".stor") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: indexDirectory + "/" + name)[.size] as? Int) ?? 0)
        }
        return run.result + "\nStored articles on disk: \(stores / 1024) KiB in \(files.filter { $0.hasSuffix(".stor") }.count) segments.\n"
        
    }

    private static func measure(_ queries: [SearchRequest], query: QueryService, rounds: Int, onDisk: Bool, logger: Logger) async throws -> String {
        let server = DatelineServer(configuration: .init(port: 0, serviceName: "dateline-query"), router: query.router, logger: logger)
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        let port = try await server.listeningAddress().port!
        let clock = ContinuousClock()
        var steps: [String: [Double]] = [:]
        func time<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let start = clock.now
            let value = try body()
            steps[name, default: []].append((clock.now - start).seconds)
            return value
        }
        let writer = DatelineFrameWriter(configuration: .init())
        var decoder = DatelineFrameDecoder(expectsPreface: false)
        var replyBytes = 0
        var wireBytes = 0
        for _ in 0..<rounds {
            for request in queries {
                let response = try time("1 search in process") { try query.search(request) }
                let payload = try time("2 encode the reply") { try DatelinePayload.encode(response) }
                let frame = try time("3 frame (auto compression, level 1)") {
                    try writer.frame(payload: payload, type: .searchResponse, flags: [.endStream], correlationID: 1)
                }
                replyBytes += payload.readableBytes
                wireBytes += frame.readableBytes
                var input = frame
                let event = try time("4 deframe (inflate when compressed)") { try decoder.decode(buffer: &input) }
                guard case .frame(let decoded) = event else { fatalError("the frame did not decode") }
                _ = try time("5 decode the reply") { try DatelineBinaryDecoder().decode(SearchResponse.self, from: decoded.payload) }
            }
        }
        for (mode, compression) in [("auto", DatelineCompressionConfiguration()), ("none", DatelineCompressionConfiguration.disabled)] {
            let connection = try await DatelineClientConnection.connect(
                host: "127.0.0.1", port: port, configuration: DatelineClientConfiguration(compression: compression)
            )
            for request in queries.prefix(50) { _ = try await connection.send(request) }
            for _ in 0..<rounds {
                for request in queries {
                    let start = clock.now
                    let timed = try await connection.sendTimed(request)
                    steps["6 round trip over loopback, compression \(mode)", default: []].append((clock.now - start).seconds)
                    if let server = timed.serverTime {
                        steps["6 of which the server's handling time, compression \(mode)", default: []].append(Double(server.components.attoseconds) / 1e18)
                    }
                }
            }
            try await connection.close()
        }
        // The same searches answered inline on the connection's event loop: what the hop to a task costs.
        var inline = DatelineRouter()
        inline.onEventLoop(SearchRequest.self) { request, _ in try query.search(request) }
        let inlineServer = DatelineServer(configuration: .init(port: 0, serviceName: "dateline-query"), router: inline, logger: logger)
        let inlineTask = Task { try await inlineServer.run() }
        defer { inlineTask.cancel() }
        let inlineConnection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await inlineServer.listeningAddress().port!)
        for request in queries.prefix(50) { _ = try await inlineConnection.send(request) }
        for _ in 0..<rounds {
            for request in queries {
                let start = clock.now
                _ = try await inlineConnection.send(request)
                steps["7 round trip over loopback, searched on the event loop", default: []].append((clock.now - start).seconds)
            }
        }
        try await inlineConnection.close()
        let echo = try await IngestBenchmark.echoP50()
        var lines = [
            "### Reply path of a search (\(queries.count) queries × \(rounds) rounds, top 10 with snippets\(onDisk ? ", segments on disk as dateline-query keeps them" : ", in memory")); the same server over loopback)",
            "",
            "Mean reply \(replyBytes / (queries.count * rounds)) bytes, \(wireBytes / (queries.count * rounds)) on the wire. NIO echo p50 \(micros(echo)).",
            "",
            "| step | p50 | mean |",
            "|---|---|---|",
        ]
        for (name, values) in steps.sorted(by: { $0.key < $1.key }) {
            let sorted = values.sorted()
            lines.append("| \(name.dropFirst(2)) | \(micros(sorted[sorted.count / 2])) | \(micros(values.reduce(0, +) / Double(values.count))) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
