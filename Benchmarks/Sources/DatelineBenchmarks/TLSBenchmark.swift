import DatelineProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Round trips with TLS beside the same round trips in plain TCP, in one run: two servers with the same router
/// on one event-loop thread, one of them with a certificate made by `scripts/common.sh`'s `make_tls_material`
/// (what `scripts/start.sh --tls` uses); interleaved runs, medians.
enum TLSBenchmark {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A CA and a certificate for 127.0.0.1 in a new directory.
    static func makeCertificates() throws -> String {
        let directory = NSTemporaryDirectory() + "dateline-bench-tls-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "source \"$0/scripts/common.sh\" && make_tls_material \"$1\"", self.root.path, directory]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw DatelineError(code: .internal, message: "make_tls_material failed (is openssl installed?)") }
        return directory
    }

    static func report(quick: Bool) async throws -> String {
        let certificates: String
        do {
            certificates = try self.makeCertificates()
        } catch {
            return "### TLS\n\nSkipped: \(error)\n"
        }
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let searchResult = SampleMessages.searchResult()
        var router = DatelineRouter()
        router.onEventLoop(SearchRequest.self) { _, _ in searchResult }
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let plain = DatelineServer(configuration: .init(serviceName: "dateline-bench"), router: router, eventLoopGroup: serverGroup, logger: logger)
        var tlsConfiguration = DatelineServerConfiguration(serviceName: "dateline-bench")
        tlsConfiguration.tls = DatelineServerTLS(certificateChainPath: certificates + "/node.pem", privateKeyPath: certificates + "/node.key")
        let secure = DatelineServer(configuration: tlsConfiguration, router: router, eventLoopGroup: serverGroup, logger: logger)
        let tasks = [Task { try await plain.run() }, Task { try await secure.run() }]
        defer { for task in tasks { task.cancel() } }
        let plainPort = try await plain.listeningAddress().port!
        let securePort = try await secure.listeningAddress().port!
        let client = DatelineClientConfiguration(requestTimeout: nil, tls: DatelineClientTLS(caPath: certificates + "/ca.pem"))

        let sequential = quick ? 5_000 : 20_000
        let pipelined = quick ? 50_000 : 200_000
        let runs = quick ? 1 : 3
        let cases: [(name: String, run: (Int, DatelineClientConfiguration) async throws -> RoundTripBenchmark.Result)] = [
            ("ping, 1 at a time", { port, configuration in
                try await RoundTripBenchmark.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 1, total: sequential, group: clientGroup, configuration: configuration)
            }),
            ("ping, 64 in flight, 1 connection", { port, configuration in
                try await RoundTripBenchmark.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 64, total: pipelined, group: clientGroup, configuration: configuration)
            }),
            ("10-hit search reply (3.6 KB), 1 at a time", { port, configuration in
                try await RoundTripBenchmark.dateline(port: port, request: SearchRequest(query: "cocoa"), connections: 1, window: 1, total: sequential / 2, group: clientGroup, configuration: configuration)
            }),
        ]
        var text = """
            ### TLS beside plain TCP (one connection over loopback, server and client on one event-loop thread each; median of \(runs) interleaved runs)

            | round trip | plain: per second, p50 | TLS (ECDSA P-256, TLS 1.3): per second, p50 | TLS ÷ plain, per second |
            |---|---|---|---|

            """
        for testCase in cases {
            var plainResults: [RoundTripBenchmark.Result] = []
            var tlsResults: [RoundTripBenchmark.Result] = []
            _ = try await testCase.run(plainPort, .init(requestTimeout: nil))  // warm-up
            _ = try await testCase.run(securePort, client)
            for _ in 0..<runs {
                plainResults.append(try await testCase.run(plainPort, .init(requestTimeout: nil)))
                tlsResults.append(try await testCase.run(securePort, client))
            }
            func median(_ results: [RoundTripBenchmark.Result], _ key: (RoundTripBenchmark.Result) -> Double) -> Double { results.map(key).sorted()[results.count / 2] }
            let (plainRate, tlsRate) = (median(plainResults, \.perSecond), median(tlsResults, \.perSecond))
            text += "| \(testCase.name) | \(Int(plainRate))/s, \(micros(median(plainResults, \.p50))) | \(Int(tlsRate))/s, \(micros(median(tlsResults, \.p50))) | "
            text += String(format: "%.2f×", tlsRate / plainRate) + " |\n"
        }
        return text
    }
}
