import DatelineStorage
import Foundation
import Testing

@testable import DatelineSearch

/// A deterministic generator, so that failures replay.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return self.state >> 11 ^ self.state << 7
    }
}

/// A scratch directory removed at the end of the test.
final class ScratchDirectory {
    let path: String
    init() throws {
        self.path = NSTemporaryDirectory() + "dateline-segment-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: self.path) }
}

@Suite struct SegmentFormatTests {
    @Test func bitPackingRoundTripsEveryWidth() throws {
        var random = SeededGenerator(state: 7)
        for width in 0...32 {
            for count in [1, 5, 127, 128] {
                let maximum: UInt32 = width == 0 ? 0 : (width == 32 ? .max : (1 << UInt32(width)) - 1)
                var values = (0..<count).map { _ in UInt32.random(in: 0...maximum, using: &random) }
                values[0] = maximum
                var bytes: [UInt8] = []
                values.withUnsafeBufferPointer { BitPacking.pack($0, into: &bytes) }
                #expect(bytes.count == 1 + BitPacking.byteCount(count: count, width: width))
                var decoded = [UInt32](repeating: 99, count: count)
                try bytes.withUnsafeBytes { raw in
                    var cursor = ByteCursor(raw)
                    try decoded.withUnsafeMutableBufferPointer { try BitPacking.Packed(&cursor, count: count).decode(0..<count, into: $0.baseAddress!) }
                    #expect(cursor.remaining == 0)
                }
                #expect(decoded == values, "width \(width), count \(count)")
            }
        }
    }

    /// Stepping over varints a word at a time lands where decoding them one by one does, whatever their sizes and
    /// counts (below, at and past a word's eight), and running past the data is an error, not a read past it.
    @Test func skippingVarintsLandsWhereDecodingThemDoes() throws {
        var random = SeededGenerator(state: 3)
        for round in 0..<300 {
            let values = (0..<Int.random(in: 0..<200, using: &random)).map { _ -> UInt64 in
                let bits = [7, 14, 21, 35, 64][Int.random(in: 0..<5, using: &random)]
                return UInt64.random(in: 0...(bits == 64 ? .max : (1 << UInt64(bits)) - 1), using: &random)
            }
            var bytes: [UInt8] = []
            for value in values { bytes.appendVarUInt(value) }
            let count = values.isEmpty ? 0 : Int.random(in: 0...values.count, using: &random)
            try bytes.withUnsafeBytes { raw in
                var decoded = ByteCursor(raw)
                for _ in 0..<count { _ = try decoded.varint() }
                var skipped = ByteCursor(raw)
                try skipped.skipVarints(count)
                #expect(skipped.position == decoded.position, "round \(round): \(count) of \(values.count)")
                var past = ByteCursor(raw)
                #expect(throws: IndexFormatError.self) { try past.skipVarints(values.count + 1) }
            }
        }
    }

    @Test func sortedTableFindsEveryKeyAndOnlyThose() throws {
        try self.findsEveryKeyAndOnlyThose(Set((0..<1_000).map { "k\($0 * 7919 % 100_003)" } + ["", "a", "ab", "abc", "é", "zz", "z\u{10FFFF}"]))
    }

    /// Keys whose first eight bytes are the same across many blocks (the block search's integer prefixes tie
    /// there and must fall back to the keys), keys with NUL bytes inside their first eight (a prefix pads a
    /// shorter key with the same zero), and keys of one to eight bytes.
    @Test func sortedTableFindsKeysWhosePrefixesTie() throws {
        var words = Set((0..<600).map { "internationalisation-\($0 * 7919 % 100_003)" })
        words.formUnion((0..<200).map { "internat\($0)" } + ["internat", "internatio", "internationa"])
        words.formUnion(["abc", "abc\u{0}", "abc\u{0}\u{0}", "abc\u{0}\u{0}x", "abc\u{0}\u{1}", "abcdefgh", "abcdefgh\u{0}", "abcdefghi"])
        try self.findsEveryKeyAndOnlyThose(words)
    }

    /// A table of varints, some ascending (stored as differences within a block), gives back every entry's values
    /// through a look-up, a prefix walk and a cursor, across block boundaries.
    @Test func sortedTableOfVarintsGivesBackEveryValue() throws {
        var random = SeededGenerator(state: 5)
        let keys = Set((0..<500).map { _ in "k\(UInt32.random(in: 0...99_999, using: &random))" }).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var offset: UInt64 = 0
        var positions: UInt64 = 1 << 40
        let values = keys.map { _ -> SortedTable.Varints in
            offset += UInt64.random(in: 0...300, using: &random)
            positions += UInt64.random(in: 0...(1 << 20), using: &random)
            return SortedTable.Varints(offset, UInt64.random(in: 0...UInt64.max, using: &random), positions, 0)
        }
        var builder = SortedTable.Builder(values: .varints(count: 3, ascending: 0b101))
        for (key, value) in zip(keys, values) { builder.add(key: Array(key.utf8), varints: value) }
        let bytes = builder.finish()
        try bytes.withUnsafeBytes { raw in
            let table = try SortedTable.Reader(raw)
            #expect(table.coding == .varints(count: 3, ascending: 0b101))
            for (key, value) in zip(keys, values) {
                #expect(try Array(key.utf8).withUnsafeBytes { try table.findVarints($0) } == value, "\(key)")
            }
            #expect(try Array("k".utf8).withUnsafeBytes { try table.findVarints($0) } == nil)
            var prefixed: [SortedTable.Varints] = []
            try table.forEachVarintEntry(withPrefix: Array("k1".utf8)) { _, value in prefixed.append(value); return true }
            #expect(prefixed == zip(keys, values).filter { $0.0.hasPrefix("k1") }.map(\.1))
            var cursor = table.cursor()
            var stepped: [SortedTable.Varints] = []
            while try cursor.next() { stepped.append(cursor.varints) }
            #expect(stepped == values)
        }
        // A coding this version does not know is an error, not a misreading.
        var damaged = bytes
        damaged[damaged.count - 24] = 9
        damaged.withUnsafeBytes { raw in
            _ = #expect(throws: IndexFormatError.self) { try SortedTable.Reader(raw) }
        }
    }

