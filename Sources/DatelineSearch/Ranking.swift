import Foundation

/// A key that contributes to scores (a term, a phrase, or one term of a prefix), with its matching documents
/// in order and their frequencies in each field.
struct ScoredKey {
    var documents: [UInt32] = []
    var title: [UInt32] = []
    var body: [UInt32] = []
    /// How many documents hold the key, when `documents` lists only some of them (a term of a conjunction is
    /// read only for the documents its other parts leave): its IDF is the whole term's.
    var wholeDocumentFrequency: Int?

    /// A phrase's terms' document frequencies: its IDF is the sum of theirs, as Lucene and Tantivy score phrases,
    /// so it needs no count of the documents holding the whole phrase (and filters may narrow those first).
    var termDocumentFrequencies: [Int]?

    /// The document frequency its IDF uses.
    var documentFrequency: Int { self.wholeDocumentFrequency ?? self.documents.count }

    /// Its IDF among `documents`: a term's, or the sum of a phrase's terms'.
    func inverseDocumentFrequency(documents: Int) -> Double {
        guard let terms = self.termDocumentFrequencies else {
            return Ranker.inverseDocumentFrequency(self.documentFrequency, documents: documents)
        }
        return terms.reduce(0) { $0 + Ranker.inverseDocumentFrequency($1, documents: documents) }
    }

    /// The highest frequencies in each field, for score upper bounds.
    var maximumTitle: UInt32 { self.title.max() ?? 0 }
    var maximumBody: UInt32 { self.body.max() ?? 0 }

    mutating func append(_ list: PostingList, base: UInt32) {
        if base == 0, self.documents.isEmpty {
            self.documents = list.documents
        } else {
            for document in list.documents { self.documents.append(base + document) }
        }
        self.title.append(contentsOf: list.titleFrequencies)
        self.body.append(contentsOf: list.bodyFrequencies)
    }
}

/// What BM25 needs of the collection at a point in time.
struct CollectionStatistics {
    var documents: Int
    var averageTitleLength: Double
    var averageBodyLength: Double

    init(documents: Int, totalTitleLength: Int, totalBodyLength: Int) {
        let count = Double(max(1, documents))
        self.documents = documents
        self.averageTitleLength = max(1, Double(totalTitleLength) / count)
        self.averageBodyLength = max(1, Double(totalBodyLength) / count)
    }
}

/// Each document's field lengths, by global document number.
protocol FieldLengths {
    func titleLength(_ document: Int) -> UInt32
    func bodyLength(_ document: Int) -> UInt32
    /// Both lengths, found together (one look-up of the part holding the document).
    func lengths(_ document: Int) -> (title: UInt32, body: UInt32)
    /// Both lengths, where `hint` names the part that held the previous document asked for (documents asked for
    /// in increasing order are mostly in the same part); updated to this document's.
    func lengths(_ document: Int, hint: inout Int) -> (title: UInt32, body: UInt32)
}

extension FieldLengths {
    func lengths(_ document: Int) -> (title: UInt32, body: UInt32) { (self.titleLength(document), self.bodyLength(document)) }

    func lengths(_ document: Int, hint: inout Int) -> (title: UInt32, body: UInt32) { self.lengths(document) }
}

/// The one BM25 and the one top-k of the index: scores documents from the keys a query evaluated to, whichever
/// segments (in memory or on disk) they came from. Needs no per-document scratch space: matched documents and
/// every key's postings are sorted, so they are walked side by side.
struct Ranker: Sendable {
    var parameters: BM25Parameters

    init(parameters: BM25Parameters) {
        self.parameters = parameters
    }

    /// Lucene's BM25 IDF: ln(1 + (N − df + 0.5) / (df + 0.5)).
    static func inverseDocumentFrequency(_ documentFrequency: Int, documents: Int) -> Double {
        let n = Double(documents)
        let df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }

    /// What BM25 adds for one key in one document, and its largest possible value (the key's largest
    /// frequencies in fields of length 0).
    struct Scoring {
        let k1: Double
        let b: Double
        let titleWeight: Double
        let averageTitle: Double
        let averageBody: Double

        init(_ parameters: BM25Parameters, _ statistics: CollectionStatistics) {
            (self.k1, self.b, self.titleWeight) = (parameters.k1, parameters.b, parameters.titleWeight)
            (self.averageTitle, self.averageBody) = (statistics.averageTitleLength, statistics.averageBodyLength)
        }

