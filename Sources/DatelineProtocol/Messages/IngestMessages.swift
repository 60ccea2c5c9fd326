public import NIOCore

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
    /// The publication date as text, for the service to parse (used when `publishedAt` is nil).
    public var publishedAtText: String?
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
        publishedAtText: String? = nil,
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
        self.publishedAtText = publishedAtText
        self.language = language
        self.tags = tags
        self.format = format
    }

    enum CodingKeys: Int, CodingKey {
        case externalID = 1, title, body, source, url, publishedAt, language, tags, format, publishedAtText
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
    /// Not stored now, but retrying may succeed: an identical article was being stored by another request
    /// whose outcome was not known before this request's deadline.
    case unavailable = 4
}

/// The outcome for the article at `index` in the request.
public struct IngestResult: Codable, Sendable, Hashable {
    public var index: UInt32
    public var status: IngestStatus
    public var articleID: String?
    public var offset: UInt64?
    public var reason: String?
    public var duplicateOf: String?
    /// For ``IngestStatus/rejected`` and ``IngestStatus/unavailable``: a stable code (`empty-body`,
    /// `body-too-large`, `bad-date`, `bad-json`, `invalid-utf8`, `in-flight-elsewhere`); `reason` is for humans.
    public var reasonCode: String?

    public init(
        index: UInt32,
        status: IngestStatus,
        articleID: String? = nil,
        offset: UInt64? = nil,
        reason: String? = nil,
        duplicateOf: String? = nil,
        reasonCode: String? = nil
    ) {
        self.index = index
        self.status = status
        self.articleID = articleID
        self.offset = offset
        self.reason = reason
        self.duplicateOf = duplicateOf
        self.reasonCode = reasonCode
    }

    enum CodingKeys: Int, CodingKey { case index = 1, status, articleID, offset, reason, duplicateOf, reasonCode }
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

/// An article as `dateline-ingest` stores it: the payload of each log record, and what followers receive.
///
/// Fields the source did not provide are nil and named in `missingFields`.
public struct StoredArticle: Codable, Sendable, Hashable {
    /// Stable id, derived from the article's deduplication key (16 hex digits).
    public var id: String
    public var externalID: String?
    public var title: String?
    public var source: String?
    public var url: String?
    public var publishedAt: Date?
    /// `day`, `minute` or `second`.
    public var publishedAtPrecision: String?
    /// The UTC offset the source gave (`+05:00`, `Z`); nil when it gave none.
    public var timeZone: String?
    public var datelinePlace: String?
    public var categories: [String]
    public var tags: [String]
    public var paragraphs: [String]
    public var language: String?
    /// Boilerplate kept out of the body (an outlet's tagline).
    public var tagline: String?
    public var missingFields: [String]
    public var warnings: [String]
    /// Fingerprint of the normalised body, used for deduplication.
    public var contentKey: String
    public var ingestedAt: Date
    public var format: ArticleSubmissionFormat
    /// What the extractor read in the body; nil when extraction was off.
    public var extraction: ArticleExtraction?

    public init(
        id: String,
        externalID: String? = nil,
        title: String? = nil,
        source: String? = nil,
        url: String? = nil,
        publishedAt: Date? = nil,
        publishedAtPrecision: String? = nil,
        timeZone: String? = nil,
        datelinePlace: String? = nil,
        categories: [String] = [],
        tags: [String] = [],
        paragraphs: [String],
        language: String? = nil,
        tagline: String? = nil,
        missingFields: [String] = [],
        warnings: [String] = [],
        contentKey: String,
        ingestedAt: Date,
        format: ArticleSubmissionFormat,
        extraction: ArticleExtraction? = nil
    ) {
        self.id = id
        self.externalID = externalID
        self.title = title
        self.source = source
        self.url = url
        self.publishedAt = publishedAt
        self.publishedAtPrecision = publishedAtPrecision
        self.timeZone = timeZone
        self.datelinePlace = datelinePlace
        self.categories = categories
        self.tags = tags
        self.paragraphs = paragraphs
        self.language = language
        self.tagline = tagline
        self.missingFields = missingFields
        self.warnings = warnings
        self.contentKey = contentKey
        self.ingestedAt = ingestedAt
        self.format = format
        self.extraction = extraction
    }