    private func findsEveryKeyAndOnlyThose(_ words: Set<String>) throws {
        let sorted = words.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var builder = SortedTable.Builder()
        for (index, word) in sorted.enumerated() { builder.add(key: Array(word.utf8), value: [UInt8(index % 256), 1]) }
        let bytes = builder.finish()
        try bytes.withUnsafeBytes { raw in
            let table = try SortedTable.Reader(raw)
            #expect(table.count == sorted.count)
            for (index, word) in sorted.enumerated() {
                #expect(try table.value(for: Array(word.utf8)) == [UInt8(index % 256), 1], "\(word)")
            }
            for missing in ["k", "k1x", "b", "zzz", "\u{1}"] where !words.contains(missing) {
                #expect(try table.value(for: Array(missing.utf8)) == nil, "\(missing)")
            }
            // Neighbours of every key (one byte more, one less, the last one raised or lowered): found exactly
            // when they are keys themselves.
            for word in sorted {
                let bytes = Array(word.utf8)
                var neighbours = [bytes + [0], bytes + [0xFF], Array(bytes.dropLast())]
                if let last = bytes.last {
                    if last < 0xFF { neighbours.append(bytes.dropLast() + [last + 1]) }
                    if last > 0 { neighbours.append(bytes.dropLast() + [last - 1]) }
                }
                for neighbour in neighbours {
                    let index = sorted.firstIndex { Array($0.utf8) == neighbour }
                    #expect(try table.value(for: neighbour) == index.map { [UInt8($0 % 256), 1] }, "\(neighbour)")
                }
            }
            for prefix in ["k12", "internationalisation-1", "internat1", "abc\u{0}"] {
                var withPrefix: [String] = []
                try table.forEachEntry(withPrefix: Array(prefix.utf8)) { key, _ in withPrefix.append(String(decoding: key, as: UTF8.self)); return true }
                #expect(withPrefix == sorted.filter { $0.utf8.starts(with: prefix.utf8) }, "\(prefix)")
            }
            var all: [String] = []
            try table.forEachEntry { key, _ in all.append(String(decoding: key, as: UTF8.self)); return true }
            #expect(all == sorted)
            // A cursor steps through the same entries with the same values.
            var cursor = table.cursor()
            var stepped: [String] = []
            while try cursor.next() {
                #expect(Array(cursor.value) == [UInt8(stepped.count % 256), 1])
                stepped.append(String(decoding: cursor.key, as: UTF8.self))
            }
            #expect(stepped == sorted)
            #expect(try !cursor.next())
        }
    }

    @Test func postingsRoundTripWithAndWithoutPositionsAndBelowALimit() throws {
        var random = SeededGenerator(state: 3)
        var list = PostingList()
        var document: UInt32 = 0
        for _ in 0..<1_000 {
            document += UInt32.random(in: 1...40, using: &random)
            let title = (0..<Int.random(in: 0...2, using: &random)).map { UInt32($0 * 3) }
            let body = (0..<Int.random(in: title.isEmpty ? 1...9 : 0...9, using: &random)).map { UInt32($0 * 5 + 1) }
            list.append(document: document, title: title, body: body)
        }
        var positions: [UInt8] = [0, 0, 0]  // another term's positions before this one's
        let encoded = PostingsFormat.encode(list, positionsBase: 3, positions: &positions)
        try encoded.withUnsafeBytes { postingBytes in
            try positions.withUnsafeBytes { positionBytes in
                let full = try PostingsFormat.decode(postingBytes, offset: 0, count: list.count, positionsOffset: 3, limit: .max, positions: positionBytes)
                #expect(full == list)
                let bare = try PostingsFormat.decode(postingBytes, offset: 0, count: list.count, positionsOffset: 3, limit: .max, positions: nil)
                #expect(bare.documents == list.documents && bare.titleFrequencies == list.titleFrequencies && bare.bodyFrequencies == list.bodyFrequencies)
                for limit in [0, 1, list.documents[127], list.documents[128], list.documents[500] + 1, document + 1] {
                    let cut = try PostingsFormat.decode(postingBytes, offset: 0, count: list.count, positionsOffset: 3, limit: limit, positions: positionBytes)
                    let expected = list.documents.filter { $0 < limit }.count
                    #expect(cut.documents == Array(list.documents.prefix(expected)), "limit \(limit)")
                    #expect(cut.positions == Array(list.positions.prefix(expected < list.count ? list.positionStarts[expected] : list.positions.count)))
                }
            }
        }
    }
}

@Suite struct SegmentTests {
    /// A corpus with a skewed vocabulary and phrases that recur, built deterministically.
    static func corpus(_ count: Int, seed: UInt64) -> [IndexedDocument] {
        var random = SeededGenerator(state: seed)
        let vocabulary = (0..<400).map { "w\($0)x" } + ["Trade", "trading", "U.S.", "Élite", "don't", "oil-price"]
        func word() -> String {
            let u = Double(random.next() % 1_000_000) / 1_000_000
            return vocabulary[min(vocabulary.count - 1, Int(pow(Double(vocabulary.count), u)) - 1)]
        }
        return (0..<count).map { number in
            let title = (0..<Int(random.next() % 6)).map { _ in word() }.joined(separator: " ")
            let body = (0..<(3 + Int(random.next() % 150))).map { index in index % 37 == 5 ? "crude oil prices" : word() }.joined(separator: " ")
            return IndexedDocument(id: "d\(number)", title: title, body: body)
        }
    }

