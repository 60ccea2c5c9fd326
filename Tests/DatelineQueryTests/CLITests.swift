import DatelineClient
import DatelineProtocol
import DatelineTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// Runs the built `dateline` binary.
enum CLI {
    static let binary: String? = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dateline").path
        let inBuild = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/dateline").path
        return [besideTests, inBuild].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs the CLI on a thread of its own: waiting for it must not hold one of the few cooperative threads
    /// the in-process services need to answer it.
    static func run(_ arguments: [String], cluster: DatelineCluster? = nil, input: Data? = nil) async throws -> Result {
        try await self.run(arguments, ports: cluster.map { ($0.ingestPort, $0.queryPort) }, input: input)
    }

    /// Runs the CLI against the services on `ports` (ingest, query), `environment` added to the test's own.
    /// With `unprivileged`, as ``ServiceProcess/unprivilegedUser`` when the tests run as root.
    static func run(
        _ arguments: [String], ports: (Int, Int)?, input: Data? = nil, environment: [String: String] = [:], unprivileged: Bool = false
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result {
                    try self.runBlocking(arguments, ports: ports, input: input, environment: environment, unprivileged: unprivileged)
                })
            }
        }
    }

    static func runBlocking(
        _ arguments: [String], ports: (Int, Int)?, input: Data?, environment extra: [String: String] = [:], unprivileged: Bool = false
    ) throws -> Result {
        let process = Process()
        var arguments = arguments
        if let ports { arguments += ["--ingest", "127.0.0.1:\(ports.0)", "--query", "127.0.0.1:\(ports.1)"] }
        let command = ServiceProcess.command(try #require(self.binary, "dateline is not built: run swift build first"), arguments, unprivileged: unprivileged)
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "DATELINE_INGEST")
        environment.removeValue(forKey: "DATELINE_QUERY")
        environment.merge(extra) { $1 }
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), errors: String(decoding: err, as: UTF8.self))
    }
}

@Suite("The dateline CLI", .serialized)
struct CLITests {
    @Test func ingestSearchGetStatsHealthAndPingAgainstRealServices() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await CLI.run(["ingest", Samples.directory.path, "--wait", "-o", "json"], cluster: cluster)
            #expect(ingest.status == 0, "\(ingest.errors)")
            let summary = try JSONSerialization.jsonObject(with: Data(ingest.output.utf8)) as? [String: Any]
            #expect(summary?["accepted"] as? Int == 2)
            #expect(summary?["rejected"] as? Int == 0)

            let search = try await CLI.run(["search", "\"rare earth\" OR counterterrorism", "--no-color"], cluster: cluster)
            #expect(search.status == 0)
            #expect(search.output.hasPrefix("2 articles match: \"rare earth\" OR counterterrorism"))
            #expect(search.output.contains("1. Rubio, Ishaq Dar Hold Talks in Washington"))
            #expect(search.output.contains("[[rare]] [[earth]]"))
            #expect(!search.output.contains("\u{1B}["), "no colour codes when not on a terminal")

            let faceted = try await CLI.run(["search", "Rubio", "--facets", "--histogram", "day"], cluster: cluster)
            #expect(faceted.output.contains("dates: 2025-07-26 (1), 2025-08-04 (1)"))
            let json = try await CLI.run(["search", "Rubio", "--source", "OpenVoiceNews Pakistan", "-o", "json"], cluster: cluster)
            let response = try JSONDecoder.iso8601.decode(SearchResponse.self, from: Data(json.output.utf8))
            #expect(response.total == 1)
            let id = try #require(response.hits.first?.articleID)

            let get = try await CLI.run(["get", id], cluster: cluster)
            #expect(get.status == 0)
            #expect(get.output.contains("OpenVoiceNews Pakistan"))
            #expect(get.output.contains("Further details about the visit or any potential agreements signed have not yet been released."))

