import Foundation

/// BM25 parameters.
public struct BM25Parameters: Sendable, Hashable {
    /// Term-frequency saturation. Default: 1.2.
    public var k1: Double
    /// Length normalisation. Default: 0.75.
    public var b: Double
    /// How much more a title match counts than a body match. Default: 2.
    public var titleWeight: Double

    public init(k1: Double = 1.2, b: Double = 0.75, titleWeight: Double = 2) {
        self.k1 = k1
        self.b = b
        self.titleWeight = titleWeight
    }
}

/// A document as the index sees it.
public struct IndexedDocument: Sendable, Hashable {
    public var id: String
    public var title: String
    public var body: String

    public init(id: String, title: String, body: String) {
        self.id = id
        self.title = title
        self.body = body
    }
}

/// One ranked result.
public struct SearchIndexHit: Sendable, Hashable {
    public var id: String
    public var score: Double
    /// Body passages with the matched words between `[[` and `]]`.
    public var snippets: [String]
}

/// An in-memory positional inverted index over a title and a body field, ranked with BM25.
///
/// Not thread-safe: the query service owns one and serialises writes against reads.
public final class SearchIndex {
    enum Field: Int { case title = 0, body = 1 }

    /// Where a term occurs in one document: its positions in each field.
    struct Occurrence {
        var document: UInt32
        var title: [UInt32]
        var body: [UInt32]
    }

    public let analyzer: Analyzer
    public var parameters: BM25Parameters
    var documents: [IndexedDocument] = []
    var titleLengths: [UInt32] = []
    var bodyLengths: [UInt32] = []
    /// Running totals of field lengths: entry i is the sum over documents 0..<i (for point-in-time statistics).
    var titleLengthTotals: [Int] = [0]
    var bodyLengthTotals: [Int] = [0]
    /// Term → id; postings and term texts are arrays indexed by id.
    var termIDs: [String: UInt32] = [:]
    var terms: [String] = []
    var postingLists: [[Occurrence]] = []
    var byID: [String: UInt32] = [:]
    /// Folded word (abbreviations marked with a leading \u{1}) → term id: one lookup per token when indexing.
    private var wordIDs: [String: UInt32] = [:]

    public init(analyzer: Analyzer = Analyzer(), parameters: BM25Parameters = BM25Parameters()) {
        self.analyzer = analyzer
        self.parameters = parameters
    }

    public var count: Int { self.documents.count }
    public var termCount: Int { self.terms.count }

    private func termID(_ term: String) -> UInt32 {
        if let id = self.termIDs[term] { return id }
        let id = UInt32(self.terms.count)
        self.termIDs[term] = id
        self.terms.append(term)
        self.postingLists.append([])
        return id
    }

    /// The term ids of `text`'s tokens, in order.
    private func termIDs(of text: String) -> [UInt32] {
        var ids: [UInt32] = []
        self.analyzer.forEachWord(text) { word, isAbbreviation, _ in
            let key = isAbbreviation ? "\u{1}" + word : word
            if let id = self.wordIDs[key] {
                ids.append(id)
                return
            }
            let term = self.analyzer.stems && !isAbbreviation ? PorterStemmer.stem(word) : word
            let id = self.termID(term)
            if self.wordIDs.count < 2_000_000 { self.wordIDs[key] = id }
            ids.append(id)
        }
        return ids
    }

