import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

@Suite("Binary codec (protobuf wire format)")
struct CodecTests {
    let encoder = DatelineBinaryEncoder()
    let decoder = DatelineBinaryDecoder()

    func roundTrip<M: Codable & Equatable>(_ message: M) throws -> M {
        let bytes = try self.encoder.encode(message)
        return try self.decoder.decode(M.self, from: bytes)
    }

    @Test func roundTripsEveryProtocolMessage() throws {
        #expect(try self.roundTrip(Fixtures.hello) == Fixtures.hello)
        #expect(try self.roundTrip(Fixtures.welcome) == Fixtures.welcome)
        #expect(try self.roundTrip(Fixtures.ping) == Fixtures.ping)
        #expect(try self.roundTrip(Fixtures.pong) == Fixtures.pong)
        #expect(try self.roundTrip(Cancel()) == Cancel())
        #expect(try self.roundTrip(Fixtures.goAway) == Fixtures.goAway)
        #expect(try self.roundTrip(Fixtures.error) == Fixtures.error)
        #expect(try self.roundTrip(Fixtures.healthRequest) == Fixtures.healthRequest)
        #expect(try self.roundTrip(Fixtures.healthResponse) == Fixtures.healthResponse)
        #expect(try self.roundTrip(Fixtures.ingestRequest) == Fixtures.ingestRequest)
        #expect(try self.roundTrip(Fixtures.ingestResponse) == Fixtures.ingestResponse)
        #expect(try self.roundTrip(Fixtures.subscribeRequest) == Fixtures.subscribeRequest)
        #expect(try self.roundTrip(Fixtures.logBatch) == Fixtures.logBatch)
        #expect(try self.roundTrip(Fixtures.ingestStatsRequest) == Fixtures.ingestStatsRequest)
        #expect(try self.roundTrip(Fixtures.ingestStatsResponse) == Fixtures.ingestStatsResponse)
        #expect(try self.roundTrip(Fixtures.getArticleRequest) == Fixtures.getArticleRequest)
        #expect(try self.roundTrip(Fixtures.getArticleResponse) == Fixtures.getArticleResponse)
        #expect(try self.roundTrip(Fixtures.queryStatsResponse) == Fixtures.queryStatsResponse)
        #expect(try self.roundTrip(Fixtures.searchRequest) == Fixtures.searchRequest)
        #expect(try self.roundTrip(Fixtures.searchResponse) == Fixtures.searchResponse)
    }

    @Test func aLogBatchSplicedFromStoredBytesEqualsOneEncodedWhole() throws {
        let stored = try DatelineBinaryEncoder().encode(Fixtures.storedArticle)
        for (offsets, end) in [([0, 1, 2], UInt64(3)), ([7], 300), ([UInt64](), 0)] as [([UInt64], UInt64)] {
            let spliced = LogBatch.encode(records: offsets.map { ($0, Array(stored.readableBytesView)) }, endOffset: end, epoch: "0123456789abcdef")
            let whole = try DatelineBinaryEncoder().encode(LogBatch(entries: offsets.map { LogEntry(offset: $0, article: Fixtures.storedArticle) }, endOffset: end, epoch: "0123456789abcdef"))
            #expect(spliced.readableBytesView.elementsEqual(whole.readableBytesView))
        }
    }

