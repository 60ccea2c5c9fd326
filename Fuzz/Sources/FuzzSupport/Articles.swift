import DatelineArticles
public import DatelineProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What ingest does with a submission once a parser has produced it: process it (with the default 1 MiB body
/// limit, and with a 64-byte one so the limit path is taken too) and key it for deduplication.
///
/// Checks that an accepted article has body text and, when it has a date, one within the years 1 to 9999
/// (what `ArticleProcessor` promises since dates outside them are refused).
public func checkSubmission(_ submission: ArticleSubmission) {
    for processor in [ArticleProcessor(), ArticleProcessor(maximumBodyBytes: 64)] {
        switch processor.process(submission) {
        case .success(let article):
            guard article.paragraphs.contains(where: { !$0.isEmpty }) else {
                fuzzFailure("an accepted article has no body text: \(submission)")
            }
            guard submission.body.utf8.count <= processor.maximumBodyBytes else {
                fuzzFailure("a body of \(submission.body.utf8.count) bytes passed the \(processor.maximumBodyBytes)-byte limit")
            }
            if let date = article.publishedAt {
                let seconds = date.timeIntervalSince1970
                // 0001-01-01T00:00:00Z ..< 10000-01-01T00:00:00Z
                guard seconds >= -62_135_596_800, seconds < 253_402_300_800 else {
                    fuzzFailure("an accepted article is dated \(seconds) s since 1970, outside the years 1 to 9999: \(submission)")
                }
            }
            _ = ArticleProcessor.deduplicationKeys(article)
            _ = article.body
        case .failure:
            break
        }
    }
}
