import DatelineProtocol
import Foundation
import NIOCore
import Testing

@testable import DatelineQuery

/// A follower stores each article from the bytes it arrived in (`StoredArticleCoding.encode(_: LogEntry)`): the
/// same stored bytes as encoding the decoded article, without the encode.
@Suite struct StoredArticleCodingTests {
    static func article(_ number: Int, extraction: Bool) -> StoredArticle {
        let entities = [ExtractedEntity(id: "person:ishaq-dar", kind: .person, name: "Ishaq Dar", country: "PK", mentionCount: 2)]
        return StoredArticle(
            id: "a\(number)", title: "Article \(number)", publishedAt: Date(timeIntervalSince1970: 1_750_000_000), paragraphs: ["Ishaq Dar spoke.", "Text \(number)."],
            contentKey: "k\(number)", ingestedAt: Date(timeIntervalSince1970: 1_750_000_100), format: .plainText,
            extraction: extraction ? ArticleExtraction(version: 1, entities: entities, mentions: [EntityMention(entityIndex: 0, start: 0, end: 9, text: "Ishaq Dar")], topics: ["diplomacy"]) : nil
        )
    }

    @Test func anArticleFromTheWireIsStoredAsItsEncodingWouldStoreIt() throws {
        let articles = [Self.article(1, extraction: true), Self.article(2, extraction: false)]
        let records = try articles.enumerated().map { (UInt64($0.offset), Array(try DatelineBinaryEncoder().encode($0.element).readableBytesView)) }
        let wire = LogBatch.encode(records: records, endOffset: 2, epoch: "e")
        let batch = try DatelineBinaryDecoder().decode(LogBatch.self, from: Array(wire.readableBytesView))
        for (entry, article) in zip(batch.entries, articles) {
            #expect(entry.encodedArticle != nil)
            let stored = try StoredArticleCoding.encode(entry)
            #expect(stored == (try StoredArticleCoding.encode(article)))
            #expect(try StoredArticleCoding.decode(stored) == article)
            #expect(try StoredArticleCoding.split(stored).article.extraction == nil)
        }
        // An entry built in memory is encoded.
        let built = LogEntry(offset: 0, article: articles[0])
        #expect(try StoredArticleCoding.encode(built) == (try StoredArticleCoding.encode(articles[0])))
    }
}