    @Test func matchesTheProtobufSpecificationsOwnExamples() throws {
        // protobuf's encoding guide: field 1 = 150 as a varint is 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        struct Example: Codable, Equatable {
            var a: UInt64
            var b: String
            enum CodingKeys: Int, CodingKey { case a = 1, b }
        }
        let bytes = try self.encoder.encode(Example(a: 150, b: "testing"))
        #expect(bytes.hex == "089601120774657374696e67")
        // sint64: -1 zig-zags to 1, 1 to 2, -2 to 3.
        struct Signed: Codable, Equatable {
            var x: Int
            var y: Int32
            enum CodingKeys: Int, CodingKey { case x = 1, y }
        }
        #expect(try self.encoder.encode(Signed(x: -1, y: -2)).hex == "08011003")
        // Packed repeated varints: field 4 = [3, 270, 86942] is 22 06 03 8e 02 9e a7 05.
        struct Packed: Codable, Equatable {
            var d: [UInt32]
            enum CodingKeys: Int, CodingKey { case d = 4 }
        }
        #expect(try self.encoder.encode(Packed(d: [3, 270, 86942])).hex == "2206038e029ea705")
    }

    struct Edges: Codable, Equatable {
        var int: Int
        var int64: Int64
        var int32: Int32
        var int8: Int8
        var uint: UInt
        var uint64: UInt64
        var uint32: UInt32
        var uint16: UInt16
        var uint8: UInt8
        var double: Double
        var float: Float
        var bool: Bool
        var string: String
        var data: Data
        var date: Date
        var optionalZero: Int?
        var optionalEmpty: String?
        var optionalFalse: Bool?
        var missing: String?
        var numbers: [Int]
        var doubles: [Double]
        var strings: [String]
        var nested: [Nested]
        var map: [String: Int]
        var nestedMap: [String: Nested]
        var status: DatelineHealthStatus
        var statuses: [DatelineHealthStatus]
        var dates: [Date]
        var bytes: [UInt8]
        var set: Set<String>

        struct Nested: Codable, Equatable, Hashable {
            var name: String
            var values: [UInt32]
            enum CodingKeys: Int, CodingKey { case name = 1, values }
        }

        enum CodingKeys: Int, CodingKey {
            case int = 1, int64, int32, int8, uint, uint64, uint32, uint16, uint8, double, float, bool, string, data, date
            case optionalZero, optionalEmpty, optionalFalse, missing, numbers, doubles, strings, nested, map, nestedMap
            case status, statuses, dates, bytes, set
        }
    }

    @Test(arguments: [false, true])
    func roundTripsEdgeValues(extreme: Bool) throws {
        let long = String(repeating: "Pakistan’s “rare earth” é 🇵🇰 ", count: extreme ? 700 : 3)
        let value = Edges(
            int: extreme ? .min : -1,
            int64: extreme ? .max : 1,
            int32: extreme ? .min : 0,
            int8: extreme ? .min : 127,
            uint: extreme ? .max : 1,
            uint64: extreme ? .max : 0,
            uint32: extreme ? .max : 300,
            uint16: extreme ? .max : 0,
            uint8: extreme ? .max : 1,
            double: extreme ? -.greatestFiniteMagnitude : -0.0,
            float: extreme ? .infinity : 1.5,
            bool: extreme,
            string: long,
            data: Data(repeating: 0xAB, count: extreme ? 20_000 : 0),
            date: Date(timeIntervalSince1970: extreme ? -2_000_000_000.123 : 1_754_265_600.5),
            optionalZero: 0,
            optionalEmpty: "",
            optionalFalse: false,
            missing: nil,
            numbers: extreme ? [.min, -1, 0, 1, .max] : [],
            doubles: [0.1, 2.5, -3],
            strings: ["", "a", long],
            nested: [.init(name: "", values: []), .init(name: long, values: [1, 2, .max])],
            map: ["": 0, "one": 1, "minus": -1],
            nestedMap: ["k": .init(name: "v", values: [7])],
            status: extreme ? .notServing : .unspecified,
            statuses: [.serving, .draining, .unspecified],
            dates: [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_753_488_000)],
            bytes: extreme ? Array(repeating: 7, count: 300) : [],
            set: ["x", "y"]
        )
        let decoded = try self.roundTrip(value)
        #expect(decoded == value)
        #expect(decoded.optionalZero == 0)
        #expect(decoded.optionalEmpty == "")
        #expect(decoded.optionalFalse == false)
        #expect(decoded.missing == nil)
        #expect(decoded.double.sign == value.double.sign)
    }

    @Test func datesTravelAsMillisecondsSinceTheEpoch() throws {
        struct Stamp: Codable, Equatable {
            var at: Date
            enum CodingKeys: Int, CodingKey { case at = 1 }
        }
        // 1000 ms zig-zags to 2000 = d0 0f.
        #expect(try self.encoder.encode(Stamp(at: Date(timeIntervalSince1970: 1))).hex == "08d00f")
        let rounded = try self.roundTrip(Stamp(at: Date(timeIntervalSince1970: 1.0004)))
        #expect(rounded.at == Date(timeIntervalSince1970: 1))
    }

    @Test func omitsNonOptionalDefaultsButKeepsPresentOptionals() throws {
        struct Message: Codable, Equatable {
            var count: Int
            var name: String
            var maybe: Int?
            enum CodingKeys: Int, CodingKey { case count = 1, name, maybe }
        }
        #expect(try self.encoder.encode(Message(count: 0, name: "", maybe: nil)).readableBytes == 0)
        #expect(try self.encoder.encode(Message(count: 0, name: "", maybe: 0)).hex == "1800")
    }

    struct Version2: Codable, Equatable {
        var name: String
        var extraVarint: UInt64
        var extraFixed64: Double
        var extraFixed32: Float
        var extraNested: Edges.Nested
        var extraStrings: [String]
        var count: UInt32
        enum CodingKeys: Int, CodingKey {
            case name = 1, extraVarint = 50, extraFixed64 = 51, extraFixed32 = 52, extraNested = 53, extraStrings = 536_870_911, count = 2
        }
    }

    struct Version1: Codable, Equatable {
        var name: String
        var count: UInt32
        var added: String?
        enum CodingKeys: Int, CodingKey { case name = 1, count, added }
    }

    @Test func skipsUnknownFieldsAndDecodesMissingOptionalsAsNil() throws {
        let newer = Version2(
            name: "dar",
            extraVarint: .max,
            extraFixed64: 3.5,
            extraFixed32: 1.25,
            extraNested: .init(name: "x", values: [1, 2]),
            extraStrings: ["a", "b"],
            count: 9
        )
        let older = try self.decoder.decode(Version1.self, from: try self.encoder.encode(newer))
        #expect(older == Version1(name: "dar", count: 9, added: nil))
    }

    @Test func lastOccurrenceOfAScalarFieldWins() throws {
        struct One: Codable, Equatable {
            var value: UInt32
            enum CodingKeys: Int, CodingKey { case value = 1 }
        }
        #expect(try self.decoder.decode(One.self, from: ByteBuffer(hex: "08010802")).value == 2)
    }

    @Test func acceptsUnpackedRepeatedNumbers() throws {
        struct Numbers: Codable, Equatable {
            var values: [UInt32]
            enum CodingKeys: Int, CodingKey { case values = 1 }
        }
        // Unpacked (one tag per element) and packed runs mixed, as protobuf parsers must accept.
        let decoded = try self.decoder.decode(Numbers.self, from: ByteBuffer(hex: "080108020a020304"))
        #expect(decoded.values == [1, 2, 3, 4])
    }

    // MARK: Rejections

    @Test func rejectsUnsupportedShapesWhenEncoding() throws {
        struct Matrix: Codable { var rows: [[Int]]; enum CodingKeys: Int, CodingKey { case rows = 1 } }
        struct Optionals: Codable { var values: [Int?]; enum CodingKeys: Int, CodingKey { case values = 1 } }
        struct IntKeys: Codable { var map: [Int: String]; enum CodingKeys: Int, CodingKey { case map = 1 } }
        struct NoNumbers: Codable { var name: String }
        struct ZeroField: Codable { var name: String; enum CodingKeys: Int, CodingKey { case name = 0 } }

        for (value, fragment) in [
            (Matrix(rows: [[1]]) as any Encodable, "nested arrays"),
            (Optionals(values: [1, nil]), "arrays of optionals"),
            (IntKeys(map: [1: "a"]), "keyed by String"),
            (NoNumbers(name: "x"), "no integer value"),
            (ZeroField(name: "x"), "field number 0"),
            ([1, 2, 3], "must be a message"),
            ("text", "must be a message"),
        ] {
            let error = #expect(throws: DatelineError.self) { try self.encoder.encode(value) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "") lacks \(fragment)")
        }
    }

    @Test(arguments: [
        ("0a02c328", "not valid UTF-8"),  // field 1 string with invalid UTF-8
        ("0a05616263", "remain"),  // length past the end
        ("08ffffffffffffffffffff01", "longer than"),  // 11-byte varint
        ("08", "truncated"),  // varint cut short
        ("0b0c", "groups"),  // start-group wire type
        ("0001", "invalid field number 0"),
        ("0f", "invalid wire type 7"),
        ("0d00000000", "expected a string"),  // fixed32 where a string is expected
    ])
    func rejectsMalformedPayloadsWithAClearMessage(hex: String, fragment: String) throws {
        struct Target: Codable { var name: String; var count: UInt8; enum CodingKeys: Int, CodingKey { case name = 1, count } }
        let error = #expect(throws: DatelineError.self) { try self.decoder.decode(Target.self, from: ByteBuffer(hex: hex)) }
        #expect(error?.code == .decodeFailed)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "") lacks \(fragment)")
    }

    @Test func rejectsIntegersThatDoNotFit() throws {
        struct Small: Codable { var count: UInt8; enum CodingKeys: Int, CodingKey { case count = 1 } }
        let error = #expect(throws: DatelineError.self) { try self.decoder.decode(Small.self, from: ByteBuffer(hex: "08ac02")) }
        #expect(error?.message.contains("does not fit in UInt8") == true)
    }

    @Test func rejectsUnknownEnumValues() throws {
        let error = #expect(throws: DatelineError.self) {
            try self.decoder.decode(HealthResponse.self, from: ByteBuffer(hex: "0863"))
        }
        #expect(error?.code == .decodeFailed)
    }
}

