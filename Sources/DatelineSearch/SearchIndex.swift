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
/// Searches (``matches(_:documents:)``, ``snippets(of:for:limit:)``) may run concurrently with each other;
/// ``add(_:)`` must not run concurrently with anything. The query service guards it with a reader-writer lock.
public final class SearchIndex {
    enum Field: Int { case title = 0, body = 1 }

    public let analyzer: Analyzer
    public var parameters: BM25Parameters
    /// Each document's id, by number.
    var ids: [String] = []
    /// The documents as added, for snippets; empty unless `keepsTokenRanges` (the query service keeps its
    /// articles' text elsewhere, encoded).
    var documents: [IndexedDocument] = []
    var titleLengths: [UInt32] = []
    var bodyLengths: [UInt32] = []
    /// Running totals of field lengths: entry i is the sum over documents 0..<i (for point-in-time statistics).
    var titleLengthTotals: [Int] = [0]
    var bodyLengthTotals: [Int] = [0]
    /// Term → id; postings and term texts are arrays indexed by id.
    var termIDs: [String: UInt32] = [:]
    var terms: [String] = []
    /// Each term's postings, compact (``BufferPostings``): no allocation per document and term; a query and a
    /// flush read them decoded.
    var postingLists: [BufferPostings] = []
    /// Per term, scratch for ``appendPostings(document:title:body:)``: its slot in the document being added,
    /// valid when its stamp is that document's number + 1.
    private var slots: [Int32] = []
    private var slotStamps: [UInt32] = []
    var byID: [String: UInt32] = [:]
    /// Each body's token ranges (UTF-8 offsets), by position: snippets come from postings, without re-tokenizing.
    var bodyTokenRanges: [[Range<UInt32>]] = []
    /// Scratch space for scoring, one per concurrent search, reused from a pool.
    /// Folded word (abbreviations marked with a leading \u{1}) → term id: one lookup per token when indexing.
    /// Words met so far and their terms' ids.
    private var words = WordTable()
    /// Folded word → term, shared with the buffers before and after this one, so that a new buffer does not stem
    /// every word again.
    private let stems: StemCache?
    /// Whether each document's text and its body's token ranges are kept (for ``snippets(of:for:limit:)`` and
    /// ``document(_:)``; the query service's buffers keep their articles themselves and find matched words by
    /// analysing the body again instead).
    private let keepsTokenRanges: Bool

    /// - Parameters:
    ///   - stems: A cache of stemmed words shared between indexes built one after another.
    ///   - keepsTokenRanges: Keep each document's text and its body's token offsets, for
    ///     ``snippets(of:for:limit:)`` and ``document(_:)``.
    public init(analyzer: Analyzer = Analyzer(), parameters: BM25Parameters = BM25Parameters(), stems: StemCache? = nil, keepsTokenRanges: Bool = true) {
        self.analyzer = analyzer
        self.parameters = parameters
        self.stems = stems
        self.keepsTokenRanges = keepsTokenRanges
    }

    public var count: Int { self.ids.count }
    public var termCount: Int { self.terms.count }

    private func termID(_ term: String) -> UInt32 {
        if let id = self.termIDs[term] { return id }
        let id = UInt32(self.terms.count)
        self.termIDs[term] = id
        self.terms.append(term)
        self.postingLists.append(BufferPostings())
        self.slots.append(0)
        self.slotStamps.append(0)
        return id
    }

    /// The term ids of `text`'s tokens, in order. A word met before is found by its bytes (``WordTable``); only
    /// a new word is made a string, stemmed and given its term's id.
    private func termIDs(of text: String, ranges: UnsafeMutablePointer<[Range<UInt32>]>? = nil) -> [UInt32] {
        var ids: [UInt32] = []
        var words = WordTable()
        swap(&words, &self.words)
        defer { swap(&words, &self.words) }
        self.analyzer.forEachWordBytes(text) { bytes, isAbbreviation, range in
            ranges?.pointee.append(UInt32(range.lowerBound)..<UInt32(range.upperBound))
            if let id = words.id(of: bytes, abbreviation: isAbbreviation) {
                ids.append(id)
                return true
            }
            let word = String(decoding: bytes, as: UTF8.self)
            let term: String
            if !self.analyzer.stems || isAbbreviation {
                term = word
            } else if let stems = self.stems {
                term = stems.stem(word)
            } else {
                term = PorterStemmer.stem(word)
            }
            let id = self.termID(term)
            if words.count < 2_000_000 { words.insert(bytes, abbreviation: isAbbreviation, id: id) }
            ids.append(id)
            return true
        }
        return ids
    }

    /// Adds a document; a document with an id already indexed is ignored (and false returned).
    @discardableResult
    public func add(_ document: IndexedDocument) -> Bool {
        guard self.byID[document.id] == nil else { return false }
        let number = UInt32(self.ids.count)
        self.byID[document.id] = number
        self.ids.append(document.id)
        let title = self.termIDs(of: document.title)
        let body: [UInt32]
        if self.keepsTokenRanges {
            var ranges: [Range<UInt32>] = []
            body = withUnsafeMutablePointer(to: &ranges) { self.termIDs(of: document.body, ranges: $0) }
            self.bodyTokenRanges.append(ranges)
            self.documents.append(document)
        } else {
            body = self.termIDs(of: document.body)
        }
        self.titleLengths.append(UInt32(title.count))
        self.bodyLengths.append(UInt32(body.count))
        self.titleLengthTotals.append(self.titleLengthTotals.last! + title.count)
        self.bodyLengthTotals.append(self.bodyLengthTotals.last! + body.count)
        self.appendPostings(document: number, title: title, body: body)
        return true
    }

