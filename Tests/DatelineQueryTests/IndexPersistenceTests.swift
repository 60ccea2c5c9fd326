import DatelineProtocol
import DatelineTestSupport
import DatelineQuery
import DatelineSearch
import Foundation
import Testing

@Suite("dateline-query index on disk")
struct IndexPersistenceTests {
    @Test func aRestartOpensTheCommittedIndexAndCarriesOnFollowing() async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            let before = try await query.send(GetArticleRequest(id: ingested.results[1].articleID!)).article
            let timelineBefore = try await query.send(TimelineRequest(actors: ["Rubio", "Dar"]))
            let entitiesBefore = try await query.send(EntitiesRequest(limit: 100))
            try await query.close()
            await cluster.stopQuery()  // commits a last time
            let manifest = try #require(try IndexManifest.read(directory: cluster.indexDirectory))
            #expect(manifest.data["appliedOffset"] == "2")
            #expect(manifest.segments.map(\.documentCount).reduce(0, +) == 2)

            // Restart with ingest down: the index comes from the segments alone.
            try await cluster.stopIngest()
            try await cluster.startQuery(persistentIndex: true)
            #expect(cluster.queryService?.appliedOffset == 2)
            #expect(cluster.queryService?.recordsAppliedSinceStart == 0)
            let again = try await cluster.queryClient()
            let response = try await again.send(SearchRequest(query: "\"rare earth\" OR counterterrorism"))
            #expect(response.total == 2)
            #expect(response.hits.first?.snippets.isEmpty == false)
            #expect(try await again.send(GetArticleRequest(id: ingested.results[1].articleID!)).article.source == "OpenVoiceNews Pakistan")
            // The extraction survives the restart whole: the article's, the entities and the timeline.
            let after = try await again.send(GetArticleRequest(id: ingested.results[1].articleID!)).article
            #expect(after.extraction != nil)
            #expect(after == before)
            #expect(try await again.send(TimelineRequest(actors: ["Rubio", "Dar"])) == timelineBefore)
            #expect(try await again.send(EntitiesRequest(limit: 100)) == entitiesBefore)
            #expect(timelineBefore.engagements.count == 3)
            // Ingest comes back; following resumes from offset 2.
            try await cluster.startIngest()
            let more = try await cluster.ingestClient()
            _ = try await more.send(IngestRequest(articles: [ArticleSubmission(body: "Rubio and Dar spoke once more about energy.")]))
            #expect(try await again.send(SearchRequest(query: "Rubio", minimumOffset: 3)).total == 3)
            try await ingest.close()
            try await more.close()
            try await again.close()
        }
    }

    /// Every kind of segment file, damaged in turn: the start (its envelope check, or the checksum check that
    /// follows it in the background) detects it, says which file in health, and rebuilds the index from the log.
    @Test func aDamagedOrMissingSegmentFileIsDetectedAndTheIndexRebuilt() async throws {
        try await Self.withSamplesIndexed { cluster in
            for kind in IndexFile.Kind.segmentFiles {
                await cluster.stopQuery()
                let segment = try #require(try IndexManifest.read(directory: cluster.indexDirectory)?.segments.first)
                let path = SegmentWriter.path(directory: cluster.indexDirectory, name: segment.name, kind: kind)
                if kind == .keys {
                    try FileManager.default.removeItem(atPath: path)
                } else {
                    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                    bytes[bytes.count / 2] ^= 0xFF
                    try bytes.write(to: URL(fileURLWithPath: path))
                }
                try await Self.restartExpectingARebuild(cluster, naming: segment.name + kind.suffix, "\(kind)")
            }
        }
    }

    /// Runs `body` on a cluster whose index holds the two samples, committed.
    static func withSamplesIndexed(_ body: (DatelineCluster) async throws -> Void) async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            try await query.close()
            try await body(cluster)
            try await ingest.close()
        }
    }

    /// Starts dateline-query on its damaged index with ingest down: it must not use the index, say in health which
    /// file (`naming`) is damaged, and rebuild the two samples from the log once ingest is back.
    static func restartExpectingARebuild(_ cluster: DatelineCluster, naming file: String, _ label: String) async throws {
        try await cluster.stopIngest()
        try await cluster.startQuery(persistentIndex: true)
        #expect(await cluster.queryService?.waitUntilIndexChecked(deadline: .now + .seconds(60)) == true)
        #expect(cluster.queryService?.appliedOffset == 0, "\(label): the damaged index is not used")
        let health = cluster.queryService?.health()
        #expect(health?.status == .catchingUp, "\(label)")
        #expect(health?.details["condition"]?.contains(file) == true, "\(label): \(health?.details ?? [:])")
        try await cluster.startIngest()
        let again = try await cluster.queryClient()
        #expect(try await again.send(SearchRequest(query: "Rubio", minimumOffset: 2)).total == 2, "\(label): rebuilt from the log")
        try await again.close()
    }

    /// A damaged manifest (a flipped byte, cut short, emptied): the start says so in health and rebuilds the index
    /// from the log; nothing it held is lost.
    @Test func aDamagedManifestIsDetectedAndTheIndexRebuilt() async throws {
        try await Self.withSamplesIndexed { cluster in
            let path = cluster.indexDirectory + "/manifest"
            for damage in ["a flipped byte", "cut short", "empty"] {
                await cluster.stopQuery()
                var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                switch damage {
                case "a flipped byte": bytes[bytes.count / 2] ^= 0xFF
                case "cut short": bytes = bytes.prefix(bytes.count - 5)
                default: bytes = Data()
                }
                try bytes.write(to: URL(fileURLWithPath: path))
                try await Self.restartExpectingARebuild(cluster, naming: "manifest", damage)
            }
        }
    }

    /// An index of another format (an older version's) is not taken for damage: it is set aside and rebuilt.
    @Test func anIndexOfAnotherFormatIsRebuiltFromTheLog() async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            try await query.close()
            await cluster.stopQuery()
            var manifest = try #require(try IndexManifest.read(directory: cluster.indexDirectory))
            #expect(manifest.data["format"] == "6" && !manifest.segments.isEmpty)
            manifest.data["format"] = nil  // as session 21's version wrote it
            try manifest.write(directory: cluster.indexDirectory)
            try await cluster.startQuery(persistentIndex: true)
            let health = cluster.queryService?.health()
            #expect(health?.details["condition"]?.contains("format 1") == true, "\(health?.details ?? [:])")
            let again = try await cluster.queryClient()
            #expect(try await again.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset)).total == 2, "rebuilt from the log")
            #expect(try await again.send(TimelineRequest(actors: ["Rubio", "Dar"])).engagements.count == 3)
            try await again.close()
            try await ingest.close()
        }
    }

    /// A restart replays only the records its last commit does not hold.
    @Test func aRestartReplaysOnlyTheTailOfTheLog() async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let first = try await ingest.send(IngestRequest(articles: (0..<5).map { ArticleSubmission(body: "First story \($0) about the cocoa harvest.") }))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "cocoa", minimumOffset: first.endOffset))
            try await query.close()
            await cluster.stopQuery()
            let second = try await ingest.send(IngestRequest(articles: (0..<3).map { ArticleSubmission(body: "Second story \($0) about the cocoa harvest.") }))
            try await cluster.startQuery(persistentIndex: true)
            let again = try await cluster.queryClient()
            #expect(try await again.send(SearchRequest(query: "cocoa", minimumOffset: second.endOffset)).total == 8)
            #expect(cluster.queryService?.recordsAppliedSinceStart == 3)
            try await again.close()
            try await ingest.close()
        }
    }

    /// Once no article arrives for the quiet-merge delay, the service merges its newest segments into one, and
    /// everything stays searchable, looked up and in its timeline, before and after a restart.
    @Test func aQuietIndexMergesItsSegmentsIntoOne() async throws {
        try await withDatelineCluster(persistentIndex: false) { cluster in
            await cluster.stopQuery()
            try await cluster.startQuery(persistentIndex: true, bufferDocuments: 2) { $0.quietMergeAfter = .milliseconds(300) }
            let ingest = try await cluster.ingestClient()
            var end = try await ingest.send(IngestRequest(articles: try Samples.submissions())).endOffset
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: end))
            // More articles, a few at a time, each batch committed before the next: several segments (the merge
            // factor, 8, merges none of them).
            var most = 0
            for round in 0..<4 {
                end = try await ingest.send(IngestRequest(articles: (0..<2).map { ArticleSubmission(body: "Quiet round \(round) report \($0) on cocoa.") })).endOffset
                _ = try await query.send(SearchRequest(query: "cocoa", minimumOffset: end))
                try await eventually("round \(round) committed") { (try IndexManifest.read(directory: cluster.indexDirectory)?.data["appliedOffset"]).flatMap { UInt64($0) } == end }
                most = max(most, try #require(try IndexManifest.read(directory: cluster.indexDirectory)).segments.count)
            }
            #expect(most >= 2, "\(most) segments at most")
            try await eventually("the quiet index merged into one segment") { try IndexManifest.read(directory: cluster.indexDirectory)?.segments.count == 1 }
            #expect(try await query.send(SearchRequest(query: "cocoa", limit: 20)).total == 8)
            #expect(try await query.send(TimelineRequest(actors: ["Rubio", "Dar"])).engagements.count == 3)
            try await query.close()
            await cluster.stopQuery()
            try await cluster.startQuery(persistentIndex: true)
            let again = try await cluster.queryClient()
            #expect(try await again.send(SearchRequest(query: "cocoa", limit: 20, minimumOffset: end)).total == 8)
            #expect(cluster.queryService?.recordsAppliedSinceStart == 0, "the merged segment holds everything")
            try await again.close()
            try await ingest.close()
        }
    }

    /// Searches paging through a result while segments are flushed and merged see one point in time: no page
    /// overlaps another, every page reports the same total, and the pages together hold the first page's total.
    @Test func pagesStayConsistentWhileSegmentsAreFlushedAndMerged() async throws {
        let cluster = DatelineCluster()
        try await cluster.startIngest()
        try await cluster.startQuery(persistentIndex: true, bufferDocuments: 3, mergeFactor: 2)
        try await cluster.waitUntilHealthy()
        do {
            let ingest = try await cluster.ingestClient()
            let query = try await cluster.queryClient()
            var end: UInt64 = 0
            for round in 0..<12 {
                let response = try await ingest.send(IngestRequest(articles: (0..<4).map { ArticleSubmission(body: "Round \(round) report \($0) on wheat and maize exports.") }))
                end = response.endOffset
                // Page through everything indexed so far while the next batch is flushed and merged.
                var seen = Set<String>()
                var cursor: String?
                var total: UInt64?
                repeat {
                    let page = try await query.send(SearchRequest(query: "wheat", limit: 5, cursor: cursor, minimumOffset: total == nil ? end : nil))
                    if let total { #expect(page.total == total, "round \(round)") } else { total = page.total }
                    for hit in page.hits { #expect(seen.insert(hit.articleID).inserted, "round \(round): \(hit.articleID) twice") }
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(UInt64(seen.count) == total, "round \(round)")
                #expect(total == end, "round \(round)")
            }
            // Merges happened: fewer segments than flushes.
            try cluster.queryService?.commit()
            let manifest = try #require(try IndexManifest.read(directory: cluster.indexDirectory))
            #expect(manifest.segments.map(\.documentCount).reduce(0, +) == Int(end))
            #expect(manifest.segments.count < Int(end) / 3, "\(manifest.segments.map(\.documentCount))")
            try await ingest.close()
            try await query.close()
            try await cluster.stop()
        } catch {
            try? await cluster.stop()
            throw error
        }
    }

    @Test func anIngestLogThatWasResetMakesTheIndexStartAgain() async throws {
        try await withDatelineCluster(persistentIndex: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            try await ingest.close()
            try await query.close()
            await cluster.stopQuery()
            // A new, empty ingest store with one different article.
            try await cluster.resetIngest()
            let fresh = try await cluster.ingestClient()
            _ = try await fresh.send(IngestRequest(articles: [ArticleSubmission(body: "Only one story about cocoa.")]))
            try await cluster.startQuery(persistentIndex: true)
            let again = try await cluster.queryClient()
            var total: UInt64 = 99
            for _ in 0..<1_000 where total != 0 {
                total = try await again.send(SearchRequest(query: "Rubio")).total
                if total != 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(total == 0, "the old articles are gone")
            #expect(try await again.send(SearchRequest(query: "cocoa", minimumOffset: 1)).total == 1)
            try await fresh.close()
            try await again.close()
        }
    }
}
