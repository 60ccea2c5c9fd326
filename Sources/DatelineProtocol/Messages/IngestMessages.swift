#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// How the ingest service should read an ``ArticleSubmission``.
public enum ArticleSubmissionFormat: UInt32, Codable, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    /// The fields are given explicitly (JSON input); `body` is the body.
    case fields = 1
    /// `body` is a whole article as a news site publishes it; the service parses title, date, dateline...
    case plainText = 2
}

/// One article as a client submits it.
public struct ArticleSubmission: Codable, Sendable, Hashable {
    public var externalID: String?
    public var title: String?
    public var body: String
    public var source: String?
    public var url: String?
    public var publishedAt: Date?
    public var language: String?
    public var tags: [String]
    public var format: ArticleSubmissionFormat

    public init(
        externalID: String? = nil,
        title: String? = nil,
        body: String,
        source: String? = nil,
        url: String? = nil,
        publishedAt: Date? = nil,
        language: String? = nil,
        tags: [String] = [],
        format: ArticleSubmissionFormat = .fields
    ) {
        self.externalID = externalID
        self.title = title
        self.body = body
        self.source = source
        self.url = url
        self.publishedAt = publishedAt
        self.language = language
        self.tags = tags
        self.format = format
    }

    enum CodingKeys: Int, CodingKey {
        case externalID = 1, title, body, source, url, publishedAt, language, tags, format
    }
}

/// A batch of articles for `dateline-ingest`.
public struct IngestRequest: DatelineRequest, Hashable {
    public typealias Response = IngestResponse
    public static let messageType = DatelineMessageType.ingestRequest

    public var articles: [ArticleSubmission]

    public init(articles: [ArticleSubmission]) { self.articles = articles }

    enum CodingKeys: Int, CodingKey { case articles = 1 }
}

/// What happened to one submitted article.
public enum IngestStatus: UInt32, Codable, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    /// Stored durably at `offset`.
    case accepted = 1
    /// Already stored, as `duplicateOf`.
    case duplicate = 2
    /// Not stored, because of `reason`.
    case rejected = 3
}

/// The outcome for the article at `index` in the request.
public struct IngestResult: Codable, Sendable, Hashable {
    public var index: UInt32
    public var status: IngestStatus
    public var articleID: String?
    public var offset: UInt64?
    public var reason: String?
    public var duplicateOf: String?

    public init(
        index: UInt32,
        status: IngestStatus,
        articleID: String? = nil,
        offset: UInt64? = nil,
        reason: String? = nil,
        duplicateOf: String? = nil
    ) {
        self.index = index
        self.status = status
        self.articleID = articleID
        self.offset = offset
        self.reason = reason
        self.duplicateOf = duplicateOf
    }

    enum CodingKeys: Int, CodingKey { case index = 1, status, articleID, offset, reason, duplicateOf }
}

/// The answer to an ``IngestRequest``: one result per article, in order.
public struct IngestResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.ingestResponse

    public var results: [IngestResult]
    /// The log's end offset after this batch was committed.
    public var endOffset: UInt64

    public init(results: [IngestResult], endOffset: UInt64) {
        self.results = results
        self.endOffset = endOffset
    }

    enum CodingKeys: Int, CodingKey { case results = 1, endOffset }
}