    /// Appends one document's postings: its terms' positions grouped by term (title positions first) in two
    /// passes over its words, with per-term scratch slots stamped by document (no hashing, no sort, no
    /// allocation per term).
    private func appendPostings(document number: UInt32, title: [UInt32], body: [UInt32]) {
        // Worked on as locals (moved out and back), so that each write is not an exclusive access to a class
        // property with a uniqueness check of its own.
        var slots: [Int32] = []
        var stamps: [UInt32] = []
        var postingLists: [BufferPostings] = []
        swap(&slots, &self.slots)
        swap(&stamps, &self.slotStamps)
        swap(&postingLists, &self.postingLists)
        defer {
            swap(&slots, &self.slots)
            swap(&stamps, &self.slotStamps)
            swap(&postingLists, &self.postingLists)
        }
        let stamp = number &+ 1
        var locals: [Int] = []  // term ids, first seen first
        var titleCounts: [Int] = []
        var bodyCounts: [Int] = []
        locals.reserveCapacity(title.count + body.count / 2)
        // (No nested function: one capturing these arrays would box them.)
        for (field, words) in [title, body].enumerated() {
            for id in words {
                let term = Int(id)
                let l: Int
                if stamps[term] == stamp {
                    l = Int(slots[term])
                } else {
                    stamps[term] = stamp
                    slots[term] = Int32(locals.count)
                    l = locals.count
                    locals.append(term)
                    titleCounts.append(0)
                    bodyCounts.append(0)
                }
                if field == 0 { titleCounts[l] += 1 } else { bodyCounts[l] += 1 }
            }
        }
        var titleCursor = [Int](repeating: 0, count: locals.count)
        var bodyCursor = titleCursor
        var next = 0
        for l in locals.indices {
            titleCursor[l] = next
            bodyCursor[l] = next + titleCounts[l]
            next += titleCounts[l] + bodyCounts[l]
        }
        var flat = [UInt32](repeating: 0, count: next)
        for (position, id) in title.enumerated() {
            let l = Int(slots[Int(id)])
            flat[titleCursor[l]] = UInt32(position)
            titleCursor[l] += 1
        }
        for (position, id) in body.enumerated() {
            let l = Int(slots[Int(id)])
            flat[bodyCursor[l]] = UInt32(position)
            bodyCursor[l] += 1
        }
        var start = 0
        for (l, term) in locals.enumerated() {
            let end = start + titleCounts[l] + bodyCounts[l]
            postingLists[term].append(document: number, titleCount: titleCounts[l], bodyCount: bodyCounts[l], positions: flat[start..<end])
            start = end
        }
    }

    // MARK: Matching

    /// The postings of `term` among the first `limit` documents, as a segment would give them.
    func postingList(_ term: String, limit: Int, positions: Bool) -> PostingList {
        guard let id = self.termIDs[term] else { return PostingList() }
        return self.postingLists[Int(id)].decoded(below: UInt32(clamping: limit), positions: positions)
    }

    /// How many of the first `limit` documents hold `term`.
    func documentFrequency(_ term: String, limit: Int) -> Int {
        guard let id = self.termIDs[term] else { return 0 }
        return self.postingLists[Int(id)].count(below: UInt32(clamping: limit))
    }

    /// The indexed terms starting with `prefix`.
    func terms(withPrefix prefix: String) -> [String] { self.terms.filter { $0.hasPrefix(prefix) } }

    /// The sum of the first `count` documents' title and body lengths.
    func lengthTotals(first count: Int) -> (title: Int, body: Int) {
        let count = min(count, self.ids.count)
        return (self.titleLengthTotals[count], self.bodyLengthTotals[count])
    }

    /// This index alone, as a view.
    private var reader: IndexReader {
        IndexReader(parts: [.buffer(self)], analyzer: self.analyzer, ranker: Ranker(parameters: self.parameters))
    }

    /// Every document matching `query`, with its BM25 score, in document order (see ``IndexReader/matches(_:documents:)``).
    public func matches(_ query: SearchQuery, documents: Int? = nil) -> [(document: UInt32, score: Double)] {
        do { return try self.reader.matches(query, documents: documents) } catch { preconditionFailure("in-memory postings cannot fail: \(error)") }
    }

