import DatelineProtocol
import DatelineQuery
import DatelineSearch
import DatelineStorage
import DatelineTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// dateline-query on a disk that fills: its commits fail, it says so, it holds a bounded amount in memory by
/// pausing its reading of the log, and it loses nothing when space comes back.
@Suite("dateline-query on a full disk")
struct IndexCommitFaultTests {
    /// A story of about 600 bytes.
    static func story(_ index: Int) -> ArticleSubmission {
        let sentence = "Story \(index) reports that the cocoa harvest in the region was smaller than the traders expected this season. "
        return ArticleSubmission(externalID: "full-disk-\(index)", body: String(repeating: sentence, count: 5))
    }

    /// Runs `scenario` on a cluster it starts itself, stopping the cluster afterwards even when it throws.
    static func withCluster(_ scenario: (DatelineCluster) async throws -> Void) async throws {
        let cluster = DatelineCluster()
        do {
            try await scenario(cluster)
            try await cluster.stop()
        } catch {
            try? await cluster.stop()
            throw error
        }
    }

    @Test func aFullDiskPausesFollowingWithinItsLimitAndLosesNothingOnceThereIsSpace() async throws {
        try await Self.withCluster(Self.fillAndFree)
    }

    static func fillAndFree(_ cluster: DatelineCluster) async throws {
        let full = Atomic<Bool>(false)
        let written = Atomic<Int>(0)
        let limit = 16 << 10
        // Batches of 4 records: the follower can overshoot its limit by one batch at most.
        try await cluster.startIngest(subscribeBatchRecords: 4)
        try await cluster.startQuery(persistentIndex: true) {
            $0.bufferBytes = 4 << 10
            $0.maximumUncommittedBytes = limit
            $0.commitInterval = .milliseconds(50)
            // Once full, the disk fills two articles into the next flush, so that flush leaves files with data in them.
            $0.indexWriteFaults = IndexWriteFaults { point in
                guard full.load(ordering: .relaxed) else { return }
                if point == .flushDocument, written.add(1, ordering: .relaxed).newValue <= 2 { return }
                throw DatelineStorageError.io("cannot write /index/seg-000000000001.post", errno: ENOSPC)
            }
        }
        let ingest = try await cluster.ingestClient()
        let service = try #require(cluster.queryService)
        // Five articles committed while there is space; then the disk is full.
        _ = try await ingest.send(IngestRequest(articles: (0..<5).map(Self.story)))
        let first = try await cluster.queryClient()
        _ = try await first.send(SearchRequest(query: "cocoa harvest", minimumOffset: 5))
        try await first.close()
        try service.commit()
        full.store(true, ordering: .relaxed)
        let total = 120
        for start in stride(from: 5, to: total, by: 5) {
            let response = try await ingest.send(IngestRequest(articles: (start..<(start + 5)).map(Self.story)))
            #expect(response.results.allSatisfy { $0.status == .accepted })
        }

        // Paused, holding no more than its limit and one batch; saying why; answering from what it holds.
        // (Values are read into constants first: a failed expectation must not reflect the service.)
        let paused = await service.waitUntilPausedForCommit(deadline: .now + .seconds(60))
        #expect(paused)
        let applied = service.appliedOffset
        #expect(applied < UInt64(total), "the follower stopped reading the log")
        let uncommitted = service.uncommittedBytes
        #expect(uncommitted < 2 * limit, "the limit and one batch of four at most")
        let health = service.health()
        #expect(health.status == .degraded)
        let condition = health.details["condition"] ?? ""
        #expect(condition.contains("cannot commit the index") && condition.contains("No space left on device"), "\(condition)")
        #expect(condition.contains("paused"), "\(condition)")
        let query = try await cluster.queryClient()
        #expect(try await query.send(SearchRequest(query: "cocoa harvest")).total == applied)
        // A copy of the index for a backup is the last commit point, not an error.
        var chunks = 0
        var copiedOffset: UInt64?
        for try await chunk in try query.stream(IndexBackupRequest()) {
            if chunks == 0 { copiedOffset = chunk.appliedOffset }
            chunks += 1
        }
        #expect(chunks > 0 && copiedOffset == 5)
        // A failed flush leaves no part-written segment behind (read between the attempts, every 50 ms).
        try await eventually("no segment file but the committed ones") {
            let manifest = try IndexManifest.read(directory: cluster.indexDirectory)
            let names = Set(manifest?.segments.map(\.name) ?? [])
            let files = (try? FileManager.default.contentsOfDirectory(atPath: cluster.indexDirectory)) ?? []
            return !names.isEmpty && files.allSatisfy { $0 == "manifest" || $0 == "lock" || names.contains(String($0.split(separator: ".")[0])) }
        }

        // Space again: it commits, follows the log to its end, and every article is searchable and committed.
        full.store(false, ordering: .relaxed)
        #expect(try await query.send(SearchRequest(query: "cocoa harvest", minimumOffset: UInt64(total))).total == UInt64(total))
        try await eventually("the whole log is committed") {
            try IndexManifest.read(directory: cluster.indexDirectory)?.data["appliedOffset"] == "\(total)"
        }
        try await eventually("health is serving again") { service.health().status == .serving }
        try await query.close()

        // A restart replays nothing: it was all committed.
        await cluster.stopQuery()
        try await cluster.startQuery(persistentIndex: true)
        let again = try await cluster.queryClient()
        #expect(try await again.send(SearchRequest(query: "cocoa harvest", minimumOffset: UInt64(total))).total == UInt64(total))
        let replayed = cluster.queryService?.recordsAppliedSinceStart
        #expect(replayed == 0)
        try await again.close()
        try await ingest.close()
    }

