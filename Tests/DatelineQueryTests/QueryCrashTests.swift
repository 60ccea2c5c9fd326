import DatelineProtocol
import DatelineTestSupport
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

    init(dataDirectory: String, ingestPort: Int) throws {
        self.portFile = dataDirectory + "-port-\(UUID().uuidString)"
        self.process.executableURL = URL(fileURLWithPath: try #require(Self.binary, "dateline-query is not built: run swift build first"))
        self.process.arguments = [
            "--port", "0", "--data-dir", dataDirectory, "--port-file", self.portFile, "--ingest", "127.0.0.1:\(ingestPort)",
            "--snapshot-interval", "0.05", "--log-level", "warning",
        ]
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
    /// The applied offset a snapshot file records: the varint after its 8-byte magic (`DTLNQSN3`).
    static func snapshotOffset(_ path: String) -> UInt64? {
        guard let bytes = FileManager.default.contents(atPath: path), bytes.count > 8, bytes.prefix(8) == Data("DTLNQSN3".utf8) else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes.dropFirst(8).prefix(10) {
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// Restarts after SIGTERM and SIGKILL, alternately, each with dateline-ingest down: the index must come
    /// from the snapshot every time (no full replay), and no temporary file may be left.
    @Test(.timeLimit(.minutes(3)))
    func everyRestartLoadsTheLastSnapshotAfterSIGTERMOrSIGKILL() async throws {
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
            let snapshot = directory + "/index.snapshot"
            if round % 2 == 0 {
                process.kill(SIGTERM)  // writes a final snapshot
            } else {
                // Killed without warning once a periodic snapshot of everything applied is on disk.
                try await eventually("a snapshot at offset \(expected)") { Self.snapshotOffset(snapshot) == expected }
                process.kill(SIGKILL)
            }
            // Restart with dateline-ingest down: whatever it holds comes from the snapshot.
            try await cluster.stopIngest()
            let restarted = try QueryProcess(dataDirectory: directory, ingestPort: cluster.ingestPort)
            let again = try await restarted.connect()
            let health = try await again.send(HealthRequest())
            #expect(health.details["appliedOffset"] == "\(expected)", "round \(round): loaded the snapshot, not a replay: \(health.details)")
            #expect(try await again.send(SearchRequest(query: "cocoa")).total == expected)
            try await again.close()
            restarted.kill(SIGTERM)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "index.snapshot" }
            #expect(leftovers.isEmpty, "round \(round): \(leftovers)")
            try await cluster.startIngest()
        }
        try await cluster.stop()
    }
}
