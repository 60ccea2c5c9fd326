import DatelineIngest
import DatelineProtocol
import DatelineStorage
import Foundation
import Testing

/// What a user of `dateline-ingest` is promised whichever log it writes: an article is stored once, however
/// its submissions overlap and whatever the service went through since; the answer says which article it is.
/// The file log leaves deduplication to the service's own index (rebuilt from the log at start), PostgreSQL's
/// log decides it in the database: the same tests hold both to it.
@Suite("The ingest service's contract on every log")
struct IngestServiceContractTests {
    /// Story `index`, with an external id and text of its own.
    static func story(_ index: Int) -> ArticleSubmission {
        ArticleSubmission(externalID: "contract-\(index)", body: "Contract story \(index): the trade ministers met in Geneva to discuss tariff line \(index).")
    }

    static func configuration() -> IngestServiceConfiguration {
        var configuration = IngestServiceConfiguration(
            dataDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("dateline-contract-\(UUID().uuidString)").path,
            server: DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest")
        )
        configuration.extraction = false
        return configuration
    }

    @Test(arguments: LogBackend.available)
    func overlappingBatchesStoreEachArticleOnceAndNameItInEveryAnswer(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let configuration = Self.configuration()
            defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
            let service = try await IngestService.open(configuration: configuration, log: try await place.open(), logger: quietLogger)
            // Four batches in flight at once over 60 stories, each story in two of them.
            let batches = (0..<4).map { batch in (0..<30).map { (batch * 15 + $0) % 60 } }
            let answers = try await withThrowingTaskGroup(of: [(Int, IngestResult)].self) { group in
                for batch in batches {
                    group.addTask {
                        let response = try await service.ingest(IngestRequest(articles: batch.map(Self.story)), logger: quietLogger)
                        return Array(zip(batch, response.results))
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            var accepted: [Int: UInt64] = [:]
            var named: [Int: Set<String>] = [:]
            for (story, result) in answers {
                #expect(result.status == .accepted || result.status == .duplicate, "\(story): \(result)")
                if result.status == .accepted {
                    #expect(accepted.updateValue(result.offset ?? .max, forKey: story) == nil, "story \(story) accepted twice")
                }
                named[story, default: []].insert(result.articleID ?? result.duplicateOf ?? "")
            }
            #expect(accepted.count == 60)
            #expect(Set(accepted.values) == Set(0..<60), "dense offsets, one an article")
            #expect(named.values.allSatisfy { $0.count == 1 && !$0.contains("") }, "both answers for a story name one article")
            #expect(service.stats().endOffset == 60)
            try await service.close()

            // Reopened (the file log's index rebuilt from it): every story again is a duplicate of the same article.
            let reopened = try await IngestService.open(configuration: configuration, log: try await place.open(), logger: quietLogger)
            let again = try await reopened.ingest(IngestRequest(articles: (0..<60).map(Self.story)), logger: quietLogger)
            for (story, result) in zip(0..<60, again.results) {
                #expect(result.status == .duplicate, "\(story): \(result)")
                #expect(named[story] == [result.duplicateOf ?? ""])
            }
            #expect(reopened.stats().endOffset == 60)
            try await reopened.close()
        }
    }

    /// A record too large for the log (here a hundred 60 KiB tags: 6 MB against 4 MiB) is refused by either log, so
    /// the article is rejected alone and the rest of its batch stored. (PostgreSQL used to store it: a record no
    /// follower could be sent in a frame, when large enough.)
    @Test(arguments: LogBackend.available)
    func anArticleTooLargeForAnyLogIsRejectedAloneAndTheOthersStored(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let configuration = Self.configuration()
            defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
            let log = try await place.open(maximumRecordBytes: configuration.logConfiguration.maximumRecordBytes)
            let service = try await IngestService.open(configuration: configuration, log: log, logger: quietLogger)
            let tag = String(repeating: "t", count: 60 << 10)
            let response = try await service.ingest(
                IngestRequest(articles: [Self.story(1), ArticleSubmission(body: "A story with many long tags.", tags: (0..<100).map { "\($0)" + tag }), Self.story(2)]),
                logger: quietLogger
            )
            #expect(response.results.map(\.status) == [.accepted, .rejected, .accepted])
            #expect(response.results[1].reasonCode == "too-large", "\(response.results[1])")
            #expect(Set(response.results.compactMap(\.offset)) == [0, 1])
            #expect(service.stats().endOffset == 2)
            try await service.close()
        }
    }
}