    /// Adds a document; a document with an id already indexed is ignored (and false returned).
    @discardableResult
    public func add(_ document: IndexedDocument) -> Bool {
        guard self.byID[document.id] == nil else { return false }
        let number = UInt32(self.documents.count)
        self.byID[document.id] = number
        self.documents.append(document)
        let title = self.termIDs(of: document.title)
        let body = self.termIDs(of: document.body)
        self.titleLengths.append(UInt32(title.count))
        self.bodyLengths.append(UInt32(body.count))
        self.titleLengthTotals.append(self.titleLengthTotals.last! + title.count)
        self.bodyLengthTotals.append(self.bodyLengthTotals.last! + body.count)
        // This document's occurrences, one per distinct term, in first-seen order.
        var slot: [UInt32: Int] = [:]
        slot.reserveCapacity(body.count / 2 + title.count)
        var occurrences: [(term: UInt32, occurrence: Occurrence)] = []
        for (position, id) in title.enumerated() {
            let index = slot[id] ?? { slot[id] = occurrences.count; occurrences.append((id, Occurrence(document: number, title: [], body: []))); return occurrences.count - 1 }()
            occurrences[index].occurrence.title.append(UInt32(position))
        }
        for (position, id) in body.enumerated() {
            let index = slot[id] ?? { slot[id] = occurrences.count; occurrences.append((id, Occurrence(document: number, title: [], body: []))); return occurrences.count - 1 }()
            occurrences[index].occurrence.body.append(UInt32(position))
        }
        for (id, occurrence) in occurrences { self.postingLists[Int(id)].append(occurrence) }
        return true
    }

    // MARK: Matching

    /// Per matching document, the positive term matches that contribute to its score: (term key, title
    /// frequency, body frequency, document frequency).
    typealias Matches = [UInt32: [String: (title: Int, body: Int)]]

    /// The documents matching `query`, with the frequencies BM25 needs, and each scored key's document frequency.
    func evaluate(_ query: SearchQuery, documents limit: Int? = nil) -> (matches: Matches, documentFrequency: [String: Int]) {
        var frequencies: [String: Int] = [:]
        let matches = self.evaluate(query, limit: UInt32(limit ?? self.documents.count), frequencies: &frequencies)
        return (matches, frequencies)
    }

