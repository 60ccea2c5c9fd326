import DatelineProtocol
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `dateline-ingest`, run as a child process.
final class IngestProcess {
    static let binary: String? = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dateline-ingest").path
        let inBuild = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/dateline-ingest").path
        return [besideTests, inBuild].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let process = Process()
    let portFile: String

    init(dataDirectory: String, extraArguments: [String] = []) throws {
        self.portFile = dataDirectory + "-port-\(UUID().uuidString)"
        self.process.executableURL = URL(fileURLWithPath: try #require(Self.binary, "dateline-ingest is not built: run swift build first"))
        self.process.arguments = ["--port", "0", "--data-dir", dataDirectory, "--port-file", self.portFile, "--log-level", "warning"] + extraArguments
        self.process.standardOutput = FileHandle.nullDevice
        self.process.standardError = FileHandle.nullDevice
        try self.process.run()
    }

    /// Waits for the service to listen and returns its port.
    func port() async throws -> Int {
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: self.portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            if !self.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DatelineError(code: .unavailable, message: "dateline-ingest did not start (exit status \(self.process.isRunning ? -1 : self.process.terminationStatus))")
    }

    func kill(_ signal: Int32) {
        Glibc.kill(self.process.processIdentifier, signal)
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: self.portFile)
    }
}

final class Acknowledgements: Sendable {
    private let storage = Mutex<[String: String]>([:])
    func record(_ externalID: String, _ articleID: String) { self.storage.withLock { $0[externalID] = articleID } }
    var all: [String: String] { self.storage.withLock { $0 } }
}

@Suite("dateline-ingest crash safety", .serialized)
struct CrashTests {
    @Test(.timeLimit(.minutes(3)))
    func everyAcknowledgedArticleSurvivesSIGKILLExactlyOnce() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let acknowledged = Acknowledgements()
        var generator = SystemRandomNumberGenerator()
        var unacknowledged: [ArticleSubmission] = []
        var next = 0
        for round in 0..<4 {
            let process = try IngestProcess(dataDirectory: directory)
            let port = try await process.port()
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
            // The batch whose reply was lost in the last crash: retrying it is safe.
            if !unacknowledged.isEmpty {
                let retry = try await connection.send(IngestRequest(articles: unacknowledged))
                for (submission, result) in zip(unacknowledged, retry.results) {
                    #expect(result.status == .accepted || result.status == .duplicate, "round \(round): \(result)")
                    acknowledged.record(submission.externalID!, result.articleID ?? result.duplicateOf!)
                }
            }
            let inFlight = Mutex<[ArticleSubmission]>([])
            let start = next
            let writer = Task {
                var index = start
                while !Task.isCancelled {
                    let batch = (index..<(index + 10)).map {
                        ArticleSubmission(externalID: "crash-\($0)", body: "Crash-test story \($0): ministers discussed trade and counterterrorism.")
                    }
                    index += 10
                    inFlight.withLock { $0 = batch }
                    guard let response = try? await connection.send(IngestRequest(articles: batch)) else { return index }
                    for (submission, result) in zip(batch, response.results) where result.status == .accepted {
                        acknowledged.record(submission.externalID!, result.articleID!)
                    }
                    inFlight.withLock { $0 = [] }
                }
                return index
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...450, using: &generator)))
            process.kill(SIGKILL)
            next = await writer.value
            unacknowledged = inFlight.withLock { $0 }
            try? await connection.close()
        }
        // Restart once more and read the whole log back.
        let process = try IngestProcess(dataDirectory: directory)
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await process.port())
        let stats = try await connection.send(IngestStatsRequest())
        var stored: [String: Int] = [:]
        var offsets: [UInt64] = []
        if stats.endOffset > 0 {
            for try await batch in try connection.stream(SubscribeRequest(fromOffset: 0)) {
                for entry in batch.entries {
                    stored[entry.article.externalID ?? "", default: 0] += 1
                    offsets.append(entry.offset)
                }
                if offsets.count >= stats.endOffset { break }
            }
        }
        let acked = acknowledged.all
        #expect(acked.count > 20, "the test should acknowledge a fair number of articles (got \(acked.count))")
        #expect(offsets == Array(0..<stats.endOffset), "offsets are dense and in order")
        for (externalID, _) in acked {
            #expect(stored[externalID] == 1, "\(externalID) is stored \(stored[externalID] ?? 0) times")
        }
        #expect(stored.values.allSatisfy { $0 == 1 }, "no article is stored twice")
        try await connection.close()
        process.kill(SIGTERM)
        #expect(process.process.terminationStatus == 0, "a graceful shutdown exits 0")
    }

    @Test func aCorruptLogStopsTheStartWithAMessageNamingTheSegment() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let process = try IngestProcess(dataDirectory: directory)
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await process.port())
            _ = try await connection.send(IngestRequest(articles: (0..<3).map { ArticleSubmission(body: "Story \($0) about energy.") }))
            try await connection.close()
            process.kill(SIGTERM)
        }
        let segment = directory + "/log/00000000000000000000.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[30] ^= 0xFF  // inside the first record
        try bytes.write(to: URL(fileURLWithPath: segment))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(IngestProcess.binary))
        process.arguments = ["--port", "0", "--data-dir", directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(output.contains("00000000000000000000.log is corrupt at byte 0"), "\(output)")
    }

    @Test func badArgumentsAreRefusedWithAClearMessage() throws {
        for (arguments, fragment) in [
            (["--fsync", "sometimes"], "--fsync 'sometimes' must be 'always', 'interval:MS' or 'none'"),
            (["--segment-size", "big"], "--segment-size 'big' is not a size"),
            (["--port", "70000"], "--port 70000 is not a TCP port"),
            (["--log-level", "loud"], "--log-level 'loud' is not one of"),
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(IngestProcess.binary))
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 64, "usage errors exit with EX_USAGE")
            #expect(output.contains(fragment), "\(output)")
        }
    }
}
