import DatelineProtocol
import DatelineQuery
import DatelineSearch
import DatelineStorage
import DatelineTestSupport
import Foundation
import Logging
import Testing

/// Waits (without a fixed sleep) until `condition` holds, checking every few milliseconds; fails after `limit`.
func eventually(_ what: String, limit: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting until \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

@Suite("dateline-query never misreports the log")
struct FollowerTrustTests {
    @Test func aReplacedIngestLogIsRebuiltFromNeverMixedWithTheOldOne() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let first = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            #expect(try await query.send(SearchRequest(query: "Rubio", minimumOffset: first.endOffset)).total == 2)
            let oldEpoch = try await query.send(HealthRequest()).details["epoch"]
            try await ingest.close()

            // A new log (new epoch) that grows past the index's offset before the follower is back.
            try await cluster.resetIngest()
            let fresh = try await cluster.ingestClient()
            let stories = (0..<3).map { ArticleSubmission(externalID: "cocoa-\($0)", body: "Cocoa story number \($0) from the Bahia zone.") }
            let second = try await fresh.send(IngestRequest(articles: stories))
            #expect(second.endOffset == 3)
            let response = try await query.send(SearchRequest(query: "cocoa", minimumOffset: 3))
            #expect(response.total == 3)
            #expect(try await query.send(SearchRequest(query: "Rubio")).total == 0, "nothing of the old log is served")
            let stats = try await query.send(QueryStatsRequest())
            #expect(stats.articleCount == 3)
            let health = try await query.send(HealthRequest())
            #expect(health.details["epoch"] != oldEpoch)
            #expect(health.details["epoch"] == (try await fresh.send(HealthRequest())).details["epoch"])
            try await fresh.close()
            try await query.close()
        }
    }

    @Test func whileCatchingUpUnknownIdsAreUnavailableAndHealthSaysSo() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            try await ingest.close()
            // dateline-query restarts (no snapshot) while dateline-ingest is down: it holds nothing yet.
            await cluster.stopQuery()
            try await cluster.stopIngest()
            try await cluster.startQuery()
            let query = try await cluster.queryClient()
            let health = try await query.send(HealthRequest())
            #expect(health.status == .catchingUp)
            #expect(health.details["condition"] != nil)
            let id = try #require(ingested.results[0].articleID)
            let error = await #expect(throws: DatelineError.self) { try await query.send(GetArticleRequest(id: id)) }
            #expect(error?.code == .unavailable, "not NOT_FOUND: the article may be in the part not replayed")
            #expect(error?.isRetryable == true)
            #expect(error?.message.contains("catching up") == true)

            try await cluster.startIngest()
            let searched = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            #expect(searched.appliedOffset == 2, "a search says which offset it reflects")
            #expect(try await query.send(GetArticleRequest(id: id)).article.id == id)
            #expect(try await query.send(HealthRequest()).status == .serving)
            let missing = await #expect(throws: DatelineError.self) { try await query.send(GetArticleRequest(id: "no-such-article")) }
            #expect(missing?.code == .notFound, "once caught up, an unknown id is a definite answer")

            // Losing dateline-ingest afterwards: degraded, naming the condition; still answering.
            try await cluster.stopIngest()
            try await eventually("health says degraded") { try await query.send(HealthRequest()).status == .degraded }
            let degraded = try await query.send(HealthRequest())
            #expect(degraded.details["condition"]?.contains("not following dateline-ingest") == true, "\(degraded.details)")
            #expect(try await query.send(SearchRequest(query: "Rubio")).total == 2)
            try await query.close()
        }
    }

    @Test func getTakesAnExternalIDAsWellAsAnID() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: [ArticleSubmission(externalID: "wire-2025-0077", body: "Cocoa prices rose in Bahia.")]))
            let query = try await cluster.queryClient()
            let byExternal = try await query.send(GetArticleRequest(id: "wire-2025-0077", minimumOffset: ingested.endOffset))
            #expect(byExternal.article.id == ingested.results[0].articleID)
            #expect(try await query.send(GetArticleRequest(id: byExternal.article.id)).article.externalID == "wire-2025-0077")
            try await ingest.close()
            try await query.close()
        }
    }

    @Test func tenCommitsInARowEachOpenOnRestart() async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let query = try await cluster.queryClient()
            for round in 1...10 {
                let response = try await ingest.send(IngestRequest(articles: [ArticleSubmission(body: "Committed story \(round) about the cocoa harvest.")]))
                _ = try await query.send(SearchRequest(query: "cocoa", minimumOffset: response.endOffset))
                let service = try #require(cluster.queryService)
                try service.commit()
                #expect(try IndexManifest.read(directory: cluster.indexDirectory)?.data["appliedOffset"] == "\(round)", "round \(round)")
                // While it runs, no second service may open the same directory.
                let second = QueryService(configuration: QueryServiceConfiguration(ingestPort: 1, indexDirectory: cluster.indexDirectory), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
                let refused = await #expect(throws: DatelineStorageError.self) { try await second.run() }
                #expect(refused?.code == .inUse)
                #expect(second.appliedOffset == 0)
            }
            // A restart from the last commit starts where it was, replaying nothing.
            await cluster.stopQuery()
            try await cluster.stopIngest()
            try await cluster.startQuery(persistentIndex: true)
            #expect(cluster.queryService?.appliedOffset == 10)
            #expect(try cluster.queryService?.search(SearchRequest(query: "cocoa")).total == 10)
            #expect(cluster.queryService?.recordsAppliedSinceStart == 0)
            try await cluster.startIngest()
            try await ingest.close()
            try await query.close()
            // Once the writers are done (the last commit at shutdown), nothing but the committed files is left.
            await cluster.stopQuery()
            let manifest = try #require(try IndexManifest.read(directory: cluster.indexDirectory))
            let expected = Set(["manifest", "lock"] + manifest.segments.flatMap { segment in IndexFile.Kind.segmentFiles.map { segment.name + $0.suffix } })
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: cluster.indexDirectory))
            #expect(files == expected, "the committed files and nothing else: \(files.sorted())")
        }
    }

    @Test func filesLeftByACrashedFlushOrCommitAreRemovedAtStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-index-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["manifest.tmp-1f2e", "seg-000000000007.post", "seg-000000000007.dict", "seg-000000000008.stor"] {
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(repeating: 1, count: 1_000)))
        }
        _ = QueryService(configuration: QueryServiceConfiguration(ingestPort: 1, indexDirectory: directory), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["lock"])
    }

    @Test func reconnectDelaysGrowExponentiallyWithJitterUpToTheCap() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        var generator = SeededGenerator(seed: 42)
        var delays: [Duration] = []
        for _ in 0..<12 { delays.append(backoff.next(using: &generator)) }
        for (attempt, delay) in delays.enumerated() {
            let base = backoff.base(attempt: attempt)
            #expect(delay >= base / 2 && delay <= base, "attempt \(attempt): \(delay) outside [\(base / 2), \(base)]")
        }
        #expect(backoff.base(attempt: 0) == .milliseconds(100))
        #expect(backoff.base(attempt: 3) == .milliseconds(800))
        #expect(backoff.base(attempt: 11) == .seconds(5), "capped")
        #expect(Set(delays.suffix(5)).count > 1, "jittered, not all equal at the cap")
        // 8 s of failures against a damaged log: a handful of attempts, not 80.
        var total = Duration.zero
        var attempts = 0
        var fresh = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        while total < .seconds(8) {
            total += fresh.next(using: &generator)
            attempts += 1
        }
        #expect(attempts <= 8, "\(attempts) attempts in 8 s")
        backoff.reset()
        #expect(backoff.next(using: &generator) <= .milliseconds(100))
    }
}


@Suite("Bounded requests")
struct BoundedRequestTests {
    @Test func aTimelineNamesAtMostThirtyTwoActors() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            let actors = (0..<33).map { "Actor \($0)" }
            let error = await #expect(throws: DatelineError.self) {
                try await query.send(TimelineRequest(actors: actors, minimumOffset: ingested.endOffset))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("at most 32 actors") == true)
            // The look-up by participant finds what the scan found: Rubio and Dar met three times.
            let timeline = try await query.send(TimelineRequest(actors: ["Rubio", "Dar"], minimumOffset: ingested.endOffset))
            #expect(timeline.engagements.count == 3)
            // An office stands for whoever held it: the US Secretary of State is Rubio here.
            let byOffice = try await query.send(TimelineRequest(actors: ["US Secretary of State", "Ishaq Dar"]))
            #expect(byOffice.engagements.count == timeline.engagements.count)
            try await ingest.close()
            try await query.close()
        }
    }
}
