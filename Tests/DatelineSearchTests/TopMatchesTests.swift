import Foundation
import DatelineSearch
import Testing

/// MaxScore top-k must return exactly what scoring every match and sorting returns.
@Suite struct TopMatchesTests {
    /// A deterministic corpus with a skewed vocabulary, so that some terms are rare and some are everywhere.
    nonisolated(unsafe) static let index: SearchIndex = {  // read-only once built
        let index = SearchIndex()
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let vocabulary = (0..<300).map { "word\($0)x" }
        func word() -> String {
            // Roughly Zipfian: small ranks far more often.
            let u = Double(next() % 1_000_000) / 1_000_000
            return vocabulary[min(vocabulary.count - 1, Int(pow(300, u)) - 1)]
        }
        for number in 0..<3_000 {
            let title = (0..<Int(next() % 6)).map { _ in word() }.joined(separator: " ")
            let body = (0..<(5 + Int(next() % 200))).map { _ in word() }.joined(separator: " ")
            index.add(IndexedDocument(id: "d\(number)", title: title, body: body))
        }
        return index
    }()

    static func reference(_ query: SearchQuery, limit: Int, after: (score: Double, document: UInt32)? = nil, include: (UInt32) -> Bool = { _ in true }) -> [(document: UInt32, score: Double)] {
        let all = index.matches(query).filter { include($0.document) }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }
        let eligible = after.map { after in all.filter { $0.score < after.score || ($0.score == after.score && $0.document > after.document) } } ?? all
        return Array(eligible.prefix(limit))
    }

    static let queries = [
        "word1x", "word250x", "word1x word2x", "word3x OR word150x", "word0x OR word1x OR word2x OR word299x",
        "word5x -word0x", "\"word1x word2x\"", "word1* OR word200x", "(word4x OR word40x) word0x", "word7x OR \"word0x word0x\"",
        "word299x OR word298x OR word0x", "word10x word20x word30x",
    ]

    @Test(arguments: queries)
    func sameTopTenAsScoringEverything(text: String) throws {
        let query = try SearchQueryParser().parse(text)
        for limit in [1, 10, 50] {
            let fast = Self.index.topMatches(query, limit: limit)
            let slow = Self.reference(query, limit: limit)
            #expect(fast.top.map(\.document) == slow.map(\.document), "\(text) top \(limit)")
            for (a, b) in zip(fast.top, slow) { #expect(abs(a.score - b.score) < 1e-9) }
            #expect(fast.total == Self.index.matches(query).count)
        }
    }

    /// Phrases over a tiny vocabulary (so words repeat and overlap, "a a a"): the documents matched are exactly
    /// those whose title or body holds the words consecutively, counted from the text.
    @Test func phrasesMatchExactlyTheDocumentsWhoseTextHoldsThem() throws {
        let index = SearchIndex()
        var state: UInt64 = 7
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        let common = ["ax", "bx", "cx", "dx"]
        // A rare word too, so that phrases led by it seek the common words' postings across blocks.
        let vocabulary = common + [String](repeating: "ax", count: 35) + common + ["zx"]
        var texts: [(title: [String], body: [String])] = []
        var documents: [IndexedDocument] = []
        for number in 0..<600 {
            // Some bodies long enough to span position blocks, so positions are found past other documents'.
            let title = (0..<(next() % 5)).map { _ in vocabulary[next() % vocabulary.count] }
            let body = (0..<(next() % (number % 7 == 0 ? 300 : 30))).map { _ in vocabulary[next() % vocabulary.count] }
            texts.append((title, body))
            documents.append(IndexedDocument(id: "p\(number)", title: title.joined(separator: " "), body: body.joined(separator: " ")))
            index.add(documents.last!)
        }
        // The same documents in segments (positions read only for the documents every term holds) and a buffer.
        let scratch = try ScratchDirectory()
        let segmented = IndexReader(parts: try SegmentTests.segmented(documents, sizes: [290, 200], directory: scratch.path).parts)
        func occurs(_ phrase: [String], in words: [String]) -> Bool {
            words.count >= phrase.count && (0...(words.count - phrase.count)).contains { Array(words[$0..<($0 + phrase.count)]) == phrase }
        }
        for phrase in [["ax", "bx"], ["ax", "ax"], ["ax", "ax", "ax"], ["cx", "dx", "ax"], ["dx", "cx", "bx", "ax"], ["zx", "ax"], ["bx", "zx"], ["zx", "ax", "ax"]] {
            let query = try SearchQueryParser().parse("\"" + phrase.joined(separator: " ") + "\"")
            let expected = texts.indices.filter { occurs(phrase, in: texts[$0].title) || occurs(phrase, in: texts[$0].body) }.map(UInt32.init)
            #expect(index.matches(query).map(\.document).sorted() == expected, "\(phrase)")
            let inSegments = try segmented.matches(query)
            #expect(inSegments.map(\.document).sorted() == expected, "\(phrase) in segments")
            let scores = Dictionary(uniqueKeysWithValues: index.matches(query).map { ($0.document, $0.score) })
            for match in inSegments { #expect(abs(match.score - scores[match.document]!) <= 1e-9 * max(1, match.score)) }
            #expect(!expected.isEmpty)
        }
    }

    @Test func filtersAndPagesAgree() throws {
        let query = try SearchQueryParser().parse("word0x OR word1x OR word77x")
        let even: (UInt32) -> Bool = { $0 % 2 == 0 }
        let first = Self.index.topMatches(query, limit: 10, include: even)
        #expect(first.top.map(\.document) == Self.reference(query, limit: 10, include: even).map(\.document))
        let last = try #require(first.top.last)
        let second = Self.index.topMatches(query, limit: 10, after: (last.score, last.document), include: even)
        #expect(second.top.map(\.document) == Self.reference(query, limit: 10, after: (last.score, last.document), include: even).map(\.document))
        #expect(Set(first.top.map(\.document)).isDisjoint(with: second.top.map(\.document)))
    }

    @Test func skipsDocumentsThatCannotWin() throws {
        // A rare term OR a term in almost every document: most documents hold only the common term and cannot
        // reach the top ten once it is full.
        let query = try SearchQueryParser().parse("word250x OR word0x")
        let result = Self.index.topMatches(query, limit: 10)
        let matches = Self.index.matches(query).count
        print("MaxScore scored \(result.scored) of \(matches) matching documents")
        #expect(result.scored < matches)
    }
}