            let stats = try await CLI.run(["stats"], cluster: cluster)
            #expect(stats.status == 0)
            #expect(stats.output.contains("dateline-ingest"))
            #expect(stats.output.contains("dateline-query@2"))
            #expect(stats.output.contains("memory (resident / peak)"))
            #expect(!stats.output.contains("memory (resident / peak)  —"), "both services report their memory on Linux")
            let health = try await CLI.run(["health", "-o", "json"], cluster: cluster)
            #expect(health.status == 0)
            #expect(health.output.contains("\"status\" : \"serving\""))
            let ping = try await CLI.run(["ping", "--count", "2"], cluster: cluster)
            #expect(ping.status == 0)
            #expect(ping.output.contains("dateline-query: "))

            // Standard input and JSON Lines, with one bad line: accepted, then exit status 2 for the rejection.
            let lines = Data(("{\"body\": \"A story from standard input about energy.\", \"id\": \"stdin-1\"}\n{\"body\": \"\"}\n").utf8)
            let piped = try await CLI.run(["ingest", "-", "--format", "jsonl"], cluster: cluster, input: lines)
            #expect(piped.status == 2)
            #expect(piped.output.contains("accepted 1, duplicates 0, rejected 1 of 2 articles"))
            #expect(piped.output.contains("rejected stdin:2: empty-body"))
        }
    }

    /// `dateline ingest -o json` as a script reads it: the field names are part of the interface.
    struct PrintedIngest: Decodable {
        struct Article: Decodable {
            var source: String
            var externalID: String?
            var articleID: String?
            var status: String
            var offset: UInt64?
            var duplicateOf: String?
            var reason: String?
            var reasonCode: String?
        }

        var accepted: Int
        var unavailable: Int
        var duplicates: Int
        var rejected: Int
        var articles: Int
        var endOffset: UInt64
        var results: [Article]
    }

    @Test func aListOfNodesInTheOptionsOrTheEnvironmentFailsOverToTheOneThatAnswers() async throws {
        try await withDatelineCluster { cluster in
            // Port 1: nothing listens there, so every list's first node refuses the connection.
            let ingest = try await CLI.run([
                "ingest", Samples.directory.path, "--wait", "-o", "json",
                "--ingest", "127.0.0.1:1,127.0.0.1:\(cluster.ingestPort)", "--query", "127.0.0.1:1,127.0.0.1:\(cluster.queryPort)",
            ])
            #expect(ingest.status == 0, "\(ingest.errors)")
            let summary = try JSONSerialization.jsonObject(with: Data(ingest.output.utf8)) as? [String: Any]
            #expect(summary?["accepted"] as? Int == 2)

            let search = try await CLI.run(["search", "Rubio", "-o", "json"], ports: nil, environment: ["DATELINE_QUERY": "127.0.0.1:1,127.0.0.1:\(cluster.queryPort)"])
            #expect(search.status == 0, "\(search.errors)")
            #expect(try JSONDecoder.iso8601.decode(SearchResponse.self, from: Data(search.output.utf8)).total == 2)

            let malformed = try await CLI.run(["search", "Rubio"], ports: nil, environment: ["DATELINE_QUERY": "127.0.0.1:\(cluster.queryPort),nowhere"])
            #expect(malformed.status == 64)
            #expect(malformed.errors.contains("must be HOST:PORT or a comma-separated list of them"), "\(malformed.errors)")
        }
    }

    @Test func ingestWithJSONOutputListsWhatHappenedToEveryArticle() async throws {
        try await withDatelineCluster { cluster in
            let files = ["000_840db5600f595d32.txt", "004_e96d74743f33cd42.txt"].map { Samples.directory.appendingPathComponent($0).path }
            let first = try await CLI.run(["ingest"] + files + ["-o", "json", "--wait"], cluster: cluster)
            #expect(first.status == 0, "\(first.errors)")
            let stored = try JSONDecoder().decode(PrintedIngest.self, from: Data(first.output.utf8))
            #expect((stored.accepted, stored.duplicates, stored.rejected, stored.articles, stored.endOffset) == (2, 0, 0, 2, 2))
            #expect(stored.results.map(\.source) == files)
            #expect(stored.results.map(\.status) == ["accepted", "accepted"])
            #expect(stored.results.map(\.offset) == [0, 1])
            #expect(stored.results.allSatisfy { $0.articleID?.count == 16 && $0.duplicateOf == nil && $0.reason == nil && $0.externalID == nil })
            let ids = stored.results.compactMap(\.articleID)
            #expect(Set(ids).count == 2)
            let get = try await CLI.run(["get", ids[1], "-o", "json"], cluster: cluster)
            let article = try JSONDecoder.iso8601.decode(GetArticleResponse.self, from: Data(get.output.utf8))
            #expect((article.article.id, article.offset) == (ids[1], 1))

            let again = try await CLI.run(["ingest"] + files + ["-o", "json"], cluster: cluster)
            #expect(again.status == 0, "\(again.errors)")
            let duplicates = try JSONDecoder().decode(PrintedIngest.self, from: Data(again.output.utf8))
            #expect((duplicates.accepted, duplicates.duplicates, duplicates.endOffset) == (0, 2, 2))
            #expect(duplicates.results.map(\.status) == ["duplicate", "duplicate"])
            #expect(duplicates.results.map(\.duplicateOf) == ids)
            #expect(duplicates.results.allSatisfy { $0.offset == nil })

            let lines = Data(("{\"body\": \"A story from standard input about energy.\", \"id\": \"stdin-1\"}\n{\"body\": \"\", \"id\": \"stdin-2\"}\n").utf8)
            let piped = try await CLI.run(["ingest", "-", "--format", "jsonl", "-o", "json"], cluster: cluster, input: lines)
            #expect(piped.status == 2)
            let mixed = try JSONDecoder().decode(PrintedIngest.self, from: Data(piped.output.utf8))
            #expect(mixed.results.map(\.source) == ["stdin:1", "stdin:2"])
            #expect(mixed.results.map(\.externalID) == ["stdin-1", "stdin-2"])
            #expect(mixed.results.map(\.status) == ["accepted", "rejected"])
            #expect(mixed.results.map(\.offset) == [2, nil])
            #expect(mixed.results[0].reason == nil)
            #expect(mixed.results[1].reason?.hasPrefix("empty-body") == true)
        }
    }

    @Test func articlesTheServiceCouldNotStoreNowAreListedAndMakeTheExitStatus75() async throws {
        // A stand-in for dateline-ingest answering each of the four outcomes.
        var router = DatelineRouter()
        router.on(IngestRequest.self) { request, _ in
            IngestResponse(results: [
                IngestResult(index: 0, status: .accepted, articleID: "00000000000000a1", offset: 7),
                IngestResult(index: 1, status: .duplicate, articleID: "00000000000000a1", duplicateOf: "00000000000000a1"),
                IngestResult(index: 2, status: .rejected, reason: "empty-body: the article has no body text", reasonCode: "empty-body"),
                IngestResult(index: 3, status: .unavailable, reason: "an identical article is being stored by another request", reasonCode: "in-flight-elsewhere"),
            ], endOffset: 8)
        }
        let lines = Data((1...4).map { "{\"body\": \"Story \($0).\", \"id\": \"x-\($0)\"}\n" }.joined().utf8)
        try await withServer(router) { port, _ in
            let json = try await CLI.run(["ingest", "-", "--format", "jsonl", "--ingest", "127.0.0.1:\(port)", "-o", "json"], input: lines)
            #expect(json.status == 75, "\(json.errors)")
            #expect(json.errors.hasSuffix("\ndateline: dateline-ingest at 127.0.0.1:\(port) could not store 1 of 4 articles now (in-flight-elsewhere); \(DatelineClientError.ingestRetryAdvice)\n"), "\(json.errors)")
            let printed = try JSONDecoder().decode(PrintedIngest.self, from: Data(json.output.utf8))
            #expect(printed.results.map(\.status) == ["accepted", "duplicate", "rejected", "unavailable"])
            #expect(printed.results.map(\.externalID) == ["x-1", "x-2", "x-3", "x-4"])
            #expect(printed.results.map(\.offset) == [7, nil, nil, nil])
            #expect(printed.results.map(\.duplicateOf) == [nil, "00000000000000a1", nil, nil])
            #expect(printed.results.map(\.reasonCode) == [nil, nil, "empty-body", "in-flight-elsewhere"])
            #expect(printed.unavailable == 1)

            let table = try await CLI.run(["ingest", "-", "--format", "jsonl", "--ingest", "127.0.0.1:\(port)"], input: lines)
            #expect(table.status == 75)
            #expect(table.output.hasPrefix("accepted 1, duplicates 1, rejected 1, not stored now 1 of 4 articles"))
            #expect(table.output.contains("  rejected stdin:3: empty-body: the article has no body text\n"))
            #expect(table.output.contains("  not stored now stdin:4: an identical article is being stored by another request\n"))
        }
    }

    @Test func ingestReadsADirectoryGivenThroughDotDotAndFailsOnAPathWithNoArticle() async throws {
        try await withDatelineCluster { cluster in
            let climbing = climbingFromCurrentDirectory(to: Samples.directory.path + "/")
            #expect(climbing.hasPrefix("../"))
            let ingest = try await CLI.run(["ingest", climbing, "-o", "json"], cluster: cluster)
            #expect(ingest.status == 0, "\(ingest.errors)")
            let summary = try JSONSerialization.jsonObject(with: Data(ingest.output.utf8)) as? [String: Any]
            #expect(summary?["accepted"] as? Int == 2)
        }
        // Nothing to send, so no service is needed: exit status 2 and a line naming each path.
        let tree = try ArticleTree(files: ["dots/.a.txt", "dots/.git/config"], directories: ["empty"])
        let empty = try await CLI.run(["ingest", tree.root + "/empty", tree.relativeFromCurrentDirectory("dots"), "--ingest", "127.0.0.1:1"])
        #expect(empty.status == 2)
        #expect(empty.errors == "dateline: no articles found in \(tree.root)/empty\ndateline: no articles found in \(tree.relativeFromCurrentDirectory("dots"))\n")
    }

    @Test func unreachableServicesAndBadArgumentsGetOneClearLineAndDistinctStatuses() async throws {
        // A port nothing listens on.
        let cluster = DatelineCluster()
        try await cluster.startIngest()
        let closedPort = cluster.ingestPort
        try await cluster.stopIngest()
        let unreachable = try await CLI.run(["search", "x", "--query", "127.0.0.1:\(closedPort)"])
        #expect(unreachable.status == 69)
        #expect(unreachable.errors == "dateline: cannot reach dateline-query at 127.0.0.1:\(closedPort): connection refused — is it running? try scripts/start.sh\n")
        let health = try await CLI.run(["health", "--ingest", "127.0.0.1:\(closedPort)", "--query", "127.0.0.1:\(closedPort)"])
        #expect(health.status == 69)
        #expect(health.output.contains("unreachable"))

        for (arguments, fragment) in [
            (["search", "x", "--limit", "0"], "--limit must be between 1 and 100"),
            (["search", "x", "--from", "someday"], "--from 'someday' is not a date"),
            (["timeline", "Rubio", "--from", "someday"], "--from 'someday' is not a date"),
            (["entities", "--type", "planet"], "--type 'planet' must be one of"),
            (["evaluate", "nonsense"], "evaluate conll, timebank or all"),
            (["evaluate", "conll", "--model", "/no/such/model"], "/no/such/model: no such model file"),
            (["evaluate", "conll", "--model", #filePath], "\(#filePath): not a Dateline NER model"),
            (["train-ner", "--tags", "bio"], "The value 'bio' is invalid for '--tags"),
            (["ingest"], "Missing expected argument"),
            (["search", "x", "--query", "nowhere"], "--query 'nowhere' must be HOST:PORT"),
            (["frobnicate"], "Unexpected argument 'frobnicate'"),
        ] {
            let result = try await CLI.run(arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.errors.contains(fragment), "\(arguments): \(result.errors)")
        }
        let missing = try await CLI.run(["ingest", "/no/such/file", "--ingest", "127.0.0.1:\(closedPort)"])
        #expect(missing.errors.contains("/no/such/file: no such file or directory"))
    }
}

/// A protocol server with `router` (a stand-in for a service), on an ephemeral port, shut down gracefully
/// afterwards; `body` gets its port and a way to shut it down earlier.
func withServer(
    _ router: DatelineRouter = DatelineRouter(),
    drainTimeout: TimeAmount = .seconds(1),
    _ body: (_ port: Int, _ shutDown: @Sendable () async -> Void) async throws -> Void
) async throws {
    let configuration = DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest", drainTimeout: drainTimeout)
    let server = DatelineServer(configuration: configuration, router: router, logger: Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() }))
    let task = Task { try await server.run() }
    let shutDown: @Sendable () async -> Void = {
        task.cancel()
        _ = await task.result
    }
    do {
        try await body(try await server.listeningAddress().port!, shutDown)
        await shutDown()
    } catch {
        await shutDown()
        throw error
    }
}