    /// The body: paragraphs separated by blank lines.
    public var body: String { self.paragraphs.joined(separator: "\n\n") }

    enum CodingKeys: Int, CodingKey {
        case id = 1, externalID, title, source, url, publishedAt, publishedAtPrecision, timeZone, datelinePlace
        case categories, tags, paragraphs, language, tagline, missingFields, warnings, contentKey, ingestedAt, format, extraction
    }
}

/// Follows the ingest log: every record from `fromOffset` on, in order, then new records as they commit.
///
/// Answered by a stream of ``LogBatch`` frames that stays open until the client cancels or disconnects.
public struct SubscribeRequest: DatelineStreamingRequest, Hashable {
    public typealias Element = LogBatch
    public static let messageType = DatelineMessageType.subscribeRequest

    /// The first offset wanted (0 for everything).
    public var fromOffset: UInt64
    /// The most records per batch; 0 lets the service choose.
    public var maximumBatchRecords: UInt32
    /// The follower's name, shown in the service's stats.
    public var follower: String?
    /// The log epoch the follower's offsets belong to (from an earlier ``LogBatch``); nil for a follower that
    /// starts empty. A different epoch is refused with `FAILED_PRECONDITION` (details `epoch`): rebuild.
    public var epoch: String?

    public init(fromOffset: UInt64, maximumBatchRecords: UInt32 = 0, follower: String? = nil, epoch: String? = nil) {
        self.fromOffset = fromOffset
        self.maximumBatchRecords = maximumBatchRecords
        self.follower = follower
        self.epoch = epoch
    }

    enum CodingKeys: Int, CodingKey { case fromOffset = 1, maximumBatchRecords, follower, epoch }
}

/// One record of the ingest log.
public struct LogEntry: Codable, Sendable, Hashable {
    public var offset: UInt64
    public var article: StoredArticle
    /// The article's bytes as the batch carried them, when the entry was decoded from the wire (nil when it was
    /// built in memory): a follower that stores articles encoded need not encode them again. Not a field of the
    /// message and not compared (two entries are equal when their offsets and articles are).
    package var encodedArticle: [UInt8]? = nil

    public init(offset: UInt64, article: StoredArticle) {
        self.offset = offset
        self.article = article
    }

    public static func == (lhs: LogEntry, rhs: LogEntry) -> Bool { lhs.offset == rhs.offset && lhs.article == rhs.article }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.offset)
        hasher.combine(self.article)
    }

    enum CodingKeys: Int, CodingKey { case offset = 1, article }
}