    /// The postings of `term` among the first `limit` documents (postings are in document order).
    private func postings(_ term: String, limit: UInt32) -> ArraySlice<Occurrence> {
        guard let id = self.termIDs[term] else { return [] }
        let list = self.postingLists[Int(id)]
        guard let last = list.last, last.document >= limit else { return list[...] }
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].document < limit { low = middle + 1 } else { high = middle }
        }
        return list[..<low]
    }

    private func evaluate(_ query: SearchQuery, limit: UInt32, frequencies: inout [String: Int]) -> Matches {
        switch query {
        case .term(let term):
            let list = self.postings(term, limit: limit)
            frequencies[term] = list.count
            var matches: Matches = [:]
            for occurrence in list { matches[occurrence.document] = [term: (occurrence.title.count, occurrence.body.count)] }
            return matches
        case .prefix(let prefix):
            var matches: Matches = [:]
            for term in self.terms where term.hasPrefix(prefix) {
                let list = self.postings(term, limit: limit)
                guard !list.isEmpty else { continue }
                frequencies[term] = list.count
                for occurrence in list { matches[occurrence.document, default: [:]][term] = (occurrence.title.count, occurrence.body.count) }
            }
            return matches
        case .phrase(let terms):
            let key = "\"" + terms.joined(separator: " ") + "\""
            var matches: Matches = [:]
            let first = self.postings(terms[0], limit: limit)
            let others = terms.dropFirst().map { term in
                Dictionary(uniqueKeysWithValues: self.postings(term, limit: limit).map { ($0.document, $0) })
            }
            for occurrence in first {
                let rest = others.map { $0[occurrence.document] }
                guard rest.allSatisfy({ $0 != nil }) else { continue }
                func count(_ positions: [UInt32], _ restPositions: [[UInt32]]) -> Int {
                    let sets = restPositions.map(Set.init)
                    return positions.filter { start in
                        sets.enumerated().allSatisfy { offset, set in set.contains(start + UInt32(offset + 1)) }
                    }.count
                }
                let title = count(occurrence.title, rest.map { $0!.title })
                let body = count(occurrence.body, rest.map { $0!.body })
                if title + body > 0 { matches[occurrence.document] = [key: (title, body)] }
            }
            frequencies[key] = matches.count
            return matches
        case .and(let parts):
            let positives = parts.filter { if case .not = $0 { return false } else { return true } }
            let negatives = parts.compactMap { part -> SearchQuery? in if case .not(let inner) = part { return inner } else { return nil } }
            var result: Matches?
            for part in positives {
                let matches = self.evaluate(part, limit: limit, frequencies: &frequencies)
                guard let current = result else { result = matches; continue }
                var merged: Matches = [:]
                for (document, terms) in current {
                    if let more = matches[document] { merged[document] = terms.merging(more) { a, _ in a } }
                }
                result = merged
            }
            var remaining = result ?? [:]
            for negative in negatives {
                var ignored: [String: Int] = [:]
                for document in self.evaluate(negative, limit: limit, frequencies: &ignored).keys { remaining[document] = nil }
            }
            return remaining
        case .or(let parts):
            var result: Matches = [:]
            for part in parts {
                for (document, terms) in self.evaluate(part, limit: limit, frequencies: &frequencies) {
                    result[document, default: [:]].merge(terms) { a, _ in a }
                }
            }
            return result
        case .not:
            return [:]  // a bare NOT matches nothing by itself (the parser refuses such queries)
        }
    }

    // MARK: Scoring

    /// Lucene's BM25 IDF: ln(1 + (N − df + 0.5) / (df + 0.5)).
    func inverseDocumentFrequency(_ documentFrequency: Int, documents: Int) -> Double {
        let n = Double(documents)
        let df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }

    func score(document: UInt32, terms: [String: (title: Int, body: Int)], documentFrequency: [String: Int], documents limit: Int) -> Double {
        let p = self.parameters
        let count = Double(max(1, limit))
        let averageTitle = max(1, Double(self.titleLengthTotals[limit]) / count)
        let averageBody = max(1, Double(self.bodyLengthTotals[limit]) / count)
        func saturate(_ tf: Int, _ length: UInt32, _ average: Double) -> Double {
            guard tf > 0 else { return 0 }
            let tf = Double(tf)
            return tf * (p.k1 + 1) / (tf + p.k1 * (1 - p.b + p.b * Double(length) / average))
        }
        var score = 0.0
        for (key, tf) in terms {
            let idf = self.inverseDocumentFrequency(documentFrequency[key] ?? 0, documents: limit)
            score += idf * (p.titleWeight * saturate(tf.title, self.titleLengths[Int(document)], averageTitle)
                + saturate(tf.body, self.bodyLengths[Int(document)], averageBody))
        }
        return score
    }

    /// Every document matching `query`, with its BM25 score, in no particular order.
    ///
    /// - Parameter documents: Consider only the first this many documents, with the collection statistics
    ///   (document count, frequencies, average lengths) as they were then: a point-in-time view, so that later
    ///   pages of a result rank exactly like its first. Default: all.
    public func matches(_ query: SearchQuery, documents: Int? = nil) -> [(document: UInt32, score: Double)] {
        let limit = min(documents ?? self.documents.count, self.documents.count)
        let (matches, frequencies) = self.evaluate(query, documents: limit)
        return matches.map { ($0.key, self.score(document: $0.key, terms: $0.value, documentFrequency: frequencies, documents: limit)) }
    }

    /// Highlighted passages of document `number`'s body for `query`.
    public func snippets(of number: UInt32, for query: SearchQuery, limit: Int = 3) -> [String] {
        Snippets.make(self.documents[Int(number)].body, terms: Self.positiveTerms(query), analyzer: self.analyzer, limit: limit)
    }

    /// A rough size of the postings in memory, in bytes.
    public var estimatedBytes: Int {
        zip(self.terms, self.postingLists).reduce(0) { total, entry in
            total + entry.0.utf8.count + 64 + entry.1.reduce(0) { $0 + 40 + 4 * ($1.title.count + $1.body.count) }
        } + self.wordIDs.count * 40
    }

    /// The `limit` best matches of `query` (ties broken by insertion order), with their total.
    public func search(_ query: SearchQuery, limit: Int = 10, snippets snippetCount: Int = 3) -> (total: Int, hits: [SearchIndexHit]) {
        var scored = self.matches(query)
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }
        let highlightTerms = Self.positiveTerms(query)
        let hits = scored.prefix(limit).map { entry in
            let document = self.documents[Int(entry.document)]
            return SearchIndexHit(
                id: document.id,
                score: entry.score,
                snippets: Snippets.make(document.body, terms: highlightTerms, analyzer: self.analyzer, limit: snippetCount)
            )
        }
        return (scored.count, hits)
    }

    /// The terms (and prefixes, marked with a trailing `*`) a result is highlighted for.
    static func positiveTerms(_ query: SearchQuery) -> Set<String> {
        switch query {
        case .term(let term): [term]
        case .phrase(let terms): Set(terms)
        case .prefix(let prefix): [prefix + "*"]
        case .and(let parts), .or(let parts): parts.reduce(into: Set<String>()) { $0.formUnion(positiveTerms($1)) }
        case .not: []
        }
    }
}

