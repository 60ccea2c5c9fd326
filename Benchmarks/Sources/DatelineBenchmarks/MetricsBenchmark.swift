import DatelineMetrics
import DatelineProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import Prometheus

/// What the request metrics cost on the hot path, in one run: the same round trips against a bare NIO echo, a
/// Dateline server whose metrics go nowhere (the default, no `--metrics-port`) and one recording them into a
/// Prometheus registry (`--metrics-port`); all on one server event-loop thread, interleaved runs, medians.
enum MetricsBenchmark {
    static func report(quick: Bool) async throws -> String {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echoChannel = try await ServerBootstrap(group: serverGroup)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RoundTripBenchmark.LengthPrefixedDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RoundTripBenchmark.EchoServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let echoPort = echoChannel.localAddress!.port!
        let searchResult = SampleMessages.searchResult()
        var router = DatelineRouter()
        router.onEventLoop(SearchRequest.self) { _, _ in searchResult }
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let registry = PrometheusCollectorRegistry()
        let unmetered = DatelineServer(configuration: .init(serviceName: "dateline-bench"), router: router, eventLoopGroup: serverGroup, logger: logger)
        let metered = DatelineServer(
            configuration: .init(serviceName: "dateline-bench", metricsFactory: PrometheusMetricsFactory.dateline(registry: registry)),
            router: router, eventLoopGroup: serverGroup, logger: logger
        )
        let tasks = [Task { try await unmetered.run() }, Task { try await metered.run() }]
        defer { for task in tasks { task.cancel() } }
        let offPort = try await unmetered.listeningAddress().port!
        let onPort = try await metered.listeningAddress().port!

        let sequential = quick ? 5_000 : 20_000
        let pipelined = quick ? 50_000 : 200_000
        let runs = quick ? 1 : 3
        typealias Run = (Int) async throws -> RoundTripBenchmark.Result
        let cases: [(name: String, echo: Run?, dateline: Run)] = [
            ("ping, 1 at a time", { port in
                try await RoundTripBenchmark.echo(port: port, connections: 1, window: 1, total: sequential, group: clientGroup)
            }, { port in
                try await RoundTripBenchmark.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 1, total: sequential, group: clientGroup, configuration: .init(requestTimeout: nil))
            }),
            ("ping, 64 in flight, 1 connection", { port in
                try await RoundTripBenchmark.echo(port: port, connections: 1, window: 64, total: pipelined, group: clientGroup)
            }, { port in
                try await RoundTripBenchmark.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 64, total: pipelined, group: clientGroup, configuration: .init(requestTimeout: nil))
            }),
            ("10-hit search reply (3.6 KB), 1 at a time", nil, { port in
                try await RoundTripBenchmark.dateline(port: port, request: SearchRequest(query: "cocoa"), connections: 1, window: 1, total: sequential / 2, group: clientGroup, configuration: .init(requestTimeout: nil))
            }),
        ]
        var text = """
            ### Metrics on the hot path (one connection over loopback, server and client on one event-loop thread each; median of \(runs) interleaved runs)

            | round trip | echo | metrics off (no `--metrics-port`) | metrics on (Prometheus registry) | off ÷ echo | on ÷ echo | on ÷ off |
            |---|---|---|---|---|---|---|

            """
        func median(_ results: [RoundTripBenchmark.Result]) -> Double { results.map(\.perSecond).sorted()[results.count / 2] }
        for testCase in cases {
            var echo: [RoundTripBenchmark.Result] = []
            var off: [RoundTripBenchmark.Result] = []
            var on: [RoundTripBenchmark.Result] = []
            _ = try await testCase.dateline(offPort)  // warm-up
            _ = try await testCase.dateline(onPort)
            for _ in 0..<runs {
                if let run = testCase.echo { echo.append(try await run(echoPort)) }
                off.append(try await testCase.dateline(offPort))
                on.append(try await testCase.dateline(onPort))
            }
            let (offRate, onRate) = (median(off), median(on))
            let echoRate = echo.isEmpty ? nil : median(echo)
            text += "| \(testCase.name) | \(echoRate.map { "\(Int($0))/s" } ?? "—") | \(Int(offRate))/s | \(Int(onRate))/s | "
            text += (echoRate.map { String(format: "%.2f×", offRate / $0) } ?? "—") + " | "
            text += (echoRate.map { String(format: "%.2f×", onRate / $0) } ?? "—") + " | "
            text += String(format: "%.2f×", onRate / offRate) + " |\n"
        }
        let series = registry.emitToString().split(separator: "\n").count { $0.hasPrefix("dateline_requests_total{") }
        text += "\nThe metered server ended the run with \(series) `dateline_requests_total` series.\n"
        return text
    }
}