/// Consecutive log records, streamed to a follower.
public struct LogBatch: DatelineMessage, Hashable {
    /// Encodes a batch from records whose payloads are already-encoded ``StoredArticle``s (as the ingest log
    /// stores them), without decoding them: a nested message is its bytes, so they are spliced in as they are.
    /// The result leaves room for a frame header, like ``DatelinePayload/encode(_:allocator:)``.
    public static func encode(records: [(offset: UInt64, storedArticle: [UInt8])], endOffset: UInt64, epoch: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(DatelineFrame.maximumHeaderSize + records.reduce(32) { $0 + $1.storedArticle.count + 24 })
        buffer.moveWriterIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        buffer.moveReaderIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        for record in records {
            let offsetField = record.offset == 0 ? 0 : 1 + ProtobufWireFormat.varintSize(record.offset)
            let articleField = 1 + ProtobufWireFormat.varintSize(UInt64(record.storedArticle.count)) + record.storedArticle.count
            buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: 1, wireType: .lengthDelimited))  // entries
            buffer.writeProtobufVarint(UInt64(offsetField + articleField))
            if record.offset != 0 {
                buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: 1, wireType: .varint))  // LogEntry.offset
                buffer.writeProtobufVarint(record.offset)
            }
            buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: 2, wireType: .lengthDelimited))  // LogEntry.article
            buffer.writeProtobufVarint(UInt64(record.storedArticle.count))
            buffer.writeBytes(record.storedArticle)
        }
        if endOffset != 0 {
            buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: 2, wireType: .varint))  // endOffset
            buffer.writeProtobufVarint(endOffset)
        }
        if !epoch.isEmpty {
            buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: 3, wireType: .lengthDelimited))  // epoch
            buffer.writeProtobufVarint(UInt64(epoch.utf8.count))
            buffer.writeString(epoch)
        }
        return buffer
    }

    public static let messageType = DatelineMessageType.logBatch

    public var entries: [LogEntry]
    /// The log's committed end when the batch was sent (lag = endOffset - last entry's offset - 1).
    public var endOffset: UInt64
    /// The log's epoch: offsets name the same records only within one epoch.
    public var epoch: String

    public init(entries: [LogEntry], endOffset: UInt64, epoch: String = "") {
        self.entries = entries
        self.endOffset = endOffset
        self.epoch = epoch
    }

    enum CodingKeys: Int, CodingKey { case entries = 1, endOffset, epoch }
}

/// Asks `dateline-ingest` for its figures.
public struct IngestStatsRequest: DatelineRequest, Hashable {
    public typealias Response = IngestStatsResponse
    public static let messageType = DatelineMessageType.ingestStatsRequest
    public init() {}
}

/// A follower of the log and how far it has been sent.
public struct FollowerStatus: Codable, Sendable, Hashable {
    public var name: String
    /// The next offset it will be sent.
    public var position: UInt64

    public init(name: String, position: UInt64) {
        self.name = name
        self.position = position
    }

    enum CodingKeys: Int, CodingKey { case name = 1, position }
}

/// `dateline-ingest`'s figures.
public struct IngestStatsResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.ingestStatsResponse

    public var articleCount: UInt64
    public var endOffset: UInt64
    public var bytesOnDisk: UInt64
    public var segments: UInt32
    public var followers: [FollowerStatus]
    /// Articles accepted per second over the last minute.
    public var ingestRatePerSecond: Double
    public var fsyncCount: UInt64
    public var fsyncMeanMicroseconds: Double
    public var fsyncLastMicroseconds: Double
    public var accepted: UInt64
    public var duplicates: UInt64
    public var rejected: UInt64
    /// The durability policy: `fsync`, `interval:...` or `none`.
    public var durability: String
    public var uptimeSeconds: Double
    /// The process's memory, when the platform tells.
    public var memory: ProcessMemory?

    public init(
        articleCount: UInt64, endOffset: UInt64, bytesOnDisk: UInt64, segments: UInt32, followers: [FollowerStatus],
        ingestRatePerSecond: Double, fsyncCount: UInt64, fsyncMeanMicroseconds: Double, fsyncLastMicroseconds: Double,
        accepted: UInt64, duplicates: UInt64, rejected: UInt64, durability: String, uptimeSeconds: Double,
        memory: ProcessMemory? = nil
    ) {
        self.articleCount = articleCount
        self.endOffset = endOffset
        self.bytesOnDisk = bytesOnDisk
        self.segments = segments
        self.followers = followers
        self.ingestRatePerSecond = ingestRatePerSecond
        self.fsyncCount = fsyncCount
        self.fsyncMeanMicroseconds = fsyncMeanMicroseconds
        self.fsyncLastMicroseconds = fsyncLastMicroseconds
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
        self.durability = durability
        self.uptimeSeconds = uptimeSeconds
        self.memory = memory
    }

    enum CodingKeys: Int, CodingKey {
        case articleCount = 1, endOffset, bytesOnDisk, segments, followers, ingestRatePerSecond, fsyncCount
        case fsyncMeanMicroseconds, fsyncLastMicroseconds, accepted, duplicates, rejected, durability, uptimeSeconds, memory
    }
}