    static let queries = [
        "w1x", "w350x", "w1x w2x", "w3x OR w150x", "w5x -w0x", "\"crude oil\"", "\"oil prices\" w0x", "w1* OR w200x",
        "(w4x OR w40x) w0x", "trade", "us", "elite", "don't", "\"oil price\"", "tra*", "nothing",
    ]

    /// Writes `documents` as segments of the given sizes (the rest stays in a buffer) and opens them.
    static func segmented(_ documents: [IndexedDocument], sizes: [Int], directory: String) throws -> (parts: [IndexReader.Part], buffers: [SearchIndex]) {
        var parts: [IndexReader.Part] = []
        var start = 0
        for (number, size) in sizes.enumerated() {
            let buffer = SearchIndex()
            for document in documents[start..<(start + size)] { buffer.add(document) }
            let writer = try SegmentWriter(directory: directory, name: "s\(number)", columnCount: 1, storeBlockSize: 2_048)
            try buffer.write(to: writer) { local in
                let document = buffer.document(local)
                return .init(columns: [UInt64(start + local)], key: document.id, externalKey: "ext-" + document.id, stored: Array(document.body.utf8))
            }
            _ = try writer.finish()
            parts.append(.segment(try IndexSegment(directory: directory, name: "s\(number)")))
            start += size
        }
        let rest = SearchIndex()
        for document in documents[start...] { rest.add(document) }
        parts.append(.buffer(rest))
        return (parts, [rest])
    }

    /// The segments among `parts`.
    static func segments(of parts: [IndexReader.Part]) -> [IndexSegment] {
        parts.compactMap { part in if case .segment(let segment) = part { segment } else { nil } }
    }