/// Picks the passages of a body that show why it matched, with the matched words marked `[[...]]`.
enum Snippets {
    static let width = 180

    static func make(_ body: String, terms: Set<String>, analyzer: Analyzer, limit: Int) -> [String] {
        guard limit > 0, !terms.isEmpty else { return [] }
        let prefixes = terms.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
        let bytes = Array(body.utf8)
        // Matching tokens, by UTF-8 range, with the term each matched.
        let unstemmed = Analyzer(stems: false)
        var matched: [(range: Range<Int>, term: String)] = []
        for (token, plainToken) in zip(analyzer.tokens(body), unstemmed.tokens(body)) {
            if terms.contains(token.term) {
                matched.append((token.range, token.term))
            } else if let prefix = prefixes.first(where: { plainToken.term.hasPrefix($0) }) {
                matched.append((token.range, prefix + "*"))
            }
        }
        guard !matched.isEmpty else { return [] }
        // First windows that show terms not shown yet, then any others; never overlapping.
        var windows: [Range<Int>] = []
        var shown = Set<String>()
        for preferNew in [true, false] {
            for match in matched where windows.count < limit {
                if preferNew, shown.contains(match.term) { continue }
                guard !windows.contains(where: { $0.contains(match.range.lowerBound) }) else { continue }
                var start = max(0, match.range.lowerBound - self.width / 3)
                var end = min(bytes.count, start + self.width)
                // Snap to word boundaries (which are also whole UTF-8 scalars).
                while start > 0, start < bytes.count, bytes[start] != 0x20 && bytes[start] != 0x0A { start -= 1 }
                while end < bytes.count, bytes[end] != 0x20 && bytes[end] != 0x0A { end += 1 }
                if let overlapping = windows.firstIndex(where: { $0.overlaps(start..<end) }) {
                    start = max(start, windows[overlapping].upperBound)
                    guard start < match.range.lowerBound else { continue }
                }
                windows.append(start..<end)
                for other in matched where (start..<end).contains(other.range.lowerBound) { shown.insert(other.term) }
            }
        }
        var snippets: [String] = []
        for window in windows {  // in the order chosen: passages with new terms first
            var text = ""
            var cursor = window.lowerBound
            for hit in matched where hit.range.lowerBound >= window.lowerBound && hit.range.upperBound <= window.upperBound {
                text += String(decoding: bytes[cursor..<hit.range.lowerBound], as: UTF8.self)
                text += "[[" + String(decoding: bytes[hit.range], as: UTF8.self) + "]]"
                cursor = hit.range.upperBound
            }
            text += String(decoding: bytes[cursor..<window.upperBound], as: UTF8.self)
            let collapsed = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            snippets.append((window.lowerBound > 0 ? "… " : "") + collapsed + (window.upperBound < bytes.count ? " …" : ""))
        }
        return snippets
    }
}
