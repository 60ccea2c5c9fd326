import DatelineProtocol

/// What `ingest` did.
public struct IngestSummary: Sendable, Codable {
    public var accepted = 0
    public var duplicates = 0
    public var rejected = 0
    /// Articles the service could not store now (an identical one in flight elsewhere, a failed write):
    /// sending them again may succeed.
    public var unavailable = 0
    /// Rejection reasons with the input they came from.
    public var rejections: [String] = []
    /// The log's end offset after the last batch (pass it as `minimumOffset` for read-your-writes).
    public var endOffset: UInt64 = 0
    public var articles = 0
    public var bytes = 0
    public var seconds = 0.0
    /// What happened to each article, in the order they were given.
    public var results: [IngestedArticle] = []

    public init() {}
}

/// What happened to one article sent to `dateline-ingest`.
public struct IngestedArticle: Sendable, Codable, Hashable {
    /// The three outcomes.
    public enum Status: String, Sendable, Codable, Hashable {
        /// Stored, at `offset`.
        case accepted
        /// Already stored, as `duplicateOf`.
        case duplicate
        /// Not stored, because of `reason`.
        case rejected
        /// Not stored now, because of `reason`; sending it again may succeed.
        case unavailable
    }

    /// Where it came from: a file, `file#id` for an article in a Reuters or JSON file, `file:line` for JSON
    /// Lines, `stdin`.
    public var source: String
    /// The id the input gave it, if any.
    public var externalID: String?
    /// The id `dateline-ingest` gave it (for a duplicate: the stored article's).
    public var articleID: String?
    public var status: Status
    /// Its offset in the log, when accepted.
    public var offset: UInt64?
    /// The stored article it duplicates.
    public var duplicateOf: String?
    /// Why it was rejected or is unavailable, for humans.
    public var reason: String?
    /// The same as a stable code (`empty-body`, `in-flight-elsewhere`...), when the service gave one.
    public var reasonCode: String?

    public init(
        source: String,
        externalID: String? = nil,
        articleID: String? = nil,
        status: Status,
        offset: UInt64? = nil,
        duplicateOf: String? = nil,
        reason: String? = nil,
        reasonCode: String? = nil
    ) {
        self.source = source
        self.externalID = externalID
        self.articleID = articleID
        self.status = status
        self.offset = offset
        self.duplicateOf = duplicateOf
        self.reason = reason
        self.reasonCode = reasonCode
    }

    /// The outcome `result` of submitting `input`.
    init(_ input: (source: String, submission: ArticleSubmission), result: IngestResult) {
        let status: Status
        switch result.status {
        case .accepted: status = .accepted
        case .duplicate: status = .duplicate
        case .unavailable: status = .unavailable
        default: status = .rejected
        }
        let explained = status == .rejected || status == .unavailable
        self.init(
            source: input.source,
            externalID: input.submission.externalID,
            articleID: result.articleID,
            status: status,
            offset: status == .accepted ? result.offset : nil,
            duplicateOf: status == .duplicate ? result.duplicateOf : nil,
            reason: explained ? result.reason ?? "\(status)" : nil,
            reasonCode: explained ? result.reasonCode : nil
        )
    }
}
