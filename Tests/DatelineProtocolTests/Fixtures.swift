import DatelineProtocol
import Foundation
import NIOCore

/// Paths inside the repository, found from this file's location.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let protocolDirectory = root.appendingPathComponent("protocol")
    static let vectorsFile = protocolDirectory.appendingPathComponent("vectors/frames.json")
    static let protoFile = protocolDirectory.appendingPathComponent("dateline.proto")
}

/// One populated instance of every protocol message, used by round-trip tests and the golden vectors.
enum Fixtures {
    static let publishedAt = Date(timeIntervalSince1970: 1_754_265_600)  // 2025-08-04T00:00:00Z

    static let article = ArticleSubmission(
        externalID: "openvoice-2025-07-26-rubio-dar",
        title: "Rubio, Ishaq Dar Hold Talks in Washington",
        body: "Washington, D.C. – United States Secretary of State Marco Rubio met with Pakistan's Deputy Prime Minister and Foreign Minister Ishaq Dar on Friday, discussing a range of bilateral issues including counterterrorism, trade, and regional stability.",
        source: "OpenVoiceNews Pakistan",
        url: "https://example.org/rubio-dar",
        publishedAt: Date(timeIntervalSince1970: 1_753_488_000),
        publishedAtText: "July 26, 2025",
        language: "en",
        tags: ["General News"],
        format: .fields
    )