/// What the CLI says, and its exit status, when a service goes away under it.
@Suite("The dateline CLI when a service goes away", .serialized)
struct CLIConnectionLossTests {
    static let article = Data("Washington — July 1, 2025:\nA short article about trade.\n".utf8)
    static let retryIngest = "; nothing is lost that was acknowledged — retry the command (that is safe: articles already stored are detected as duplicates)\n"

    @Test func aConnectionResetMidIngestSaysToRetryAndExits75() async throws {
        try await withServer { upstream, _ in
            let proxy = try ResettingProxy(resetting: .firstRequest(upstreamPort: upstream))
            defer { proxy.stop() }
            let result = try await CLI.run(["ingest", "-", "--ingest", "127.0.0.1:\(proxy.port)", "--timeout", "10"], input: Self.article)
            #expect(result.status == 75, "\(result.errors)")
            #expect(result.errors == "dateline: dateline-ingest at 127.0.0.1:\(proxy.port) went away mid-request (connection reset)" + Self.retryIngest)
            #expect(!result.errors.contains("errno"))
        }
    }

    @Test func aConnectionResetDuringTheHandshakeSaysToRetryAndExits75() async throws {
        let proxy = try ResettingProxy(resetting: .handshake)
        defer { proxy.stop() }
        let search = try await CLI.run(["search", "trade", "--query", "127.0.0.1:\(proxy.port)", "--timeout", "10"])
        #expect(search.status == 75, "\(search.errors)")
        #expect(search.errors == "dateline: dateline-query at 127.0.0.1:\(proxy.port) went away during the handshake (connection reset) — retry the command\n")
        let stats = try await CLI.run(["stats", "--ingest", "127.0.0.1:\(proxy.port)", "--query", "127.0.0.1:\(proxy.port)", "--timeout", "10"])
        #expect(stats.status == 75, "\(stats.errors)")
        #expect(stats.errors.contains("dateline: dateline-ingest at 127.0.0.1:\(proxy.port) went away during the handshake (connection reset) — retry the command\n"))
    }

