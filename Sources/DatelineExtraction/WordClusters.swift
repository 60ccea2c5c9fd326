internal import Foundation

/// Word classes learnt from unlabelled news, which the named-entity tagger weighs beside the words themselves:
/// words used alike ("Monday" and "Tuesday", "Clinton" and "Yeltsin", "Ltd" and "Corp") share a class, so what
/// the tagger learnt about one carries to the others, including words its training data never had.
///
/// Learnt by the exchange algorithm on a predictive class bigram model (a word is predicted from the word before
/// it through its own class, P(w | v) = P(class(w) | v) · P(w | class(w))): every word in turn moves to the class
/// that most raises the corpus likelihood, until few words move. Two granularities are kept, a coarse and a fine
/// one.
public struct WordClusters: Sendable {
    /// The coarse and fine class of each word (case kept: "Bush" and "bush" are different words).
    var classes: [String: Classes]

    struct Classes: Sendable, Hashable {
        var coarse: UInt16
        var fine: UInt16
    }

    /// The same, by the FNV-1a hash of the word: what the tagger looks up for every word it reads (a `String`
    /// key would be hashed again with SipHash). Values are `coarse << 16 | fine`.
    let table: NamedEntityModel.FeatureTable

    /// No classes: every word is unknown.
    public static let empty = WordClusters(classes: [:])

    init(classes: [String: Classes]) {
        self.classes = classes
        var rows: [UInt64: Int32] = [:]
        rows.reserveCapacity(classes.count)
        for (word, classes) in classes { rows[NamedEntityModel.SentenceView.hash(word)] = Int32(classes.coarse) << 16 | Int32(classes.fine) }
        self.table = NamedEntityModel.FeatureTable(rows)
    }

    /// The classes of the word whose FNV-1a hash is `hash`.
    @inline(__always)
    func classes(hash: UInt64) -> Classes? {
        self.table.find(hash).map { Classes(coarse: UInt16(truncatingIfNeeded: $0 >> 16), fine: UInt16(truncatingIfNeeded: $0 & 0xFFFF)) }
    }

    /// How many words have classes.
    public var wordCount: Int { self.classes.count }

    /// The coarse and fine class of a word, if it has them.
    public func classes(of word: String) -> (coarse: Int, fine: Int)? {
        self.classes(hash: NamedEntityModel.SentenceView.hash(word)).map { (Int($0.coarse), Int($0.fine)) }
    }

    /// Learns classes from sentences of words.
    /// - Parameters:
    ///   - coarse: the number of coarse classes.
    ///   - fine: the number of fine classes.
    ///   - minimumCount: words seen fewer times than this get no class (they are pooled as one "rare" word).
    ///   - iterations: passes over the vocabulary (each moves every word at most once).
    public static func learn(
        sentences: [[String]],
        coarse: Int = 64,
        fine: Int = 300,
        minimumCount: Int = 3,
        iterations: Int = 8,
        progress: (String) -> Void = { _ in }
    ) -> WordClusters {
        let corpus = ClassBigramCorpus(sentences: sentences, minimumCount: minimumCount)
        progress("\(corpus.vocabulary.count) words, \(corpus.bigramCount) distinct bigrams")
        let coarseClasses = corpus.exchange(classCount: coarse, iterations: iterations) { progress("coarse (\(coarse)): \($0)") }
        let fineClasses = corpus.exchange(classCount: fine, iterations: iterations) { progress("fine (\(fine)): \($0)") }
        var classes: [String: Classes] = [:]
        classes.reserveCapacity(corpus.vocabulary.count)
        for (id, word) in corpus.vocabulary.enumerated() {
            classes[word] = Classes(coarse: UInt16(coarseClasses[id]), fine: UInt16(fineClasses[id]))
        }
        return WordClusters(classes: classes)
    }
}