    @Test func segmentsAndABufferRankExactlyLikeOneIndex() throws {
        let documents = Self.corpus(1_500, seed: 11)
        let whole = SearchIndex()
        for document in documents { whole.add(document) }
        let scratch = try ScratchDirectory()
        let (parts, _) = try Self.segmented(documents, sizes: [700, 1, 400], directory: scratch.path)
        let reader = IndexReader(parts: parts)
        #expect(reader.documentCount == documents.count)
        let parser = SearchQueryParser()
        for text in Self.queries {
            let query = try parser.parse(text)
            for asOf in [nil, 1, 650, 700, 701, 1_000, 1_450] {
                let expected = whole.matches(query, documents: asOf)
                let actual = try reader.matches(query, documents: asOf)
                #expect(actual.map(\.document) == expected.map(\.document), "\(text) as of \(asOf.map(String.init) ?? "now")")
                for (a, e) in zip(actual, expected) { #expect(abs(a.score - e.score) <= 1e-9 * max(1, abs(e.score)), "\(text): \(a) vs \(e)") }
                let top = try reader.topMatches(query, limit: 10, documents: asOf, filter: { $0.filter { $0 % 3 != 1 } })
                let reference = whole.topMatches(query, limit: 10, documents: asOf, include: { $0 % 3 != 1 })
                #expect(top.total == reference.total)
                #expect(top.top.map(\.document) == reference.top.map(\.document), "\(text) top 10 as of \(asOf.map(String.init) ?? "now")")
            }
            // Snippets found by analysing the body again equal the ones found from stored token positions.
            for hit in whole.matches(query).prefix(20) {
                let body = whole.document(Int(hit.document)).body
                #expect(reader.snippets(body: body, for: query) == whole.snippets(of: hit.document, for: query), "\(text) in d\(hit.document)")
            }
        }
    }

    @Test func aSegmentKeepsStoredDocumentsKeysAndColumns() throws {
        let documents = Self.corpus(300, seed: 5)
        let scratch = try ScratchDirectory()
        let (parts, _) = try Self.segmented(documents, sizes: [300], directory: scratch.path)
        guard case .segment(let segment) = parts[0] else { Issue.record("not a segment"); return }
        #expect(segment.documentCount == 300)
        for (number, document) in documents.enumerated() {
            #expect(try segment.storedDocument(number) == Array(document.body.utf8))
            #expect(try segment.document(forKey: document.id) == number)
            #expect(try segment.document(forKey: "ext-" + document.id, external: true) == number)
            #expect(segment.column(0, number) == UInt64(number))
        }
        #expect(try segment.document(forKey: "ext-d1") == nil)
        #expect(try segment.document(forKey: "d300") == nil)
        #expect(throws: DatelineStorageError.self) { try segment.storedDocument(300) }
        #expect(segment.info.storeBytes < documents.reduce(0) { $0 + $1.body.utf8.count } * 6 / 10)
    }

    @Test func aDamagedOrMissingFileIsRefusedNamingIt() throws {
        let documents = Self.corpus(200, seed: 9)
        let scratch = try ScratchDirectory()
        _ = try Self.segmented(documents, sizes: [200], directory: scratch.path)
        for kind in IndexFile.Kind.segmentFiles {
            let path = SegmentWriter.path(directory: scratch.path, name: "s0", kind: kind)
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            for position in [0, 9, original.count / 2, original.count - 20, original.count - 1] {
                var damaged = original
                damaged[position] ^= 0x10
                try damaged.write(to: URL(fileURLWithPath: path))
                let error = #expect(throws: DatelineStorageError.self) { _ = try IndexSegment(directory: scratch.path, name: "s0") }
                #expect(error?.code == .corrupt)
                #expect(error?.segment == "s0" + kind.suffix, "\(kind) byte \(position): \(String(describing: error))")
                // Opened without its checksums (as a restart does), the damage is found by the structure check or
                // by the later checksum check.
                let deferred = #expect(throws: DatelineStorageError.self) {
                    let segment = try IndexSegment(directory: scratch.path, name: "s0", verify: false)
                    #expect(!segment.isVerified)
                    try segment.verifyChecksums()
                }
                #expect(deferred?.code == .corrupt && deferred?.segment == "s0" + kind.suffix, "\(kind) byte \(position): \(String(describing: deferred))")
            }
            try original.prefix(original.count - 7).write(to: URL(fileURLWithPath: path))
            #expect(throws: DatelineStorageError.self) { _ = try IndexSegment(directory: scratch.path, name: "s0") }
            try FileManager.default.removeItem(atPath: path)
            let missing = #expect(throws: DatelineStorageError.self) { _ = try IndexSegment(directory: scratch.path, name: "s0") }
            #expect(missing?.message.contains(path) == true)
            try original.write(to: URL(fileURLWithPath: path))
            _ = try IndexSegment(directory: scratch.path, name: "s0")
            let unchecked = try IndexSegment(directory: scratch.path, name: "s0", verify: false)
            try unchecked.verifyChecksums()
            #expect(unchecked.isVerified)
        }
    }
}

@Suite struct SegmentMergeTests {
    @Test func aMergedSegmentAnswersAsItsPartsDidAndKeepsDocumentOrder() throws {
        let documents = SegmentTests.corpus(900, seed: 21)
        let whole = SearchIndex()
        for document in documents { whole.add(document) }
        let scratch = try ScratchDirectory()
        let (parts, _) = try SegmentTests.segmented(documents, sizes: [300, 250, 350], directory: scratch.path)
        let segments = SegmentTests.segments(of: parts)
        let writer = try SegmentWriter(directory: scratch.path, name: "merged", columnCount: 1)
        try SegmentMerger.merge(segments, into: writer)
        let info = try writer.finish()
        #expect(info.documentCount == 900)
        let merged = try IndexSegment(directory: scratch.path, name: "merged")
        let reader = IndexReader(parts: [.segment(merged)])
        let parser = SearchQueryParser()
        for text in SegmentTests.queries {
            let query = try parser.parse(text)
            let expected = whole.matches(query)
            let actual = try reader.matches(query)
            #expect(actual.map(\.document) == expected.map(\.document), "\(text)")
            for (a, e) in zip(actual, expected) { #expect(abs(a.score - e.score) <= 1e-9 * max(1, abs(e.score))) }
        }
        for (number, document) in documents.enumerated() {
            #expect(try merged.storedDocument(number) == Array(document.body.utf8))
            #expect(try merged.document(forKey: document.id) == number)
            #expect(try merged.document(forKey: "ext-" + document.id, external: true) == number)
            #expect(merged.column(0, number) == UInt64(number))
        }
        #expect(merged.info.totalBodyLength == segments.reduce(0) { $0 + $1.info.totalBodyLength })
        // Every term's postings, positions included (copied as bytes, across the inputs' block boundaries), are
        // the whole index's.
        var terms = merged.termCursor
        var termCount = 0
        var longest = 0
        while try terms.next() {
            let term = String(decoding: terms.key, as: UTF8.self)
            let postings = try merged.postings(try TermInfo(terms.varints), positions: true)
            #expect(postings == whole.postingList(term, limit: 900, positions: true), "\(term)")
            termCount += 1
            longest = max(longest, postings.count)
        }
        #expect(termCount > 100 && longest > 3 * PostingsFormat.blockSize, "\(termCount) terms, the longest of \(longest) documents")
    }

    /// Article ids (16 hexadecimal digits, perhaps with a suffix) are stored as 8 bytes, other keys as they are:
    /// every key is found, in its segment and after a merge, and none that differs in a byte is.
    @Test func keysOfEveryFormAreFoundAndOnlyThose() throws {
        let keys = [
            "0123456789abcdef", "0123456789abcdef-2", "ffffffffffffffff", "0000000000000000", "0123456789ABCDEF", "0123456789abcde",
            "0123456789abcdeg", "reuters-12", "", "\u{1}0123456789abcdef", "é0123456789abcdef",
        ]
        #expect(Set(keys.map(SegmentWriter.storedKey)).count == keys.count)
        #expect(SegmentWriter.storedKey("0123456789abcdef").count == 9)
        let scratch = try ScratchDirectory()
        for (number, half) in [keys[..<6], keys[6...]].enumerated() {
            let writer = try SegmentWriter(directory: scratch.path, name: "k\(number)", columnCount: 0)
            for key in half {
                try writer.addDocument(titleLength: 0, bodyLength: 1, columns: [], key: key, externalKey: "x" + key, stored: [])
            }
            _ = try writer.finish()
        }
        let inputs = try (0..<2).map { try IndexSegment(directory: scratch.path, name: "k\($0)") }
        let writer = try SegmentWriter(directory: scratch.path, name: "merged", columnCount: 0)
        try SegmentMerger.merge(inputs, into: writer)
        _ = try writer.finish()
        let merged = try IndexSegment(directory: scratch.path, name: "merged")
        for (index, key) in keys.enumerated() {
            let segment = inputs[index < 6 ? 0 : 1]
            #expect(try segment.document(forKey: key) == (index < 6 ? index : index - 6), "\(key)")
            #expect(try merged.document(forKey: key) == index, "\(key)")
            #expect(try merged.document(forKey: "x" + key, external: true) == index, "\(key)")
        }
        for missing in ["0123456789abcdee", "0123456789abcdef-", "0123456789abcdef-3", "reuters-1", "1", "0123456789abcdefa"] {
            #expect(try merged.document(forKey: missing) == nil, "\(missing)")
        }
    }

    @Test func aCancelledMergeStopsWithCancellation() throws {
        let scratch = try ScratchDirectory()
        let (parts, _) = try SegmentTests.segmented(SegmentTests.corpus(200, seed: 2), sizes: [100, 100], directory: scratch.path)
        let segments = SegmentTests.segments(of: parts)
        let writer = try SegmentWriter(directory: scratch.path, name: "merged", columnCount: 1)
        var checks = 0
        #expect(throws: CancellationError.self) {
            try SegmentMerger.merge(segments, into: writer, isCancelled: { checks += 1; return checks > 10 })
        }
    }
}

@Suite struct IndexManifestTests {
    @Test func aManifestRoundTripsAndOrphansAreRemoved() throws {
        let scratch = try ScratchDirectory()
        #expect(try IndexManifest.read(directory: scratch.path) == nil)
        _ = try SegmentTests.segmented(SegmentTests.corpus(50, seed: 1), sizes: [20, 30], directory: scratch.path)
        let kept = try IndexSegment(directory: scratch.path, name: "s0").info
        let manifest = IndexManifest(nextSegment: 2, segments: [kept], data: ["appliedOffset": "20", "epoch": "e1"])
        try manifest.write(directory: scratch.path)
        _ = FileManager.default.createFile(atPath: scratch.path + "/manifest.tmp-1234", contents: Data([1, 2, 3]))
        #expect(try IndexManifest.read(directory: scratch.path) == manifest)
        let removed = manifest.removeUnreferencedFiles(directory: scratch.path)
        #expect(removed == (IndexFile.Kind.segmentFiles.map { "s1" + $0.suffix } + ["manifest.tmp-1234"]).sorted())
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
        #expect(left == (IndexFile.Kind.segmentFiles.map { "s0" + $0.suffix } + ["manifest"]).sorted())
        // A damaged manifest is refused, naming it.
        let path = scratch.path + "/manifest"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: DatelineStorageError.self) { _ = try IndexManifest.read(directory: scratch.path) }
        #expect(error?.code == .corrupt)
    }
}

