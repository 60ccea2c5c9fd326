import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

/// The hot-path messages' direct field coding against their Codable conformances, which stay the reference:
/// the same bytes for random messages, and the same value or the same failure for random and damaged bytes.
@Suite("Direct field coding agrees with Codable")
struct DirectCodingTests {
    private static let direct = DatelineBinaryEncoder()
    private static let codable: DatelineBinaryEncoder = {
        var encoder = DatelineBinaryEncoder()
        encoder.usesDirectCoding = false
        return encoder
    }()
    private static let directDecoder = DatelineBinaryDecoder()
    private static let codableDecoder: DatelineBinaryDecoder = {
        var decoder = DatelineBinaryDecoder()
        decoder.usesDirectCoding = false
        return decoder
    }()

    /// The encoder and decoder find a message's direct path through its `_directCoding`, not by asking the
    /// runtime: a message with a direct conformance that did not declare it would quietly take Codable's path.
    @Test func everyMessageWithADirectPathDeclaresIt() {
        for (type, swiftType) in DatelineMessageType.messageTypes {
            let conforms = swiftType is any ProtobufDirectEncodable.Type && swiftType is any ProtobufDirectDecodable.Type
            #expect((swiftType._directCoding != nil) == conforms, "\(type): \(swiftType)")
        }
        #expect(Ping._directCoding != nil && Hello._directCoding == nil)
    }

    @Test func theHotPathMessagesCodeDirectly() {
        // If a type lost its direct conformance the comparisons below would compare Codable with itself.
        let values: [any Encodable] = [
            Ping(), Pong(), SearchRequest(query: ""), SearchResponse(total: 0, hits: [], appliedOffset: 0),
            IngestRequest(articles: []), IngestResponse(results: [], endOffset: 0),
            StoredArticle(id: "", paragraphs: [], contentKey: "", ingestedAt: Date(), format: .fields),
            LogBatch(entries: [], endOffset: 0), ArticleExtraction(version: 1), ExtractedEntity(id: "", kind: .person, name: ""),
            EntityMention(entityIndex: 0, start: 0, end: 0, text: ""), TimeExpression(text: "", start: 0, end: 0, type: "", value: "", precision: ""),
            ExtractedQuote(text: "", start: 0, end: 0), ExtractedEvent(id: "", code: "", label: ""), EventSentence(text: "", start: 0, end: 0),
        ]
        #expect(values.allSatisfy { $0 is any ProtobufDirectCodable })
    }

    @Test(arguments: 0..<4)
    func randomMessagesEncodeToTheSameBytesAndDecodeToTheSameValues(seed: UInt64) throws {
        var random = SplitMix64(seed: 0xD1EC_7000 + seed)
        for _ in 0..<15 {
            try Self.check(Self.searchRequest(&random), Self.searchRequest(&random), &random)
            let response = Self.searchResponse(&random)
            try Self.check(response, Self.searchResponse(&random), &random)
            // The nested messages at the top level too, so that their fields meet every damage.
            try Self.check(response.hits.first ?? SearchHit(articleID: "", score: 0, title: "", source: "", publishedAt: nil, snippets: []), Self.searchResponse(&random).hits.last, &random)
            if let facets = response.facets { try Self.check(facets, Self.searchResponse(&random).facets, &random) }
            try Self.check(FacetCount(value: Self.string(&random), count: Self.unsigned(&random)), FacetCount(value: Self.string(&random), count: Self.unsigned(&random)), &random)
            try Self.check(IngestRequest(articles: (0..<Int.random(in: 0...4, using: &random)).map { _ in Self.submission(&random) }), nil, &random)
            try Self.check(Self.submission(&random), Self.submission(&random), &random)
            let ingested = Self.ingestResponse(&random)
            try Self.check(ingested, Self.ingestResponse(&random), &random)
            try Self.check(ingested.results.first ?? IngestResult(index: 0, status: .accepted), Self.ingestResponse(&random).results.last, &random)
            try Self.check(Ping(payload: Data(Self.bytes(&random))), Ping(payload: Data(Self.bytes(&random))), &random)
            try Self.check(Pong(payload: Data(Self.bytes(&random))), nil, &random)
            let stored = Self.storedArticle(&random)
            try Self.check(stored, Self.storedArticle(&random), &random)
            let batch = LogBatch(
                entries: (0..<Int.random(in: 0...3, using: &random)).map { _ in LogEntry(offset: Self.unsigned(&random), article: Self.storedArticle(&random)) },
                endOffset: Self.unsigned(&random),
                epoch: Self.string(&random)
            )
            try Self.check(batch, nil, &random)
            try Self.check(LogEntry(offset: Self.unsigned(&random), article: stored), LogEntry(offset: 3, article: Self.storedArticle(&random)), &random)
            // The extraction and each of its nested messages at the top level, so that their fields meet every damage.
            let extraction = Self.extraction(&random)
            try Self.check(extraction, Self.extraction(&random), &random)
            let full = Self.extraction(&random)
            if let entity = full.entities.first { try Self.check(entity, extraction.entities.last, &random) }
            if let mention = full.mentions.first { try Self.check(mention, extraction.mentions.last, &random) }
            if let time = full.times.first { try Self.check(time, extraction.times.last, &random) }
            if let quote = full.quotes.first { try Self.check(quote, extraction.quotes.last, &random) }
            if let event = full.events.first {
                try Self.check(event, extraction.events.last, &random)
                if let sentence = event.sentences.first { try Self.check(sentence, nil, &random) }
            }
        }
    }

