public import Foundation

/// An article after parsing, before it gets an id and is logged.
///
/// Fields that could not be found are nil and named in ``missingFields``, so a reader of the stored record
/// can tell "absent in the source" from "empty".
public struct ParsedArticle: Sendable, Hashable {
    public var title: String?
    /// The outlet, e.g. `OpenVoiceNews Pakistan`.
    public var source: String?
    public var url: String?
    public var publishedAt: Date?
    /// How precise `publishedAt` is.
    public var publishedAtPrecision: DatePrecision?
    /// The UTC offset the source gave with the date (`+05:00`, `Z`), nil when it gave none.
    public var timeZone: String?
    /// The place the story was filed from, e.g. `Islamabad`, `Washington, D.C.`.
    public var datelinePlace: String?
    public var categories: [String]
    public var tags: [String]
    /// Body paragraphs, tidied, in order.
    public var paragraphs: [String]
    /// ISO 639-1 code, e.g. `en`.
    public var language: String?
    public var externalID: String?
    /// Boilerplate recognised and kept out of the body (an outlet's tagline).
    public var tagline: String?
    /// Names of the fields the input did not provide (`title`, `source`, `publishedAt`, ...).
    public var missingFields: [String]
    /// Repairs and doubts worth telling the user (`invalid UTF-8 replaced`, ...).
    public var warnings: [String]

    public init(
        title: String? = nil,
        source: String? = nil,
        url: String? = nil,
        publishedAt: Date? = nil,
        publishedAtPrecision: DatePrecision? = nil,
        timeZone: String? = nil,
        datelinePlace: String? = nil,
        categories: [String] = [],
        tags: [String] = [],
        paragraphs: [String] = [],
        language: String? = nil,
        externalID: String? = nil,
        tagline: String? = nil,
        missingFields: [String] = [],
        warnings: [String] = []
    ) {
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
        self.externalID = externalID
        self.tagline = tagline
        self.missingFields = missingFields
        self.warnings = warnings
    }

    /// The body: paragraphs separated by blank lines.
    public var body: String { self.paragraphs.joined(separator: "\n\n") }

    /// Recomputes ``missingFields`` from the fields themselves.
    public mutating func recordMissingFields() {
        var missing: [String] = []
        if self.title == nil { missing.append("title") }
        if self.source == nil { missing.append("source") }
        if self.publishedAt == nil { missing.append("publishedAt") }
        if self.datelinePlace == nil { missing.append("datelinePlace") }
        if self.url == nil { missing.append("url") }
        if self.language == nil { missing.append("language") }
        self.missingFields = missing
    }
}

/// How precisely a date is known.
public enum DatePrecision: String, Sendable, Hashable, Codable {
    case day
    case minute
    case second
}

/// Why an input cannot become an article.
public struct ArticleRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// A short, stable reason code: `empty-body`, `body-too-large`, `field-too-large`, `bad-date`, `bad-json`,
    /// `invalid-utf8` (and, from the ingest service, `too-large` for an article that does not fit a log record).
    public var code: String
    /// For humans.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
