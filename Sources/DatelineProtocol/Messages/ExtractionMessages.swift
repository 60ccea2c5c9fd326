public import Foundation

/// What Dateline's extractor reads in an article: entities and their mentions, time expressions, topics,
/// quotes and events. Carried in ``StoredArticle/extraction``.
///
/// Every offset is a Unicode scalar (code point) offset into the text its `field` names — ``StoredArticle/body``
/// unless a mention or time expression says ``ArticleField/title`` or ``ArticleField/dateline`` (the article's
/// `datelinePlace`) — `start` inclusive and `end` exclusive, so a client in any language can cut it out of the
/// article it received.
public struct ArticleExtraction: Codable, Sendable, Hashable {
    /// The extractor's version; a change means the same text may be read differently.
    public var version: UInt32
    public var entities: [ExtractedEntity]
    public var mentions: [EntityMention]
    public var times: [TimeExpression]
    /// The article's topics, from Dateline's taxonomy, most cues first.
    public var topics: [String]
    public var quotes: [ExtractedQuote]
    public var events: [ExtractedEvent]

    public init(
        version: UInt32,
        entities: [ExtractedEntity] = [],
        mentions: [EntityMention] = [],
        times: [TimeExpression] = [],
        topics: [String] = [],
        quotes: [ExtractedQuote] = [],
        events: [ExtractedEvent] = []
    ) {
        self.version = version
        self.entities = entities
        self.mentions = mentions
        self.times = times
        self.topics = topics
        self.quotes = quotes
        self.events = events
    }

    /// The entity with this id, if the article has it.
    public func entity(_ id: String) -> ExtractedEntity? { self.entities.first { $0.id == id } }

    /// The id of the entity a mention refers to ("" if its index is out of range).
    public func entityID(of mention: EntityMention) -> String {
        Int(mention.entityIndex) < self.entities.count ? self.entities[Int(mention.entityIndex)].id : ""
    }

    /// The mentions of the entity with this id, in order.
    public func mentions(of id: String) -> [EntityMention] {
        guard let index = self.entities.firstIndex(where: { $0.id == id }) else { return [] }
        return self.mentions.filter { $0.entityIndex == UInt32(index) }
    }

    enum CodingKeys: Int, CodingKey { case version = 1, entities, mentions, times, topics, quotes, events }
}

/// The kinds of entity Dateline extracts.
public enum EntityKind: UInt32, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case person = 0
    case office = 1
    case country = 2
    case place = 3
    case organization = 4
    /// A legal designation such as "Foreign Terrorist Organization (FTO)".
    case designation = 5

    public var description: String {
        switch self {
        case .person: "person"
        case .office: "office"
        case .country: "country"
        case .place: "place"
        case .organization: "organization"
        case .designation: "designation"
        }
    }

    /// The kind named `text` (`person`, `office`, ...), if any.
    public init?(name text: String) {
        guard let kind = Self.allCases.first(where: { $0.description == text.lowercased() }) else { return nil }
        self = kind
    }
}

/// An entity an article mentions, with an id that is stable across articles.
///
/// Ids: `person:ishaq-dar`, `office:PK:foreign-minister`, `country:PK`, `place:jammu-and-kashmir`,
/// `org:lashkar-e-taiba`, `designation:fto`.
public struct ExtractedEntity: Codable, Sendable, Hashable {
    public var id: String
    public var kind: EntityKind
    /// The fullest name the article gives ("Ishaq Dar", "US Secretary of State", "Pakistan").
    public var name: String
    /// The ISO 3166-1 alpha-2 code of the entity's country, when known (a country's own code for a country).
    public var country: String?
    /// For a person: titles the article gives, in order ("Deputy Prime Minister", "Senator").
    public var titles: [String]
    /// For a person: ids of the offices the article says they hold.
    public var offices: [String]
    /// For an organisation or designation: its acronym ("TRF", "FTO").
    public var acronym: String?
    /// For an organisation: ids of designations applied to it in the article.
    public var designations: [String]
    public var mentionCount: UInt32

    public init(
        id: String,
        kind: EntityKind,
        name: String,
        country: String? = nil,
        titles: [String] = [],
        offices: [String] = [],
        acronym: String? = nil,
        designations: [String] = [],
        mentionCount: UInt32 = 0
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.country = country
        self.titles = titles
        self.offices = offices
        self.acronym = acronym
        self.designations = designations
        self.mentionCount = mentionCount
    }

    enum CodingKeys: Int, CodingKey {
        case id = 1, kind, name, country, titles, offices, acronym, designations, mentionCount
    }
}

/// The text of an article a mention or time expression lies in.
public enum ArticleField: UInt32, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case body = 0
    case title = 1
    /// ``StoredArticle/datelinePlace``, the place the article was filed from.
    case dateline = 2

    public var description: String {
        switch self {
        case .body: "body"
        case .title: "title"
        case .dateline: "dateline"
        }
    }
}

/// One place in the article that refers to an entity.
public struct EntityMention: Codable, Sendable, Hashable {
    /// The entity's position in ``ArticleExtraction/entities`` (an index rather than the id keeps the ~10
    /// mentions of an article cheap to store and decode).
    public var entityIndex: UInt32
    public var start: UInt32
    public var end: UInt32
    /// The words, as the text has them.
    public var text: String
    /// The text the offsets count in (the body unless said).
    public var field: ArticleField

