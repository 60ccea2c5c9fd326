import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

/// A follower keeps the bytes each log entry's article arrived in, and splits them into the article without its
/// extraction and the extraction without decoding either (`StoredArticle.separatingExtraction`).
@Suite struct EncodedArticleTests {
    static func encoded<M: Encodable>(_ value: M) throws -> [UInt8] { Array(try DatelineBinaryEncoder().encode(value).readableBytesView) }

    static var bare: StoredArticle {
        var article = Fixtures.storedArticle
        article.extraction = nil
        return article
    }

    @Test func anEntryDecodedFromTheWireKeepsItsArticlesBytes() throws {
        let wire = LogBatch.encode(records: [(7, try Self.encoded(Fixtures.storedArticle)), (8, try Self.encoded(Self.bare))], endOffset: 9, epoch: "e")
        let batch = try DatelineBinaryDecoder().decode(LogBatch.self, from: Array(wire.readableBytesView))
        #expect(batch.entries.map(\.offset) == [7, 8])
        #expect(batch.entries[0].encodedArticle == (try Self.encoded(Fixtures.storedArticle)))
        #expect(batch.entries[1].encodedArticle == (try Self.encoded(Self.bare)))
        // Built in memory: no bytes; and the bytes take no part in equality.
        let built = LogEntry(offset: 7, article: Fixtures.storedArticle)
        #expect(built.encodedArticle == nil)
        #expect(built == batch.entries[0])
        #expect(Set([built, batch.entries[0]]).count == 1)
    }

    @Test func anArticleSplitsIntoTheEncodingsOfItsParts() throws {
        let (article, extraction) = try StoredArticle.separatingExtraction(try Self.encoded(Fixtures.storedArticle))
        #expect(article == (try Self.encoded(Self.bare)))
        #expect(Array(extraction) == (try Self.encoded(Fixtures.storedArticle.extraction!)))
        let (alone, none) = try StoredArticle.separatingExtraction(try Self.encoded(Self.bare))
        #expect(alone == (try Self.encoded(Self.bare)))
        #expect(none.isEmpty)
    }

    /// Written by another encoder: the extraction first and twice (the decoder reads the last), an unknown field.
    @Test func anyFieldOrderSplitsAsTheDecoderReadsIt() throws {
        var other = Fixtures.storedArticle.extraction!
        other.topics = ["elsewhere"]
        func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
            var buffer = ByteBuffer()
            buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: number, wireType: .lengthDelimited))
            buffer.writeProtobufVarint(UInt64(bytes.count))
            buffer.writeBytes(bytes)
            return Array(buffer.readableBytesView)
        }
        let bytes = field(20, try Self.encoded(other)) + field(99, [1, 2, 3]) + (try Self.encoded(Self.bare)) + field(20, try Self.encoded(Fixtures.storedArticle.extraction!))
        #expect(try DatelineBinaryDecoder().decode(StoredArticle.self, from: bytes) == Fixtures.storedArticle)
        let (article, extraction) = try StoredArticle.separatingExtraction(bytes)
        #expect(try DatelineBinaryDecoder().decode(StoredArticle.self, from: article) == Self.bare)
        #expect(try DatelineBinaryDecoder().decode(ArticleExtraction.self, from: Array(extraction)) == Fixtures.storedArticle.extraction!)
    }

    @Test func damagedBytesAreADecodeError() throws {
        let whole = try Self.encoded(Fixtures.storedArticle)
        for bytes in [Array(whole.prefix(whole.count - 5)), [0x0A, 0xFF], [0x07]] {
            #expect(throws: DatelineError.self) { try StoredArticle.separatingExtraction(bytes) }
            do {
                _ = try StoredArticle.separatingExtraction(bytes)
            } catch {
                #expect(error.code == .decodeFailed)
            }
        }
    }
}