/// The counts the exchange algorithm works on: words as ids (by frequency, the pooled rare word last), and for
/// each word the words seen right before it with their counts.
struct ClassBigramCorpus {
    var vocabulary: [String]
    /// Occurrences of each word id (the rare word's id is `vocabulary.count`).
    var wordCounts: [Int]
    /// For each word id, its predecessors (word ids, `vocabulary.count + 1` for a sentence start) and counts.
    var predecessors: [[(word: Int32, count: Int32)]]
    var bigramCount: Int

    init(sentences: [[String]], minimumCount: Int) {
        var counts: [String: Int] = [:]
        for sentence in sentences { for word in sentence { counts[word, default: 0] += 1 } }
        self.vocabulary = counts.filter { $0.value >= minimumCount }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        var ids: [String: Int32] = [:]
        for (id, word) in self.vocabulary.enumerated() { ids[word] = Int32(id) }
        let rare = Int32(self.vocabulary.count), start = rare + 1
        var bigrams: [Int64: Int32] = [:]
        self.wordCounts = [Int](repeating: 0, count: self.vocabulary.count + 1)
        for sentence in sentences {
            var previous = start
            for word in sentence {
                let id = ids[word] ?? rare
                self.wordCounts[Int(id)] += 1
                bigrams[Int64(previous) << 32 | Int64(id), default: 0] += 1
                previous = id
            }
        }
        self.predecessors = Array(repeating: [], count: self.vocabulary.count + 1)
        for (key, count) in bigrams { self.predecessors[Int(key & 0xFFFF_FFFF)].append((Int32(key >> 32), count)) }
        // In word order, so that sums (and so the classes) do not depend on the dictionary's iteration order.
        for w in self.predecessors.indices { self.predecessors[w].sort { $0.word < $1.word } }
        self.bigramCount = bigrams.count
    }

    /// x log x, from a table for small counts.
    struct XLogX {
        let table: [Double]
        init(size: Int) { self.table = (0..<size).map { $0 == 0 ? 0 : Double($0) * log(Double($0)) } }
        @inline(__always) func callAsFunction(_ x: Int32) -> Double {
            x < self.table.count ? self.table[Int(x)] : Double(x) * log(Double(x))
        }
    }

    /// Class ids for every word (the rare word included) after `iterations` exchange passes.
    func exchange(classCount: Int, iterations: Int, progress: (String) -> Void) -> [Int] {
        let words = self.wordCounts.count
        let k = classCount
        let f = XLogX(size: 1 << 16)
        // Frequent words start in classes of their own, the rest round-robin.
        var classOf = (0..<words).map { $0 % k }
        // N(v, c): how often word v is followed by a word of class c; rows for every word and the sentence start.
        var following = [Int32](repeating: 0, count: (words + 1) * k)
        var classCounts = [Int32](repeating: 0, count: k)
        for w in 0..<words {
            classCounts[classOf[w]] += Int32(self.wordCounts[w])
            for (v, n) in self.predecessors[w] { following[Int(v) * k + classOf[w]] += n }
        }
        var gains = [Double](repeating: 0, count: k)
        for iteration in 1...max(1, iterations) {
            var moved = 0
            following.withUnsafeMutableBufferPointer { following in
                for w in 0..<words {
                    let old = classOf[w]
                    let count = Int32(self.wordCounts[w])
                    let predecessors = self.predecessors[w]
                    // Take the word out of its class, then weigh every class for it.
                    for (v, n) in predecessors { following[Int(v) * k + old] -= n }
                    classCounts[old] -= count
                    for c in 0..<k { gains[c] = f(classCounts[c]) - f(classCounts[c] + count) }
                    for (v, n) in predecessors {
                        let row = Int(v) * k
                        for c in 0..<k {
                            let current = following[row + c]
                            gains[c] += f(current + n) - f(current)
                        }
                    }
                    var best = old
                    for c in 0..<k where gains[c] > gains[best] + 1e-9 { best = c }
                    if best != old { moved += 1 }
                    classOf[w] = best
                    for (v, n) in predecessors { following[Int(v) * k + best] += n }
                    classCounts[best] += count
                }
            }
            progress("pass \(iteration): \(moved) words moved")
            if moved < words / 200 { break }
        }
        return classOf
    }
}
