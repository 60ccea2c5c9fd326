import DatelineClient
import DatelineProtocol
import DatelineTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several `dateline-ingest` nodes on one PostgreSQL log and several `dateline-query` replicas following it, all
/// real processes, driven through the client library as users drive them.
@Suite("Several nodes on PostgreSQL", .serialized, .enabled(if: TestPostgresServer.isConfigured, "set DATELINE_TEST_POSTGRES (scripts/test.sh does)"))
struct ClusterTests {
    /// A story with its own external id and text.
    static func story(_ index: Int) -> ArticleSubmission {
        ArticleSubmission(
            externalID: "cluster-\(index)",
            body: "Cluster story \(index): the foreign ministers of country \(index % 17) and country \(index % 23) met in Geneva to discuss trade item \(index)."
        )
    }

    static func ingestNode(schema: String) throws -> ServiceProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-node-\(UUID().uuidString)").path
        return try ServiceProcess("dateline-ingest", arguments: ["--data-dir", directory, "--log", TestPostgresServer.url(schema: schema), "--extraction", "off"])
    }

    static func queryReplica(directory: String, ingestPorts: [Int]) throws -> ServiceProcess {
        try ServiceProcess("dateline-query", arguments: [
            "--data-dir", directory, "--ingest", ingestPorts.map { "127.0.0.1:\($0)" }.joined(separator: ","), "--commit-interval", "0.05",
        ])
    }

    static func client(ingest: [Int], query: [Int]) -> DatelineClient {
        var settings = DatelineClientSettings(ingest: ("127.0.0.1", ingest[0]), query: ("127.0.0.1", query[0]), timeout: .seconds(30))
        settings.ingestFallbacks = ingest.dropFirst().map { ("127.0.0.1", $0) }
        settings.queryFallbacks = query.dropFirst().map { ("127.0.0.1", $0) }
        return DatelineClient(settings: settings)
    }

    /// Every record of the log as one node serves it: external id → offsets it is stored at.
    ///
    /// Reads up to the end the node knows, and at least to `atLeast`: a node learns of appends made through others
    /// a moment later (a notification), and its stream waits for them.
    static func storedOffsets(ingestPort: Int, atLeast: UInt64 = 0) async throws -> [String: [UInt64]] {
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
        defer { Task { try? await connection.close() } }
        let end = max(atLeast, try await connection.send(IngestStatsRequest()).endOffset)
        var stored: [String: [UInt64]] = [:]
        var expected: UInt64 = 0
        guard end > 0 else { return [:] }
        for try await batch in try connection.stream(SubscribeRequest(fromOffset: 0)) {
            for entry in batch.entries {
                #expect(entry.offset == expected, "offsets are dense and in order")
                expected = entry.offset + 1
                stored[entry.article.externalID ?? "", default: []].append(entry.offset)
            }
            if expected >= end { break }
        }
        return stored
    }

    @Test(.timeLimit(.minutes(3)))
    func twoIngestNodesAndTwoReplicasAgreeOnEveryArticleOnceThroughKills() async throws {
        let schema = TestPostgresServer.newSchema()
        let nodes = [try Self.ingestNode(schema: schema), try Self.ingestNode(schema: schema)]
        let ingestPorts = [try await nodes[0].port(), try await nodes[1].port()]
        let replicaDirectories = (0..<2).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("dateline-replica-\(UUID().uuidString)").path }
        defer { for directory in replicaDirectories { try? FileManager.default.removeItem(atPath: directory) } }
        var replicas = try replicaDirectories.map { try Self.queryReplica(directory: $0, ingestPorts: ingestPorts) }
        var queryPorts: [Int] = []
        for replica in replicas { queryPorts.append(try await replica.port()) }

        // 1. Both nodes get every article, concurrently, in batches that overlap: each article is stored once.
        let count = 200
        let perNode = try await withThrowingTaskGroup(of: [(Int, IngestResult)].self) { group in
            for (number, port) in ingestPorts.enumerated() {
                group.addTask {
                    let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
                    defer { Task { try? await connection.close() } }
                    // Node 0 from the first article up, node 1 from the last down, 4 batches in flight each.
                    let order = number == 0 ? Array(0..<count) : Array((0..<count).reversed())
                    return try await withThrowingTaskGroup(of: [(Int, IngestResult)].self) { batches in
                        for chunk in stride(from: 0, to: count, by: 20) {
                            let indices = Array(order[chunk..<(chunk + 20)])
                            batches.addTask {
                                let response = try await connection.send(IngestRequest(articles: indices.map(Self.story)))
                                return Array(zip(indices, response.results))
                            }
                        }
                        return try await batches.reduce(into: []) { $0 += $1 }
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var acceptedAt: [Int: UInt64] = [:]
        var articleIDs: [Int: Set<String>] = [:]
        for (index, result) in perNode {
            #expect(result.status == .accepted || result.status == .duplicate, "\(index): \(result)")
            if result.status == .accepted {
                #expect(acceptedAt[index] == nil, "article \(index) was accepted twice")
                acceptedAt[index] = result.offset
            }
            articleIDs[index, default: []].insert(result.articleID ?? result.duplicateOf ?? "")
        }
        #expect(acceptedAt.count == count)
        #expect(articleIDs.values.allSatisfy { $0.count == 1 }, "both nodes name the same article for the same story")
        #expect(Set(acceptedAt.values) == Set((0..<UInt64(count)).map { $0 }), "dense offsets")

        // 2. Both replicas index all of it, and answer alike; each node serves the same log.
        let end = UInt64(count)
        for port in queryPorts {
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
            let response = try await connection.send(SearchRequest(query: "geneva trade", limit: 50, minimumOffset: end))
            #expect(response.total == UInt64(count))
            try await connection.close()
        }
        let answers = try await queryPorts.asyncMap { port in
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
            defer { Task { try? await connection.close() } }
            return try await connection.send(SearchRequest(query: "\"country 3\" trade", limit: 50, minimumOffset: end)).hits.map(\.articleID)
        }
        #expect(!answers[0].isEmpty && answers[0] == answers[1])
        let logs = [try await Self.storedOffsets(ingestPort: ingestPorts[0], atLeast: UInt64(count)), try await Self.storedOffsets(ingestPort: ingestPorts[1], atLeast: UInt64(count))]
        #expect(logs[0] == logs[1] && logs[0].count == count && logs[0].values.allSatisfy { $0.count == 1 })

        // 3. SIGKILL node 0 in the middle of a stream of batches; the client fails over to node 1 and every
        //    acknowledged article is stored exactly once.
        let client = Self.client(ingest: ingestPorts, query: queryPorts)
        let acknowledged = Mutex<Set<String>>([])
        let killed = Mutex(false)
        let batch = (count..<(count + 400)).map { (source: "story \($0)", submission: Self.story($0)) }
        // Two batches in flight, spread over both nodes: node 0 dies with requests on it.
        let summary = try await client.ingest(batch, batchSize: 10, concurrency: 2) { progress in
            guard progress.articles >= 100, !killed.withLock({ $0 }) else { return }
            killed.withLock { $0 = true }
            nodes[0].kill(SIGKILL)
        }
        for result in summary.results where result.status == .accepted || result.status == .duplicate {
            acknowledged.withLock { _ = $0.insert(result.source) }
        }
        #expect(killed.withLock { $0 })
        #expect(acknowledged.withLock { $0.count } == 400, "every batch was acknowledged by one node or the other")
        let afterKill = try await Self.storedOffsets(ingestPort: ingestPorts[1], atLeast: UInt64(count + 400))
        #expect(afterKill.count == count + 400)
        #expect(afterKill.values.allSatisfy { $0.count == 1 }, "no article is stored twice")

        // 4. A replica killed and restarted on its data catches up exactly, with what was ingested while it was down;
        //    meanwhile the client answers from the other.
        replicas[0].kill(SIGKILL)
        let whileDown = (count + 400..<count + 500).map { (source: "story \($0)", submission: Self.story($0)) }
        let lateSummary = try await client.ingest(whileDown, batchSize: 25, concurrency: 2)
        #expect(lateSummary.accepted == whileDown.count && lateSummary.endOffset == UInt64(count + 500))
        let total = UInt64(count + 500)
        for _ in 0..<5 {
            let response = try await client.send(SearchRequest(query: "geneva", limit: 1, minimumOffset: total), to: .query)
            #expect(response.total == total)
        }
        replicas[0] = try Self.queryReplica(directory: replicaDirectories[0], ingestPorts: [ingestPorts[1]])
        let restarted = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await replicas[0].port())
        let caughtUp = try await restarted.send(SearchRequest(query: "geneva", limit: 1, minimumOffset: total))
        #expect(caughtUp.total == total)
        let stats = try await restarted.send(QueryStatsRequest())
        #expect(stats.articleCount == total && stats.appliedOffset == total)
        try await restarted.close()

        await client.close()
        for process in nodes + replicas { process.kill(SIGTERM) }
        try? await dropSchema(schema)
    }
}

/// Drops a test schema with psql, when it is on PATH (the throwaway server is removed anyway).
func dropSchema(_ schema: String) async throws {
    _ = try ChildCommand.run("/usr/bin/env", ["psql", TestPostgresServer.connectionString!, "-qc", "DROP SCHEMA IF EXISTS \(schema) CASCADE"])
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

/// `scripts/postgres.sh`, run to set up primaries and standbys of the tests' own.
enum PostgresScript {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres.sh").path

    /// Whether PostgreSQL's server programs are installed here.
    static let isAvailable: Bool = (try? run(["bindir"])) != nil

    /// Runs the script; its standard output, trimmed. Throws when it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let outcome = try ChildCommand.run("/bin/bash", [path] + arguments)
        guard outcome.status == 0 else {
            let reason = outcome.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "postgres.sh \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(reason)"])
        }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGKILLs a server and every process of it at once, as the loss of its machine would.
    static func killServer(_ directory: String) throws {
        try self.run(["kill", directory])
    }
}