@Suite("Document store")
struct DocumentStoreTests {
    /// News-like documents: sentences drawn from a small stock, so that a dictionary of the first ones helps.
    static func documents(_ count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SeededGenerator(state: seed)
        let stock = [
            "The company said on Tuesday that profits rose", "Shares closed higher in active trading",
            "Officials told Reuters the talks would resume", "The ministry said in a statement", "Analysts expect the central bank to cut rates",
            "Oil prices fell as supplies grew", "The agreement is subject to approval by shareholders",
        ]
        return (0..<count).map { number in
            Array(((0..<Int.random(in: 3...12, using: &random)).map { _ in stock.randomElement(using: &random)! } + ["number \(number)."]).joined(separator: ". ").utf8)
        }
    }

    static func write(_ documents: [[UInt8]], to path: String) throws {
        let writer = try DocumentStoreWriter(path: path)
        for document in documents { try writer.add(document) }
        try writer.finish()
    }

    /// A store of more than 64 KiB compresses its blocks with a dictionary of its first bytes, smaller than
    /// without one; a smaller store has none; every document reads back either way; a merge copies the blocks
    /// with their dictionaries, writing a dictionary two inputs share once.
    @Test func aStoreCompressesWithItsDictionaryAndAMergeKeepsIt() throws {
        let scratch = try ScratchDirectory()
        let large = Self.documents(600, seed: 1)
        let small = Self.documents(20, seed: 2)
        #expect(large.reduce(0) { $0 + $1.count } > DocumentStoreWriter.dictionaryThreshold)
        try Self.write(large, to: scratch.path + "/large")
        try Self.write(small, to: scratch.path + "/small")
        let largeStore = try DocumentStoreReader(try MappedIndexFile(path: scratch.path + "/large", kind: .store))
        let smallStore = try DocumentStoreReader(try MappedIndexFile(path: scratch.path + "/small", kind: .store))
        #expect(largeStore.dictionaryCount == 1 && smallStore.dictionaryCount == 0)
        for (index, document) in large.enumerated() { #expect(try largeStore.document(index) == document) }
        for (index, document) in small.enumerated() { #expect(try smallStore.document(index) == document) }
        // The same blocks without a dictionary take more room.
        var withDictionary = 0
        var without = 0
        for block in 0..<largeStore.blockCount {
            let (bytes, _, dictionary) = try largeStore.compressedBlock(block)
            #expect(dictionary.count == DocumentStoreWriter.dictionarySize)
            let raw = try DocumentStoreReader.inflate(
                UnsafeRawBufferPointer(rebasing: bytes[8...]), rawSize: Int(bytes.littleEndian(at: 0, as: UInt32.self)), dictionary: dictionary, block: block)
            withDictionary += bytes.count - 8
            without += DocumentStoreWriter.compress(raw, dictionary: []).count
        }
        #expect(Double(withDictionary) < 0.9 * Double(without), "\(withDictionary) bytes with the dictionary, \(without) without")
        // A merge of the large store twice and the small one: two dictionaries would be one.
        let merged = try DocumentStoreWriter(path: scratch.path + "/merged")
        for store in [largeStore, smallStore, largeStore] {
            for block in 0..<store.blockCount {
                let (bytes, documents, dictionary) = try store.compressedBlock(block)
                try merged.addCompressedBlock(bytes, documents: documents, dictionary: dictionary)
            }
        }
        try merged.finish()
        let mergedStore = try DocumentStoreReader(try MappedIndexFile(path: scratch.path + "/merged", kind: .store))
        #expect(mergedStore.dictionaryCount == 1 && mergedStore.count == 2 * large.count + small.count)
        for (index, document) in (large + small + large).enumerated() { #expect(try mergedStore.document(index) == document) }
    }

    /// A block that names a dictionary the store does not have, or inflates to another size, is an error.
    @Test func aDamagedStoreIsAnError() throws {
        let scratch = try ScratchDirectory()
        try Self.write(Self.documents(600, seed: 3), to: scratch.path + "/store")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: scratch.path + "/store")))
        // The payload's trailer: u64 dictionaries, u64 blocks, u64 documents, after one u64 dictionary offset and the
        // block index; the footer (16 bytes) follows the payload.
        let footer = 16
        let blocks = Int(bytes.withUnsafeBytes { $0.littleEndian(at: bytes.count - footer - 16, as: UInt64.self) })
        let index = bytes.count - footer - 24 - 8 - 16 * blocks
        bytes[index + 4] = 9  // the first block's dictionary number
        try Data(bytes).write(to: URL(fileURLWithPath: scratch.path + "/damaged"))
        let damaged = try DocumentStoreReader(try MappedIndexFile(path: scratch.path + "/damaged", kind: .store, verify: false))
        #expect(throws: IndexFormatError.self) { _ = try damaged.document(0) }
        #expect(try damaged.document(600 - 1).count > 0)  // another block reads
    }
}

