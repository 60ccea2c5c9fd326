import DatelineArticles
import DatelineIngest
import DatelineProtocol
import DatelineStorage
import Foundation
import NIOCore
import Synchronization
import Testing

@Suite("dateline-ingest through the protocol")
struct IngestServiceTests {
    @Test func theSamplesAreAcceptedParsedAndDeduplicated() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory) { _, connection in
            let response = try await connection.send(IngestRequest(articles: try Samples.submissions()))
            #expect(response.results.map(\.status) == [.accepted, .accepted])
            #expect(response.results.map(\.offset) == [0, 1])
            #expect(response.endOffset == 2)
            let ids = response.results.compactMap(\.articleID)
            #expect(Set(ids).count == 2)

            // The same articles again: duplicates of the stored ones, nothing new logged.
            let again = try await connection.send(IngestRequest(articles: try Samples.submissions()))
            #expect(again.results.map(\.status) == [.duplicate, .duplicate])
            #expect(again.results.map(\.duplicateOf) == ids)
            #expect(again.endOffset == 2)

            // Same content, other spacing: still a duplicate. Same external id, other content: a duplicate too.
            let respaced = ArticleSubmission(body: try Samples.text("000_840db5600f595d32.txt").replacingOccurrences(of: " ", with: "  "), format: .plainText)
            let first = ArticleSubmission(externalID: "wire-1", body: "A first story about trade and climate resilience in South Asia.")
            let sameID = ArticleSubmission(externalID: "wire-1", body: "A corrected version of that story.")
            let mixed = try await connection.send(IngestRequest(articles: [respaced, first, sameID]))
            #expect(mixed.results.map(\.status) == [.duplicate, .accepted, .duplicate])
            #expect(mixed.results[2].duplicateOf == mixed.results[1].articleID)

            // What followers get is the parsed article.
            let entries = try await collect(connection, from: 0, count: 3)
            #expect(entries.map(\.offset) == [0, 1, 2])
            let islamabad = entries[0].article
            #expect(islamabad.datelinePlace == "Islamabad")
            #expect(islamabad.title == nil)
            #expect(islamabad.missingFields.contains("title"))
            #expect(islamabad.paragraphs.count == 8)
            let openVoice = entries[1].article
            #expect(openVoice.source == "OpenVoiceNews Pakistan")
            #expect(openVoice.title == "Rubio, Ishaq Dar Hold Talks in Washington")
            #expect(openVoice.categories == ["General News"])
            #expect(openVoice.format == .plainText)
        }
    }

    /// A failed expectation reflects the service it calls; its own mirror keeps reflection off its locks (which
    /// cannot be copied: reflecting them crashes the test run).
    @Test func theServiceReflectsAsItsLogsEnd() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory) { service, _ in
            #expect(Mirror(reflecting: service).children.map(\.label) == ["endOffset", "backend"])
        }
    }

    /// Oversized fields are rejected by name, and an article that still does not fit a log record (a hundred
    /// tags of 60 KiB: 6 MB against the record limit of 4 MiB) is rejected alone: the others of its batch are
    /// stored (it used to fail the whole batch as "retry", which could never succeed).
    @Test func anArticleTooLargeForTheLogIsRejectedAloneAndTheOthersStored() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory, configure: { $0.extraction = false }) { service, connection in
            let tag = String(repeating: "t", count: 60 << 10)
            let response = try await connection.send(IngestRequest(articles: [
                ArticleSubmission(body: "Officials met in Geneva on Tuesday to discuss trade."),
                ArticleSubmission(title: String(repeating: "T", count: 70 << 10), body: "A story with a very long title."),
                ArticleSubmission(body: "A story with many long tags.", tags: (0..<100).map { "\($0)" + tag }),
                ArticleSubmission(body: "Another story, about energy security.", tags: Array(repeating: "x", count: 1_001)),
                ArticleSubmission(body: "A last story, about grain exports."),
            ]))
            #expect(response.results.map(\.status) == [.accepted, .rejected, .rejected, .rejected, .accepted])
            #expect(response.results[1].reason == "field-too-large: title of 71680 bytes exceeds the limit of 65536")
            #expect(response.results[2].reasonCode == "too-large")
            #expect(response.results[2].reason?.contains("above the log's record limit of 4194304") == true, "\(response.results[2])")
            #expect(response.results[3].reason == "field-too-large: 1001 tags exceed the limit of 1000")
            #expect(response.results.map(\.offset) == [0, nil, nil, nil, 1])
            let stats = try await connection.send(IngestStatsRequest())
            #expect(stats.accepted == 2 && stats.rejected == 3)
        }
    }

    @Test func oneBadArticleNeverFailsTheOthersInItsBatch() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory, configure: { $0.maximumBodyBytes = 2_000 }) { service, connection in
            let response = try await connection.send(IngestRequest(articles: [
                ArticleSubmission(body: "Officials met in Geneva on Tuesday to discuss trade."),
                ArticleSubmission(body: "   "),
                ArticleSubmission(body: "A story with a strange date.", publishedAtText: "the day after tomorrow"),
                ArticleSubmission(body: String(repeating: "long ", count: 1_000)),
                ArticleSubmission(body: "Another story, about energy security."),
            ]))
            #expect(response.results.map(\.status) == [.accepted, .rejected, .rejected, .rejected, .accepted])
            #expect(response.results[1].reason?.hasPrefix("empty-body") == true)
            #expect(response.results[2].reason == "bad-date: cannot read the date 'the day after tomorrow'")
            #expect(response.results[3].reason?.hasPrefix("body-too-large") == true)
            #expect(response.results.map(\.offset) == [0, nil, nil, nil, 1])
            let stats = try await connection.send(IngestStatsRequest())
            #expect(stats.accepted == 2)
            #expect(stats.rejected == 3)
            #expect(stats.articleCount == 2)
            #expect(stats.fsyncCount >= 1)
            #expect(stats.durability == "fsync")
            #expect(service.log.endOffset == 2)
        }
    }

    @Test func subscribeFromTheStartTheMiddleAndTheLiveTail() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory, configure: { $0.subscribeBatchRecords = 2 }) { _, connection in
            let articles = (0..<5).map { ArticleSubmission(externalID: "s\($0)", body: "Story number \($0) about diplomacy.") }
            _ = try await connection.send(IngestRequest(articles: articles))
            #expect(try await collect(connection, from: 0, count: 5).map(\.offset) == [0, 1, 2, 3, 4])
            #expect(try await collect(connection, from: 3, count: 2).map { $0.article.externalID } == ["s3", "s4"])

            // Two followers waiting at the end both receive what is ingested next, in order.
            async let first = collect(connection, from: 5, count: 3)
            async let second = collect(connection, from: 4, count: 4)
            // Wait until both have subscribed (they show in the stats).
            var followers = 0
            for _ in 0..<1_000 where followers < 2 {
                followers = try await connection.send(IngestStatsRequest()).followers.count
                if followers < 2 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(followers == 2)
            for index in 5..<8 {
                _ = try await connection.send(IngestRequest(articles: [ArticleSubmission(externalID: "s\(index)", body: "Live story \(index).")]))
            }
            #expect(try await first.map(\.offset) == [5, 6, 7])
            #expect(try await second.map(\.offset) == [4, 5, 6, 7])
        }
    }

    @Test func aSlowFollowerDoesNotHoldBackIngestOrOtherFollowers() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory, configure: { $0.subscribeBatchRecords = 64 }) { service, connection in
            // The slow follower has its own connection, as dateline-query does.
            let slowConnection = try await DatelineClientConnection.connect(
                host: "127.0.0.1",
                port: connection.remoteAddress!.port!,
                configuration: .init(compression: .disabled)
            )
            let total = 3_000
            let padding = String(repeating: "Ministers discussed trade, energy and regional stability. ", count: 10)
            for start in stride(from: 0, to: total, by: 500) {
                let batch = (start..<(start + 500)).map { ArticleSubmission(externalID: "slow-\($0)", body: "Story \($0). " + padding) }
                _ = try await connection.send(IngestRequest(articles: batch))
            }
            // The slow follower takes at least 47 × 30 ms = 1.4 s to read everything.
            let slowProgress = Mutex(0)
            let slow = Task {
                var received = 0
                for try await batch in try slowConnection.stream(SubscribeRequest(fromOffset: 0, follower: "slow")) {
                    received += batch.entries.count
                    slowProgress.withLock { $0 = received }
                    if received >= total + 1 { break }
                    try await Task.sleep(for: .milliseconds(30))
                }
                return received
            }
            try await Task.sleep(for: .milliseconds(50))
            // Meanwhile the service keeps ingesting and a fast follower reads everything.
            let more = try await connection.send(IngestRequest(articles: [ArticleSubmission(externalID: "late", body: "One more story.")]))
            #expect(more.results.first?.status == .accepted)
            let fast = try await collect(connection, from: 0, count: total + 1)
            #expect(fast.count == total + 1)
            let slowWhenFastFinished = slowProgress.withLock { $0 }
            #expect(slowWhenFastFinished < total, "the slow follower had already read \(slowWhenFastFinished)")
            let followers = try await connection.send(IngestStatsRequest()).followers
            #expect(followers.contains { $0.name == "slow" })
            #expect(try await slow.value == total + 1)
            try await slowConnection.close()
        }
    }

    static let reuters = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora/reuters21578/reut2-000.sgm")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: IngestServiceTests.reuters.path)))
    func aThousandReutersArticlesInBatchesAreAllStoredAndStreamedBack() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let submissions = ReutersReader.items(in: try Data(contentsOf: Self.reuters)).map(\.submission)
        #expect(submissions.count == 1_000)
        try await withIngestService(dataDirectory: directory, configure: { $0.segmentMaximumBytes = 256 << 10 }) { service, connection in
            var statuses: [IngestStatus] = []
            for start in stride(from: 0, to: submissions.count, by: 100) {
                statuses += try await connection.send(IngestRequest(articles: Array(submissions[start..<(start + 100)]))).results.map(\.status)
            }
            let accepted = statuses.filter { $0 == .accepted }.count
            #expect(statuses.allSatisfy { $0 == .accepted || $0 == .duplicate })
            #expect(accepted > 950)
            #expect(service.log.statistics.segments > 1, "segments rolled")
            let entries = try await collect(connection, from: 0, count: accepted)
            #expect(entries.map(\.offset) == Array(0..<UInt64(accepted)))
            #expect(entries.first?.article.title == "BAHIA COCOA REVIEW")
            #expect(entries.first?.article.tags == ["cocoa"])
        }
    }

    @Test func subscribingOutsideTheLogIsAClearError() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory) { _, connection in
            _ = try await connection.send(IngestRequest(articles: [ArticleSubmission(body: "One story.")]))
            let error = await #expect(throws: DatelineError.self) {
                for try await _ in try connection.stream(SubscribeRequest(fromOffset: 10)) {}
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == "offset 10 is outside the log, which holds offsets 0..<1")
            #expect(error?.details["endOffset"] == "1")
        }
    }

    @Test func restartKeepsEverythingAndTheDeduplicationIndex() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try await withIngestService(dataDirectory: directory) { _, connection in
            try await connection.send(IngestRequest(articles: try Samples.submissions())).results.compactMap(\.articleID)
        }
        try await withIngestService(dataDirectory: directory) { service, connection in
            #expect((service.log as? DatelineLog)?.recovery.records == 2)
            let again = try await connection.send(IngestRequest(articles: try Samples.submissions()))
            #expect(again.results.map(\.status) == [.duplicate, .duplicate])
            #expect(again.results.map(\.duplicateOf) == ids)
            let health = try await connection.send(HealthRequest())
            #expect(health.status == .serving)
            #expect(health.details["endOffset"] == "2")
        }
    }

    @Test func concurrentBatchesWithTheSameArticleStoreItOnce() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIngestService(dataDirectory: directory) { service, connection in
            let statuses = try await withThrowingTaskGroup(of: [IngestStatus].self) { group in
                for _ in 0..<8 {
                    group.addTask { try await connection.send(IngestRequest(articles: try Samples.submissions())).results.map(\.status) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(statuses.filter { $0 == .accepted }.count == 2)
            #expect(statuses.filter { $0 == .duplicate }.count == 14)
            #expect(service.log.endOffset == 2)
        }
    }

    @Test func aShutdownEndsSubscriptionsWithARetryableError() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try await withIngestService(dataDirectory: directory) { _, connection in
            Task {
                do {
                    for try await _ in try connection.stream(SubscribeRequest(fromOffset: 0)) {}
                    return DatelineError.Code.cancelled
                } catch let error as DatelineError {
                    return error.code
                }
            }
        }
        // The server shut down with the subscription open; the follower learns it may come back.
        let code = try await outcome.value
        #expect(code == .unavailable)
    }
}
