import Testing

@testable import DatelineSearch

/// An in-memory index's compact postings read back exactly as appended, below any limit, with or without positions.
@Suite("Compact in-memory postings")
struct BufferPostingsTests {
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func postingsReadBackAsAppendedBelowAnyLimit(seed: UInt64) {
        var random = SeededGenerator(state: seed)
        var postings = BufferPostings()
        var expected = PostingList()
        var document: UInt32 = UInt32.random(in: 0..<3, using: &random)
        for _ in 0..<Int.random(in: 1..<400, using: &random) {
            // Gaps and positions of every size a varint takes: 1, 2, 3 and 5 bytes.
            let width = [UInt32(100), 20_000, 2_000_000, UInt32.max / 4].randomElement(using: &random)!
            func positions(_ count: Int) -> [UInt32] {
                var values = Set<UInt32>()
                while values.count < count { values.insert(UInt32.random(in: 0...width, using: &random)) }
                return values.sorted()
            }
            let title = positions(Int.random(in: 0..<4, using: &random))
            let body = positions(Int.random(in: title.isEmpty ? 1..<20 : 0..<20, using: &random))
            postings.append(document: document, titleCount: title.count, bodyCount: body.count, positions: ArraySlice(title + body))
            expected.append(document: document, title: title, body: body)
            document += UInt32.random(in: 1...min(width, 1_000_000), using: &random)
        }
        #expect(postings.count == expected.count)
        #expect(postings.lastDocument == expected.documents.last)
        #expect(postings.decoded(below: .max, positions: true) == expected)
        for _ in 0..<20 {
            let limit = UInt32.random(in: 0...(document + 1), using: &random)
            let below = expected.documents.firstIndex { $0 >= limit } ?? expected.count
            var truncated = PostingList()
            for index in 0..<below {
                let (title, body) = expected.positions(at: index)
                truncated.append(document: expected.documents[index], title: title, body: body)
            }
            #expect(postings.decoded(below: limit, positions: true) == truncated)
            var withoutPositions = truncated
            withoutPositions.positions = []
            withoutPositions.positionStarts = []
            #expect(postings.decoded(below: limit, positions: false) == withoutPositions)
            #expect(postings.count(below: limit) == below)
        }
    }

    @Test func anEmptyListDecodesEmpty() {
        let postings = BufferPostings()
        #expect(postings.decoded(below: .max, positions: true) == PostingList())
        #expect(postings.count(below: 10) == 0)
    }
}
