import Foundation
import Testing

@testable import DatelineSearch

/// BM25 as its definition reads, computed from the documents' texts with none of the index's machinery (no
/// postings, no segments, no MaxScore, no leapfrogging), against which the index's scores are checked.
final class ReferenceScorer {
    struct Document {
        var title: [String]
        var body: [String]
        var titleCounts: [String: UInt32]
        var bodyCounts: [String: UInt32]
    }

    let documents: [Document]
    let parameters = BM25Parameters()
    /// Each key's frequencies over every document, found once.
    private var keys: [[String]: Key] = [:]

    init(_ documents: [IndexedDocument]) {
        let analyzer = Analyzer()
        self.documents = documents.map { document in
            let title = analyzer.terms(document.title)
            let body = analyzer.terms(document.body)
            return Document(
                title: title, body: body, titleCounts: title.reduce(into: [:]) { $0[$1, default: 0] += 1 },
                bodyCounts: body.reduce(into: [:]) { $0[$1, default: 0] += 1 })
        }
    }

    /// How often `words` occur consecutively in `field`.
    static func occurrences(of words: [String], in field: [String]) -> UInt32 {
        guard !words.isEmpty, field.count >= words.count else { return 0 }
        return UInt32((0...(field.count - words.count)).filter { Array(field[$0..<($0 + words.count)]) == words }.count)
    }

    /// A key's frequencies (title, body) in each document of the first `count` holding it.
    typealias Key = [Int: (title: UInt32, body: UInt32)]

    func key(_ words: [String], count: Int) -> Key {
        let whole: Key
        if let known = self.keys[words] {
            whole = known
        } else {
            var key: Key = [:]
            for (number, document) in self.documents.enumerated() {
                let title = words.count == 1 ? document.titleCounts[words[0], default: 0] : Self.occurrences(of: words, in: document.title)
                let body = words.count == 1 ? document.bodyCounts[words[0], default: 0] : Self.occurrences(of: words, in: document.body)
                if title + body > 0 { key[number] = (title, body) }
            }
            self.keys[words] = key
            whole = key
        }
        return whole.filter { $0.key < count }
    }

    /// A key and its words (one for a term; a phrase's IDF is the sum of its words', as Lucene's and Tantivy's).
    typealias WordsKey = (words: [String], key: Key)

    /// The documents among the first `count` matching `query`, and the keys that score them.
    func evaluate(_ query: SearchQuery, count: Int) -> (matched: Set<Int>, keys: [WordsKey]) {
        switch query {
        case .term(let term):
            let key = self.key([term], count: count)
            return (Set(key.keys), [([term], key)])
        case .phrase(let words):
            let key = self.key(words, count: count)
            return (Set(key.keys), [(words, key)])
        case .prefix(let prefix):
            let terms = Set(self.documents.prefix(count).flatMap { $0.title + $0.body }.filter { $0.hasPrefix(prefix) })
            let keys = terms.map { ([$0], self.key([$0], count: count)) }
            return (keys.reduce(into: Set<Int>()) { $0.formUnion($1.1.keys) }, keys)
        case .and(let parts):
            var matched = Set(0..<count)
            var keys: [WordsKey] = []
            for part in parts {
                if case .not(let inner) = part {
                    matched.subtract(self.evaluate(inner, count: count).matched)
                } else {
                    let evaluated = self.evaluate(part, count: count)
                    matched.formIntersection(evaluated.matched)
                    keys += evaluated.keys
                }
            }
            return (matched, keys)
        case .or(let parts):
            let evaluated = parts.map { self.evaluate($0, count: count) }
            return (evaluated.reduce(into: Set<Int>()) { $0.formUnion($1.matched) }, evaluated.flatMap(\.keys))
        case .not:
            return ([], [])
        }
    }

    /// Every match among the first `count` documents with its score, by document.
    func scores(_ query: SearchQuery, count: Int) -> [(document: UInt32, score: Double)] {
        let (matched, keys) = self.evaluate(query, count: count)
        let n = Double(count)
        let averageTitle = max(1, Double(self.documents.prefix(count).map(\.title.count).reduce(0, +)) / max(1, n))
        let averageBody = max(1, Double(self.documents.prefix(count).map(\.body.count).reduce(0, +)) / max(1, n))
        let (k1, b, weight) = (self.parameters.k1, self.parameters.b, self.parameters.titleWeight)
        func saturation(_ frequency: UInt32, _ length: Int, _ average: Double) -> Double {
            let f = Double(frequency)
            return f * (k1 + 1) / (f + k1 * (1 - b + b * Double(length) / average))
        }
        return matched.sorted().map { number in
            var score = 0.0
            for (words, key) in keys {
                guard let frequencies = key[number] else { continue }
                let idf = words.reduce(0.0) { sum, word in
                    let df = Double(self.key([word], count: count).count)
                    return sum + log(1 + (n - df + 0.5) / (df + 0.5))
                }
                let document = self.documents[number]
                score += idf * (weight * saturation(frequencies.title, document.title.count, averageTitle)
                    + saturation(frequencies.body, document.body.count, averageBody))
            }
            return (UInt32(number), score)
        }
    }
}