        @inline(__always)
        func saturation(_ frequency: UInt32, _ length: UInt32, _ average: Double) -> Double {
            guard frequency > 0 else { return 0 }
            let f = Double(frequency)
            return f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * Double(length) / average))
        }

        @inline(__always)
        func contribution(idf: Double, title: UInt32, body: UInt32, lengths: (title: UInt32, body: UInt32)) -> Double {
            idf * (self.titleWeight * self.saturation(title, lengths.title, self.averageTitle) + self.saturation(body, lengths.body, self.averageBody))
        }
    }

    /// Every document of `matched` with its BM25 score over `keys`, in document order.
    func scores(
        matched: [UInt32], keys: [ScoredKey], statistics: CollectionStatistics, lengths: some FieldLengths
    ) -> [(document: UInt32, score: Double)] {
        guard !matched.isEmpty else { return [] }
        let scoring = Scoring(self.parameters, statistics)
        var scores = [Double](repeating: 0, count: matched.count)
        var fieldLengths = [(title: UInt32, body: UInt32)?](repeating: nil, count: matched.count)
        for key in keys {
            let idf = key.inverseDocumentFrequency(documents: statistics.documents)
            var position = 0  // in matched
            for index in key.documents.indices {
                let document = key.documents[index]
                while position < matched.count, matched[position] < document { position += 1 }
                guard position < matched.count else { break }
                guard matched[position] == document else { continue }
                let documentLengths = fieldLengths[position] ?? lengths.lengths(Int(document))
                fieldLengths[position] = documentLengths
                scores[position] += scoring.contribution(idf: idf, title: key.title[index], body: key.body[index], lengths: documentLengths)
            }
        }
        return zip(matched, scores).map { ($0, $1) }
    }

    /// A key's postings as the ranker walks them, read through pointers into a buffer the ranker owns for the
    /// walk.
    private struct Postings {
        let documents: UnsafeBufferPointer<UInt32>
        let title: UnsafeBufferPointer<UInt32>
        let body: UnsafeBufferPointer<UInt32>
        let idf: Double
        let bound: Double
        /// What a title or body frequency below ``Ranker/boundedFrequencies`` can add at most (in a field of length
        /// 0): a document's bound without its lengths or a division.
        let titleBounds: UnsafeBufferPointer<Double>
        let bodyBounds: UnsafeBufferPointer<Double>

        /// The most this key adds to a document with these frequencies, whatever its lengths.
        @inline(__always)
        func bound(title: UInt32, body: UInt32) -> Double {
            guard title < Ranker.boundedFrequencies, body < Ranker.boundedFrequencies else { return self.bound }
            return self.titleBounds[Int(title)] + self.bodyBounds[Int(body)]
        }
    }

    /// Frequencies whose score bounds are tabled per key.
    static let boundedFrequencies: UInt32 = 16

    /// The best `limit` documents of `matched` (by BM25, ties to the older document; the search's filters already
    /// applied) that come after `after`, scoring only the documents that can still make
    /// the cut: MaxScore (Turtle & Flood, 1995). Keys are ordered by the most they can add to a score; once the
    /// `limit`-th best score exceeds what the weakest keys can add together, documents found only in those keys
    /// are never visited, and the weak keys are looked up only for documents whose partial score can still win.
    /// Returns the same documents in the same order as scoring every match and sorting.
    func top(
        matched: [UInt32], keys: [ScoredKey], statistics: CollectionStatistics, lengths: some FieldLengths,
        limit: Int, after: (score: Double, document: UInt32)?
    ) -> (total: Int, top: [(document: UInt32, score: Double)], scored: Int) {
        guard !matched.isEmpty, limit > 0 else { return (matched.count, [], 0) }
        let scoring = Scoring(self.parameters, statistics)
        let keys = keys.filter { !$0.documents.isEmpty }
        // The keys' postings copied into one buffer that the walk reads through pointers (no reference counting
        // per posting, and no pointer escaping an array's closure).
        let storage = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 3 * keys.reduce(0) { $0 + $1.documents.count })
        defer { storage.deallocate() }
        let tableSize = Int(Self.boundedFrequencies)
        let tables = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * tableSize * keys.count)
        defer { tables.deallocate() }
        var used = 0
        func copy(_ values: [UInt32]) -> UnsafeBufferPointer<UInt32> {
            let slice = UnsafeMutableBufferPointer(rebasing: storage[used..<(used + values.count)])
            _ = slice.initialize(from: values)
            used += values.count
            return UnsafeBufferPointer(slice)
        }
        let lists: [Postings] = keys.enumerated().map { number, key in
            let idf = key.inverseDocumentFrequency(documents: statistics.documents)
            let bound = idf * (scoring.titleWeight * scoring.saturation(key.maximumTitle, 0, scoring.averageTitle)
                + scoring.saturation(key.maximumBody, 0, scoring.averageBody))
            let titleBounds = UnsafeMutableBufferPointer(rebasing: tables[(2 * number * tableSize)..<((2 * number + 1) * tableSize)])
            let bodyBounds = UnsafeMutableBufferPointer(rebasing: tables[((2 * number + 1) * tableSize)..<((2 * number + 2) * tableSize)])
            for frequency in 0..<tableSize {
                titleBounds[frequency] = idf * scoring.titleWeight * scoring.saturation(UInt32(frequency), 0, scoring.averageTitle)
                bodyBounds[frequency] = idf * scoring.saturation(UInt32(frequency), 0, scoring.averageBody)
            }
            return Postings(
                documents: copy(key.documents), title: copy(key.title), body: copy(key.body), idf: idf, bound: bound,
                titleBounds: UnsafeBufferPointer(titleBounds), bodyBounds: UnsafeBufferPointer(bodyBounds)
            )
        }.sorted { $0.bound < $1.bound }
        let top = matched.withUnsafeBufferPointer { candidates in
            Self.maxScore(lists, candidates: candidates, scoring: scoring, lengths: lengths, limit: limit, after: after)
        }
        return (matched.count, top.top, top.scored)
    }

    /// MaxScore over `lists` (ordered by bound, weakest first) for the documents of `candidates`.
    private static func maxScore(
        _ lists: [Postings], candidates: UnsafeBufferPointer<UInt32>, scoring: Scoring, lengths: some FieldLengths,
        limit: Int, after: (score: Double, document: UInt32)?
    ) -> (top: [(document: UInt32, score: Double)], scored: Int) {
        var positions = [Int](repeating: 0, count: lists.count)
        var below = [Double](repeating: 0, count: lists.count + 1)  // below[i]: the bounds of keys 0..<i added
        for (index, list) in lists.enumerated() { below[index + 1] = below[index] + list.bound }
        /// Ranks before: higher score, then older document.
        func better(_ a: (document: UInt32, score: Double), _ b: (document: UInt32, score: Double)) -> Bool {
            a.score != b.score ? a.score > b.score : a.document < b.document
        }
        var top: [(document: UInt32, score: Double)] = []  // best first
        top.reserveCapacity(limit + 1)
        var threshold = -Double.infinity  // the limit-th best score once there are limit documents
        var essential = 0  // keys essential..<count drive the candidates; the rest are only looked up
        var scored = 0
        var next = 0  // in candidates: the first not yet passed
        var part = 0  // the part holding the last document whose lengths were read
        while true {
            // The next candidate: the smallest document under an essential key's position.
            var candidate = UInt32.max
            for index in essential..<lists.count where positions[index] < lists[index].documents.count {
                candidate = min(candidate, lists[index].documents[positions[index]])
            }
            guard candidate != UInt32.max else { break }
            while next < candidates.count, candidates[next] < candidate { next += 1 }
            guard next < candidates.count else { break }  // no later document is wanted
            var wanted = candidates[next] == candidate
            if wanted, top.count == limit {
                // What the document's frequencies allow at most (no length read, no division): one that cannot reach
                // the threshold is passed over, as most of a long key's documents are once the page is full.
                var bound = below[essential]
                for index in essential..<lists.count {
                    let list = lists[index]
                    let position = positions[index]
                    guard position < list.documents.count, list.documents[position] == candidate else { continue }
                    bound += list.bound(title: list.title[position], body: list.body[position])
                }
                wanted = bound * (1 + 1e-9) >= threshold
            }
            let fieldLengths = wanted ? lengths.lengths(Int(candidate), hint: &part) : (0, 0)  // once per scored document
            var score = 0.0
            for index in essential..<lists.count {
                let list = lists[index]
                let position = positions[index]
                guard position < list.documents.count, list.documents[position] == candidate else { continue }
                if wanted { score += scoring.contribution(idf: list.idf, title: list.title[position], body: list.body[position], lengths: fieldLengths) }
                positions[index] = position + 1
            }
            guard wanted else { continue }
            // The weak keys, strongest first, while the document can still reach the threshold.
            var alive = true
            for index in stride(from: essential - 1, through: 0, by: -1) {
                if score + below[index + 1] < threshold { alive = false; break }
                let list = lists[index]
                var low = positions[index]
                var high = list.documents.count
                while low < high {
                    let middle = (low + high) / 2
                    if list.documents[middle] < candidate { low = middle + 1 } else { high = middle }
                }
                positions[index] = low
                if low < list.documents.count, list.documents[low] == candidate {
                    score += scoring.contribution(idf: list.idf, title: list.title[low], body: list.body[low], lengths: fieldLengths)
                }
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
                while essential < lists.count, below[essential + 1] < threshold { essential += 1 }
            }
        }
        return (top, scored)
    }
}

/// Sorted document-list algebra for AND, OR and NOT.
enum DocumentSets {
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
}