@Suite("Inflated block cache")
struct InflatedBlockCacheTests {
    @Test func keepsTheMostRecentlyUsedBlocksWithinItsBytes() {
        let cache = InflatedBlockCache(capacity: 300)
        let key = { (store: UInt64, block: Int) in InflatedBlockCache.Key(store: store, block: block) }
        cache.insert([UInt8](repeating: 1, count: 100), for: key(1, 0))
        cache.insert([UInt8](repeating: 2, count: 100), for: key(1, 1))
        cache.insert([UInt8](repeating: 3, count: 100), for: key(2, 0))
        #expect(cache.byteCount == 300)
        #expect(cache.block(key(1, 0))?.first == 1)  // now the most recent
        cache.insert([UInt8](repeating: 4, count: 100), for: key(2, 1))  // evicts (1, 1), the least recent
        #expect(cache.byteCount == 300)
        #expect(cache.block(key(1, 1)) == nil)
        #expect(cache.block(key(1, 0))?.first == 1)
        #expect(cache.block(key(2, 0))?.first == 3)
        #expect(cache.block(key(2, 1))?.first == 4)
        cache.insert([UInt8](repeating: 5, count: 301), for: key(3, 0))  // larger than the cache: not kept
        #expect(cache.block(key(3, 0)) == nil)
        #expect(cache.byteCount == 300)
        cache.remove(store: 2)
        #expect(cache.byteCount == 100)
        #expect(cache.block(key(2, 0)) == nil && cache.block(key(1, 0)) != nil)
        cache.insert([UInt8](repeating: 6, count: 50), for: key(1, 0))  // replaced, not counted twice
        #expect(cache.byteCount == 50)
    }

    @Test func evictsExactlyAsALeastRecentlyUsedListWouldOverManyUses() {
        // Enough uses that the use records are compacted many times over, against a plain list kept in order.
        let cache = InflatedBlockCache(capacity: 1_000)
        var model: [(key: Int, size: Int)] = []  // least recent first
        var random = SeededGenerator(state: 0x1C0C_4E)
        for step in 0..<40_000 {
            let key = Int.random(in: 0..<(step % 3 == 0 ? 12 : 60), using: &random)
            let cacheKey = InflatedBlockCache.Key(store: 7, block: key)
            if Bool.random(using: &random) {
                let size = Int.random(in: 1...200, using: &random)
                cache.insert([UInt8](repeating: UInt8(truncatingIfNeeded: key), count: size), for: cacheKey)
                model.removeAll { $0.key == key }
                model.append((key, size))
                while model.reduce(0, { $0 + $1.size }) > 1_000 { model.removeFirst() }
            } else {
                let found = cache.block(cacheKey)
                if let index = model.firstIndex(where: { $0.key == key }) {
                    #expect(found?.count == model[index].size, "step \(step): block \(key)")
                    model.append(model.remove(at: index))
                } else {
                    #expect(found == nil, "step \(step): block \(key) should have been evicted")
                }
            }
            #expect(cache.byteCount == model.reduce(0) { $0 + $1.size })
        }
    }
}

@Suite("Postings format")
struct PostingsFormatTests {
    static func list(_ count: Int) -> PostingList {
        var list = PostingList()
        for index in 0..<count { list.append(document: UInt32(index * 3 + 1), title: [], body: [UInt32(index % 5)]) }
        return list
    }