    /// The real binaries, dateline-query's index on a tmpfs that fills: health says why commits fail, the follower
    /// pauses with its uncommitted articles under `--max-uncommitted-mb`, and once space is freed it commits and
    /// follows the log to its end, without a restart.
    @Test(.timeLimit(.minutes(2)), .enabled(if: TmpfsMount.isAllowed, "mounting a tmpfs is not allowed here"))
    func theBinaryOnAFullDiskPausesAndCarriesOnWhenSpaceIsFreed() async throws {
        let mountPoint = try TmpfsMount.mount(size: "4m")
        defer {
            TmpfsMount.unmount(mountPoint)
            try? FileManager.default.removeItem(atPath: mountPoint + ".metrics")
        }
        let ballast = mountPoint + "/ballast"
        try Data(repeating: 1, count: 3_800 << 10).write(to: URL(fileURLWithPath: ballast))
        let ingestDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-full-ingest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: ingestDirectory) }
        let ingest = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", ingestDirectory, "--extraction", "off"])
        defer { ingest.kill(SIGTERM) }
        let ingestPort = try await ingest.port()
        let query = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", mountPoint + "/index", "--ingest", "127.0.0.1:\(ingestPort)", "--commit-interval", "0.05",
            "--buffer-articles", "50", "--buffer-mb", "1", "--max-uncommitted-mb", "2",
            "--metrics-port", "0", "--metrics-port-file", mountPoint + ".metrics",
        ])
        defer { query.kill(SIGTERM) }
        let queryConnection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await query.port())
        let ingestConnection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
        // 1,000 stories of about 3 KB: 3 MB of text, far more than the 200 KiB the tmpfs has left.
        let total = 1_000
        for start in stride(from: 0, to: total, by: 20) {
            let articles = (start..<(start + 20)).map { index in
                ArticleSubmission(externalID: "full-\(index)", body: String(repeating: "Story \(index) says the cocoa harvest fell short of what traders expected. ", count: 40))
            }
            _ = try await ingestConnection.send(IngestRequest(articles: articles))
        }
        var health = try await queryConnection.send(HealthRequest())
        try await eventually("the index pauses for want of space") {
            health = try await queryConnection.send(HealthRequest())
            return health.details["condition"]?.contains("paused") == true
        }
        #expect(health.status == .degraded)
        #expect(health.details["condition"]?.contains("No space left on device") == true, "\(health.details)")
        let applied = try await queryConnection.send(QueryStatsRequest()).appliedOffset
        #expect(applied < UInt64(total), "the follower stopped reading the log")
        // The metrics say so too.
        var metricsPort = 0
        try await eventually("the metrics endpoint listens") {
            metricsPort = (try? String(contentsOfFile: mountPoint + ".metrics", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            return metricsPort > 0
        }
        let scrape = PrometheusSamples(try await RawHTTP.get(port: metricsPort).body)
        #expect(scrape.value("dateline_index_commit_failing") == 1)
        #expect(scrape.value("dateline_index_uncommitted_bytes") ?? 0 >= Double(2 << 20))
        #expect(try await queryConnection.send(SearchRequest(query: "cocoa harvest")).total == applied)

        try FileManager.default.removeItem(atPath: ballast)
        let all = try await queryConnection.send(SearchRequest(query: "cocoa harvest", minimumOffset: UInt64(total)), timeout: .seconds(60))
        #expect(all.total == UInt64(total))
        try await eventually("health is serving again") { try await queryConnection.send(HealthRequest()).status == .serving }
        #expect(PrometheusSamples(try await RawHTTP.get(port: metricsPort).body).value("dateline_index_commit_failing") == 0)
        try await queryConnection.close()
        try await ingestConnection.close()
    }

    /// Merges that fail (a full disk) leave the committed segments as they are and no part-written file; the next
    /// merge once there is space succeeds.
    @Test func aFailedMergeLeavesTheSegmentsAsTheyWereAndALaterOneSucceeds() async throws {
        try await Self.withCluster(Self.failMergesThenMerge)
    }

    static func failMergesThenMerge(_ cluster: DatelineCluster) async throws {
        let failing = Atomic<Bool>(true)
        try await cluster.startIngest()
        // No commit (and so no merge) but the test's own: no timer, and buffers that never fill.
        try await cluster.startQuery(persistentIndex: true, mergeFactor: 2) {
            $0.commitInterval = .seconds(3_600)
            $0.indexWriteFaults = IndexWriteFaults { point in
                if point == .merge, failing.load(ordering: .relaxed) { throw DatelineStorageError.io("cannot write /index/seg-000000000009.post", errno: ENOSPC) }
            }
        }
        let service = try #require(cluster.queryService)
        let ingest = try await cluster.ingestClient()
        let query = try await cluster.queryClient()
        // Four segments of three articles: each round applied and committed before the next.
        for round in 0..<4 {
            _ = try await ingest.send(IngestRequest(articles: (0..<3).map { ArticleSubmission(body: "Round \(round) report \($0) on wheat and maize exports.") }))
            _ = try await query.send(SearchRequest(query: "wheat", minimumOffset: UInt64(3 * round + 3)))
            try service.commit()
        }
        /// The index directory holds the manifest's segments' files, the manifest and the lock, nothing else.
        func onlyCommittedFiles(articles: Int = 12) throws -> (segments: Int, stray: [String]) {
            let manifest = try #require(try IndexManifest.read(directory: cluster.indexDirectory))
            #expect(manifest.segments.map(\.documentCount).reduce(0, +) == articles)
            let names = Set(manifest.segments.map(\.name))
            let files = try FileManager.default.contentsOfDirectory(atPath: cluster.indexDirectory)
            let stray = files.filter { file in file != "manifest" && file != "lock" && !names.contains(String(file.split(separator: ".")[0])) }
            return (manifest.segments.count, stray)
        }
        let committed = try onlyCommittedFiles()
        #expect(committed.segments == 4, "every merge failed: a segment a round")
        let started = service.mergeIfDue()
        #expect(started, "a merge is due: every one so far failed")
        try await eventually("the failed merge has ended") { !service.isMerging }
        let before = try onlyCommittedFiles()
        #expect(before.segments == committed.segments, "a failed merge changes nothing")
        #expect(before.stray.isEmpty, "\(before.stray)")
        #expect(try await query.send(SearchRequest(query: "wheat")).total == 12)
        let retried = service.mergeIfDue()
        #expect(!retried, "after a failed merge none is tried before a commit writes a new segment")

        // Space again, and a commit that writes a segment: the next merge is tried, and succeeds.
        failing.store(false, ordering: .relaxed)
        _ = try await ingest.send(IngestRequest(articles: (0..<3).map { ArticleSubmission(body: "Round 4 report \($0) on wheat and maize exports.") }))
        _ = try await query.send(SearchRequest(query: "wheat", minimumOffset: 15))
        try service.commit()
        let merging = service.mergeIfDue()
        #expect(merging)
        try await eventually("the merge has ended") { !service.isMerging }
        let after = try onlyCommittedFiles(articles: 15)
        #expect(after.segments < before.segments + 1)
        #expect(after.stray.isEmpty, "\(after.stray)")
        #expect(try await query.send(SearchRequest(query: "wheat")).total == 15)
        try await ingest.close()
        try await query.close()
    }
}
