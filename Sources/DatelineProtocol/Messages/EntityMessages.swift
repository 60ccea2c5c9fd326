public import Foundation

/// Lists the entities `dateline-query` knows, most mentioned first.
public struct EntitiesRequest: DatelineRequest, Hashable {
    public typealias Response = EntitiesResponse
    public static let messageType = DatelineMessageType.entitiesRequest

    /// Only entities whose name, id or acronym contains this text (case-insensitive); empty for all.
    public var match: String
    /// Only entities of these kinds; empty for all.
    public var kinds: [EntityKind]
    /// The most entities returned; 0 means 20.
    public var limit: UInt32
    public var minimumOffset: UInt64?

    public init(match: String = "", kinds: [EntityKind] = [], limit: UInt32 = 20, minimumOffset: UInt64? = nil) {
        self.match = match
        self.kinds = kinds
        self.limit = limit
        self.minimumOffset = minimumOffset
    }

    enum CodingKeys: Int, CodingKey { case match = 1, kinds, limit, minimumOffset }
}

/// An entity as known across every article.
public struct EntitySummary: Codable, Sendable, Hashable {
    public var id: String
    public var kind: EntityKind
    public var name: String
    public var country: String?
    /// Titles the articles give (people).
    public var titles: [String]
    /// Offices held (people), or holders (offices), by id.
    public var offices: [String]
    public var acronym: String?
    /// Designation ids applied to it (organisations).
    public var designations: [String]
    /// Articles mentioning it.
    public var articleCount: UInt64
    /// Mentions across all articles.
    public var mentionCount: UInt64

    public init(
        id: String, kind: EntityKind, name: String, country: String? = nil, titles: [String] = [], offices: [String] = [],
        acronym: String? = nil, designations: [String] = [], articleCount: UInt64 = 0, mentionCount: UInt64 = 0
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.country = country
        self.titles = titles
        self.offices = offices
        self.acronym = acronym
        self.designations = designations
        self.articleCount = articleCount
        self.mentionCount = mentionCount
    }

    enum CodingKeys: Int, CodingKey {
        case id = 1, kind, name, country, titles, offices, acronym, designations, articleCount, mentionCount
    }
}

/// The answer to an ``EntitiesRequest``.
public struct EntitiesResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.entitiesResponse

    public var entities: [EntitySummary]
    /// How many entities matched in all.
    public var total: UInt64

    public init(entities: [EntitySummary], total: UInt64) {
        self.entities = entities
        self.total = total
    }

    enum CodingKeys: Int, CodingKey { case entities = 1, total }
}

/// Engagements involving every one of `actors`, in date order: "when did these two last meet or talk, where,
/// about what, and who reported it?".
public struct TimelineRequest: DatelineRequest, Hashable {
    public typealias Response = TimelineResponse
    public static let messageType = DatelineMessageType.timelineRequest

    /// People, offices, organisations or countries, by id or by name ("Rubio", "Ishaq Dar", "Pakistan",
    /// "US Secretary of State"). An office stands for itself and every person known to hold it.
    public var actors: [String]
    /// Only events dated on or after / on or before these instants.
    public var from: Date?
    public var to: Date?
    /// Only these event codes (`041`, `043`, ...); empty for all.
    public var codes: [String]
    /// The most engagements returned (the latest ones); 0 means 100.
    public var limit: UInt32
    public var minimumOffset: UInt64?

    public init(actors: [String], from: Date? = nil, to: Date? = nil, codes: [String] = [], limit: UInt32 = 100, minimumOffset: UInt64? = nil) {
        self.actors = actors
        self.from = from
        self.to = to
        self.codes = codes
        self.limit = limit
        self.minimumOffset = minimumOffset
    }

    enum CodingKeys: Int, CodingKey { case actors = 1, from, to, codes, limit, minimumOffset }
}

/// How an actor named in a request was understood.
public struct ResolvedActor: Codable, Sendable, Hashable {
    /// The text as given.
    public var query: String
    /// The entity ids it stands for (an office with its holders).
    public var ids: [String]
    /// The best name for it.
    public var name: String
    /// Other entities the text could have meant, most reported first (at most 10): a name typed by a user stands
    /// for the most reported entity it matches ("Blair" → Tony Blair), and these say who else it matched.
    public var alternatives: [EntitySummary]

    public init(query: String, ids: [String], name: String, alternatives: [EntitySummary] = []) {
        self.query = query
        self.ids = ids
        self.name = name
        self.alternatives = alternatives
    }

    enum CodingKeys: Int, CodingKey { case query = 1, ids, name, alternatives }
}

/// One article's report of an engagement.
public struct EngagementReport: Codable, Sendable, Hashable {
    public var articleID: String
    public var title: String
    public var source: String
    public var publishedAt: Date?
    /// The sentence that introduces it.
    public var sentence: String
    /// The words that date it ("on Friday", "July 29"), if any.
    public var dateText: String?
    /// The date this report gives (a TIMEX3 value).
    public var date: String?
    /// True when the article mentions it as an earlier engagement ("their previous interaction").
    public var isBackReference: Bool

    public init(articleID: String, title: String, source: String, publishedAt: Date?, sentence: String, dateText: String?, date: String?, isBackReference: Bool) {
        self.articleID = articleID
        self.title = title
        self.source = source
        self.publishedAt = publishedAt
        self.sentence = sentence
        self.dateText = dateText
        self.date = date
        self.isBackReference = isBackReference
    }

    enum CodingKeys: Int, CodingKey { case articleID = 1, title, source, publishedAt, sentence, dateText, date, isBackReference }
}

/// An event as reported by one or more articles: same participants, same kind, dates within a day.
public struct Engagement: Codable, Sendable, Hashable {
    /// The first report's article id and event id (`2f0c9a1b3d4e5f60/e2`): stable while the index lives.
    public var id: String
    public var code: String
    public var label: String
    /// The date (a TIMEX3 value) most reports give; nil when none gives one.
    public var date: String?
    public var datePrecision: String?
    public var participants: [String]
    /// Names of the participants, in the same order.
    public var participantNames: [String]
    public var place: String?
    public var placeName: String?
    public var topics: [String]
    /// Every article that reports it, oldest first.
    public var reports: [EngagementReport]
    /// Disagreements Dateline keeps visible instead of resolving: dates that differ between reports, or a
    /// back-reference that may be another engagement reported with another date.
    public var conflicts: [String]

    public init(
        id: String, code: String, label: String, date: String?, datePrecision: String?, participants: [String],
        participantNames: [String], place: String?, placeName: String?, topics: [String], reports: [EngagementReport],
        conflicts: [String]
    ) {
        self.id = id
        self.code = code
        self.label = label
        self.date = date
        self.datePrecision = datePrecision
        self.participants = participants
        self.participantNames = participantNames
        self.place = place
        self.placeName = placeName
        self.topics = topics
        self.reports = reports
        self.conflicts = conflicts
    }

    enum CodingKeys: Int, CodingKey {
        case id = 1, code, label, date, datePrecision, participants, participantNames, place, placeName, topics, reports, conflicts
    }
}

/// The answer to a ``TimelineRequest``.
public struct TimelineResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.timelineResponse

    public var actors: [ResolvedActor]
    /// Oldest first; undated engagements last.
    public var engagements: [Engagement]
    public var total: UInt64

    public init(actors: [ResolvedActor], engagements: [Engagement], total: UInt64) {
        self.actors = actors
        self.engagements = engagements
        self.total = total
    }

    enum CodingKeys: Int, CodingKey { case actors = 1, engagements, total }
}
