import DatelineProtocol
import DatelineTestSupport
import DatelineSearch
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `dateline-query`, run as a child process.
final class QueryProcess {
    static let binary: String? = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dateline-query").path
        let inBuild = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/dateline-query").path
        return [besideTests, inBuild].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let process = Process()
    let portFile: String

    init(dataDirectory: String, ingestPort: Int, extraArguments: [String] = []) throws {
        self.portFile = dataDirectory + "-port-\(UUID().uuidString)"
        self.process.executableURL = URL(fileURLWithPath: try #require(Self.binary, "dateline-query is not built: run swift build first"))
        self.process.arguments = [
            "--port", "0", "--data-dir", dataDirectory, "--port-file", self.portFile, "--ingest", "127.0.0.1:\(ingestPort)",
            "--commit-interval", "0.05", "--log-level", "warning",
        ] + extraArguments
        self.process.standardOutput = FileHandle.nullDevice
        self.process.standardError = FileHandle.nullDevice
        try self.process.run()
    }

    /// Waits for the service to listen and connects to it.
    func connect() async throws -> DatelineClientConnection {
        try await eventually("dateline-query listens") { FileManager.default.fileExists(atPath: self.portFile) || !self.process.isRunning }
        let text = try String(contentsOfFile: self.portFile, encoding: .utf8)
        let port = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), "dateline-query did not start")
        return try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
    }

    func kill(_ signal: Int32) {
        Glibc.kill(self.process.processIdentifier, signal)
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: self.portFile)
    }
}

@Suite("dateline-query crash safety", .serialized)
struct QueryCrashTests {
    /// The applied offset the committed manifest records.
    static func committedOffset(_ directory: String) -> UInt64? {
        (try? IndexManifest.read(directory: directory))??.data["appliedOffset"].flatMap { UInt64($0) }
    }

    /// The files a directory should hold: the manifest and its segments' files, nothing else.
    static func unexpectedFiles(_ directory: String) throws -> [String] {
        let manifest = try #require(try IndexManifest.read(directory: directory))
        let expected = Set(["manifest", "lock"] + manifest.segments.flatMap { segment in IndexFile.Kind.segmentFiles.map { segment.name + $0.suffix } })
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { !expected.contains($0) }.sorted()
    }

    /// Restarts after SIGTERM and SIGKILL, alternately, each with dateline-ingest down: the index must come
    /// from the last commit every time (no full replay), and no file no commit names may be left.
    @Test(.timeLimit(.minutes(3)))
    func everyRestartOpensTheLastCommitAfterSIGTERMOrSIGKILL() async throws {
        let cluster = DatelineCluster()
        try await cluster.startIngest()
        let directory = cluster.dataDirectory + "/query-binary"
        var expected: UInt64 = 0
        for round in 0..<6 {
            let ingest = try await cluster.ingestClient()
            let response = try await ingest.send(IngestRequest(articles: (0..<3).map { ArticleSubmission(body: "Round \(round) story \($0) about cocoa and coffee prices.") }))
            try await ingest.close()
            expected = response.endOffset
            let process = try QueryProcess(dataDirectory: directory, ingestPort: cluster.ingestPort)
            let query = try await process.connect()
            _ = try await query.send(SearchRequest(query: "cocoa", minimumOffset: expected))
            try await query.close()
            if round % 2 == 0 {
                process.kill(SIGTERM)  // commits a last time
            } else {
                // Killed without warning once a periodic commit of everything applied is on disk.
                try await eventually("a commit at offset \(expected)") { Self.committedOffset(directory) == expected }
                process.kill(SIGKILL)
            }
            // Restart with dateline-ingest down: whatever it holds comes from the committed segments.
            try await cluster.stopIngest()
            let restarted = try QueryProcess(dataDirectory: directory, ingestPort: cluster.ingestPort)
            let again = try await restarted.connect()
            let health = try await again.send(HealthRequest())
            #expect(health.details["appliedOffset"] == "\(expected)", "round \(round): opened the commit, not a replay: \(health.details)")
            #expect(try await again.send(SearchRequest(query: "cocoa")).total == expected)
            try await again.close()
            restarted.kill(SIGTERM)
            #expect(try Self.unexpectedFiles(directory).isEmpty, "round \(round)")
            try await cluster.startIngest()
        }
        try await cluster.stop()
    }

    /// SIGKILL at seeded random moments while articles stream in and tiny buffers make the service flush,
    /// merge and commit all the time: after each restart every acknowledged article is searchable exactly once.
    @Test(.timeLimit(.minutes(4)))
    func killedDuringFlushesAndMergesLosesNothingAndDuplicatesNothing() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["DATELINE_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        print("killedDuringFlushesAndMergesLosesNothingAndDuplicatesNothing: DATELINE_TEST_SEED=\(seed)")
        var random = SeededGenerator(seed: seed)
        let cluster = DatelineCluster()
        try await cluster.startIngest()
        let directory = cluster.dataDirectory + "/query-kill"
        let arguments = ["--buffer-articles", "7", "--merge-factor", "2", "--commit-interval", "0.02"]
        var end: UInt64 = 0
        for round in 0..<6 {
            let process = try QueryProcess(dataDirectory: directory, ingestPort: cluster.ingestPort, extraArguments: arguments)
            let query = try await process.connect()
            let ingest = try await cluster.ingestClient()
            // Batches keep arriving; the kill comes after a random number of them, without waiting for the index.
            let batches = Int.random(in: 2...8, using: &random)
            for batch in 0..<batches {
                let response = try await ingest.send(IngestRequest(articles: (0..<5).map { ArticleSubmission(body: "Round \(round) batch \(batch) story \($0) on sugar quotas.") }))
                end = response.endOffset
            }
            _ = try await query.send(SearchRequest(query: "sugar", minimumOffset: end - UInt64.random(in: 0...min(end, 10), using: &random)))
            try await ingest.close()
            try await query.close()
            process.kill(SIGKILL)
            // Restart and catch up: every article once.
            let restarted = try QueryProcess(dataDirectory: directory, ingestPort: cluster.ingestPort, extraArguments: arguments)
            let again = try await restarted.connect()
            let response = try await again.send(SearchRequest(query: "sugar", limit: 1, minimumOffset: end))
            #expect(response.total == end, "round \(round), seed \(seed): \(response.total) matches for \(end) articles")
            let stats = try await again.send(QueryStatsRequest())
            #expect(stats.articleCount == end, "round \(round), seed \(seed)")
            try await again.close()
            restarted.kill(SIGKILL)
        }
        try await cluster.stop()
    }
}