    public init(entityIndex: UInt32, start: UInt32, end: UInt32, text: String, field: ArticleField = .body) {
        self.entityIndex = entityIndex
        self.start = start
        self.end = end
        self.text = text
        self.field = field
    }

    enum CodingKeys: Int, CodingKey { case start = 2, end = 3, text = 4, entityIndex = 5, field = 6 }
}

/// A date, time, duration or set, normalized TIMEX3-style against the publication date.
public struct TimeExpression: Codable, Sendable, Hashable {
    public var text: String
    public var start: UInt32
    public var end: UInt32
    /// `DATE`, `TIME`, `DURATION` or `SET`.
    public var type: String
    /// The TIMEX3 value: `2025-07-25`, `2025-W31`, `2025-07`, `P10D`, `PRESENT_REF`, `XXXX-04-22` when no year
    /// can be inferred.
    public var value: String
    /// `second`, `minute`, `hour`, `day`, `week`, `month`, `quarter`, `season`, `year`, `decade`, `century`,
    /// `reference` or `duration`.
    public var precision: String
    /// A TIMEX3 modifier (`LESS_THAN`, `APPROX`, `START`, ...), if the text gives one.
    public var modifier: String?
    /// The text the offsets count in (the body unless said).
    public var field: ArticleField

    public init(text: String, start: UInt32, end: UInt32, type: String, value: String, precision: String, modifier: String? = nil, field: ArticleField = .body) {
        self.text = text
        self.start = start
        self.end = end
        self.type = type
        self.value = value
        self.precision = precision
        self.modifier = modifier
        self.field = field
    }

    enum CodingKeys: Int, CodingKey { case text = 1, start, end, type, value, precision, modifier, field }
}

/// A quotation with its speaker and the verb that introduces it.
public struct ExtractedQuote: Codable, Sendable, Hashable {
    /// The words quoted, without the quotation marks.
    public var text: String
    public var start: UInt32
    public var end: UInt32
    /// The speaker's entity id, when the speaker is resolved.
    public var speaker: String?
    /// The speaker as the text names them ("Rubio", "Foreign Office spokesperson Shafqat Ali Khan").
    public var speakerText: String?
    /// "said", "stated", ...
    public var verb: String?
    /// When it was said (a TIMEX3 value), if the text says.
    public var date: String?
    /// Reported speech ("the Foreign Office highlighted that …", "…, according to a statement"): the clause the
    /// writer reports, not words quoted.
    public var reported: Bool

    public init(
        text: String, start: UInt32, end: UInt32, speaker: String? = nil, speakerText: String? = nil, verb: String? = nil, date: String? = nil,
        reported: Bool = false
    ) {
        self.reported = reported
        self.text = text
        self.start = start
        self.end = end
        self.speaker = speaker
        self.speakerText = speakerText
        self.verb = verb
        self.date = date
    }

    enum CodingKeys: Int, CodingKey { case text = 1, start, end, speaker, speakerText, verb, date, reported }
}

/// An event an article reports, typed with a CAMEO-like code.
///
/// Codes: `036` express intent to meet, `040` consult, `041` discuss by telephone, `042` make a visit, `043` host a
/// visit, `044` meet at a third location, `046` negotiate, `010` make a statement, `163` designate or sanction.
public struct ExtractedEvent: Codable, Sendable, Hashable {
    /// Unique within the article (`e1`, `e2`, ...).
    public var id: String
    public var code: String
    public var label: String
    /// Entity ids of the people, offices, organisations and countries taking part.
    public var participants: [String]
    /// The place it happened (an entity id), if the text says.
    public var place: String?
    /// When it happened (a TIMEX3 value), if the text says.
    public var date: String?
    /// The precision of `date` (see ``TimeExpression/precision``).
    public var datePrecision: String?
    /// The words the date came from ("on Friday").
    public var dateText: String?
    public var topics: [String]
    /// The sentences that report it, in order (the first is where it is introduced).
    public var sentences: [EventSentence]
    /// True when the article mentions it as an earlier engagement ("their previous interaction").
    public var isBackReference: Bool
    /// People the text says an attack killed ("which killed 26 civilians"), for violent events (18x/19x).
    public var killed: UInt32?

    public init(
        id: String,
        code: String,
        label: String,
        participants: [String] = [],
        place: String? = nil,
        date: String? = nil,
        datePrecision: String? = nil,
        dateText: String? = nil,
        topics: [String] = [],
        sentences: [EventSentence] = [],
        isBackReference: Bool = false,
        killed: UInt32? = nil
    ) {
        self.killed = killed
        self.id = id
        self.code = code
        self.label = label
        self.participants = participants
        self.place = place
        self.date = date
        self.datePrecision = datePrecision
        self.dateText = dateText
        self.topics = topics
        self.sentences = sentences
        self.isBackReference = isBackReference
    }

    enum CodingKeys: Int, CodingKey {
        case id = 1, code, label, participants, place, date, datePrecision, dateText, topics, sentences, isBackReference, killed
    }
}

/// A sentence of the body, by offsets and text.
public struct EventSentence: Codable, Sendable, Hashable {
    public var text: String
    public var start: UInt32
    public var end: UInt32

    public init(text: String, start: UInt32, end: UInt32) {
        self.text = text
        self.start = start
        self.end = end
    }

    enum CodingKeys: Int, CodingKey { case text = 1, start, end }
}
