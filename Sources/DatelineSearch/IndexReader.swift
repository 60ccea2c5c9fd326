package import DatelineStorage

/// A point-in-time view of the whole index: segments on disk and in-memory buffers, in document order, each
/// numbering its documents from 0; the view numbers them globally (a part's base plus its own number), in the
/// order they were added. Evaluates queries over every part, then ranks with one ``Ranker`` using collection
/// statistics over all parts, so a document scores the same whichever part holds it.
///
/// A view of buffers must not be used while a buffer is being added to (the query service reads under its lock).
package struct IndexReader {
    /// Where documents are held.
    package enum Part {
        /// An in-memory buffer (searchable at once, flushed to a segment later).
        case buffer(SearchIndex)
        /// An immutable segment on disk.
        case segment(IndexSegment)

        var documentCount: Int {
            switch self {
            case .buffer(let index): index.count
            case .segment(let segment): segment.documentCount
            }
        }
    }

    struct Slot {
        var part: Part
        var base: Int
        var count: Int
    }

    let slots: [Slot]
    let analyzer: Analyzer
    let ranker: Ranker
    /// Documents in the view.
    package let documentCount: Int

    /// A view of `parts`, in document order (their document counts as they are now).
    package init(parts: [Part], analyzer: Analyzer = Analyzer(), parameters: BM25Parameters = BM25Parameters()) {
        self.init(parts: parts, analyzer: analyzer, ranker: Ranker(parameters: parameters))
    }

    init(parts: [Part], analyzer: Analyzer, ranker: Ranker) {
        var slots: [Slot] = []
        var base = 0
        for part in parts {
            let count = part.documentCount
            slots.append(Slot(part: part, base: base, count: count))
            base += count
        }
        self.slots = slots
        self.analyzer = analyzer
        self.ranker = ranker
        self.documentCount = base
    }

    /// The slot holding global document `document`.
    func slot(of document: Int) -> Int {
        var low = 0
        var high = self.slots.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if self.slots[middle].base <= document { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Which part holds global document `document`, and its number there.
    package func locate(_ document: Int) -> (part: Part, local: Int)? {
        guard document >= 0, document < self.documentCount else { return nil }
        let slot = self.slots[self.slot(of: document)]
        return (slot.part, document - slot.base)
    }

    // MARK: Evaluation

    /// One part's postings of `term` among its first `limit` documents.
    func postings(_ term: String, in part: Part, limit: Int, positions: Bool) throws(DatelineStorageError) -> PostingList {
        switch part {
        case .buffer(let index):
            return index.postingList(term, limit: limit, positions: positions)
        case .segment(let segment):
            guard let info = try segment.termInfo(term) else { return PostingList() }
            return try segment.postings(info, below: limit, positions: positions)
        }
    }

    /// The slots with documents among the first `limit`, and how many of each count.
    func visible(limit: Int) -> [(slot: Slot, limit: Int)] {
        self.slots.compactMap { slot in slot.base < limit ? (slot, min(slot.count, limit - slot.base)) : nil }
    }

    private func key(_ term: String, limit: Int) throws(DatelineStorageError) -> ScoredKey {
        var key = ScoredKey()
        for (slot, count) in self.visible(limit: limit) {
            switch slot.part {
            case .segment(let segment):
                guard let info = try segment.termInfo(term) else { continue }
                try segment.appendPostings(info, below: count, base: UInt32(slot.base), to: &key)
            case .buffer:
                key.append(try self.postings(term, in: slot.part, limit: count, positions: false), base: UInt32(slot.base))
            }
        }
        return key
    }

    /// The term's whole postings where `locations` found it (no dictionary look-up again in a wholly visible
    /// segment).
    private func key(_ term: String, at locations: TermLocations) throws(DatelineStorageError) -> ScoredKey {
        var key = ScoredKey()
        for (slot, count, info) in locations.parts {
            if case .segment(let segment) = slot.part {
                guard let info = count == slot.count ? info : try segment.termInfo(term) else { continue }
                try segment.appendPostings(info, below: count, base: UInt32(slot.base), to: &key)
            } else {
                key.append(try self.postings(term, in: slot.part, limit: count, positions: false), base: UInt32(slot.base))
            }
        }
        return key
    }

    /// Every term of the view starting with `prefix`, in byte order.
    private func terms(withPrefix prefix: String, limit: Int) throws(DatelineStorageError) -> [String] {
        var terms = Set<String>()
        for (slot, _) in self.visible(limit: limit) {
            switch slot.part {
            case .buffer(let index): terms.formUnion(index.terms(withPrefix: prefix))
            case .segment(let segment): for entry in try segment.terms(withPrefix: prefix) { terms.insert(entry.term) }
            }
        }
        return terms.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Where a term is in each visible part: its dictionary entry in a segment (nil when it has none there, or
    /// when the segment is only partly visible).
    struct TermLocations {
        var parts: [(slot: Slot, count: Int, info: TermInfo?)]
        /// Documents holding the term among the visible ones.
        var documentFrequency: Int
    }

    func locations(of term: String, limit: Int) throws(DatelineStorageError) -> TermLocations {
        var parts: [(slot: Slot, count: Int, info: TermInfo?)] = []
        var frequency = 0
        for (slot, count) in self.visible(limit: limit) {
            switch slot.part {
            case .segment(let segment) where count == slot.count:
                let info = try segment.termInfo(term)
                frequency += info?.documentFrequency ?? 0
                parts.append((slot, count, info))
            case .buffer(let index):
                frequency += index.documentFrequency(term, limit: count)
                parts.append((slot, count, nil))
            default:  // a segment only partly visible: its documents below the view's end counted
                frequency += try self.postings(term, in: slot.part, limit: count, positions: false).count
                parts.append((slot, count, nil))
            }
        }
        return TermLocations(parts: parts, documentFrequency: frequency)
    }

    /// The term's postings for the documents of `candidates` (ascending) only, with the whole term's document
    /// frequency: a whole segment's postings are sought a block at a time (blocks no candidate lands in are
    /// never decoded), other parts' read and walked beside the candidates.
    private func key(_ term: String, at locations: TermLocations, among candidates: [UInt32]) throws(DatelineStorageError) -> ScoredKey {
        var key = ScoredKey(wholeDocumentFrequency: locations.documentFrequency)
        var next = 0  // in candidates
        for (slot, count, info) in locations.parts {
            let end = UInt32(slot.base + count)
            let first = next
            while next < candidates.count, candidates[next] < end { next += 1 }
            guard next > first else { continue }
            let base = UInt32(slot.base)
            if case .segment(let segment) = slot.part, count == slot.count {
                guard let info else { continue }
                var postings = try segment.blockPostings(of: info, below: count)
                for candidate in candidates[first..<next] {
                    guard try postings.seek(candidate - base) else {
                        if postings.isExhausted { break }
                        continue
                    }
                    let frequencies = try postings.frequencies()
                    key.documents.append(candidate)
                    key.title.append(frequencies.title)
                    key.body.append(frequencies.body)
                }
            } else {
                let list = try self.postings(term, in: slot.part, limit: count, positions: false)
                var index = 0
                for candidate in candidates[first..<next] {
                    let local = candidate - base
                    while index < list.count, list.documents[index] < local { index += 1 }
                    guard index < list.count else { break }
                    guard list.documents[index] == local else { continue }
                    key.documents.append(candidate)
                    key.title.append(list.titleFrequencies[index])
                    key.body.append(list.bodyFrequencies[index])
                }
            }
        }
        return key
    }

    /// The documents every part of an AND matches and no NOT part does. Parts other than terms are evaluated
    /// first; then the terms, rarest first: the first is read whole (when nothing else narrowed the
    /// documents), each next one only for the documents left (leapfrogging, as Lucene's conjunctions do), so a
    /// common term next to a rare one costs the rare one's size. Keys keep the query's order.
    private func conjunction(_ parts: [SearchQuery], limit: Int, keys: inout [ScoredKey], accept: Prefilter?) throws(DatelineStorageError) -> [UInt32] {
        var result: [UInt32]?
        var excluded: [UInt32] = []
        var partKeys = [[ScoredKey]](repeating: [], count: parts.count)
        var terms: [(index: Int, term: String, locations: TermLocations)] = []
        for (index, part) in parts.enumerated() {
            switch part {
            case .not(let inner):
                var ignored: [ScoredKey] = []
                excluded = DocumentSets.union(excluded, try self.evaluate(inner, limit: limit, keys: &ignored))
            case .term(let term):
                terms.append((index, term, try self.locations(of: term, limit: limit)))
            default:
                let documents = try self.evaluate(part, limit: limit, keys: &partKeys[index], accept: accept)
                result = result.map { DocumentSets.intersection($0, documents) } ?? documents
            }
        }
        for term in terms.sorted(by: { $0.locations.documentFrequency < $1.locations.documentFrequency }) {
            let key: ScoredKey
            if let candidates = result {
                key = try self.key(term.term, at: term.locations, among: candidates)
            } else {
                key = try self.key(term.term, at: term.locations)
            }
            partKeys[term.index] = [key]
            result = key.documents
        }
        for part in partKeys { keys.append(contentsOf: part) }
        return DocumentSets.difference(result ?? [], excluded)
    }

    /// Given documents (ascending), those a search's filters accept (ascending).
    package typealias Prefilter = ([UInt32]) -> [UInt32]

    /// The sorted documents matching `query` among the first `limit`; the keys that score them go to `keys`.
    ///
    /// - Parameter accept: The search's filters, when it has any: a phrase reads positions only for the documents
    ///   they keep. The result may still hold documents they refuse (the caller filters it).
    func evaluate(_ query: SearchQuery, limit: Int, keys: inout [ScoredKey], accept: Prefilter? = nil) throws(DatelineStorageError) -> [UInt32] {
        switch query {
        case .term(let term):
            let key = try self.key(term, limit: limit)
            keys.append(key)
            return key.documents
        case .prefix(let prefix):
            var documents: [UInt32] = []
            for term in try self.terms(withPrefix: prefix, limit: limit) {
                let key = try self.key(term, limit: limit)
                guard !key.documents.isEmpty else { continue }
                documents = DocumentSets.union(documents, key.documents)
                keys.append(key)
            }
            return documents
        case .phrase(let terms):
            guard !terms.isEmpty else { return [] }
            let key = try self.phrase(terms, limit: limit, accept: accept)
            keys.append(key)
            return key.documents
        case .and(let parts):
            return try self.conjunction(parts, limit: limit, keys: &keys, accept: accept)
        case .or(let parts):
            var documents: [UInt32] = []
            for part in parts { documents = DocumentSets.union(documents, try self.evaluate(part, limit: limit, keys: &keys, accept: accept)) }
            return documents
        case .not:
            return []  // a bare NOT matches nothing by itself (the parser refuses such queries)
        }
    }

    // MARK: Ranking

    /// Collection statistics over the first `limit` documents.
    func statistics(limit: Int) -> CollectionStatistics {
        var title = 0
        var body = 0
        for (slot, count) in self.visible(limit: limit) {
            let totals: (title: Int, body: Int)
            switch slot.part {
            case .buffer(let index): totals = index.lengthTotals(first: count)
            case .segment(let segment): totals = segment.lengthTotals(first: count)
            }
            title += totals.title
            body += totals.body
        }
        return CollectionStatistics(documents: limit, totalTitleLength: title, totalBodyLength: body)
    }

    /// Every document matching `query` with its BM25 score, in document order.
    ///
    /// - Parameter documents: Consider only the first this many documents, with the collection statistics as
    ///   they were then: a point-in-time view, so that later pages of a result rank exactly like its first.
    package func matches(_ query: SearchQuery, documents: Int? = nil) throws(DatelineStorageError) -> [(document: UInt32, score: Double)] {
        let limit = min(documents ?? self.documentCount, self.documentCount)
        var keys: [ScoredKey] = []
        let matched = try self.evaluate(query, limit: limit, keys: &keys)
        return self.ranker.scores(matched: matched, keys: keys, statistics: self.statistics(limit: limit), lengths: Lengths(reader: self))
    }

    /// The best `limit` documents matching `query` among the first `documents`, that `filter` keeps and that
    /// come after `after` (see ``Ranker``): `total` counts the matches `filter` keeps.
    ///
    /// - Parameter filter: Given documents (ascending), returns those a search's filters accept (ascending): once
    ///   with every match, and before that once per segment with a phrase's candidates (so that only the kept ones
    ///   have their positions read); each call a loop of its own over the filter's columns.
    package func topMatches(
        _ query: SearchQuery, limit: Int, documents: Int? = nil, after: (score: Double, document: UInt32)? = nil,
        filter: Prefilter? = nil
    ) throws(DatelineStorageError) -> (total: Int, top: [(document: UInt32, score: Double)], scored: Int) {
        let count = min(documents ?? self.documentCount, self.documentCount)
        var keys: [ScoredKey] = []
        let matched = try self.evaluate(query, limit: count, keys: &keys, accept: filter)
        return self.ranker.top(
            matched: filter?(matched) ?? matched, keys: keys, statistics: self.statistics(limit: count), lengths: Lengths(reader: self),
            limit: limit, after: after
        )
    }

    /// Field lengths by global document, from whichever part holds it: a segment's lengths are read from its
    /// mapped bytes (no reference counting per document), a buffer's from its arrays. Valid while the view is.
    struct Lengths: FieldLengths {
        let reader: IndexReader
        /// Per slot: its first document, and a segment's lengths (nil for a buffer).
        private let bases: [Int]
        private let segmentLengths: [(title: PackedColumn.Reader, body: PackedColumn.Reader)?]

        init(reader: IndexReader) {
            self.reader = reader
            self.bases = reader.slots.map(\.base)
            self.segmentLengths = reader.slots.map { slot in
                if case .segment(let segment) = slot.part { segment.lengthColumns } else { nil }
            }
        }

        @inline(__always)
        private func slot(of document: Int) -> Int {
            var low = 0
            var high = self.bases.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if self.bases[middle] <= document { low = middle } else { high = middle - 1 }
            }
            return low
        }

        @inline(__always)
        func lengths(_ document: Int) -> (title: UInt32, body: UInt32) {
            var slot = 0
            return self.lengths(document, hint: &slot)
        }

        @inline(__always)
        func lengths(_ document: Int, hint slot: inout Int) -> (title: UInt32, body: UInt32) {
            if !(slot < self.bases.count && self.bases[slot] <= document && (slot + 1 == self.bases.count || document < self.bases[slot + 1])) {
                slot = self.slot(of: document)
            }
            let local = document - self.bases[slot]
            if let lengths = self.segmentLengths[slot] {
                return (UInt32(truncatingIfNeeded: lengths.title[local]), UInt32(truncatingIfNeeded: lengths.body[local]))
            }
            guard case .buffer(let index) = self.reader.slots[slot].part else { return (0, 0) }
            return (index.titleLengths[local], index.bodyLengths[local])
        }

        func titleLength(_ document: Int) -> UInt32 { self.lengths(document).title }
        func bodyLength(_ document: Int) -> UInt32 { self.lengths(document).body }
    }

    // MARK: Snippets

    /// Highlighted passages of `body` for `query`: the body is analysed again and the words whose terms the
    /// query looks for (or that start with one of its prefixes) are marked, so no per-token offsets are stored.
    package func snippets(body: String, for query: SearchQuery, limit: Int = 3) -> [String] {
        Snippets.highlight(body, for: Snippets.Terms(query), analyzer: self.analyzer, limit: limit)
    }

    /// Like ``snippets(body:for:limit:)`` with the query's terms prepared once for all of a page's hits.
    package func snippets(body: String, for terms: Snippets.Terms, limit: Int = 3) -> [String] {
        Snippets.highlight(body, for: terms, analyzer: self.analyzer, limit: limit)
    }
}

extension Snippets {
    /// What snippets look for: a query's exact terms and prefixes, and which words can stem to one of them,
    /// told by their first bytes (so that other words are never stemmed).
    package struct Terms: Sendable {
        var exact: [(bytes: [UInt8], term: String)] = []
        var prefixes: [(prefix: [UInt8], label: String)] = []
        /// Words starting with these bytes are always looked at.
        var firstBytes = [Bool](repeating: false, count: 256)
        /// Words starting with these two bytes (bit `first << 8 | second`) are looked at.
        var pairs = [UInt64](repeating: 0, count: 1_024)
        /// ... and stemmed only when they start with one of these: a wanted term or prefix without its last two
        /// bytes. A stem shares all but at most its last two bytes with its word ("dying" → "die"; checked over the
        /// whole Snowball vocabulary, words with a leading apostrophe apart), so no other word can stem to one.
        var stemGates: [[UInt8]] = []
        var labels: Int { self.exact.count + self.prefixes.count }

        package init(_ query: SearchQuery) {
            for term in SearchIndex.positiveTerms(query) {
                if term.hasSuffix("*") {
                    self.prefixes.append((Array(term.dropLast().utf8), term))
                } else {
                    self.exact.append((Array(term.utf8), term))
                }
            }
            self.prefixes.sort { $0.label < $1.label }
            // A stem of two bytes or more keeps its word's first two (asserted over the whole Snowball
            // vocabulary), but for "dying" → "die" and its like: a wanted "Xi" also admits words starting "Xy". A
            // shorter term or prefix admits every word starting with its first byte (or every word).
            for wanted in self.exact.map(\.bytes) + self.prefixes.map(\.prefix) {
                if wanted.count >= 2 {
                    self.admit(wanted[0], wanted[1])
                    if wanted[1] == UInt8(ascii: "i") { self.admit(wanted[0], UInt8(ascii: "y")) }
                } else if let first = wanted.first {
                    self.firstBytes[Int(first)] = true
                } else {
                    self.firstBytes = [Bool](repeating: true, count: 256)
                }
            }
            self.firstBytes[Int(UInt8(ascii: "'"))] = true  // a leading apostrophe is dropped by the stemmer
            self.stemGates = (self.exact.map(\.bytes) + self.prefixes.map(\.prefix)).map { Array($0.dropLast(2)) }
        }

        /// Whether the folded word may stem to a wanted term or prefix (see ``stemGates``).
        @inline(__always)
        func mayStem(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
            if word.first == UInt8(ascii: "'") { return true }
            for gate in self.stemGates where word.count >= gate.count {
                var index = 0
                while index < gate.count, gate[index] == word[index] { index += 1 }
                if index == gate.count { return true }
            }
            return false
        }

        private mutating func admit(_ first: UInt8, _ second: UInt8) {
            let pair = Int(first) << 8 | Int(second)
            self.pairs[pair >> 6] |= 1 << UInt64(pair & 63)
        }

        /// Whether a word with these folded bytes may stem to a wanted term.
        @inline(__always)
        func admits(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let first = word.first else { return false }
            if self.firstBytes[Int(first)] { return true }
            guard word.count >= 2 else { return false }
            let pair = Int(first) << 8 | Int(word[1])
            return self.pairs[pair >> 6] & (1 << UInt64(pair & 63)) != 0
        }
    }

    /// The snippets of `body` for `query`, finding matched words by analysing `body` again.
    static func highlight(_ body: String, for query: SearchQuery, analyzer: Analyzer, limit: Int) -> [String] {
        self.highlight(body, for: Terms(query), analyzer: analyzer, limit: limit)
    }

    /// The snippets of `body` for the prepared `terms`, finding matched words by analysing `body` again.
    static func highlight(_ body: String, for terms: Terms, analyzer: Analyzer, limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        let bytes = Array(body.utf8)
        var matched: [(range: Range<Int>, term: String)] = []
        var found: [String] = []  // the terms matched so far (few: a list)
        var stemmed: [UInt8] = []
        // Once the passages are settled the rest of the body cannot change them: every term is shown and there
        // are `limit` of them (later matches would only be considered after these). Words up to the passages'
        // end are still read, to mark them.
        var settledEnd = Int.max
        analyzer.forEachWordBytes(body) { word, isAbbreviation, range in
            guard range.lowerBound < settledEnd else { return false }
            guard terms.admits(word) else { return true }
            // As PorterStemmer.stem(_: String): words of three or more ASCII letters are stemmed.
            let stems = analyzer.stems && !isAbbreviation && word.count > 2 && word.allSatisfy { $0 < 0x80 }
            // A word whose stem cannot be a wanted term or start with a wanted prefix is no match: not stemmed.
            guard !stems || terms.mayStem(word) else { return true }
            stemmed.removeAll(keepingCapacity: true)
            stemmed.append(contentsOf: word)
            if stems { PorterStemmer.stem(&stemmed) }
            let before = matched.count
            for (bytes, term) in terms.exact where bytes == stemmed { matched.append((range, term)) }
            for (prefix, label) in terms.prefixes where stemmed.starts(with: prefix) { matched.append((range, label)) }
            guard matched.count > before, settledEnd == Int.max else { return true }
            for match in matched[before...] where !found.contains(match.term) { found.append(match.term) }
            if found.count == terms.labels {
                let (windows, shown) = self.windows(bytes, matched: matched, limit: limit)
                if windows.count == limit, shown.count == terms.labels { settledEnd = windows.map(\.upperBound).max()! }
            }
            return true
        }
        return self.make(bytes, matched: matched, limit: limit)
    }
}
