#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// How search results are ordered.
public enum SearchSort: UInt32, Codable, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case relevance = 1
    case date = 2
    /// Relevance with a recency decay.
    case recent = 3
}

/// The bucket size of a search's date histogram.
public enum HistogramInterval: UInt32, Codable, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case day = 1
    case week = 2
    case month = 3
}

/// A full-text search for `dateline-query`.
public struct SearchRequest: DatelineRequest, Hashable {
    public typealias Response = SearchResponse
    public static let messageType = DatelineMessageType.searchRequest

    public var query: String
    public var limit: UInt32
    public var cursor: String?
    public var from: Date?
    public var to: Date?
    public var sources: [String]
    public var tags: [String]
    public var languages: [String]
    public var sort: SearchSort
    /// Read-your-writes: answer only once the service has applied this many log records (pass the ingest
    /// reply's `endOffset`).
    public var minimumOffset: UInt64?
    /// Whether to count the matches by source, by tag and by date.
    public var facets: Bool
    /// The date histogram's buckets when `facets` is set. Default (unspecified): month.
    public var histogramInterval: HistogramInterval
    /// Only articles that mention every one of these entities: ids (`person:ishaq-dar`, `country:PK`) or names
    /// ("Rubio", "Pakistan", "US Secretary of State"), resolved as ``TimelineRequest`` resolves actors.
    public var entities: [String]
    /// Only articles on at least one of these topics (`trade`, `counterterrorism`, ...).
    public var topics: [String]
    /// Only articles reporting an event dated on or after this instant.
    public var eventFrom: Date?
    /// Only articles reporting an event dated on or before this instant.
    public var eventTo: Date?
    /// ``from`` as text, resolved by the server against its clock (``DateExpression``: `7d`, `yesterday`,
    /// `last monday`, `2025-07`, ...): the start of the span it names. Not together with ``from``.
    public var fromText: String?
    /// ``to`` as text: the end of the span it names (`--to 2025-07` includes all of July). Not with ``to``.
    public var toText: String?
    /// ``eventFrom`` as text. Not together with ``eventFrom``.
    public var eventFromText: String?
    /// ``eventTo`` as text. Not together with ``eventTo``.
    public var eventToText: String?

    public init(
        query: String,
        limit: UInt32 = 10,
        cursor: String? = nil,
        from: Date? = nil,
        to: Date? = nil,
        sources: [String] = [],
        tags: [String] = [],
        languages: [String] = [],
        sort: SearchSort = .relevance,
        minimumOffset: UInt64? = nil,
        facets: Bool = false,
        histogramInterval: HistogramInterval = .unspecified,
        entities: [String] = [],
        topics: [String] = [],
        eventFrom: Date? = nil,
        eventTo: Date? = nil,
        fromText: String? = nil,
        toText: String? = nil,
        eventFromText: String? = nil,
        eventToText: String? = nil
    ) {
        self.query = query
        self.limit = limit
        self.cursor = cursor
        self.from = from
        self.to = to
        self.sources = sources
        self.tags = tags
        self.languages = languages
        self.sort = sort
        self.minimumOffset = minimumOffset
        self.facets = facets
        self.histogramInterval = histogramInterval
        self.entities = entities
        self.topics = topics
        self.eventFrom = eventFrom
        self.eventTo = eventTo
        self.fromText = fromText
        self.toText = toText
        self.eventFromText = eventFromText
        self.eventToText = eventToText
    }

    enum CodingKeys: Int, CodingKey {
        case query = 1, limit, cursor, from, to, sources, tags, languages, sort, minimumOffset, facets, histogramInterval
        case entities, topics, eventFrom, eventTo, fromText, toText, eventFromText, eventToText
    }
}

/// One search hit.
public struct SearchHit: Codable, Sendable, Hashable {
    public var articleID: String
    public var score: Double
    public var title: String
    public var source: String
    public var publishedAt: Date?
    /// Body passages with matches between `[[` and `]]`.
    public var snippets: [String]

    public init(articleID: String, score: Double, title: String, source: String, publishedAt: Date?, snippets: [String]) {
        self.articleID = articleID
        self.score = score
        self.title = title
        self.source = source
        self.publishedAt = publishedAt
        self.snippets = snippets
    }

    enum CodingKeys: Int, CodingKey { case articleID = 1, score, title, source, publishedAt, snippets }
}

/// How many matching articles have one value.
public struct FacetCount: Codable, Sendable, Hashable {
    public var value: String
    public var count: UInt64

    public init(value: String, count: UInt64) {
        self.value = value
        self.count = count
    }

    enum CodingKeys: Int, CodingKey { case value = 1, count }
}

/// Counts of all the matches (not just the page): the top sources and tags, and a date histogram.
public struct SearchFacets: Codable, Sendable, Hashable {
    /// The most frequent sources, most frequent first.
    public var sources: [FacetCount]
    /// The most frequent tags and categories, most frequent first.
    public var tags: [FacetCount]
    /// Publication dates in buckets (`2025-07-26`, `2025-W30`, `2025-07`), oldest first.
    public var dates: [FacetCount]
    /// The most mentioned entities (people, offices, organisations, places, countries), by id, most first.
    public var entities: [FacetCount]
    /// Topics, most frequent first.
    public var topics: [FacetCount]

    public init(sources: [FacetCount], tags: [FacetCount], dates: [FacetCount], entities: [FacetCount] = [], topics: [FacetCount] = []) {
        self.sources = sources
        self.tags = tags
        self.dates = dates
        self.entities = entities
        self.topics = topics
    }

    enum CodingKeys: Int, CodingKey { case sources = 1, tags, dates, entities, topics }
}

/// The answer to a ``SearchRequest``.
public struct SearchResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.searchResponse

    public var total: UInt64
    public var hits: [SearchHit]
    public var nextCursor: String?
    public var appliedOffset: UInt64
    /// Present when the request asked for facets.
    public var facets: SearchFacets?
    /// The publication-date bounds the search applied, after the server resolved any date text.
    public var resolvedFrom: Date?
    public var resolvedTo: Date?
    /// The event-date bounds the search applied.
    public var resolvedEventFrom: Date?
    public var resolvedEventTo: Date?

    public init(total: UInt64, hits: [SearchHit], nextCursor: String? = nil, appliedOffset: UInt64, facets: SearchFacets? = nil) {
        self.total = total
        self.hits = hits
        self.nextCursor = nextCursor
        self.appliedOffset = appliedOffset
        self.facets = facets
    }

    enum CodingKeys: Int, CodingKey {
        case total = 1, hits, nextCursor, appliedOffset, facets, resolvedFrom, resolvedTo, resolvedEventFrom, resolvedEventTo
    }
}