@Suite("PostgreSQL failover", .serialized, .enabled(if: PostgresScript.isAvailable, "PostgreSQL's server programs are not installed"))
struct PostgresFailoverTests {
    /// A primary with a synchronous standby; the primary and all its processes are SIGKILLed at once in the middle of
    /// ingest and the standby promoted: both ingest nodes move to it by themselves (their host list), every
    /// article acknowledged before, during and after is stored exactly once, and a replica that followed
    /// throughout holds exactly those.
    @Test(.timeLimit(.minutes(3)))
    func noAcknowledgedArticleIsLostWhenThePrimaryDiesAndTheStandbyIsPromoted() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-ha-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer {
            _ = try? PostgresScript.run(["stop", root + "/primary"])
            _ = try? PostgresScript.run(["stop", root + "/standby"])
            try? FileManager.default.removeItem(atPath: root)
        }
        let primaryPort = try PostgresScript.run(["free-port"])
        try PostgresScript.run(["start", root + "/primary", primaryPort])
        let standbyPort = try PostgresScript.run(["free-port"])
        try PostgresScript.run(["standby", primaryPort, root + "/standby", standbyPort])
        try PostgresScript.run(["synchronous", root + "/primary"])

        let url = "postgres://dateline@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/dateline?connect_timeout=2"
        let nodes = try (0..<2).map { try ServiceProcess("dateline-ingest", arguments: ["--data-dir", root + "/node-\($0)", "--log", url, "--extraction", "off"]) }
        defer { for node in nodes { node.kill(SIGTERM) } }
        let ingestPorts = [try await nodes[0].port(), try await nodes[1].port()]
        let replica = try ClusterTests.queryReplica(directory: root + "/replica", ingestPorts: ingestPorts)
        defer { replica.kill(SIGTERM) }
        let client = ClusterTests.client(ingest: ingestPorts, query: [try await replica.port()])

