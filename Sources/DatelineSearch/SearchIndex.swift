import Foundation
import Synchronization

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
/// Searches (``matches(_:documents:)``, ``snippets(of:for:limit:)``) may run concurrently with each other;
/// ``add(_:)`` must not run concurrently with anything. The query service guards it with a reader-writer lock.
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
    /// Each body's token ranges (UTF-8 offsets), by position: snippets come from postings, without re-tokenizing.
    var bodyTokenRanges: [[Range<UInt32>]] = []
    /// Scratch space for scoring, one per concurrent search, reused from a pool.
    private let scratchPool = Mutex<[ScoringScratch]>([])
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
    private func termIDs(of text: String, ranges: UnsafeMutablePointer<[Range<UInt32>]>? = nil) -> [UInt32] {
        var ids: [UInt32] = []
        self.analyzer.forEachWord(text) { word, isAbbreviation, range in
            ranges?.pointee.append(UInt32(range.lowerBound)..<UInt32(range.upperBound))
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
        var ranges: [Range<UInt32>] = []
        let body = withUnsafeMutablePointer(to: &ranges) { self.termIDs(of: document.body, ranges: $0) }
        self.bodyTokenRanges.append(ranges)
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

    /// A key that contributes to scores (a term, a phrase, or one term of a prefix), with its matching documents
    /// in order and their frequencies in each field.
    struct ScoredKey {
        var documents: [UInt32] = []
        var title: [Int32] = []
        var body: [Int32] = []

        /// The highest frequencies in each field, for score upper bounds.
        var maximumTitle: Int32 { self.title.max() ?? 0 }
        var maximumBody: Int32 { self.body.max() ?? 0 }
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

    private func key(_ postings: ArraySlice<Occurrence>) -> ScoredKey {
        var key = ScoredKey()
        key.documents.reserveCapacity(postings.count)
        key.title.reserveCapacity(postings.count)
        key.body.reserveCapacity(postings.count)
        for occurrence in postings {
            key.documents.append(occurrence.document)
            key.title.append(Int32(occurrence.title.count))
            key.body.append(Int32(occurrence.body.count))
        }
        return key
    }

    /// The sorted documents matching `query` among the first `limit`; the keys that score them go to `keys`.
    private func evaluate(_ query: SearchQuery, limit: UInt32, keys: inout [ScoredKey]) -> [UInt32] {
        switch query {
        case .term(let term):
            let key = self.key(self.postings(term, limit: limit))
            keys.append(key)
            return key.documents
        case .prefix(let prefix):
            var documents: [UInt32] = []
            for term in self.terms where term.hasPrefix(prefix) {
                let key = self.key(self.postings(term, limit: limit))
                guard !key.documents.isEmpty else { continue }
                documents = Self.union(documents, key.documents)
                keys.append(key)
            }
            return documents
        case .phrase(let terms):
            let first = self.postings(terms[0], limit: limit)
            let others = terms.dropFirst().map { term in
                Dictionary(uniqueKeysWithValues: self.postings(term, limit: limit).map { ($0.document, $0) })
            }
            var key = ScoredKey()
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
                guard title + body > 0 else { continue }
                key.documents.append(occurrence.document)
                key.title.append(Int32(title))
                key.body.append(Int32(body))
            }
            keys.append(key)
            return key.documents
        case .and(let parts):
            var result: [UInt32]?
            var excluded: [UInt32] = []
            for part in parts {
                if case .not(let inner) = part {
                    var ignored: [ScoredKey] = []
                    excluded = Self.union(excluded, self.evaluate(inner, limit: limit, keys: &ignored))
                } else {
                    let documents = self.evaluate(part, limit: limit, keys: &keys)
                    result = result.map { Self.intersection($0, documents) } ?? documents
                }
            }
            return Self.difference(result ?? [], excluded)
        case .or(let parts):
            return parts.reduce([]) { Self.union($0, self.evaluate($1, limit: limit, keys: &keys)) }
        case .not:
            return []  // a bare NOT matches nothing by itself (the parser refuses such queries)
        }
    }

    static func intersection(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        var i = 0
        var j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] { result.append(a[i]); i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return result
    }

    static func union(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var result: [UInt32] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) { result.append(a[i]); i += 1 } else if i == a.count || b[j] < a[i] {
                result.append(b[j]); j += 1
            } else { result.append(a[i]); i += 1; j += 1 }
        }
        return result
    }

    static func difference(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        guard !b.isEmpty else { return a }
        var result: [UInt32] = []
        var j = 0
        for document in a {
            while j < b.count, b[j] < document { j += 1 }
            if j == b.count || b[j] != document { result.append(document) }
        }
        return result
    }

    // MARK: Scoring

    /// Lucene's BM25 IDF: ln(1 + (N − df + 0.5) / (df + 0.5)).
    func inverseDocumentFrequency(_ documentFrequency: Int, documents: Int) -> Double {
        let n = Double(documents)
        let df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }

    /// Every document matching `query`, with its BM25 score, in document order.
    ///
    /// Scores are accumulated term at a time into scratch arrays taken from a pool, so any number of searches may
    /// run at once (while nothing is being added).
    ///
    /// - Parameter documents: Consider only the first this many documents, with the collection statistics
    ///   (document count, frequencies, average lengths) as they were then: a point-in-time view, so that later
    ///   pages of a result rank exactly like its first. Default: all.
    public func matches(_ query: SearchQuery, documents: Int? = nil) -> [(document: UInt32, score: Double)] {
        let limit = min(documents ?? self.documents.count, self.documents.count)
        var keys: [ScoredKey] = []
        let matched = self.evaluate(query, limit: UInt32(limit), keys: &keys)
        guard !matched.isEmpty else { return [] }
        let scratch = self.scratchPool.withLock { $0.popLast() } ?? ScoringScratch()
        defer { self.scratchPool.withLock { $0.append(scratch) } }
        let generation = scratch.prepare(documents: self.documents.count)
        for document in matched {
            scratch.marks[Int(document)] = generation
            scratch.scores[Int(document)] = 0
        }
        let p = self.parameters
        let count = Double(max(1, limit))
        let averageTitle = max(1, Double(self.titleLengthTotals[limit]) / count)
        let averageBody = max(1, Double(self.bodyLengthTotals[limit]) / count)
        let k1 = p.k1
        for key in keys {
            let idf = self.inverseDocumentFrequency(key.documents.count, documents: limit)
            for index in key.documents.indices {
                let document = Int(key.documents[index])
                guard scratch.marks[document] == generation else { continue }
                var contribution = 0.0
                let titleFrequency = Double(key.title[index])
                if titleFrequency > 0 {
                    let norm = k1 * (1 - p.b + p.b * Double(self.titleLengths[document]) / averageTitle)
                    contribution += p.titleWeight * titleFrequency * (k1 + 1) / (titleFrequency + norm)
                }
                let bodyFrequency = Double(key.body[index])
                if bodyFrequency > 0 {
                    let norm = k1 * (1 - p.b + p.b * Double(self.bodyLengths[document]) / averageBody)
                    contribution += bodyFrequency * (k1 + 1) / (bodyFrequency + norm)
                }
                scratch.scores[document] += idf * contribution
            }
        }
        return matched.map { ($0, scratch.scores[Int($0)]) }
    }

    /// The best `limit` documents matching `query` (by BM25, ties to the older document), among those `include`
    /// accepts and that come after `after` (a score and document of a previous page), scoring only the documents
    /// that can still make the cut: MaxScore (Turtle & Flood, 1995). Keys (terms, phrases, prefix expansions) are
    /// ordered by the most they can add to a score; once the `limit`-th best score exceeds what the weakest keys
    /// can add together, documents found only in those keys are never visited, and the weak keys are looked up
    /// only for documents whose partial score can still win. Returns the same documents in the same order as
    /// scoring every match and sorting.
    ///
    /// - Returns: `total` (matches `include` accepts, after `after` excluded only by rank), the top documents,
    ///   and how many documents were scored (for measurements).
    public func topMatches(
        _ query: SearchQuery,
        limit: Int,
        documents: Int? = nil,
        after: (score: Double, document: UInt32)? = nil,
        include: (UInt32) -> Bool = { _ in true }
    ) -> (total: Int, top: [(document: UInt32, score: Double)], scored: Int) {
        let count = min(documents ?? self.documents.count, self.documents.count)
        var keys: [ScoredKey] = []
        let matched = self.evaluate(query, limit: UInt32(count), keys: &keys)
        guard !matched.isEmpty, limit > 0 else { return (matched.filter(include).count, [], 0) }
        let scratch = self.scratchPool.withLock { $0.popLast() } ?? ScoringScratch()
        defer { self.scratchPool.withLock { $0.append(scratch) } }
        let generation = scratch.prepare(documents: self.documents.count)
        var total = 0
        for document in matched where include(document) {
            scratch.marks[Int(document)] = generation
            total += 1
        }
        let p = self.parameters
        let n = Double(max(1, count))
        let averageTitle = max(1, Double(self.titleLengthTotals[count]) / n)
        let averageBody = max(1, Double(self.bodyLengthTotals[count]) / n)
        let k1 = p.k1
        struct Cursor {
            var key: ScoredKey
            var idf: Double
            var bound: Double
            var position = 0
        }
        // What a key adds to a document's score; its largest possible value uses the key's largest frequencies
        // and the shortest possible fields (length 0).
        func saturation(_ frequency: Double, _ length: Double, _ average: Double) -> Double {
            frequency <= 0 ? 0 : frequency * (k1 + 1) / (frequency + k1 * (1 - p.b + p.b * length / average))
        }
        var cursors: [Cursor] = keys.filter { !$0.documents.isEmpty }.map { key in
            let idf = self.inverseDocumentFrequency(key.documents.count, documents: count)
            let bound = idf * (p.titleWeight * saturation(Double(key.maximumTitle), 0, averageTitle) + saturation(Double(key.maximumBody), 0, averageBody))
            return Cursor(key: key, idf: idf, bound: bound)
        }
        cursors.sort { $0.bound < $1.bound }
        var below = [Double](repeating: 0, count: cursors.count + 1)  // below[i]: the bounds of keys 0..<i added
        for (index, cursor) in cursors.enumerated() { below[index + 1] = below[index] + cursor.bound }
        func contribution(_ cursor: Cursor, at index: Int, document: Int) -> Double {
            cursor.idf * (p.titleWeight * saturation(Double(cursor.key.title[index]), Double(self.titleLengths[document]), averageTitle)
                + saturation(Double(cursor.key.body[index]), Double(self.bodyLengths[document]), averageBody))
        }
        /// Ranks before: higher score, then older document.
        func better(_ a: (document: UInt32, score: Double), _ b: (document: UInt32, score: Double)) -> Bool {
            a.score != b.score ? a.score > b.score : a.document < b.document
        }
        var top: [(document: UInt32, score: Double)] = []  // best first
        top.reserveCapacity(limit + 1)
        var threshold = -Double.infinity  // the limit-th best score once there are limit documents
        var essential = 0  // keys essential..<count drive the candidates; the rest are only looked up
        var scored = 0
        while true {
            // The next candidate: the smallest document under an essential cursor.
            var candidate = UInt32.max
            for index in essential..<cursors.count where cursors[index].position < cursors[index].key.documents.count {
                candidate = min(candidate, cursors[index].key.documents[cursors[index].position])
            }
            guard candidate != UInt32.max else { break }
            let document = Int(candidate)
            var score = 0.0
            for index in essential..<cursors.count where cursors[index].position < cursors[index].key.documents.count
                && cursors[index].key.documents[cursors[index].position] == candidate
            {
                if scratch.marks[document] == generation { score += contribution(cursors[index], at: cursors[index].position, document: document) }
                cursors[index].position += 1
            }
            guard scratch.marks[document] == generation else { continue }
            // The weak keys, strongest first, while the document can still reach the threshold.
            var alive = true
            for index in stride(from: essential - 1, through: 0, by: -1) {
                if score + below[index + 1] < threshold { alive = false; break }
                let documents = cursors[index].key.documents
                var low = cursors[index].position
                var high = documents.count
                while low < high {
                    let middle = (low + high) / 2
                    if documents[middle] < candidate { low = middle + 1 } else { high = middle }
                }
                cursors[index].position = low
                if low < documents.count, documents[low] == candidate { score += contribution(cursors[index], at: low, document: document) }
            }
            guard alive else { continue }
            scored += 1
            let entry = (document: candidate, score: score)
            if let after, !better((after.document, after.score), entry) { continue }
            if top.count == limit, let last = top.last, !better(entry, last) { continue }
            var low = 0
            var high = top.count
            while low < high {
                let middle = (low + high) / 2
                if better(top[middle], entry) { low = middle + 1 } else { high = middle }
            }
            top.insert(entry, at: low)
            if top.count > limit { top.removeLast() }
            if top.count == limit {
                threshold = top[limit - 1].score
                // Keys whose bounds together stay below the threshold cannot make a document on their own.
                while essential < cursors.count, below[essential + 1] < threshold { essential += 1 }
            }
        }
        return (total, top, scored)
    }

    /// Highlighted passages of document `number`'s body for `query`.
    public func snippets(of number: UInt32, for query: SearchQuery, limit: Int = 3) -> [String] {
        let document = Int(number)
        guard document < self.bodyTokenRanges.count else { return [] }
        // Where the query's terms occur in this body, from the postings: (token range, term).
        var matched: [(range: Range<Int>, term: String)] = []
        let ranges = self.bodyTokenRanges[document]
        func collect(_ term: String, label: String) {
            guard let id = self.termIDs[term] else { return }
            let list = self.postingLists[Int(id)]
            var low = 0
            var high = list.count
            while low < high {
                let middle = (low + high) / 2
                if list[middle].document < number { low = middle + 1 } else { high = middle }
            }
            guard low < list.count, list[low].document == number else { return }
            for position in list[low].body where Int(position) < ranges.count {
                let range = ranges[Int(position)]
                matched.append((Int(range.lowerBound)..<Int(range.upperBound), label))
            }
        }
        for term in Self.positiveTerms(query) {
            if term.hasSuffix("*") {
                let prefix = String(term.dropLast())
                for candidate in self.terms where candidate.hasPrefix(prefix) { collect(candidate, label: term) }
            } else {
                collect(term, label: term)
            }
        }
        matched.sort { $0.range.lowerBound < $1.range.lowerBound }
        return Snippets.make(self.documents[document].body, matched: matched, limit: limit)
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
        let hits = scored.prefix(limit).map { entry in
            SearchIndexHit(
                id: self.documents[Int(entry.document)].id,
                score: entry.score,
                snippets: self.snippets(of: entry.document, for: query, limit: snippetCount)
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

    /// - Parameter matched: The matched words' UTF-8 ranges in `body`, in order, with the term each matched.
    static func make(_ body: String, matched: [(range: Range<Int>, term: String)], limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        let bytes = Array(body.utf8)
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
                // A word matched twice (`trade tra*`: as the term and through the prefix) is marked once.
                guard hit.range.lowerBound >= cursor else { continue }
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

/// Per-search scoring arrays: scores, and "matched by this search" marks told apart by a generation number so
/// that they need no clearing between searches.
final class ScoringScratch: @unchecked Sendable {  // used by one search at a time, handed over through the pool
    var scores: [Double] = []
    var marks: [UInt32] = []
    private var generation: UInt32 = 0

    /// Sizes the arrays for `documents` and returns the generation that marks this search's matches.
    func prepare(documents: Int) -> UInt32 {
        if self.scores.count < documents {
            self.scores = [Double](repeating: 0, count: documents)
            self.marks = [UInt32](repeating: 0, count: documents)
            self.generation = 0
        }
        self.generation &+= 1
        if self.generation == 0 {
            for index in self.marks.indices { self.marks[index] = 0 }
            self.generation = 1
        }
        return self.generation
    }
}
