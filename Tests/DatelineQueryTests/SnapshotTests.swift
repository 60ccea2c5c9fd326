import DatelineProtocol
import DatelineTestSupport
import DatelineQuery
import DatelineSearch
import Foundation
import Testing

@Suite("dateline-query snapshots")
struct SnapshotTests {
    @Test func anIndexRestoredFromItsSnapshotAnswersIdentically() throws {
        let index = SearchIndex()
        let documents = [
            IndexedDocument(id: "a", title: "Rubio, Ishaq Dar Hold Talks", body: "Counterterrorism and rare earth minerals were discussed."),
            IndexedDocument(id: "b", title: "", body: "A telephone conversation about trade, climate resilience and counterterrorism."),
            IndexedDocument(id: "c", title: "Bahia cocoa review", body: "Showers continued throughout the week in the Bahia cocoa zone."),
        ]
        for document in documents { index.add(document) }
        var bytes: [UInt8] = []
        index.writeSnapshot(into: &bytes)
        var reader = SnapshotReader(bytes)
        let restored = try SearchIndex.readSnapshot(&reader, documents: documents)
        #expect(reader.remaining == 0)
        let parser = SearchQueryParser()
        for query in ["counterterrorism", "\"rare earth\"", "rubio OR cocoa", "counter*", "trade -cocoa"] {
            let parsed = try parser.parse(query)
            #expect(restored.search(parsed).hits == index.search(parsed).hits, "\(query)")
        }
        // New documents index into a restored index as into the original.
        restored.add(IndexedDocument(id: "d", title: "", body: "More counterterrorism news."))
        #expect(restored.search(try parser.parse("counterterrorism")).total == 3)
        // Damaged bytes are refused, never crash.
        var truncated = SnapshotReader(Array(bytes.prefix(bytes.count / 2)))
        #expect(throws: SnapshotError.self) { try SearchIndex.readSnapshot(&truncated, documents: documents) }
        var wrongCount = SnapshotReader(bytes)
        #expect(throws: SnapshotError.self) { try SearchIndex.readSnapshot(&wrongCount, documents: Array(documents.prefix(2))) }
    }

    @Test func aRestartLoadsTheSnapshotAndCarriesOnFollowing() async throws {
        try await withDatelineCluster(snapshots: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            let before = try await query.send(GetArticleRequest(id: ingested.results[1].articleID!)).article
            let timelineBefore = try await query.send(TimelineRequest(actors: ["Rubio", "Dar"]))
            let entitiesBefore = try await query.send(EntitiesRequest(limit: 100))
            try await query.close()
            await cluster.stopQuery()  // writes the final snapshot
            #expect(FileManager.default.fileExists(atPath: cluster.snapshotDirectory + "/index.snapshot"))

            // Restart with ingest down: the index comes from the snapshot alone.
            try await cluster.stopIngest()
            try await cluster.startQuery(snapshots: true)
            #expect(cluster.queryService?.appliedOffset == 2)
            let again = try await cluster.queryClient()
            let response = try await again.send(SearchRequest(query: "\"rare earth\" OR counterterrorism"))
            #expect(response.total == 2)
            #expect(response.hits.first?.snippets.isEmpty == false)
            #expect(try await again.send(GetArticleRequest(id: ingested.results[1].articleID!)).article.source == "OpenVoiceNews Pakistan")
            // The extraction survives the snapshot whole: the article's, the entities and the timeline.
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

    @Test func aDamagedSnapshotFallsBackToAFullReplay() async throws {
        try await withDatelineCluster(snapshots: true) { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            try await query.close()
            await cluster.stopQuery()
            let path = cluster.snapshotDirectory + "/index.snapshot"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))
            try await cluster.startQuery(snapshots: true)
            #expect(cluster.queryService?.appliedOffset == 0, "the damaged snapshot is not used")
            let again = try await cluster.queryClient()
            #expect(try await again.send(SearchRequest(query: "Rubio", minimumOffset: 2)).total == 2)
            try await ingest.close()
            try await again.close()
        }
    }

    @Test func anIngestLogThatWasResetMakesTheIndexStartAgain() async throws {
        try await withDatelineCluster(snapshots: true) { cluster in
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
            try await cluster.startQuery(snapshots: true)
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