    @Test func aDamagedStringNamesItsField() throws {
        // Field 1 (query) holding invalid UTF-8, then a field 2 (limit) that is a string.
        let invalid = #expect(throws: DatelineError.self) { try Self.directDecoder.decode(SearchRequest.self, from: [0x0A, 0x02, 0xC3, 0x28]) }
        #expect(invalid?.code == .decodeFailed)
        #expect(invalid?.message == "field 1 ('query'): string is not valid UTF-8")
        let mismatch = #expect(throws: DatelineError.self) { try Self.directDecoder.decode(SearchRequest.self, from: [0x12, 0x01, 0x41]) }
        #expect(mismatch?.message == "field 2 ('limit'): expected a varint, found wire type length-delimited")
        let truncated = #expect(throws: DatelineError.self) { try Self.directDecoder.decode(SearchResponse.self, from: [0x12, 0x05, 0x0A]) }
        #expect(truncated?.message == "cannot decode SearchResponse: truncated payload: field 2 declares 5 bytes but only 1 remain")
    }

    // MARK: Checking one message

    /// Encodes `message` both ways (same bytes required), decodes the bytes both ways, then damages them in
    /// several ways and requires both decoders to agree on each result.
    /// `other`, when given, is appended to the message's bytes once: protobuf merges the two (the last
    /// occurrence of each single field wins, repeated fields concatenate).
    static func check<M: ProtobufDirectCodable & Equatable>(_ message: M, _ other: M?, _ random: inout SplitMix64) throws {
        let bytes = Array(try self.direct.encode(message).readableBytesView)
        let reference = Array(try self.codable.encode(message).readableBytesView)
        #expect(bytes == reference, "\(M.self) encodes differently: \(message)")
        #expect(try self.directDecoder.decode(M.self, from: bytes) == self.codableDecoder.decode(M.self, from: bytes))
        var variants = self.damaged(bytes, &random)
        if let other { variants.append(bytes + Array(try self.direct.encode(other).readableBytesView)) }
        for damaged in variants {
            self.expectSameOutcome(M.self, damaged)
        }
    }

    static func expectSameOutcome<M: ProtobufDirectCodable & Equatable>(_ type: M.Type, _ bytes: [UInt8]) {
        let direct = Result { () throws(DatelineError) in try self.directDecoder.decode(M.self, from: bytes) }
        let codable = Result { () throws(DatelineError) in try self.codableDecoder.decode(M.self, from: bytes) }
        switch (direct, codable) {
        case (.success(let left), .success(let right)):
            // Compared by their (reference) encoding: a flipped bit can make a score NaN, which is not == itself.
            let leftBytes = try? Array(self.codable.encode(left).readableBytesView)
            let rightBytes = try? Array(self.codable.encode(right).readableBytesView)
            #expect(leftBytes != nil && leftBytes == rightBytes, "\(M.self) from \(bytes): \(left) vs \(right)")
        case (.failure(let left), .failure(let right)):
            #expect(left.code == right.code, "\(M.self) from \(bytes): \(left) vs \(right)")
        default:
            Issue.record("\(M.self) from \(bytes): direct \(direct), Codable \(codable)")
        }
    }