    @Test func aServiceShuttingDownMidIngestSaysToRetryAndExits75() async throws {
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let (gate, release) = AsyncStream.makeStream(of: Void.self)
        defer { release.finish() }
        var router = DatelineRouter()
        router.on(IngestRequest.self) { request, _ in
            arrived.yield()
            for await _ in gate {}  // until the test ends: the shutdown's drain gives up on it
            return IngestResponse(results: [], endOffset: 0)
        }
        try await withServer(router, drainTimeout: .milliseconds(50)) { port, shutDown in
            async let ingest = CLI.run(["ingest", "-", "--ingest", "127.0.0.1:\(port)", "--timeout", "10"], input: Self.article)
            var requests = arrivals.makeAsyncIterator()
            _ = await requests.next()
            await shutDown()  // GoAway, a drain that times out, then the connection is closed
            let result = try await ingest
            #expect(result.status == 75, "\(result.errors)")
            #expect(result.errors == "dateline: dateline-ingest at 127.0.0.1:\(port) went away mid-request (it closed the connection)" + Self.retryIngest)
        }
    }
}

@Suite("The dateline CLI's help")
struct CLIHelpTests {
    @Test(arguments: ["ingest", "search", "get", "entities", "timeline", "extract", "evaluate", "stats", "health", "ping"])
    func everyCommandHasHelp(command: String) async throws {
        let result = try await CLI.run([command, "--help"])
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE: dateline \(command)"))
        if command != "evaluate" { #expect(result.output.contains("--output")) }
    }

    @Test func completionScriptsAreGenerated() async throws {
        let result = try await CLI.run(["--generate-completion-script", "bash"])
        #expect(result.status == 0)
        #expect(result.output.contains("_dateline"))
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