    static let hello = Hello(clientName: "dateline-cli/0.1.0", maximumFrameSize: 16 << 20, compression: .auto, maximumInFlight: 64, token: "s3cret")
    static let welcome = Welcome(serverName: "dateline-query/0.1.0", maximumFrameSize: 16 << 20, compression: .auto, maximumInFlight: 64)
    static let ping = Ping(payload: Data([0x01, 0x02, 0x03, 0x04]))
    static let pong = Pong(payload: Data([0x01, 0x02, 0x03, 0x04]))
    static let goAway = GoAway(lastCorrelationID: 41, reason: "dateline-ingest is shutting down")
    static let error = ErrorMessage(
        code: DatelineError.Code.invalidArgument.rawValue,
        message: "unbalanced quote at position 7",
        retryable: false,
        details: ["position": "7"]
    )
    static let healthRequest = HealthRequest()
    static let healthResponse = HealthResponse(
        status: .serving,
        service: "dateline-ingest",
        version: "0.1.0",
        uptimeSeconds: 12.5,
        details: ["endOffset": "2"]
    )
    static let ingestRequest = IngestRequest(articles: [article])
    static let ingestResponse = IngestResponse(
        results: [
            IngestResult(index: 0, status: .accepted, articleID: "a-000001", offset: 0),
            IngestResult(index: 1, status: .duplicate, articleID: "a-000001", duplicateOf: "a-000001"),
            IngestResult(index: 2, status: .rejected, reason: "empty-body: the article has no text", reasonCode: "empty-body"),
        ],
        endOffset: 1
    )
    static let storedArticle = StoredArticle(
        id: "9c1e4b7a2d3f5e60",
        externalID: "openvoice-2025-07-26-rubio-dar",
        title: "Rubio, Ishaq Dar Hold Talks in Washington",
        source: "OpenVoiceNews Pakistan",
        publishedAt: Date(timeIntervalSince1970: 1_753_488_000),
        publishedAtPrecision: "day",
        datelinePlace: "Washington, D.C.",
        categories: ["General News"],
        paragraphs: [
            "Washington, D.C. – United States Secretary of State Marco Rubio met with Pakistan's Deputy Prime Minister and Foreign Minister Ishaq Dar on Friday.",
            "Further details about the visit or any potential agreements signed have not yet been released.",
            "\u{201C}Grateful for Pakistan\u{2019}s partnership,\u{201D} Rubio stated.",
        ],
        language: "en",
        tagline: "Transparent. Unbiased. Yours.",
        missingFields: ["url"],
        contentKey: "5f0e3a1c9b7d2e48",
        ingestedAt: Date(timeIntervalSince1970: 1_763_900_000),
        format: .plainText,
        extraction: ArticleExtraction(
            version: 1,
            entities: [
                ExtractedEntity(
                    id: "person:marco-rubio", kind: .person, name: "Marco Rubio", country: "US",
                    titles: ["Secretary of State"], offices: ["office:US:secretary-of-state"], mentionCount: 1
                ),
                ExtractedEntity(id: "country:PK", kind: .country, name: "Pakistan", country: "PK", mentionCount: 1),
            ],
            mentions: [
                EntityMention(entityIndex: 0, start: 52, end: 63, text: "Marco Rubio"),
                EntityMention(entityIndex: 1, start: 73, end: 81, text: "Pakistan"),
                EntityMention(entityIndex: 0, start: 0, end: 5, text: "Rubio", field: .title),
            ],
            times: [TimeExpression(text: "Friday", start: 140, end: 146, type: "DATE", value: "2025-07-25", precision: "day")],
            topics: ["diplomacy"],
            quotes: [ExtractedQuote(text: "Grateful for Pakistan\u{2019}s partnership", start: 246, end: 281, speaker: "person:marco-rubio", speakerText: "Rubio", verb: "stated")],
            events: [
                ExtractedEvent(
                    id: "e1", code: "043", label: "host a visit", participants: ["person:marco-rubio", "country:PK"],
                    place: "place:washington", date: "2025-07-25", datePrecision: "day", dateText: "Friday",
                    topics: ["diplomacy"], sentences: [EventSentence(text: "Washington, D.C. – ...", start: 0, end: 147)]
                ),
            ]
        )
    )
    static let subscribeRequest = SubscribeRequest(fromOffset: 1, maximumBatchRecords: 256, follower: "dateline-query", epoch: "5f3a9c0d1e2b4a67")
    static let logBatch = LogBatch(entries: [LogEntry(offset: 1, article: storedArticle)], endOffset: 2, epoch: "5f3a9c0d1e2b4a67")
    static let ingestStatsRequest = IngestStatsRequest()
    static let ingestStatsResponse = IngestStatsResponse(
        articleCount: 2, endOffset: 2, bytesOnDisk: 5_120, segments: 1,
        followers: [FollowerStatus(name: "dateline-query", position: 2)],
        ingestRatePerSecond: 0.5, fsyncCount: 2, fsyncMeanMicroseconds: 850.5, fsyncLastMicroseconds: 700,
        accepted: 2, duplicates: 1, rejected: 0, durability: "fsync", uptimeSeconds: 60,
        memory: ProcessMemory(residentBytes: 41_943_040, peakResidentBytes: 52_428_800)
    )
    static let getArticleRequest = GetArticleRequest(id: "9c1e4b7a2d3f5e60", minimumOffset: 2)
    static let getArticleResponse = GetArticleResponse(article: storedArticle, offset: 1)
    static let queryStatsRequest = QueryStatsRequest()
    static let queryStatsResponse = QueryStatsResponse(
        articleCount: 2, appliedOffset: 2, ingestEndOffset: 2, lag: 0, following: true, indexTerms: 412, indexBytes: 65_536,
        queries: 17, queryP50Microseconds: 120, queryP95Microseconds: 300, queryP99Microseconds: 450, uptimeSeconds: 30,
        memory: ProcessMemory(residentBytes: 83_886_080, peakResidentBytes: 104_857_600), recordsAppliedSinceStart: 2
    )
    static let indexBackupRequest = IndexBackupRequest(maximumChunkBytes: 65_536)
    static let indexBackupChunk = IndexBackupChunk(
        file: "seg-000000000001.dict", position: 0, data: Array("DTLNIDX1".utf8), fileSize: 8, fileCRC32: 0x1B3C_7E5A,
        appliedOffset: 2, lastArticleID: "e96d74743f33cd42", files: 8
    )
    static let searchRequest = SearchRequest(
        query: "\"rare earth\" Rubio -telephone",
        limit: 10,
        from: Date(timeIntervalSince1970: 1_751_328_000),
        sources: ["OpenVoiceNews Pakistan"],
        sort: .relevance,
        minimumOffset: 1,
        facets: true,
        histogramInterval: .week,
        entities: ["person:marco-rubio", "Pakistan"],
        topics: ["trade"],
        eventFrom: Date(timeIntervalSince1970: 1_751_328_000)
    )
    static let entitiesRequest = EntitiesRequest(match: "dar", kinds: [.person, .office], limit: 5, minimumOffset: 2)
    static let entitiesResponse = EntitiesResponse(
        entities: [
            EntitySummary(
                id: "person:ishaq-dar", kind: .person, name: "Ishaq Dar", country: "PK",
                titles: ["Deputy Prime Minister", "Foreign Minister"], offices: ["office:PK:foreign-minister"],
                articleCount: 2, mentionCount: 10
            ),
        ],
        total: 1
    )
    static let timelineRequest = TimelineRequest(actors: ["Rubio", "Dar"], from: Date(timeIntervalSince1970: 1_751_328_000), codes: ["041"], limit: 10, minimumOffset: 2)
    static let timelineResponse = TimelineResponse(
        actors: [
            ResolvedActor(query: "Rubio", ids: ["person:marco-rubio"], name: "Marco Rubio"),
            ResolvedActor(
                query: "Dar", ids: ["person:ishaq-dar"], name: "Ishaq Dar",
                alternatives: [EntitySummary(id: "person:dina-dar", kind: .person, name: "Dina Dar", articleCount: 2, mentionCount: 3)]
            ),
        ],
        engagements: [
            Engagement(
                id: "g1", code: "041", label: "discuss by telephone", date: "2025-08-04", datePrecision: "day",
                participants: ["person:ishaq-dar", "person:marco-rubio"], participantNames: ["Ishaq Dar", "Marco Rubio"],
                place: nil, placeName: nil, topics: ["trade"],
                reports: [
                    EngagementReport(
                        articleID: "840db5600f595d32", title: "", source: "", publishedAt: Date(timeIntervalSince1970: 1_754_265_600),
                        sentence: "Deputy Prime Minister ... held a telephone conversation ...", dateText: "Monday", date: "2025-08-04",
                        isBackReference: false
                    ),
                ],
                conflicts: []
            ),
        ],
        total: 1
    )
    static let searchResponse = SearchResponse(
        total: 1,
        hits: [searchHit(rank: 1)],
        nextCursor: "c1",
        appliedOffset: 1,
        facets: SearchFacets(
            sources: [FacetCount(value: "OpenVoiceNews Pakistan", count: 1)],
            tags: [FacetCount(value: "General News", count: 1)],
            dates: [FacetCount(value: "2025-W30", count: 1)],
            entities: [FacetCount(value: "person:marco-rubio", count: 1)],
            topics: [FacetCount(value: "trade", count: 1)]
        )
    )