    /// The best `limit` documents matching `query` (see ``IndexReader/topMatches(_:limit:documents:after:filter:)``).
    ///
    /// - Returns: `total` (matches `include` accepts, after `after` excluded only by rank), the top documents,
    ///   and how many documents were scored (for measurements).
    public func topMatches(
        _ query: SearchQuery,
        limit: Int,
        documents: Int? = nil,
        after: (score: Double, document: UInt32)? = nil,
        include: ((UInt32) -> Bool)? = nil
    ) -> (total: Int, top: [(document: UInt32, score: Double)], scored: Int) {
        do { return try self.reader.topMatches(query, limit: limit, documents: documents, after: after, filter: include.map { include in { $0.filter(include) } }) } catch {
            preconditionFailure("in-memory postings cannot fail: \(error)")
        }
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
            let list = self.postingLists[Int(id)].decoded(below: number &+ 1, positions: true)
            guard let last = list.documents.last, last == number else { return }
            for position in list.positions(at: list.count - 1).body where Int(position) < ranges.count {
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
            total + entry.0.utf8.count + 64 + 2 * 48 + entry.1.byteCount
        } + self.words.estimatedBytes
    }

    /// The `limit` best matches of `query` (ties broken by insertion order), with their total.
    public func search(_ query: SearchQuery, limit: Int = 10, snippets snippetCount: Int = 3) -> (total: Int, hits: [SearchIndexHit]) {
        var scored = self.matches(query)
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }
        let hits = scored.prefix(limit).map { entry in
            SearchIndexHit(
                id: self.ids[Int(entry.document)],
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
package enum Snippets {
    static let width = 180

    /// - Parameter matched: The matched words' UTF-8 ranges in `body`, in order, with the term each matched.
    static func make(_ body: String, matched: [(range: Range<Int>, term: String)], limit: Int) -> [String] {
        self.make(Array(body.utf8), matched: matched, limit: limit)
    }

    static func make(_ bytes: [UInt8], matched: [(range: Range<Int>, term: String)], limit: Int) -> [String] {
        guard limit > 0, !matched.isEmpty else { return [] }
        return self.render(bytes, windows: self.windows(bytes, matched: matched, limit: limit).windows, matched: matched)
    }

    /// The passages to show, at most `limit`: first windows that show terms not shown yet, then any others; never
    /// overlapping. Also the terms they show (each once; a query has few, so a list, not a hashed set).
    static func windows(_ bytes: [UInt8], matched: [(range: Range<Int>, term: String)], limit: Int) -> (windows: [Range<Int>], shown: [String]) {
        var windows: [Range<Int>] = []
        var shown: [String] = []
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
                for other in matched where (start..<end).contains(other.range.lowerBound) { if !shown.contains(other.term) { shown.append(other.term) } }
            }
        }
        return (windows, shown)
    }

    /// The text of each window with the matched words in it marked.
    static func render(_ bytes: [UInt8], windows: [Range<Int>], matched: [(range: Range<Int>, term: String)]) -> [String] {
        return windows.map { window in  // in the order chosen: passages with new terms first
            var text = SnippetText(capacity: window.count + 16)
            var cursor = window.lowerBound
            for hit in matched where hit.range.lowerBound >= window.lowerBound && hit.range.upperBound <= window.upperBound {
                // A word matched twice (`trade tra*`: as the term and through the prefix) is marked once.
                guard hit.range.lowerBound >= cursor else { continue }
                text.append(bytes[cursor..<hit.range.lowerBound])
                text.append("[[".utf8)
                text.append(bytes[hit.range])
                text.append("]]".utf8)
                cursor = hit.range.upperBound
            }
            text.append(bytes[cursor..<window.upperBound])
            return (window.lowerBound > 0 ? "… " : "") + text.string + (window.upperBound < bytes.count ? " …" : "")
        }
    }

    /// A passage's text as it is built: runs of spaces and line breaks become one space, none at either end.
    private struct SnippetText {
        private var bytes: [UInt8] = []
        private var pendingSpace = false

        init(capacity: Int) { self.bytes.reserveCapacity(capacity) }

        mutating func append(_ part: some Sequence<UInt8>) {
            for byte in part {
                if byte == 0x20 || byte == 0x0A {
                    self.pendingSpace = !self.bytes.isEmpty
                } else {
                    if self.pendingSpace { self.bytes.append(0x20) }
                    self.pendingSpace = false
                    self.bytes.append(byte)
                }
            }
        }

        var string: String { String(decoding: self.bytes, as: UTF8.self) }
    }
}

/// Stemmed forms of words, shared by the in-memory indexes built one after another (each buffer of the query
/// service), bounded in size. Used only by whoever adds documents (one writer at a time).
public final class StemCache: @unchecked Sendable {
    private var stems: [String: String] = [:]
    /// The most words kept. Default: 1,000,000.
    public let capacity: Int

    public init(capacity: Int = 1_000_000) { self.capacity = capacity }

    /// Words longer than this are stemmed but not kept: a cache bounded by count must not hold long garbage
    /// tokens (encoded blobs) for the life of the process.
    static let longestCachedWord = 64

    /// How many words are kept.
    package var count: Int { self.stems.count }

    /// The stem of the folded word `word`.
    func stem(_ word: String) -> String {
        if let stem = self.stems[word] { return stem }
        let stem = PorterStemmer.stem(word)
        if self.stems.count < self.capacity, word.utf8.count <= Self.longestCachedWord { self.stems[word] = stem }
        return stem
    }
}
