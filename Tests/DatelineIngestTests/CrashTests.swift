import DatelineProtocol
import Foundation
import Synchronization
import Testing

import struct DatelineTestSupport.SeededGenerator
import enum DatelineTestSupport.TmpfsMount

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

    /// Reads every record of the log through a restarted service: external id → times stored.
    static func storedArticles(directory: String) async throws -> [String: Int] {
        let process = try IngestProcess(dataDirectory: directory)
        defer { process.kill(SIGTERM) }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await process.port())
        let end = try await connection.send(IngestStatsRequest()).endOffset
        var stored: [String: Int] = [:]
        var seen: UInt64 = 0
        if end > 0 {
            for try await batch in try connection.stream(SubscribeRequest(fromOffset: 0)) {
                for entry in batch.entries { stored[entry.article.externalID ?? "", default: 0] += 1 }
                seen += UInt64(batch.entries.count)
                if seen >= end { break }
            }
        }
        try await connection.close()
        return stored
    }

    /// Two clients send the same batches at once, so that one meets the other's append in flight, and the
    /// service is killed at a random moment: every article either client was told is `accepted` or
    /// `duplicate` must be in the log, once.
    @Test(.timeLimit(.minutes(3)))
    func aDuplicateAnswerAlwaysMeansTheArticleIsStoredAcrossSIGKILL() async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        print("aDuplicateAnswerAlwaysMeansTheArticleIsStoredAcrossSIGKILL seed \(seed) (set DATELINE_TEST_SEED to replay)")
        var generator = SeededGenerator(seed: ProcessInfo.processInfo.environment["DATELINE_TEST_SEED"].flatMap(UInt64.init) ?? seed)
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let acknowledged = Acknowledgements()
        var firstBatch = 0
        for _ in 0..<6 {
            let process = try IngestProcess(dataDirectory: directory)
            let port = try await process.port()
            let start = firstBatch
            let clients = (0..<2).map { _ in
                Task { () -> Int in
                    guard let connection = try? await DatelineClientConnection.connect(host: "127.0.0.1", port: port) else { return start }
                    defer { Task { try? await connection.close() } }
                    var batch = start
                    while !Task.isCancelled {
                        let articles = (0..<5).map { ArticleSubmission(externalID: "race-\(batch)-\($0)", body: "Race story \(batch)-\($0): ministers met to discuss trade.") }
                        guard let response = try? await connection.send(IngestRequest(articles: articles)) else { return batch }
                        for (article, result) in zip(articles, response.results) where result.status == .accepted || result.status == .duplicate {
                            acknowledged.record(article.externalID!, result.articleID ?? "")
                        }
                        batch += 1
                    }
                    return batch
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...400, using: &generator)))
            process.kill(SIGKILL)
            for client in clients { firstBatch = max(firstBatch, await client.value + 1) }
        }
        let stored = try await Self.storedArticles(directory: directory)
        let acked = acknowledged.all
        #expect(acked.count > 20, "the test should acknowledge a fair number of articles (got \(acked.count))")
        for externalID in acked.keys.sorted() {
            #expect(stored[externalID] == 1, "\(externalID) was acknowledged but is stored \(stored[externalID] ?? 0) times (seed \(seed))")
        }
        #expect(stored.values.allSatisfy { $0 == 1 }, "no article is stored twice")
    }

    /// The real binary on a 2 MiB tmpfs: a full disk fails the batch clearly, health says degraded, and the
    /// same batch is accepted once space is freed, without a restart.
    @Test(.timeLimit(.minutes(2)), .enabled(if: TmpfsMount.isAllowed, "mounting a tmpfs is not allowed here"))
    func aFullDiskIsReportedAndClearsWithoutARestart() async throws {
        let mountPoint = try TmpfsMount.mount(size: "2m")
        defer { TmpfsMount.unmount(mountPoint) }
        let ballast = mountPoint + "/ballast"
        try Data(repeating: 1, count: 1_600 << 10).write(to: URL(fileURLWithPath: ballast))
        let process = try IngestProcess(dataDirectory: mountPoint + "/data", extraArguments: ["--extraction", "off"])
        defer { process.kill(SIGTERM) }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await process.port())
        let body = String(repeating: "Ministers discussed trade, energy and counterterrorism at length. ", count: 100)
        var failed: (batch: IngestRequest, error: DatelineError)?
        var accepted = 0
        for round in 0..<200 where failed == nil {
            let batch = IngestRequest(articles: (0..<5).map { ArticleSubmission(externalID: "full-\(round)-\($0)", body: "\(round)-\($0) " + body) })
            do {
                accepted += try await connection.send(batch).results.count { $0.status == .accepted }
            } catch let error as DatelineError {
                failed = (batch, error)
            }
        }
        let (batch, error) = try #require(failed, "the disk never filled")
        #expect(error.code == .unavailable)
        #expect(error.message.contains("disk is full"), "\(error.message)")
        #expect(!error.message.contains(mountPoint), "no paths in what clients are told")
        let health = try await connection.send(HealthRequest())
        #expect(health.status == .degraded)
        #expect(health.details["condition"]?.contains("disk is full") == true)
        try FileManager.default.removeItem(atPath: ballast)
        let retried = try await connection.send(batch)
        #expect(retried.results.allSatisfy { $0.status == .accepted }, "\(retried.results)")
        #expect(try await connection.send(HealthRequest()).status == .serving)
        #expect(try await connection.send(IngestStatsRequest()).endOffset == UInt64(accepted + 5))
        try await connection.close()
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
            (["--max-body-size", "8M"], "--max-body-size '8M' is above 7M"),
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