    static func searchHit(rank: Int) -> SearchHit {
        SearchHit(
            articleID: "a-\(rank)",
            score: 7.25 / Double(rank),
            title: "Rubio, Ishaq Dar Hold Talks in Washington",
            source: "OpenVoiceNews Pakistan",
            publishedAt: Date(timeIntervalSince1970: 1_753_488_000),
            snippets: [
                "The U.S. and Pakistan have previously explored mineral trade partnerships, particularly in [[rare earth]] elements",
                "Secretary [[Rubio]] publicly thanked Pakistan for its ongoing cooperation in countering terrorism",
            ]
        )
    }
}

/// Test-only request types with message types outside the registry.
struct EchoRequest: DatelineRequest, Hashable {
    typealias Response = EchoResponse
    static let messageType = DatelineMessageType(rawValue: 0x7F01)
    var text: String
    var delayMilliseconds: UInt32 = 0
    enum CodingKeys: Int, CodingKey { case text = 1, delayMilliseconds }
}

struct EchoResponse: DatelineMessage, Hashable {
    static let messageType = DatelineMessageType(rawValue: 0x7F02)
    var text: String
    enum CodingKeys: Int, CodingKey { case text = 1 }
}

struct CountRequest: DatelineStreamingRequest, Hashable {
    typealias Element = CountElement
    static let messageType = DatelineMessageType(rawValue: 0x7F03)
    var count: UInt32
    var delayMilliseconds: UInt32 = 0
    enum CodingKeys: Int, CodingKey { case count = 1, delayMilliseconds }
}

struct CountElement: DatelineMessage, Hashable {
    static let messageType = DatelineMessageType(rawValue: 0x7F04)
    var value: UInt32
    var padding: String = ""
    enum CodingKeys: Int, CodingKey { case value = 1, padding }
}

/// A request no server registers.
struct UnknownRequest: DatelineRequest, Hashable {
    typealias Response = EchoResponse
    static let messageType = DatelineMessageType(rawValue: 0x7777)
    var text: String = "?"
    enum CodingKeys: Int, CodingKey { case text = 1 }
}

extension ByteBuffer {
    var hex: String { self.readableBytesView.map { String(format: "%02x", $0) }.joined() }

    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes: bytes)
    }
}
