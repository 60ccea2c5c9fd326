import Testing

@testable import DatelineSearch

/// A chunk's positions (``PositionsChunk``): each of its three forms written when it should be, and every document's
/// positions read back alone and all together.
@Suite("Positions chunks")
struct PositionsChunkTests {
    /// A chunk of documents: per document its title positions and its body positions.
    typealias Chunk = [(title: [UInt32], body: [UInt32])]

    static func encode(_ chunk: Chunk) -> [UInt8] {
        var output: [UInt8] = [9, 9]  // another chunk's bytes before this one's
        var scratch: (firsts: [UInt32], rest: [UInt32]) = ([], [])
        PositionsChunk.encode(
            titles: chunk.map { UInt32($0.title.count) }[...], bodies: chunk.map { UInt32($0.body.count) }[...],
            positions: chunk.flatMap { $0.title + $0.body }, scratch: &scratch, into: &output
        )
        return output
    }

    /// Reads every document of `chunk` back from `bytes` alone, then all at once; returns the chunk's layout.
    @discardableResult
    static func readBack(_ chunk: Chunk, from bytes: [UInt8]) throws -> PositionsChunk.Layout {
        let titles = chunk.map { UInt32($0.title.count) }
        let bodies = chunk.map { UInt32($0.body.count) }
        return try bytes.withUnsafeBytes { bytes in
            try titles.withUnsafeBufferPointer { titles in
                try bodies.withUnsafeBufferPointer { bodies in
                    let layout = try PositionsChunk.Layout(bytes, at: 2, titles: titles.baseAddress!, bodies: bodies.baseAddress!, count: chunk.count, needsEnd: true)
                    #expect(layout.end == bytes.count)
                    // Each document alone (from the chunk's start), and every other one reading on from the last.
                    var readOn = layout.startPosition
                    for (entry, document) in chunk.enumerated() {
                        for reading in [0, 1] where reading == 0 || entry % 2 == 1 {
                            var output = [UInt32](repeating: 7, count: 1 + document.title.count + document.body.count)
                            var position = reading == 0 ? layout.startPosition : readOn
                            try output.withUnsafeMutableBufferPointer { output in
                                try layout.decode(
                                    bytes, entry: entry, titles: titles.baseAddress!, bodies: bodies.baseAddress!, from: &position, into: output, at: 1
                                )
                            }
                            if reading == 1 { readOn = position }
                            #expect(position.entry == entry + 1)
                            #expect(output == [7] + document.title + document.body, "document \(entry)")
                        }
                    }
                    var all: [UInt32] = []
                    try layout.decodeAll(bytes, titles: titles.baseAddress!, bodies: bodies.baseAddress!, count: chunk.count, into: &all)
                    #expect(all == chunk.flatMap { $0.title + $0.body })
                    return layout
                }
            }
        }
    }

    static func varints(_ chunk: Chunk) -> [UInt8] {
        var output: [UInt8] = []
        for document in chunk {
            for list in [document.title, document.body] {
                var previous: UInt32 = 0
                for position in list {
                    output.appendVarUInt(UInt64(position - previous))
                    previous = position
                }
            }
        }
        return output
    }

    @Test func aChunkOfTwoValuesOrFewerIsPlainVarints() throws {
        for chunk: Chunk in [[([], [300])], [([0], [4_000])], [([], [1]), ([], [200])]] {
            let bytes = Self.encode(chunk)
            #expect(Array(bytes.dropFirst(2)) == Self.varints(chunk))
            #expect(try Self.readBack(chunk, from: bytes).packed == nil)
        }
    }

    @Test func firstPositionsAndGapsArePackedApartAndSmallerThanVarints() throws {
        // 32 documents, each with the term once or twice in a body of a few hundred words and now and then in its
        // title: first positions need 9 bits, gaps after them 5.
        var random = SeededGenerator(state: 11)
        let chunk: Chunk = (0..<32).map { index in
            let first = UInt32.random(in: 0..<500, using: &random)
            let body = Bool.random(using: &random) ? [first] : [first, first + UInt32.random(in: 1..<32, using: &random)]
            return (index % 5 == 0 ? [UInt32(index % 7)] : [], body)
        }
        let bytes = Self.encode(chunk)
        #expect(bytes[2] == UInt8(9 | 5 << 4))
        #expect(bytes.count - 2 < Self.varints(chunk).count * 3 / 4)
        let layout = try Self.readBack(chunk, from: bytes)
        #expect(layout.packed?.firstWidth == 9 && layout.packed?.restWidth == 5)
    }

    @Test func valuesTooWideToPackAreVarintsBehindTheirHead() throws {
        let chunk: Chunk = [([], [1, 2, 3]), ([], [5, 70_000])]  // a gap of 2¹⁵ or more
        let bytes = Self.encode(chunk)
        #expect(bytes[2] == PositionsChunk.varintHead)
        #expect(Array(bytes.dropFirst(3)) == Self.varints(chunk))
        #expect(try Self.readBack(chunk, from: bytes).packed == nil)
        // And where packing would not be smaller: three lone first positions below 128 take a byte each either way.
        let small: Chunk = [([], [3]), ([], [100]), ([], [127])]
        let smallBytes = Self.encode(small)
        #expect(smallBytes[2] == PositionsChunk.varintHead)
        try Self.readBack(small, from: smallBytes)
    }

    @Test func randomChunksRoundTrip() throws {
        var random = SeededGenerator(state: 5)
        for round in 0..<300 {
            let documents = Int.random(in: 1...32, using: &random)
            let spread = [4, 200, 5_000, 40_000][round % 4]
            let chunk: Chunk = (0..<documents).map { _ in
                func list(_ count: Int) -> [UInt32] { (0..<count).map { _ in UInt32.random(in: 0..<UInt32(spread), using: &random) }.sorted().reduce(into: []) { if $0.last != $1 { $0.append($1) } } }
                let title = list(Int.random(in: 0...2, using: &random))
                let body = list(Int.random(in: title.isEmpty ? 1...6 : 0...6, using: &random))
                return (title, body)
            }
            try Self.readBack(chunk, from: Self.encode(chunk))
        }
    }

    @Test func aPackedChunkCutShortIsAnError() throws {
        let chunk: Chunk = (0..<8).map { _ in ([], [10, 20, 30]) }
        let bytes = Self.encode(chunk)
        #expect(bytes[2] != PositionsChunk.varintHead)
        let cut = Array(bytes.dropLast())
        let counts = [UInt32](repeating: 0, count: 8), bodies = [UInt32](repeating: 3, count: 8)
        #expect(throws: IndexFormatError.self) {
            try cut.withUnsafeBytes { bytes in
                try counts.withUnsafeBufferPointer { titles in
                    try bodies.withUnsafeBufferPointer { bodies in
                        _ = try PositionsChunk.Layout(bytes, at: 2, titles: titles.baseAddress!, bodies: bodies.baseAddress!, count: 8)
                    }
                }
            }
        }
    }
}