@Suite("Repeated enums and defaults, as any proto3 runtime writes them")
struct ProtobufCompatibilityTests {
    @Test func repeatedEnumsDecodePackedOrNotAndEncodePacked() throws {
        // EntitiesRequest.kinds is field 2: packed (12 02 00 01) as proto3 writes it, or one varint each (10 00 10 01).
        let packed = try DatelineBinaryDecoder().decode(EntitiesRequest.self, from: [0x12, 0x02, 0x00, 0x01])
        let unpacked = try DatelineBinaryDecoder().decode(EntitiesRequest.self, from: [0x10, 0x00, 0x10, 0x01])
        #expect(packed.kinds == [.person, .office])
        #expect(unpacked.kinds == [.person, .office])
        let encoded = try DatelineBinaryEncoder().encode(EntitiesRequest(kinds: [.person, .office], limit: 0))
        #expect(Array(encoded.readableBytesView) == [0x12, 0x02, 0x00, 0x01])
        // An unknown value is refused, naming the field.
        let error = #expect(throws: DatelineError.self) { try DatelineBinaryDecoder().decode(EntitiesRequest.self, from: [0x12, 0x01, 0x63]) }
        #expect(error?.code == .decodeFailed)
    }

    @Test func aNonOptionalEnumHoldingZeroIsOmitted() throws {
        let entity = ExtractedEntity(id: "person:x", kind: .person, name: "X")
        let bytes = Array(try DatelineBinaryEncoder().encode(entity).readableBytesView)
        #expect(!bytes.contains(0x10), "kind (field 2) = 0 is not written: \(bytes)")
        #expect(try DatelineBinaryDecoder().decode(ExtractedEntity.self, from: bytes).kind == .person)
    }
}

@Suite("The golden article's offsets")
struct GoldenOffsetTests {
    /// Every span in the golden article's extraction cuts exactly its text out of the body (code point offsets).
    @Test func everySpanCutsItsTextOutOfTheBody() throws {
        let article = Fixtures.storedArticle
        let texts: [ArticleField: String] = [.body: article.body, .title: article.title ?? "", .dateline: article.datelinePlace ?? ""]
        func cut(_ field: ArticleField, _ start: UInt32, _ end: UInt32) -> String {
            String(String.UnicodeScalarView(Array(texts[field]!.unicodeScalars)[Int(start)..<Int(end)]))
        }
        let extraction = try #require(article.extraction)
        for mention in extraction.mentions { #expect(cut(mention.field, mention.start, mention.end) == mention.text) }
        for time in extraction.times { #expect(cut(time.field, time.start, time.end) == time.text) }
        for quote in extraction.quotes { #expect(cut(.body, quote.start, quote.end) == quote.text) }
        #expect(extraction.mentions.contains { $0.field == .title }, "the golden article has a mention in its title")
        #expect(!extraction.quotes.isEmpty)
    }
}
