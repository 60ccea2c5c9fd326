import Foundation
import Synchronization

/// A key that contributes to scores (a term, a phrase, or one term of a prefix), with its matching documents
/// in order and their frequencies in each field.
struct ScoredKey {
    var documents: [UInt32] = []
    var title: [UInt32] = []
    var body: [UInt32] = []

    /// The highest frequencies in each field, for score upper bounds.
    var maximumTitle: UInt32 { self.title.max() ?? 0 }
    var maximumBody: UInt32 { self.body.max() ?? 0 }

    mutating func append(_ list: PostingList, base: UInt32) {
        if base == 0, self.documents.isEmpty {
            self.documents = list.documents
        } else {
            self.documents.reserveCapacity(self.documents.count + list.count)
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
}

extension FieldLengths {
    func lengths(_ document: Int) -> (title: UInt32, body: UInt32) { (self.titleLength(document), self.bodyLength(document)) }
}

/// The one BM25 and the one top-k of the index: scores documents from the keys a query evaluated to, whichever
/// segments (in memory or on disk) they came from.
struct Ranker: Sendable {
    var parameters: BM25Parameters
    /// Scratch space for scoring, one per concurrent search, reused.
    let scratchPool: ScratchPool

    init(parameters: BM25Parameters, scratchPool: ScratchPool = ScratchPool()) {
        self.parameters = parameters
        self.scratchPool = scratchPool
    }

    /// Lucene's BM25 IDF: ln(1 + (N − df + 0.5) / (df + 0.5)).
    static func inverseDocumentFrequency(_ documentFrequency: Int, documents: Int) -> Double {
        let n = Double(documents)
        let df = Double(documentFrequency)
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }

    /// Every document of `matched` with its BM25 score over `keys`, in document order.
    func scores(
        matched: [UInt32], keys: [ScoredKey], statistics: CollectionStatistics, lengths: some FieldLengths, capacity: Int
    ) -> [(document: UInt32, score: Double)] {
        guard !matched.isEmpty else { return [] }
        let scratch = self.scratchPool.take()
        defer { self.scratchPool.give(scratch) }
        let generation = scratch.prepare(documents: capacity)
        for document in matched {
            scratch.marks[Int(document)] = generation
            scratch.scores[Int(document)] = 0
        }
        let p = self.parameters
        let k1 = p.k1
        for key in keys {
            let idf = Self.inverseDocumentFrequency(key.documents.count, documents: statistics.documents)
            for index in key.documents.indices {
                let document = Int(key.documents[index])
                guard scratch.marks[document] == generation else { continue }
                var contribution = 0.0
                let titleFrequency = Double(key.title[index])
                if titleFrequency > 0 {
                    let norm = k1 * (1 - p.b + p.b * Double(lengths.titleLength(document)) / statistics.averageTitleLength)
                    contribution += p.titleWeight * titleFrequency * (k1 + 1) / (titleFrequency + norm)
                }
                let bodyFrequency = Double(key.body[index])
                if bodyFrequency > 0 {
                    let norm = k1 * (1 - p.b + p.b * Double(lengths.bodyLength(document)) / statistics.averageBodyLength)
                    contribution += bodyFrequency * (k1 + 1) / (bodyFrequency + norm)
                }
                scratch.scores[document] += idf * contribution
            }
        }
        return matched.map { ($0, scratch.scores[Int($0)]) }
    }

    /// A key's postings as the ranker walks them (immutable: the walk's positions are kept apart, so reading a
    /// posting touches no reference count).
    private struct Postings {
        let documents: [UInt32]
        let title: [UInt32]
        let body: [UInt32]
        let idf: Double
        let bound: Double
    }

    /// The best `limit` documents of `matched` (by BM25, ties to the older document) among those `include`
    /// accepts (all when it is nil) and that come after `after`, scoring only the documents that can still make
    /// the cut: MaxScore (Turtle & Flood, 1995). Keys are ordered by the most they can add to a score; once the
    /// `limit`-th best score exceeds what the weakest keys can add together, documents found only in those keys
    /// are never visited, and the weak keys are looked up only for documents whose partial score can still win.
    /// Returns the same documents in the same order as scoring every match and sorting.
    func top(
        matched: [UInt32], keys: [ScoredKey], statistics: CollectionStatistics, lengths: some FieldLengths, capacity: Int,
        limit: Int, after: (score: Double, document: UInt32)?, include: ((UInt32) -> Bool)?
    ) -> (total: Int, top: [(document: UInt32, score: Double)], scored: Int) {
        guard !matched.isEmpty, limit > 0 else { return (include.map { matched.filter($0).count } ?? matched.count, [], 0) }
        let scratch = self.scratchPool.take()
        defer { self.scratchPool.give(scratch) }
        let generation = scratch.prepare(documents: capacity)
        var total = 0
        if let include {
            for document in matched where include(document) {
                scratch.marks[Int(document)] = generation
                total += 1
            }
        } else {
            for document in matched { scratch.marks[Int(document)] = generation }
            total = matched.count
        }
        let p = self.parameters
        let k1 = p.k1
        let averageTitle = statistics.averageTitleLength
        let averageBody = statistics.averageBodyLength
        // What a key adds to a document's score; its largest possible value uses the key's largest frequencies
        // and the shortest possible fields (length 0).
        func saturation(_ frequency: Double, _ length: Double, _ average: Double) -> Double {
            frequency <= 0 ? 0 : frequency * (k1 + 1) / (frequency + k1 * (1 - p.b + p.b * length / average))
        }
        let lists: [Postings] = keys.filter { !$0.documents.isEmpty }.map { key in
            let idf = Self.inverseDocumentFrequency(key.documents.count, documents: statistics.documents)
            let bound = idf * (p.titleWeight * saturation(Double(key.maximumTitle), 0, averageTitle) + saturation(Double(key.maximumBody), 0, averageBody))
            return Postings(documents: key.documents, title: key.title, body: key.body, idf: idf, bound: bound)
        }.sorted { $0.bound < $1.bound }
        var positions = [Int](repeating: 0, count: lists.count)
        var below = [Double](repeating: 0, count: lists.count + 1)  // below[i]: the bounds of keys 0..<i added
        for (index, list) in lists.enumerated() { below[index + 1] = below[index] + list.bound }
        func contribution(_ list: Postings, at index: Int, lengths: (title: UInt32, body: UInt32)) -> Double {
            list.idf * (p.titleWeight * saturation(Double(list.title[index]), Double(lengths.title), averageTitle)
                + saturation(Double(list.body[index]), Double(lengths.body), averageBody))
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
            // The next candidate: the smallest document under an essential key's position.
            var candidate = UInt32.max
            for index in essential..<lists.count where positions[index] < lists[index].documents.count {
                candidate = min(candidate, lists[index].documents[positions[index]])
            }
            guard candidate != UInt32.max else { break }
            let document = Int(candidate)
            let wanted = scratch.marks[document] == generation
            let fieldLengths = wanted ? lengths.lengths(document) : (0, 0)  // once per scored document
            var score = 0.0
            for index in essential..<lists.count where positions[index] < lists[index].documents.count
                && lists[index].documents[positions[index]] == candidate
            {
                if wanted { score += contribution(lists[index], at: positions[index], lengths: fieldLengths) }
                positions[index] += 1
            }
            guard wanted else { continue }
            // The weak keys, strongest first, while the document can still reach the threshold.
            var alive = true
            for index in stride(from: essential - 1, through: 0, by: -1) {
                if score + below[index + 1] < threshold { alive = false; break }
                let documents = lists[index].documents
                var low = positions[index]
                var high = documents.count
                while low < high {
                    let middle = (low + high) / 2
                    if documents[middle] < candidate { low = middle + 1 } else { high = middle }
                }
                positions[index] = low
                if low < documents.count, documents[low] == candidate { score += contribution(lists[index], at: low, lengths: fieldLengths) }
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
        return (total, top, scored)
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

/// Scoring arrays handed to one search at a time.
final class ScratchPool: Sendable {
    private let pool = Mutex<[ScoringScratch]>([])

    init() {}

    func take() -> ScoringScratch { self.pool.withLock { $0.popLast() } ?? ScoringScratch() }
    func give(_ scratch: ScoringScratch) { self.pool.withLock { $0.append(scratch) } }
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
