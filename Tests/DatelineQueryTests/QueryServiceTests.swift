import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

@Suite("dateline-query with dateline-ingest")
struct QueryServiceTests {
    func utc(_ year: Int, _ month: Int, _ day: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: year, month: month, day: day))!
    }

    @Test func theSampleArticlesAnswerTheNamedSearchesExactly() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let query = try await cluster.queryClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let (islamabad, openVoice) = (ingested.results[0].articleID!, ingested.results[1].articleID!)
            func ids(_ request: SearchRequest) async throws -> [String] {
                var request = request
                request.minimumOffset = ingested.endOffset  // read-your-writes
                return try await query.send(request).hits.map(\.articleID)
            }
            #expect(Set(try await ids(SearchRequest(query: "counterterrorism"))) == [islamabad, openVoice])
            #expect(try await ids(SearchRequest(query: "\"rare earth\"")) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Rubio -telephone")) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Rubio", from: self.utc(2025, 8, 1))) == [islamabad])
            #expect(try await ids(SearchRequest(query: "Rubio", to: self.utc(2025, 7, 31))) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Rubio", sources: ["OpenVoiceNews Pakistan"])) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Rubio", tags: ["general news"])) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Lashkar-e-Taiba")) == [openVoice])
            #expect(try await ids(SearchRequest(query: "Pakistan’s")).count == 2)
            #expect(try await ids(SearchRequest(query: "Rubio", sort: .date)) == [islamabad, openVoice])

            // Facets count every match, not just the page.
            let faceted = try await query.send(SearchRequest(query: "Rubio", limit: 1, facets: true, histogramInterval: .day))
            let facets = try #require(faceted.facets)
            #expect(faceted.hits.count == 1)
            #expect(Set(facets.sources.map(\.value)) == ["OpenVoiceNews Pakistan", "(unknown)"])
            #expect(facets.tags == [FacetCount(value: "General News", count: 1)])
            #expect(facets.dates == [FacetCount(value: "2025-07-26", count: 1), FacetCount(value: "2025-08-04", count: 1)])
            let monthly = try await query.send(SearchRequest(query: "Rubio", facets: true)).facets?.dates
            #expect(monthly == [FacetCount(value: "2025-07", count: 1), FacetCount(value: "2025-08", count: 1)])
            #expect(try await query.send(SearchRequest(query: "Rubio")).facets == nil)

            let response = try await query.send(SearchRequest(query: "\"rare earth\" OR \"climate resilience\"", minimumOffset: ingested.endOffset))
            #expect(response.total == 2)
            #expect(response.appliedOffset == 2)
            let snippets = response.hits.flatMap(\.snippets)
            #expect(snippets.contains { $0.contains("[[rare]] [[earth]]") })
            #expect(snippets.contains { $0.contains("[[climate]] [[resilience]]") })
            let top = try #require(response.hits.first)
            #expect(top.score > 0)
            try await ingest.close()
            try await query.close()
        }
    }

    @Test func malformedQueriesAndUnknownIdsGetClearErrors() async throws {
        try await withDatelineCluster { cluster in
            let query = try await cluster.queryClient()
            let error = await #expect(throws: DatelineError.self) { try await query.send(SearchRequest(query: "rubio \"rare earth")) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == "query syntax: unbalanced quote: the phrase opened here is never closed at position 6")
            #expect(error?.details["position"] == "6")
            // A pathological query is refused, and the service carries on.
            let huge = await #expect(throws: DatelineError.self) {
                try await query.send(SearchRequest(query: String(repeating: "(", count: 100_000) + "x"))
            }
            #expect(huge?.code == .invalidArgument)
            #expect(try await query.send(SearchRequest(query: "anything")).total == 0)
            let notFound = await #expect(throws: DatelineError.self) { try await query.send(GetArticleRequest(id: "nope")) }
            #expect(notFound?.code == .notFound)
            let badCursor = await #expect(throws: DatelineError.self) { try await query.send(SearchRequest(query: "x", cursor: "garbage")) }
            #expect(badCursor?.code == .invalidArgument)
            let tooMany = await #expect(throws: DatelineError.self) { try await query.send(SearchRequest(query: "x", limit: 1_000)) }
            #expect(tooMany?.code == .invalidArgument)
            // Waiting for an offset that never comes ends at the deadline.
            let late = await #expect(throws: DatelineError.self) {
                try await query.send(SearchRequest(query: "x", minimumOffset: 99), timeout: .milliseconds(300))
            }
            #expect(late?.code == .deadlineExceeded)
            try await query.close()
        }
    }

    @Test func getReturnsTheWholeStoredArticle() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let query = try await cluster.queryClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            let article = try await query.send(GetArticleRequest(id: ingested.results[1].articleID!, minimumOffset: ingested.endOffset))
            #expect(article.offset == 1)
            #expect(article.article.title == "Rubio, Ishaq Dar Hold Talks in Washington")
            #expect(article.article.source == "OpenVoiceNews Pakistan")
            #expect(article.article.paragraphs.count == 9)
            try await ingest.close()
            try await query.close()
        }
    }

    @Test func paginationStaysStableWhileArticlesArrive() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let query = try await cluster.queryClient()
            let first = try await ingest.send(IngestRequest(articles: (0..<25).map {
                ArticleSubmission(externalID: "p\($0)", body: "Ministers discussed trade \(String(repeating: "and trade ", count: $0 % 5)) in meeting \($0).")
            }))
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await query.send(SearchRequest(query: "trade", limit: 10, cursor: cursor, minimumOffset: first.endOffset))
                #expect(page.total >= 25)
                seen += page.hits.map(\.articleID)
                cursor = page.nextCursor
                pages += 1
                if pages == 1 {
                    // New matching articles arrive between pages.
                    _ = try await ingest.send(IngestRequest(articles: (0..<5).map {
                        ArticleSubmission(externalID: "late\($0)", body: "A late story about trade number \($0).")
                    }))
                }
            } while cursor != nil && pages < 10
            // The pages are a point-in-time view: exactly the 25 articles there were, each once.
            #expect(Set(seen).count == seen.count, "no article is shown twice")
            #expect(seen.count == 25)
            #expect(try await query.send(SearchRequest(query: "trade", limit: 50, minimumOffset: first.endOffset + 5)).total == 30)
            try await ingest.close()
            try await query.close()
        }
    }

    @Test func aRestartedQueryServiceCatchesUp() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            await cluster.stopQuery()
            _ = try await ingest.send(IngestRequest(articles: [ArticleSubmission(body: "Energy security talks continued in Islamabad.")]))
            try await cluster.startQuery()
            let query = try await cluster.queryClient()
            let response = try await query.send(SearchRequest(query: "energy OR counterterrorism", minimumOffset: ingested.endOffset + 1))
            #expect(response.total == 3)
            let stats = try await query.send(QueryStatsRequest())
            #expect(stats.articleCount == 3)
            #expect(stats.appliedOffset == 3)
            #expect(stats.lag == 0)
            #expect(stats.following)
            #expect(stats.queries >= 1)
            try await ingest.close()
            try await query.close()
        }
    }

    @Test func theQueryServiceKeepsAnsweringWithoutIngestAndResumesFollowing() async throws {
        try await withDatelineCluster { cluster in
            let ingest = try await cluster.ingestClient()
            let ingested = try await ingest.send(IngestRequest(articles: try Samples.submissions()))
            try await ingest.close()
            let query = try await cluster.queryClient()
            _ = try await query.send(SearchRequest(query: "Rubio", minimumOffset: ingested.endOffset))
            try await cluster.stopIngest()
            // Still answering from its index.
            #expect(try await query.send(SearchRequest(query: "Rubio")).total == 2)
            var following = true
            for _ in 0..<1_000 where following {
                following = try await query.send(QueryStatsRequest()).following
                if following { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(!following, "stats say it is not following while ingest is down")
            // Ingest comes back (same port and data); the query service resumes and sees new articles.
            try await cluster.startIngest()
            let again = try await cluster.ingestClient()
            let more = try await again.send(IngestRequest(articles: [ArticleSubmission(body: "Rubio spoke again about minerals.")]))
            #expect(more.endOffset == 3)
            let response = try await query.send(SearchRequest(query: "Rubio", minimumOffset: 3), timeout: .seconds(10))
            #expect(response.total == 3)
            try await again.close()
            try await query.close()
        }
    }
}