    /// Truncations, byte flips, inserted bytes, the message twice over (last occurrence wins, repeated fields
    /// concatenate), unknown fields of every wire type, and a field repeated with another wire type.
    static func damaged(_ bytes: [UInt8], _ random: inout SplitMix64) -> [[UInt8]] {
        var variants: [[UInt8]] = [bytes + bytes]
        variants.append(bytes + [0xF8, 0x07, 0x05] + bytes)  // unknown varint field 127 between two copies
        variants.append([0x99, 0x06] + Array(repeating: 0x11, count: 8) + bytes + [0xA2, 0x06, 0x02, 0x41, 0x42, 0xAD, 0x06, 1, 2, 3, 4])
        for field in 1...20 {
            // Each field once more with each wire type, so that "last occurrence wins" meets every mismatch.
            variants.append(bytes + [UInt8(field << 3)] + [0x01])
            variants.append(bytes + [UInt8(field << 3 | 2), 0x01, 0xC3])
            variants.append(bytes + [UInt8(field << 3 | 2), 0x00])
            variants.append(bytes + [UInt8(field << 3 | 1)] + Array(repeating: 0, count: 8))
            variants.append(bytes + [UInt8(field << 3 | 5), 0, 0, 0, 0])
        }
        guard !bytes.isEmpty else { return variants }
        for _ in 0..<12 {
            var flipped = bytes
            flipped[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            variants.append(flipped)
            variants.append(Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random))))
            var inserted = bytes
            inserted.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            variants.append(inserted)
        }
        return variants
    }

    // MARK: Random values

    static func string(_ random: inout SplitMix64) -> String {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return ""
        case 1: return "Islamabad"
        case 2: return "Ishaq Dar — وزير الخارجية — 外務大臣 🇵🇰"
        case 3: return String(repeating: "Talks on trade resumed in Geneva. ", count: Int.random(in: 4...40, using: &random))
        default: return String((0..<Int.random(in: 1...20, using: &random)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &random))) })
        }
    }

    static func optionalString(_ random: inout SplitMix64) -> String? {
        Bool.random(using: &random) ? nil : self.string(&random)
    }

    static func strings(_ random: inout SplitMix64) -> [String] {
        (0..<Int.random(in: 0...3, using: &random)).map { _ in self.string(&random) }
    }

    static func bytes(_ random: inout SplitMix64) -> [UInt8] {
        (0..<[0, 1, 16, 200][Int.random(in: 0..<4, using: &random)]).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    static func date(_ random: inout SplitMix64) -> Date? {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return nil
        case 1: return Date(timeIntervalSince1970: 0)
        case 2: return Date(timeIntervalSince1970: -86_400.25)
        case 3: return Date(timeIntervalSince1970: 0.0004)  // rounds to 0 ms
        default: return Date(timeIntervalSince1970: Double(Int.random(in: 0...2_000_000_000_000, using: &random)) / 1000)
        }
    }

    static func unsigned(_ random: inout SplitMix64) -> UInt64 {
        [0, 1, 127, 128, 300, UInt64(UInt32.max), .max][Int.random(in: 0..<7, using: &random)]
    }

    static func searchRequest(_ random: inout SplitMix64) -> SearchRequest {
        SearchRequest(
            query: self.string(&random),
            limit: UInt32(truncatingIfNeeded: self.unsigned(&random)),
            cursor: self.optionalString(&random),
            from: self.date(&random),
            to: self.date(&random),
            sources: self.strings(&random),
            tags: self.strings(&random),
            languages: self.strings(&random),
            sort: SearchSort.allCases.randomElement(using: &random)!,
            minimumOffset: Bool.random(using: &random) ? nil : self.unsigned(&random),
            facets: Bool.random(using: &random),
            histogramInterval: HistogramInterval.allCases.randomElement(using: &random)!,
            entities: self.strings(&random),
            topics: self.strings(&random),
            eventFrom: self.date(&random),
            eventTo: self.date(&random)
        )
    }

    static func searchResponse(_ random: inout SplitMix64) -> SearchResponse {
        let hits = (0..<Int.random(in: 0...4, using: &random)).map { _ in
            SearchHit(
                articleID: self.string(&random),
                score: [0, -0.0, 1.5, -3.25e-9, .infinity, 12.75][Int.random(in: 0..<6, using: &random)],
                title: self.string(&random),
                source: self.string(&random),
                publishedAt: self.date(&random),
                snippets: self.strings(&random)
            )
        }
        func counts() -> [FacetCount] {
            (0..<Int.random(in: 0...2, using: &random)).map { _ in FacetCount(value: self.string(&random), count: self.unsigned(&random)) }
        }
        let facets = Bool.random(using: &random) ? nil : SearchFacets(sources: counts(), tags: counts(), dates: counts(), entities: counts(), topics: counts())
        return SearchResponse(
            total: self.unsigned(&random),
            hits: hits,
            nextCursor: self.optionalString(&random),
            appliedOffset: self.unsigned(&random),
            facets: facets
        )
    }

    static func submission(_ random: inout SplitMix64) -> ArticleSubmission {
        ArticleSubmission(
            externalID: self.optionalString(&random),
            title: self.optionalString(&random),
            body: self.string(&random),
            source: self.optionalString(&random),
            url: self.optionalString(&random),
            publishedAt: self.date(&random),
            publishedAtText: self.optionalString(&random),
            language: self.optionalString(&random),
            tags: self.strings(&random),
            format: ArticleSubmissionFormat.allCases.randomElement(using: &random)!
        )
    }

    static func offset(_ random: inout SplitMix64) -> UInt32 { Bool.random(using: &random) ? 0 : UInt32.random(in: 0...UInt32.max, using: &random) }

    static func extraction(_ random: inout SplitMix64) -> ArticleExtraction {
        func count() -> Int { Int.random(in: 0...2, using: &random) }
        return ArticleExtraction(
            version: UInt32.random(in: 0...3, using: &random),
            entities: (0..<count()).map { _ in
                ExtractedEntity(
                    id: self.string(&random), kind: EntityKind.allCases.randomElement(using: &random)!, name: self.string(&random),
                    country: self.optionalString(&random), titles: self.strings(&random), offices: self.strings(&random),
                    acronym: self.optionalString(&random), designations: self.strings(&random), mentionCount: self.offset(&random)
                )
            },
            mentions: (0..<count()).map { _ in
                EntityMention(
                    entityIndex: self.offset(&random), start: self.offset(&random), end: self.offset(&random), text: self.string(&random),
                    field: ArticleField.allCases.randomElement(using: &random)!
                )
            },
            times: (0..<count()).map { _ in
                TimeExpression(
                    text: self.string(&random), start: self.offset(&random), end: self.offset(&random), type: self.string(&random),
                    value: self.string(&random), precision: self.string(&random), modifier: self.optionalString(&random),
                    field: ArticleField.allCases.randomElement(using: &random)!
                )
            },
            topics: self.strings(&random),
            quotes: (0..<count()).map { _ in
                ExtractedQuote(
                    text: self.string(&random), start: self.offset(&random), end: self.offset(&random), speaker: self.optionalString(&random),
                    speakerText: self.optionalString(&random), verb: self.optionalString(&random), date: self.optionalString(&random),
                    reported: Bool.random(using: &random)
                )
            },
            events: (0..<count()).map { _ in
                ExtractedEvent(
                    id: self.string(&random), code: self.string(&random), label: self.string(&random), participants: self.strings(&random),
                    place: self.optionalString(&random), date: self.optionalString(&random), datePrecision: self.optionalString(&random),
                    dateText: self.optionalString(&random), topics: self.strings(&random),
                    sentences: (0..<count()).map { _ in EventSentence(text: self.string(&random), start: self.offset(&random), end: self.offset(&random)) },
                    isBackReference: Bool.random(using: &random), killed: Bool.random(using: &random) ? nil : self.offset(&random)
                )
            }
        )
    }

    static func storedArticle(_ random: inout SplitMix64) -> StoredArticle {
        let extraction = Bool.random(using: &random) ? nil : self.extraction(&random)
        return StoredArticle(
            id: self.string(&random),
            externalID: self.optionalString(&random),
            title: self.optionalString(&random),
            source: self.optionalString(&random),
            url: self.optionalString(&random),
            publishedAt: self.date(&random),
            publishedAtPrecision: self.optionalString(&random),
            timeZone: self.optionalString(&random),
            datelinePlace: self.optionalString(&random),
            categories: self.strings(&random),
            tags: self.strings(&random),
            paragraphs: self.strings(&random),
            language: self.optionalString(&random),
            tagline: self.optionalString(&random),
            missingFields: self.strings(&random),
            warnings: self.strings(&random),
            contentKey: self.string(&random),
            ingestedAt: self.date(&random) ?? Date(timeIntervalSince1970: 0),
            format: ArticleSubmissionFormat.allCases.randomElement(using: &random)!,
            extraction: extraction
        )
    }

    static func ingestResponse(_ random: inout SplitMix64) -> IngestResponse {
        let results = (0..<Int.random(in: 0...4, using: &random)).map { _ in
            IngestResult(
                index: UInt32(truncatingIfNeeded: self.unsigned(&random)),
                status: IngestStatus.allCases.randomElement(using: &random)!,
                articleID: self.optionalString(&random),
                offset: Bool.random(using: &random) ? nil : self.unsigned(&random),
                reason: self.optionalString(&random),
                duplicateOf: self.optionalString(&random),
                reasonCode: self.optionalString(&random)
            )
        }
        return IngestResponse(results: results, endOffset: self.unsigned(&random))
    }
}
