public import DatelineProtocol
import Foundation

/// Turns a submission into a validated, tidied ``ParsedArticle``, or says why not.
public struct ArticleProcessor: Sendable {
    /// The largest body accepted, in UTF-8 bytes. Default: 1 MiB.
    public var maximumBodyBytes: Int

    public init(maximumBodyBytes: Int = 1 << 20) {
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in seconds since 1970: the range of accepted dates.
    static let earliestDate: Double = -62_135_596_800
    static let latestDate: Double = 253_402_300_800

    /// The largest title, source, url, external id, language, date text or tag accepted, in UTF-8 bytes: 64 KiB.
    public static let maximumFieldBytes = 64 << 10
    /// The most tags an article may have: 1,000.
    public static let maximumTags = 1_000

    /// A rejection naming the first field over ``maximumFieldBytes`` (or tags over ``maximumTags``), if any: such an
    /// article is garbage, and it would not fit a log record with the rest of the article.
    static func oversizedField(_ submission: ArticleSubmission) -> ArticleRejection? {
        guard submission.tags.count <= Self.maximumTags else {
            return ArticleRejection(code: "field-too-large", message: "\(submission.tags.count) tags exceed the limit of \(Self.maximumTags)")
        }
        func oversized(_ name: String, _ value: String?) -> ArticleRejection? {
            guard let value, value.utf8.count > Self.maximumFieldBytes else { return nil }
            return ArticleRejection(code: "field-too-large", message: "\(name) of \(value.utf8.count) bytes exceeds the limit of \(Self.maximumFieldBytes)")
        }
        if let rejection = oversized("title", submission.title) ?? oversized("source", submission.source) ?? oversized("url", submission.url)
            ?? oversized("external_id", submission.externalID) ?? oversized("language", submission.language)
            ?? oversized("published_at_text", submission.publishedAtText)
        {
            return rejection
        }
        for tag in submission.tags { if let rejection = oversized("tag", tag) { return rejection } }
        return nil
    }

    /// Parses (plain text) or tidies (fields) the submission, applies explicit fields over parsed ones, and
    /// validates the result.
    public func process(_ submission: ArticleSubmission) -> Result<ParsedArticle, ArticleRejection> {
        guard submission.body.utf8.count <= self.maximumBodyBytes else {
            return .failure(ArticleRejection(
                code: "body-too-large",
                message: "body of \(submission.body.utf8.count) bytes exceeds the limit of \(self.maximumBodyBytes)"
            ))
        }
        if let rejection = Self.oversizedField(submission) { return .failure(rejection) }
        var article: ParsedArticle
        switch submission.format {
        case .plainText:
            article = PlainTextArticleParser.parse(submission.body)
        case .fields, .unspecified:
            article = ParsedArticle(paragraphs: Self.paragraphs(submission.body))
        }
        func clean(_ value: String?) -> String? {
            guard let value else { return nil }
            let tidy = TextNormalization.tidy(value).split(separator: "\n").joined(separator: " ")
            return tidy.isEmpty ? nil : tidy
        }
        if let title = clean(submission.title) { article.title = title }
        if let source = clean(submission.source) { article.source = source }
        if let url = clean(submission.url) { article.url = url }
        if let externalID = clean(submission.externalID) { article.externalID = externalID }
        if let language = clean(submission.language) { article.language = language.lowercased() }
        if let publishedAt = submission.publishedAt {
            // Years 1 to 9999, as ISO 8601 and every calendar here can write them.
            guard publishedAt.timeIntervalSince1970 >= Self.earliestDate, publishedAt.timeIntervalSince1970 < Self.latestDate else {
                return .failure(ArticleRejection(code: "bad-date", message: "published_at \(Int64(publishedAt.timeIntervalSince1970 * 1000)) ms is outside the years 1 to 9999"))
            }
            article.publishedAt = publishedAt
            article.publishedAtPrecision = .second
            article.timeZone = "Z"
        } else if let text = clean(submission.publishedAtText) {
            guard let date = ArticleDates.parse(text) else {
                return .failure(ArticleRejection(code: "bad-date", message: "cannot read the date '\(text)'"))
            }
            article.publishedAt = date.date
            article.publishedAtPrecision = date.precision
            article.timeZone = date.timeZone
        }
        article.tags = submission.tags.compactMap(clean)
        if article.datelinePlace == nil, let first = article.paragraphs.first, let dateline = PlainTextArticleParser.leadingDatelineParts(first) {
            article.datelinePlace = dateline.place
            if article.publishedAt == nil, let date = dateline.date { PlainTextArticleParser.apply(date, to: &article) }
        }
        if article.language == nil {
            article.language = LanguageGuess.guess(article.paragraphs.joined(separator: " "))
        }
        guard !article.paragraphs.isEmpty, article.paragraphs.contains(where: { !$0.isEmpty }) else {
            return .failure(ArticleRejection(code: "empty-body", message: "the article has no body text"))
        }
        article.recordMissingFields()
        return .success(article)
    }

    /// Paragraphs of a body given as one string: split on blank lines, or on line breaks when it has none.
    static func paragraphs(_ body: String) -> [String] {
        let lines = TextNormalization.tidy(body).utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
        let hasBlankLines = lines.dropFirst().dropLast().contains { $0.isEmpty }
        guard hasBlankLines else {
            return lines.filter { !$0.isEmpty }.map { String(Substring($0)) }
        }
        var paragraphs: [String] = []
        var current = ""
        for line in lines {
            if line.isEmpty {
                if !current.isEmpty { paragraphs.append(current) }
                current = ""
            } else {
                if !current.isEmpty { current += " " }
                current += Substring(line)
            }
        }
        if !current.isEmpty { paragraphs.append(current) }
        return paragraphs
    }

    /// The keys under which this article is a duplicate of an earlier one: its external id (when given) and
    /// a fingerprint of its normalised body.
    public static func deduplicationKeys(_ article: ParsedArticle) -> (externalID: String?, content: String) {
        (article.externalID, TextNormalization.fingerprint(TextNormalization.contentKey(article.body)))
    }
}