@Suite struct ReferenceScorerTests {
    /// Documents over a Zipf-like vocabulary: a few words everywhere, most rare, so that conjunctions pair a rare
    /// term with a common one (read only where the rare one is) and phrases repeat.
    static func corpus(_ count: Int, seed: UInt64) -> [IndexedDocument] {
        var random = SeededGenerator(state: seed)
        func word() -> String {
            let u = Double.random(in: 0..<1, using: &random)
            return "w\(min(199, Int(pow(200, u)) - 1))x"
        }
        return (0..<count).map { number in
            let title = (0..<Int.random(in: 0..<6, using: &random)).map { _ in word() }.joined(separator: " ")
            let body = (0..<Int.random(in: 3..<(number % 9 == 0 ? 400 : 60), using: &random)).map { _ in word() }.joined(separator: " ")
            return IndexedDocument(id: "r\(number)", title: title, body: body)
        }
    }

    static let queries = [
        "w0x", "w150x", "w0x w1x", "w150x w0x", "w0x w1x w2x w120x", "w3x OR w150x", "w2x -w0x", "w199x -w1x w0x",
        "\"w0x w0x\"", "\"w1x w0x\" w2x", "w1* OR w190x", "(w4x OR w40x) w0x", "w5x (w0x OR w1x)", "w0x \"w2x w1x\" w3x",
    ]

    /// Segments, a one-document segment and a buffer, searched as of several points (segments seen in part):
    /// the index's matches and scores are the reference's, and its top 10 are the reference's best 10.
    @Test func scoresAreTheDefinitionsOverSegmentsAndABuffer() throws {
        let documents = Self.corpus(1_200, seed: 5)
        let reference = ReferenceScorer(documents)
        let scratch = try ScratchDirectory()
        let reader = IndexReader(parts: try SegmentTests.segmented(documents, sizes: [500, 1, 300], directory: scratch.path).parts)
        for text in Self.queries {
            let query = try SearchQueryParser().parse(text)
            for asOf in [1, 250, 500, 501, 650, 1_200] {
                let expected = reference.scores(query, count: asOf)
                let actual = try reader.matches(query, documents: asOf)
                #expect(actual.map(\.document) == expected.map(\.document), "\(text) as of \(asOf)")
                for (a, e) in zip(actual, expected) where abs(a.score - e.score) > 1e-9 * max(1, abs(e.score)) {
                    Issue.record("\(text) as of \(asOf): document \(a.document) scored \(a.score), by definition \(e.score)")
                    break
                }
                let best = expected.sorted { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }.prefix(10)
                let top = try reader.topMatches(query, limit: 10, documents: asOf)
                #expect(top.total == expected.count)
                #expect(top.top.map(\.document) == best.map(\.document), "\(text) top 10 as of \(asOf)")
            }
        }
    }

    /// A search's filters reach its phrases: positions are read only for the documents they keep (the filter is
    /// asked about a phrase's candidates in each segment before the matches), and the page is the reference's
    /// best among the documents it keeps, scored as without the filter.
    @Test func filtersNarrowPhrasesBeforeTheirPositionsAreRead() throws {
        let documents = Self.corpus(1_200, seed: 11)
        let reference = ReferenceScorer(documents)
        let scratch = try ScratchDirectory()
        let reader = IndexReader(parts: try SegmentTests.segmented(documents, sizes: [500, 1, 300], directory: scratch.path).parts)
        final class Calls: @unchecked Sendable { var inputs: [[UInt32]] = [] }
        for text in ["\"w0x w0x\"", "\"w1x w0x\" w2x", "w0x \"w2x w1x\" w3x", "\"w2x w1x\" OR w150x", "w0x w1x"] {
            let query = try SearchQueryParser().parse(text)
            let calls = Calls()
            let keep = { (document: UInt32) in document % 3 != 1 }
            let top = try reader.topMatches(query, limit: 10, filter: { documents in
                calls.inputs.append(documents)
                return documents.filter(keep)
            })
            let expected = reference.scores(query, count: documents.count).filter { keep($0.document) }
            let best = expected.sorted { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }.prefix(10)
            #expect(top.total == expected.count, "\(text)")
            #expect(top.top.map(\.document) == best.map(\.document), "\(text)")
            for (a, e) in zip(top.top, best) { #expect(abs(a.score - e.score) <= 1e-9 * max(1, abs(e.score)), "\(text)") }
            let hasPhrase = text.contains("\"")
            #expect(hasPhrase ? calls.inputs.count > 1 : calls.inputs.count == 1, "\(text): \(calls.inputs.count) calls")
            // What the final call sees holds no segment's phrase candidate the filter refused before (documents
            // from 801 on are in the buffer, whose positions are in memory and read as they are).
            #expect(!hasPhrase || text.contains(" OR ") || calls.inputs.last!.filter { $0 < 801 }.allSatisfy(keep), "\(text)")
        }
    }
}
