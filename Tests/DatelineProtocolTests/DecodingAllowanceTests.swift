import DatelineTestSupport
import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

/// A payload cannot decode into far more memory than it takes: elements of repeated fields are charged what they
/// take decoded beyond their bytes (a 16 MiB frame of empty articles decoded into 1.2 GB before).
@Suite("Decoding allowance")
struct DecodingAllowanceTests {
    /// `count` occurrences of an empty length-delimited field `field`.
    private func emptyElements(field: UInt8, count: Int) -> ByteBuffer {
        let pair: [UInt8] = [field << 3 | 2, 0x00]
        var bytes = [UInt8]()
        bytes.reserveCapacity(2 * count)
        for _ in 0..<count { bytes += pair }
        return ByteBuffer(bytes: bytes)
    }

    @Test func aMillionEmptyArticlesAreRefusedNotDecoded() throws {
        let payload = self.emptyElements(field: 1, count: 1 << 20)
        let error = #expect(throws: DatelineError.self) { _ = try DatelineBinaryDecoder().decode(IngestRequest.self, from: payload) }
        #expect(error?.code == .decodeFailed)
        #expect(error?.message.contains("field 1 ('articles')") == true, "\(String(describing: error))")
    }

    @Test func millionsOfEmptyTagsAreRefused() throws {
        // One article whose field 8 (tags) repeats 4 million times, empty.
        var article = ByteBuffer(bytes: [0x1a, 0x01, 0x78])  // body (field 3) "x"
        var tags = self.emptyElements(field: 8, count: 4 << 20)
        article.writeBuffer(&tags)
        var payload = ByteBuffer(bytes: [0x0a])
        var length = article.readableBytes
        while length >= 0x80 {
            payload.writeInteger(UInt8(length & 0x7F | 0x80))
            length >>= 7
        }
        payload.writeInteger(UInt8(length))
        payload.writeBuffer(&article)
        let error = #expect(throws: DatelineError.self) { _ = try DatelineBinaryDecoder().decode(IngestRequest.self, from: payload) }
        #expect(error?.message.contains("'tags'") == true, "\(String(describing: error))")
    }

    /// A message without a direct conformance (decoded through Codable) is held to the same allowance.
    @Test func theCodablePathIsChargedToo() throws {
        struct Item: Codable {
            var name = ""
            enum CodingKeys: Int, CodingKey { case name = 1 }
        }
        struct Items: Codable {
            var items: [Item] = []
            enum CodingKeys: Int, CodingKey { case items = 1 }
        }
        // 8 MiB of empty items, 64 MiB decoded: past 16 MiB and twice the payload.
        let payload = self.emptyElements(field: 1, count: 4 << 20)
        let error = #expect(throws: DatelineError.self) { _ = try DatelineBinaryDecoder().decode(Items.self, from: payload) }
        #expect(error?.code == .decodeFailed)
        // Within the allowance it decodes.
        let few = try DatelineBinaryDecoder().decode(Items.self, from: self.emptyElements(field: 1, count: 1_000))
        #expect(few.items.count == 1_000)
    }

    /// What real messages hold is far within it: the largest batch of the sample articles, extraction and all, and
    /// ten thousand one-word articles (the most a batch may carry).
    @Test func realMessagesDecode() throws {
        let small = IngestRequest(articles: (0..<10_000).map { ArticleSubmission(body: "w\($0)") })
        let decoded = try DatelineBinaryDecoder().decode(IngestRequest.self, from: try DatelineBinaryEncoder().encode(small))
        #expect(decoded.articles.count == 10_000)
        let request = IngestRequest(articles: try Samples.submissions())
        #expect(try DatelineBinaryDecoder().decode(IngestRequest.self, from: try DatelineBinaryEncoder().encode(request)) == request)
    }

    /// Repeated strings read through Codable (a timeline's actors), and the field tables the Codable path builds
    /// (here of a message without fields, whose bytes are still checked), are charged as well.
    @Test func codableStringListsAndFieldTablesAreCharged() throws {
        let actors = self.emptyElements(field: 1, count: 4 << 20)
        let error = #expect(throws: DatelineError.self) { _ = try DatelineBinaryDecoder().decode(TimelineRequest.self, from: actors) }
        #expect(error?.code == .decodeFailed)
        let unknownFields = self.emptyElements(field: 9, count: 4 << 20)
        let health = #expect(throws: DatelineError.self) { _ = try DatelineBinaryDecoder().decode(HealthRequest.self, from: unknownFields) }
        #expect(health?.message.contains("too many small fields") == true, "\(String(describing: health))")
        #expect(try DatelineBinaryDecoder().decode(TimelineRequest.self, from: self.emptyElements(field: 1, count: 10)).actors.count == 10)
    }
}