    @Test func decodesWholeAndBelowALimitWithAndWithoutPositions() throws {
        let list = Self.list(300)
        var positions: [UInt8] = []
        let bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions)
        try bytes.withUnsafeBytes { postings in
            try positions.withUnsafeBytes { positionBytes in
                let whole = try PostingsFormat.decode(postings, offset: 0, count: 300, positionsOffset: 0, limit: .max, positions: positionBytes)
                #expect(whole == list)
                let plain = try PostingsFormat.decode(postings, offset: 0, count: 300, positionsOffset: 0, limit: .max, positions: nil)
                #expect(plain.documents == list.documents && plain.bodyFrequencies == list.bodyFrequencies && plain.positions.isEmpty)
                for limit: UInt32 in [0, 1, 2, 385, 386, 387, 899, 5_000] {
                    let cut = try PostingsFormat.decode(postings, offset: 0, count: 300, positionsOffset: 0, limit: limit, positions: nil)
                    #expect(cut.documents == list.documents.filter { $0 < limit }, "limit \(limit)")
                    #expect(cut.titleFrequencies.count == cut.documents.count && cut.bodyFrequencies.count == cut.documents.count)
                }
            }
        }
    }

    /// A block cursor finds exactly the documents of the decoded list below its limit, with their positions,
    /// whatever documents it is asked for (in increasing order, many skipping whole blocks).
    @Test func aBlockCursorFindsTheDecodedDocumentsAndPositions() throws {
        var random = SeededGenerator(state: 0xB10C)
        var list = PostingList()
        var document: UInt32 = 0
        for _ in 0..<1_000 {
            document += UInt32.random(in: 1...9, using: &random)
            let title = (0..<Int.random(in: 0...2, using: &random)).map { UInt32($0 * 3) }
            let body = (0..<Int.random(in: 0...4, using: &random)).map { UInt32($0 * 2 + 1) }
            list.append(document: document, title: title, body: body)
        }
        for checkpointLimit in [UInt64(PostingsFormat.positionsPastCheckpoint), 40] {  // 40: most chunks step over the earlier ones' positions
            try Self.checkCursor(list, random: &random, checkpointLimit: checkpointLimit)
        }
    }

    /// Columns with patches (``PatchedPacking``): a few far document gaps, titles on a few documents, a few long
    /// articles' body frequencies; the cursor decodes a chunk's values with the block's patches, and finds the
    /// same documents, frequencies and positions.
    @Test func aBlockCursorReadsPatchedColumns() throws {
        var random = SeededGenerator(state: 0x9A7C)
        var list = PostingList()
        var document: UInt32 = 0
        for index in 0..<1_000 {
            document += index % 41 == 7 ? UInt32.random(in: 5_000...90_000, using: &random) : UInt32.random(in: 1...3, using: &random)
            let title = index % 23 == 0 ? [UInt32(1)] : []
            let bodyCount = index % 57 == 3 ? 400 : Int.random(in: 1...2, using: &random)
            list.append(document: document, title: title, body: (0..<UInt32(bodyCount)).map { $0 * 3 + 2 })
        }
        var positions: [UInt8] = []
        let bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions)
        let blocks = (list.count + PostingsFormat.blockSize - 1) / PostingsFormat.blockSize
        let firstHead = bytes[1 + blocks * PostingsFormat.skipEntrySize]
        let titleHead = bytes[2 + blocks * PostingsFormat.skipEntrySize]
        #expect(firstHead & 0x80 != 0 && titleHead & 0xC0 == 0xC0, "a long head: document gaps and titles patched")
        for checkpointLimit in [UInt64(PostingsFormat.positionsPastCheckpoint), 40] {
            try Self.checkCursor(list, random: &random, checkpointLimit: checkpointLimit)
        }
    }

    /// The wide forms: blocks spanning more than 65,536 documents and chunks whose positions start 64 KB or more
    /// into their block (u32 checkpoints), frequencies of 2¹⁶ and more (their widths in a byte each), and skip
    /// entries with u64 positions offsets.
    @Test func aBlockCursorReadsTheWideForms() throws {
        var random = SeededGenerator(state: 0x31DE)
        var list = PostingList()
        var document: UInt32 = 0
        for index in 0..<700 {
            document += UInt32.random(in: 1...2_000, using: &random)
            let bodyCount = index == 200 ? 70_000 : (index % 97 == 0 ? 3_000 : Int.random(in: 1...4, using: &random))
            list.append(document: document, title: index == 500 ? Array(0..<UInt32(66_000)) : [], body: (0..<UInt32(bodyCount)).map { $0 * 2 })
        }
        var positions: [UInt8] = []
        let bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions, skipEntryLimit: 1_000)
        #expect(bytes[0] == UInt8(PostingsFormat.wideSkipEntrySize))
        try Self.checkCursor(list, random: &random, checkpointLimit: UInt64(PostingsFormat.positionsPastCheckpoint), skipEntryLimit: 1_000)
        try Self.checkCursor(list, random: &random, checkpointLimit: UInt64(PostingsFormat.positionsPastCheckpoint))
    }

    static func checkCursor(_ list: PostingList, random: inout SeededGenerator, checkpointLimit: UInt64, skipEntryLimit: UInt64 = UInt64(UInt32.max)) throws {
        let document = list.documents.last!
        var positions: [UInt8] = []
        let bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions, checkpointLimit: checkpointLimit, skipEntryLimit: skipEntryLimit)
        let held = Dictionary(uniqueKeysWithValues: list.documents.enumerated().map { ($1, $0) })
        // A walk through every document (a merge's) reads the same list, checkpoints without an offset included.
        let decoded = try bytes.withUnsafeBytes { postings in
            try positions.withUnsafeBytes { positionBytes in
                try PostingsFormat.decode(postings, offset: 0, count: list.count, positionsOffset: 0, limit: .max, positions: positionBytes)
            }
        }
        #expect(decoded == list)
        // Each block's last document, then its first: every seek lands on a block's edge.
        try bytes.withUnsafeBytes { postings in
            try positions.withUnsafeBytes { positionBytes in
                for edge in [PostingsFormat.blockSize - 1, 0] {
                    var cursor = try PostingsFormat.BlockCursor(postings, offset: 0, count: list.count, positionsOffset: 0, limit: .max, positions: positionBytes)
                    for start in stride(from: 0, to: list.count, by: PostingsFormat.blockSize) {
                        #expect(try cursor.seek(list.documents[min(list.count - 1, start + edge)]))
                    }
                }
            }
        }
        for limit in [UInt32.max, document / 2, 0] {
            try bytes.withUnsafeBytes { postings in
                try positions.withUnsafeBytes { positionBytes in
                    var cursor = try PostingsFormat.BlockCursor(postings, offset: 0, count: list.count, positionsOffset: 0, limit: limit, positions: positionBytes)
                    var target: UInt32 = 0
                    var buffer: [UInt32] = [7, 7, 7]
                    while target <= document + 5 {
                        let found = try cursor.seek(target)
                        let index = held[target]
                        #expect(found == (index != nil && target < limit), "document \(target) below \(limit)")
                        if found, let index, Bool.random(using: &random) {
                            let (title, body) = try cursor.positions(into: &buffer, at: 3)  // after whatever is there
                            let expected = list.positions(at: index)
                            #expect(buffer[title] == expected.title && buffer[body] == expected.body)
                        }
                        target += UInt32.random(in: 1...(Bool.random(using: &random) ? 3 : 400), using: &random)
                    }
                    #expect(try !cursor.seek(document + 6))
                    #expect(cursor.isExhausted == (limit == .max), "past the last document only an unlimited cursor runs out")
                    // Walked one document at a time (documents only), then each found again with its positions.
                    var walker = try PostingsFormat.BlockCursor(postings, offset: 0, count: list.count, positionsOffset: 0, limit: limit, positions: positionBytes)
                    var walked: [UInt32] = []
                    while let next = try walker.next() {
                        walked.append(next)
                        if walked.count % 97 == 1 {
                            #expect(try walker.seek(next))
                            let (title, body) = try walker.positions(into: &buffer, at: 0)
                            let expected = list.positions(at: held[next]!)
                            #expect(buffer[title] == expected.title && buffer[body] == expected.body)
                        }
                    }
                    #expect(walked == list.documents.filter { $0 < limit }, "below \(limit)")
                    #expect(try walker.next() == nil)
                    // A copy made mid-walk goes on on its own: the copies share their decoded block until one loads
                    // another, and neither sees the other's.
                    var original = try PostingsFormat.BlockCursor(postings, offset: 0, count: list.count, positionsOffset: 0, limit: limit, positions: positionBytes)
                    var fromOriginal: [UInt32] = []
                    for _ in 0..<(PostingsFormat.blockSize + 5) { if let next = try original.next() { fromOriginal.append(next) } }
                    var copy = original
                    var fromCopy = fromOriginal
                    while let next = try original.next() { fromOriginal.append(next) }
                    while let next = try copy.next() { fromCopy.append(next) }
                    #expect(fromOriginal == walked && fromCopy == walked, "below \(limit)")
                }
            }
        }
    }

    /// A chunk checkpoint that disagrees with its block is an error for a cursor that trusts it (its document) and
    /// for a walk through every document (its document and its positions offset, as a merge copies them).
    @Test func aCheckpointThatDisagreesWithItsBlockIsAnError() throws {
        let list = Self.list(300)
        var positions: [UInt8] = []
        let bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions)
        // The first block's first checkpoint, after the skip entries' size, the skip entries and the block's head: narrow
        // (u16 document, u16 positions offset), as the block spans fewer than 65,536 documents.
        let checkpoint = 1 + 3 * PostingsFormat.skipEntrySize + 2
        let lastOfFirstChunk = UInt16(list.documents[PostingsFormat.chunkSize - 1])
        #expect(bytes[checkpoint..<(checkpoint + 2)].elementsEqual(withUnsafeBytes(of: lastOfFirstChunk.littleEndian, Array.init)))
        for (byte, cursorNotices) in [(checkpoint, true), (checkpoint + 2, false)] {  // its document, its positions offset
            var damaged = bytes
            damaged[byte] &+= 1
            try damaged.withUnsafeBytes { postings in
                try positions.withUnsafeBytes { positionBytes in
                    #expect(throws: IndexFormatError.self) {
                        _ = try PostingsFormat.decode(postings, offset: 0, count: 300, positionsOffset: 0, limit: .max, positions: positionBytes)
                    }
                    var cursor = try PostingsFormat.BlockCursor(postings, offset: 0, count: 300, positionsOffset: 0, limit: .max, positions: positionBytes)
                    if cursorNotices {
                        #expect(throws: IndexFormatError.self) { _ = try cursor.seek(list.documents[PostingsFormat.chunkSize + 3]) }
                    } else {
                        #expect(try cursor.seek(list.documents[PostingsFormat.chunkSize + 3]))
                    }
                }
            }
        }
    }

    /// A skip entry (or a one-block term's last checkpoint) that disagrees with its block is an error.
    @Test(arguments: [300, 100]) func aSkipEntryThatDisagreesWithItsBlockIsAnError(count: Int) {
        let list = Self.list(count)
        var positions: [UInt8] = []
        var bytes = PostingsFormat.encode(list, positionsBase: 0, positions: &positions)
        // The first block's last document (a skip entry's u32, after the entries' size), or, in a one-block term,
        // which has no skip entry (its last document is read from its last chunk), the last (narrow) checkpoint's
        // document, after the block's two-byte head.
        #expect(bytes.count == Self.encodedSize(count), "\(bytes.count) bytes, \(Self.encodedSize(count)) expected")
        bytes[count > PostingsFormat.blockSize ? 1 : 2 + (PostingsFormat.chunks(count) - 2) * 4] &+= 1
        for withPositions in [false, true] {
            #expect(throws: IndexFormatError.self) {
                try bytes.withUnsafeBytes { postings in
                    try positions.withUnsafeBytes { positionBytes in
                        _ = try PostingsFormat.decode(postings, offset: 0, count: count, positionsOffset: 0, limit: .max, positions: withPositions ? positionBytes : nil)
                    }
                }
            }
            #expect(throws: IndexFormatError.self) {
                try bytes.withUnsafeBytes { postings in
                    try positions.withUnsafeBytes { positionBytes in
                        var cursor = try PostingsFormat.BlockCursor(postings, offset: 0, count: count, positionsOffset: 0, limit: .max, positions: positionBytes)
                        while try cursor.next() != nil {}
                    }
                }
            }
        }
    }

    /// What ``list(_:)``'s postings take: a one-block term no skip entry (else their size and 12-byte entries); each
    /// block a two-byte head, its narrow checkpoints (4 bytes) and three packed arrays (gaps of 1 or 2 at 2 bits,
    /// title frequencies 0 at 0 bits, body frequencies 1 at 1 bit).
    static func encodedSize(_ count: Int) -> Int {
        let blocks = (count + 127) / 128
        let head = blocks == 1 ? 0 : 1 + blocks * PostingsFormat.skipEntrySize
        var data = 0
        for block in 0..<blocks {
            let entries = min(128, count - block * 128)
            data += ((entries + 31) / 32 - 1) * 4
            data += 2 + (entries * 2 + 7) / 8 + (entries + 7) / 8
        }
        return head + data
    }
}