        // Batches one after another through the client (spread over both nodes); a batch that fails on both is
        // sent again (as a user re-running the command would) until it is acknowledged.
        var acknowledged: [String: String] = [:]
        var killedAt: ContinuousClock.Instant?
        var firstAcknowledgementAfterKill: Duration?
        for batchNumber in 0..<60 {
            let batch = (batchNumber * 10..<(batchNumber * 10 + 10)).map(ClusterTests.story)
            var failover: Task<Void, any Error>?
            if batchNumber == 20 {
                // The kill races the batch sent next: it lands before, during or after its commit.
                killedAt = .now
                failover = Task.detached {
                    try PostgresScript.killServer(root + "/primary")
                    try PostgresScript.run(["promote", root + "/standby"])
                }
            }
            var response: IngestResponse?
            while response == nil {
                do {
                    response = try await client.send(IngestRequest(articles: batch), to: .ingest, timeout: .seconds(20))
                } catch let error as DatelineClientError where error.failsOver {
                    try await Task.sleep(for: .milliseconds(50))  // the nodes are finding the new primary
                }
            }
            try await failover?.value
            if let killedAt, firstAcknowledgementAfterKill == nil, batchNumber > 20 { firstAcknowledgementAfterKill = .now - killedAt }
            for (submission, result) in zip(batch, response!.results) {
                #expect(result.status == .accepted || result.status == .duplicate, "\(result)")
                acknowledged[submission.externalID!] = result.articleID ?? result.duplicateOf
            }
        }
        #expect(acknowledged.count == 600)
        print("failover: first acknowledged ingest \(firstAcknowledgementAfterKill.map { "\($0)" } ?? "?") after the primary was killed")
        // The log, read back through each node (now on the promoted standby): every article once, dense.
        for port in ingestPorts {
            let stored = try await ClusterTests.storedOffsets(ingestPort: port, atLeast: 600)
            #expect(stored.count == 600)
            #expect(stored.values.allSatisfy { $0.count == 1 }, "no article is stored twice")
            #expect(Set(acknowledged.keys) == Set(stored.keys))
        }
        // The replica, which followed through the failover, converges on the same 600 articles.
        let end = try await client.send(IngestStatsRequest(), to: .ingest).endOffset
        #expect(end == 600)
        let caughtUp = try await client.send(SearchRequest(query: "geneva", limit: 1, minimumOffset: end), to: .query)
        #expect(caughtUp.total == 600)
        let stats = try await client.send(QueryStatsRequest(), to: .query)
        #expect(stats.articleCount == 600 && stats.appliedOffset == 600)
        await client.close()
    }
}
