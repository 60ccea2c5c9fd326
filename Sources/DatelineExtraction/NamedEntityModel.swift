import CDatelineZlib
internal import Foundation

/// A greedy left-to-right named-entity tagger (PER / LOC / ORG / MISC), an averaged perceptron over word, shape,
/// affix, context, gazetteer, word-class and document features, labelling in BILOU or IOB2 (`scheme`). Trained
/// here, in Swift, on the CoNLL-2003 English train split (`dateline train-ner`), and shipped as `Data/ner.model`.
public struct NamedEntityModel: Sendable {
    /// The IOB2 labels `tag` returns, by id, whatever the model's own scheme.
    public static let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]

    /// How the model labels the words of a name (its weights have a column per label of the scheme).
    public let scheme: NamedEntityTagScheme
    /// The scheme's label count: the width of a row of `weights`.
    let labelCount: Int

    /// Feature hash → first weight of its row.
    var rows: [UInt64: Int32]
    var weights: [Float]
    /// The same map as `rows`, as an open-addressing table: the features are hashes already, so probing needs
    /// no further hashing (a `Dictionary` would run SipHash on every look-up).
    let table: FeatureTable
    /// Word classes learnt from unlabelled news, weighed as features.
    public let clusters: WordClusters

    init(scheme: NamedEntityTagScheme, rows: [UInt64: Int32], weights: [Float], clusters: WordClusters) {
        self.scheme = scheme
        self.labelCount = scheme.labelCount
        self.rows = rows
        self.weights = weights
        self.table = FeatureTable(rows)
        self.clusters = clusters
    }

    /// A read-only UInt64 → Int32 map with linear probing, eight bytes a slot so that the table of the shipped
    /// model (44k features at a third full) is 1 MB and stays in cache: a slot keeps the key's upper 32 bits
    /// (its fingerprint) beside its row, and the slot is chosen by the lower bits. Every key of the model is
    /// checked at build time to find its own row (should two fingerprints meet in one chain, the table is built
    /// again twice the size, and failing that the exact dictionary is used); a feature the model does not have
    /// may, once in 2^32 probes, borrow another's weights — as likely as two features' 64-bit hashes colliding
    /// in training, which the features already accept. 0 is never a key (FNV hashes are not 0 in practice).
    struct FeatureTable: Sendable {
        struct Slot {
            var fingerprint: UInt32
            var row: Int32
        }
        var slots: [Slot] = []
        var mask = 0
        /// The map itself, used only when no table finds every key's own row.
        var exact: [UInt64: Int32]?

        static let empty = Slot(fingerprint: 0, row: -1)

        init(_ rows: [UInt64: Int32]) {
            var capacity = 16
            while capacity < rows.count * 2 { capacity <<= 1 }
            // In key order, so that the table is the same on every run.
            let sorted = rows.sorted { $0.key < $1.key }.filter { $0.key != 0 }
            for _ in 0..<3 {
                self.slots = [Slot](repeating: Self.empty, count: capacity)
                self.mask = capacity - 1
                for (key, value) in sorted {
                    var slot = Self.slot(of: key, mask: self.mask)
                    while self.slots[slot].row >= 0 { slot = (slot + 1) & self.mask }
                    self.slots[slot] = Slot(fingerprint: Self.fingerprint(of: key), row: value)
                }
                if sorted.allSatisfy({ self.find($0.key) == $0.value }) { return }
                capacity <<= 1
            }
            self.exact = rows
        }

        @inline(__always)
        static func slot(of key: UInt64, mask: Int) -> Int { Int(truncatingIfNeeded: key &* 0x9E37_79B9) & mask }

        @inline(__always)
        static func fingerprint(of key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: key >> 32) }

        @inline(__always)
        func find(_ key: UInt64) -> Int32? {
            if let exact = self.exact { return exact[key] }
            let fingerprint = Self.fingerprint(of: key)
            return self.slots.withUnsafeBufferPointer { slots in
                var slot = Self.slot(of: key, mask: self.mask)
                while true {
                    let found = slots[slot]
                    if found.row < 0 { return nil }
                    if found.fingerprint == fingerprint { return found.row }
                    slot = (slot + 1) & self.mask
                }
            }
        }
    }

    /// How many features the model weighs.
    public var featureCount: Int { self.rows.count }

    /// The model shipped with the module, if it is there.
    public static let shared: NamedEntityModel? = {
        guard let url = Bundle.module.url(forResource: "ner", withExtension: "model", subdirectory: "Data")
            ?? Bundle.module.url(forResource: "ner", withExtension: "model"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return try? NamedEntityModel(serialized: Array(data))
    }()

    // MARK: Features

    /// What the features of one sentence are computed from.
    struct SentenceView {
        var lower: [String]
        var gazetteer: [UInt8]
        /// Every word capitalized and none with a lower-case letter: a headline in capitals.
        var isCapsSentence: Bool
        /// Whether each word has an upper-case letter anywhere ("Blair", "al-Aqsa", "ex-England", "U.S.").
        var hasCapital: [Bool]

        /// FNV-1a hashes of each word and shape, computed once per sentence (a word's affixes are hashed only when
        /// it is weighed: `affixHashes(of:)`).
        var wordHashes: [UInt64]
        var shapeHashes: [UInt64]
        /// What the rest of the document says about each word (`DocumentContext` flags; 0 without a document).
        var documentFlags: [UInt8]
        /// Each word's coarse and fine class hashes (a fixed "none" hash for words without classes).
        var coarseClasses: [UInt64]
        var fineClasses: [UInt64]

        init(words: [String], gazetteer: [UInt8], clusters: WordClusters, lower: [String]? = nil, documentFlags: [UInt8]? = nil) {
            let lower = lower ?? words.map { $0.lowercased() }
            self.lower = lower
            self.gazetteer = gazetteer
            self.documentFlags = documentFlags ?? [UInt8](repeating: 0, count: words.count)
            var coarse = [UInt64](), fine = [UInt64](), shapes = [UInt64](), hashes = [UInt64]()
            coarse.reserveCapacity(words.count)
            fine.reserveCapacity(words.count)
            shapes.reserveCapacity(words.count)
            hashes.reserveCapacity(words.count)
            var capsSentence = true
            var hasCapital = [Bool]()
            hasCapital.reserveCapacity(words.count)
            for (word, w) in zip(words, lower) {
                let classes = clusters.classes(hash: Self.hash(word))
                coarse.append(classes.map { UInt64($0.coarse) &+ 1 } ?? 0)
                fine.append(classes.map { UInt64($0.fine) &+ 1 } ?? 0)
                let shape = Self.shapeHash(word)
                shapes.append(shape.hash)
                capsSentence = capsSentence && shape.isCapitals
                hasCapital.append(shape.hasCapital)
                hashes.append(Self.hash(w))
            }
            self.coarseClasses = coarse
            self.fineClasses = fine
            self.shapeHashes = shapes
            self.wordHashes = hashes
            self.isCapsSentence = capsSentence
            self.hasCapital = hasCapital
        }

        static func hash(_ text: String) -> UInt64 {
            text.utf8.withContiguousStorageIfAvailable { self.hash($0) } ?? self.hash(text.utf8)
        }

        /// The hashes of a word's prefixes of 3 and 4 bytes and suffixes of 3, 2 and 4 bytes (the whole word when
        /// it is shorter), in the order the features take them.
        static func affixHashes(of word: String) -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
            func affixes(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
                let n = bytes.count
                return (
                    self.hash(UnsafeBufferPointer(rebasing: bytes[..<min(3, n)])),
                    self.hash(UnsafeBufferPointer(rebasing: bytes[(n - min(3, n))...])),
                    self.hash(UnsafeBufferPointer(rebasing: bytes[(n - min(2, n))...])),
                    self.hash(UnsafeBufferPointer(rebasing: bytes[..<min(4, n)])),
                    self.hash(UnsafeBufferPointer(rebasing: bytes[(n - min(4, n))...]))
                )
            }
            if let hashes = word.utf8.withContiguousStorageIfAvailable(affixes) { return hashes }
            return Array(word.utf8).withUnsafeBufferPointer(affixes)
        }

        static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
            var value: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes {
                value ^= UInt64(byte)
                value &*= 0x100_0000_01B3
            }
            return value
        }

        /// The FNV-1a hash of a word's shape — "Rubio" → "Xx", "TRF" → "X", "1996-08-30" → "d-d-d", "U.S." →
        /// "X.X." — computed without building it, and whether the word is in capitals (starts with an upper-case
        /// letter and has no lower-case one) and whether it has an upper-case letter at all.
        static func shapeHash(_ word: String) -> (hash: UInt64, isCapitals: Bool, hasCapital: Bool) {
            var value: UInt64 = 0xCBF2_9CE4_8422_2325
            var last: UInt32 = 0x20
            var first = true
            var startsUpper = false
            var hasLower = false
            var hasUpper = false
            for scalar in word.unicodeScalars {
                let c: UInt32
                if scalar.value < 128 {
                    let v = scalar.value
                    c = v >= 65 && v <= 90 ? 0x58 : v >= 97 && v <= 122 ? 0x78 : v >= 48 && v <= 57 ? 0x64 : v
                } else {
                    c = scalar.properties.isUppercase ? 0x58 : scalar.properties.isLowercase ? 0x78 : scalar.properties.numericType != nil ? 0x64 : scalar.value
                }
                if first { startsUpper = c == 0x58 }
                first = false
                if c == 0x78 { hasLower = true }
                if c == 0x58 { hasUpper = true }
                if c != last {
                    if c < 128 {
                        value ^= UInt64(c)
                        value &*= 0x100_0000_01B3
                    } else {
                        for byte in String(Unicode.Scalar(c)!).utf8 {
                            value ^= UInt64(byte)
                            value &*= 0x100_0000_01B3
                        }
                    }
                }
                last = c
            }
            return (value, startsUpper && !hasLower, hasUpper)
        }
    }

    static let boundaryHashes: (start: UInt64, end: UInt64) = (SentenceView.hash("<s>"), SentenceView.hash("</s>"))
    static let fixedHashes: [UInt64] = ["first", "inside", "caps-sentence", "mixed", "-"].map(SentenceView.hash)

    /// Combines a template number and part hashes into one feature (a multiply-xorshift mix per part).
    @inline(__always)
    static func combine(_ template: UInt64, _ parts: UInt64...) -> UInt64 {
        var h = (template &+ 1) &* 0x9E37_79B9_7F4A_7C15
        for part in parts {
            h ^= part
            h &*= 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
        }
        return h
    }

    /// The features of word `i`, `previous` and `beforePrevious` being the labels of the two words before it
    /// (0 before the sentence) and `labelHashes` the hashes of the scheme's label names.
    static func features(_ view: SentenceView, _ i: Int, previous: Int, beforePrevious: Int, labelHashes: [UInt64], into out: inout [UInt64]) {
        out.removeAll(keepingCapacity: true)
        let n = view.lower.count
        func word(_ j: Int) -> UInt64 { j < 0 ? boundaryHashes.start : j >= n ? boundaryHashes.end : view.wordHashes[j] }
        func shape(_ j: Int) -> UInt64 { j < 0 ? boundaryHashes.start : j >= n ? boundaryHashes.end : view.shapeHashes[j] }
        func gazetteer(_ j: Int) -> UInt64 { j < 0 || j >= n ? fixedHashes[4] : UInt64(view.gazetteer[j]) }
        let w = view.wordHashes[i]
        let sh = view.shapeHashes[i]
        let affixes = SentenceView.affixHashes(of: view.lower[i])
        let g = UInt64(view.gazetteer[i])
        out.append(combine(0))
        out.append(combine(1, w))
        out.append(combine(2, sh))
        out.append(combine(3, affixes.0))
        out.append(combine(4, affixes.1))
        out.append(combine(5, affixes.2))
        out.append(combine(6, word(i - 1)))
        out.append(combine(7, word(i + 1)))
        out.append(combine(8, word(i - 2)))
        out.append(combine(9, word(i + 2)))
        out.append(combine(10, shape(i - 1), sh))
        out.append(combine(11, sh, shape(i + 1)))
        out.append(combine(12, labelHashes[previous]))
        out.append(combine(13, labelHashes[previous], labelHashes[beforePrevious]))
        out.append(combine(14, labelHashes[previous], w))
        out.append(combine(15, word(i - 1), w))
        out.append(combine(16, w, word(i + 1)))
        out.append(combine(17, i == 0 ? fixedHashes[0] : fixedHashes[1], sh))
        out.append(combine(18, g))
        out.append(combine(19, g, sh))
        out.append(combine(20, gazetteer(i - 1), g))
        out.append(combine(21, gazetteer(i + 1), g))
        out.append(combine(22, affixes.3))
        out.append(combine(23, affixes.4))
        out.append(combine(24, view.isCapsSentence ? fixedHashes[2] : fixedHashes[3], sh))
        let d = UInt64(view.documentFlags[i])
        out.append(combine(25, d))
        out.append(combine(26, d, sh))
        out.append(combine(27, d, i == 0 ? fixedHashes[0] : fixedHashes[1], view.isCapsSentence ? fixedHashes[2] : fixedHashes[3]))
        out.append(combine(28, i > 0 ? UInt64(view.documentFlags[i - 1]) : fixedHashes[4], d))
        func coarse(_ j: Int) -> UInt64 { j < 0 ? boundaryHashes.start : j >= n ? boundaryHashes.end : view.coarseClasses[j] }
        func fine(_ j: Int) -> UInt64 { j < 0 ? boundaryHashes.start : j >= n ? boundaryHashes.end : view.fineClasses[j] }
        out.append(combine(29, coarse(i)))
        out.append(combine(30, fine(i)))
        out.append(combine(31, coarse(i - 1)))
        out.append(combine(32, coarse(i + 1)))
        out.append(combine(33, fine(i - 1)))
        out.append(combine(34, fine(i + 1)))
        out.append(combine(35, fine(i), sh))
        out.append(combine(36, labelHashes[previous], coarse(i)))
    }

    /// Gazetteer classes for each word: 1 country, 2 capital, 3 demonym, 4 place, 5 organisation, 6 office,
    /// 7 honorific, 8 designation; +10 on words that continue a phrase.
    static func gazetteer(words: [String], lexicon: Lexicon) -> [UInt8] {
        let tokens = words.enumerated().map { index, word in
            Token(text: word, start: index, end: index + 1, kind: .word, isJoinedToPrevious: false, followsLineBreak: false)
        }
        return self.gazetteer(tokens: tokens, range: 0..<tokens.count, lexicon: lexicon)
    }

    static func gazetteerClass(_ entry: LexiconEntry) -> UInt8 {
        switch entry {
        case .country: 1
        case .capital: 2
        case .demonym: 3
        case .place: 4
        case .organization: 5
        case .office: 6
        case .honorific: 7
        case .designation: 8
        }
    }

    static func gazetteer(tokens: [Token], range: Range<Int>, lexicon: Lexicon) -> [UInt8] {
        var classes = [UInt8](repeating: 0, count: range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            guard let match = lexicon.longestMatch(in: tokens, at: i, sentenceEnd: range.upperBound) else { i += 1; continue }
            let value = Self.gazetteerClass(match.entries[0])
            for k in 0..<match.length { classes[i - range.lowerBound + k] = k == 0 ? value : value + 10 }
            i += match.length
        }
        return classes
    }

    // MARK: Tagging

    func score(_ features: [UInt64], into scores: inout [Float]) {
        let labelCount = self.labelCount
        precondition(scores.count == labelCount)
        scores.withUnsafeMutableBufferPointer { scores in
            for k in 0..<labelCount { scores[k] = 0 }
            self.weights.withUnsafeBufferPointer { weights in
                for feature in features {
                    guard let row = self.table.find(feature) else { continue }
                    let base = Int(row)
                    for k in 0..<labelCount { scores[k] += weights[base + k] }
                }
            }
        }
    }

    /// Label ids for each word of a sentence.
    public func tag(words: [String], lexicon: Lexicon = .shared) -> [Int] {
        guard !words.isEmpty else { return [] }
        return self.tag(SentenceView(words: words, gazetteer: Self.gazetteer(words: words, lexicon: lexicon), clusters: self.clusters))
    }

    /// Label ids for each word of a sentence, its lower-cased forms, gazetteer classes and document flags given.
    func tag(words: [String], lower: [String], gazetteer: [UInt8], documentFlags: [UInt8]) -> [Int] {
        guard !words.isEmpty else { return [] }
        return self.tag(SentenceView(words: words, gazetteer: gazetteer, clusters: self.clusters, lower: lower, documentFlags: documentFlags))
    }

    /// Label ids for each word of each sentence of a document, the other sentences lending their context.
    public func tag(document sentences: [[String]], lexicon: Lexicon = .shared) -> [[Int]] {
        let flags = DocumentContext.flags(sentences)
        return sentences.indices.map { s in
            guard !sentences[s].isEmpty else { return [] }
            return self.tag(SentenceView(words: sentences[s], gazetteer: Self.gazetteer(words: sentences[s], lexicon: lexicon), clusters: self.clusters, documentFlags: flags[s]))
        }
    }

    /// IOB2 label ids for the words of a sentence; `gated: false` weighs every word, even those
    /// `isOutsideByCase` labels O unweighed (for the tests that the two agree).
    func tag(_ view: SentenceView, gated: Bool = true) -> [Int] {
        let count = view.lower.count
        let labelHashes = self.scheme.labelHashes
        var labels: [Int] = []
        labels.reserveCapacity(count)
        var features: [UInt64] = []
        features.reserveCapacity(40)
        var scores = [Float](repeating: 0, count: self.labelCount)
        let skipsUncapitalised = gated && view.hasCapital.contains(true)
        for i in 0..<count {
            let previous = i > 0 ? labels[i - 1] : 0
            if skipsUncapitalised && Self.isOutsideByCase(view, i, previous: previous) {
                labels.append(0)
                continue
            }
            Self.features(view, i, previous: previous, beforePrevious: i > 1 ? labels[i - 2] : 0, labelHashes: labelHashes, into: &features)
            self.score(features, into: &scores)
            labels.append(Self.best(scores, scheme: self.scheme, after: previous, isLast: i == count - 1))
        }
        return self.scheme.iob2Labels(labels)
    }

    /// Whether word `i` is outside any name without weighing it: no name is open (`previous` is "O" or the
    /// sentence's start) and neither the word nor the next has a capital letter. On CoNLL-2003's train and valid
    /// splits the model, weighing such words, labels all but about one in 10,000 of them O (and the few it does
    /// not — "interior" of "interior ministry officials", "/" of "2 2 / 3" — are wrong): skipping them skips
    /// about 70% of the words of a sentence. A lower-case particle before a name ("de Silva", "al-Aqsa",
    /// "ex-England") is still weighed: the next word has a capital, or the word has one. The caller applies this
    /// only to sentences with a capital somewhere, so text written all in lower case is tagged word by word.
    @inline(__always)
    static func isOutsideByCase(_ view: SentenceView, _ i: Int, previous: Int) -> Bool {
        previous == 0 && !view.hasCapital[i] && (i + 1 == view.hasCapital.count || !view.hasCapital[i + 1])
    }

    /// The best-scoring label the scheme allows after `previous`.
    @inline(__always)
    static func best(_ scores: [Float], scheme: NamedEntityTagScheme, after previous: Int, isLast: Bool) -> Int {
        var best = -1
        for k in scores.indices where scheme.allows(k, after: previous, isLast: isLast) && (best < 0 || scores[k] > scores[best]) { best = k }
        return best
    }

    /// Spans `(first, last, type)` from IOB2 label ids; type is `PER`, `LOC`, `ORG` or `MISC`.
    public static func spans(_ labels: [Int]) -> [(first: Int, last: Int, type: String)] {
        var spans: [(Int, Int, String)] = []
        var start: Int?
        for (i, label) in (labels + [0]).enumerated() {
            if let s = start, label == 0 || label % 2 == 1 {
                spans.append((s, i - 1, String(Self.labels[labels[s]].dropFirst(2))))
                start = nil
            }
            if label % 2 == 1 { start = i }
        }
        return spans
    }

    // MARK: Training

    /// Trains an averaged perceptron on IOB2-tagged sentences of one document (greedy decoding with the previous
    /// labels as features), keeping features seen at least `minimumCount` times.
    public static func train(
        sentences: [(words: [String], labels: [Int])],
        scheme: NamedEntityTagScheme = .iob2,
        epochs: Int = 8,
        minimumCount: Int = 2,
        pruneBelow: Float = 0.005,
        lexicon: Lexicon = .shared,
        clusters: WordClusters = .empty,
        progress: (Int, Double) -> Void = { _, _ in }
    ) -> NamedEntityModel {
        self.train(
            documents: [sentences], scheme: scheme, epochs: epochs, minimumCount: minimumCount, pruneBelow: pruneBelow,
            lexicon: lexicon, clusters: clusters, progress: progress
        )
    }

    /// Trains on IOB2-tagged documents (lists of sentences), whose other sentences give each word its
    /// `DocumentContext` flags; the model labels in `scheme`, the gold labels converted to it.
    public static func train(
        documents: [[(words: [String], labels: [Int])]],
        scheme: NamedEntityTagScheme = .iob2,
        epochs: Int = 8,
        minimumCount: Int = 2,
        pruneBelow: Float = 0.005,
        lexicon: Lexicon = .shared,
        clusters: WordClusters = .empty,
        progress: (Int, Double) -> Void = { _, _ in }
    ) -> NamedEntityModel {
        let sentences = documents.flatMap { $0 }.map { (words: $0.words, labels: scheme.labels(fromIOB2: $0.labels)) }
        let flags = documents.flatMap { document in DocumentContext.flags(document.map(\.words)) }
        let views = sentences.indices.map { SentenceView(words: sentences[$0].words, gazetteer: Self.gazetteer(words: sentences[$0].words, lexicon: lexicon), clusters: clusters, documentFlags: flags[$0]) }
        var trainer = Trainer(scheme: scheme, rows: Self.countedFeatures(sentences, views, scheme: scheme, minimumCount: minimumCount))
        var order = Array(sentences.indices)
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        for epoch in 0..<epochs {
            // Deterministic shuffle.
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                order.swapAt(i, Int(random >> 33) % (i + 1))
            }
            var correct = 0
            var total = 0
            for s in order {
                correct += trainer.learn(views[s], gold: sentences[s].labels)
                total += sentences[s].labels.count
            }
            progress(epoch + 1, Double(correct) / Double(max(1, total)))
        }
        let (rows, weights) = trainer.averaged(pruneBelow: pruneBelow)
        return NamedEntityModel(scheme: scheme, rows: rows, weights: weights, clusters: clusters)
    }

    /// Rows for the features seen at least `minimumCount` times with the gold labels as history.
    static func countedFeatures(
        _ sentences: [(words: [String], labels: [Int])], _ views: [SentenceView], scheme: NamedEntityTagScheme, minimumCount: Int
    ) -> [UInt64: Int32] {
        let labelHashes = scheme.labelHashes
        var counts: [UInt64: Int32] = [:]
        var features: [UInt64] = []
        for (s, sentence) in sentences.enumerated() {
            for i in sentence.words.indices {
                Self.features(views[s], i, previous: i > 0 ? sentence.labels[i - 1] : 0, beforePrevious: i > 1 ? sentence.labels[i - 2] : 0, labelHashes: labelHashes, into: &features)
                for feature in features { counts[feature, default: 0] += 1 }
            }
        }
        var rows: [UInt64: Int32] = [:]
        for (feature, count) in counts.sorted(by: { $0.key < $1.key }) where count >= minimumCount {
            rows[feature] = Int32(rows.count * scheme.labelCount)
        }
        return rows
    }

    /// The averaged perceptron's state while it learns: weights, their running totals for averaging, and the
    /// step each weight last changed at.
    struct Trainer {
        let scheme: NamedEntityTagScheme
        let labelHashes: [UInt64]
        let rows: [UInt64: Int32]
        var weights: [Float]
        var totals: [Double]
        var stamps: [Int]
        var time = 0
        var features: [UInt64] = []
        var scores: [Float]

        init(scheme: NamedEntityTagScheme, rows: [UInt64: Int32]) {
            self.scheme = scheme
            self.labelHashes = scheme.labelHashes
            self.rows = rows
            self.weights = [Float](repeating: 0, count: rows.count * scheme.labelCount)
            self.totals = [Double](repeating: 0, count: self.weights.count)
            self.stamps = [Int](repeating: 0, count: self.weights.count)
            self.scores = [Float](repeating: 0, count: scheme.labelCount)
        }

        /// Tags one sentence greedily with the current weights, updating them at every wrong label; returns how
        /// many labels were right.
        mutating func learn(_ view: SentenceView, gold: [Int]) -> Int {
            var predicted: [Int] = []
            var correct = 0
            for i in gold.indices {
                self.time += 1
                let previous = i > 0 ? predicted[i - 1] : 0
                NamedEntityModel.features(view, i, previous: previous, beforePrevious: i > 1 ? predicted[i - 2] : 0, labelHashes: self.labelHashes, into: &self.features)
                for k in self.scores.indices { self.scores[k] = 0 }
                for feature in self.features {
                    guard let row = self.rows[feature] else { continue }
                    for k in self.scores.indices { self.scores[k] += self.weights[Int(row) + k] }
                }
                let best = NamedEntityModel.best(self.scores, scheme: self.scheme, after: previous, isLast: i == gold.count - 1)
                if best != gold[i] {
                    self.update(gold[i], by: 1)
                    self.update(best, by: -1)
                } else {
                    correct += 1
                }
                predicted.append(best)
            }
            return correct
        }

        mutating func update(_ label: Int, by delta: Float) {
            for feature in self.features {
                guard let row = self.rows[feature] else { continue }
                let index = Int(row) + label
                self.totals[index] += Double(self.time - self.stamps[index]) * Double(self.weights[index])
                self.stamps[index] = self.time
                self.weights[index] += delta
            }
        }

        /// The averaged weights, without the rows whose weights all fell below `pruneBelow`.
        func averaged(pruneBelow: Float) -> (rows: [UInt64: Int32], weights: [Float]) {
            let labelCount = self.scheme.labelCount
            var averaged = [Float](repeating: 0, count: self.weights.count)
            for index in self.weights.indices {
                let sum = self.totals[index] + Double(self.time - self.stamps[index]) * Double(self.weights[index])
                averaged[index] = Float(sum / Double(max(1, self.time)))
            }
            var kept: [UInt64: Int32] = [:]
            var keptWeights: [Float] = []
            for (feature, row) in self.rows.sorted(by: { $0.key < $1.key }) {
                let slice = averaged[Int(row)..<(Int(row) + labelCount)]
                guard slice.contains(where: { abs($0) >= pruneBelow }) else { continue }
                kept[feature] = Int32(keptWeights.count)
                keptWeights.append(contentsOf: slice)
            }
            return (kept, keptWeights)
        }
    }

    // MARK: Serialization

    static let magic = Array("DLNER3\n".utf8)
    /// The format before tag schemes: IOB2 always, no scheme byte.
    static let iob2Magic = Array("DLNER2\n".utf8)

    /// `DLNER3\n`, u64 size of the uncompressed body, then zlib (RFC 1950) of the body: u8 tag scheme (0 IOB2, 1
    /// BILOU), u32 row count, f32 scale, per row (sorted by hash) u64 hash and one i16 weight per label of the
    /// scheme (weight = i16 × scale); then u32 count of words with classes and per word (sorted) u16 coarse class,
    /// u16 fine class, u16 UTF-8 length and the bytes. Little-endian. Files of the earlier format (`DLNER2\n`: the
    /// same without the scheme byte, nine weights a row) are read as IOB2 models.
    public func serialized() -> [UInt8] { self.serialized(earlierFormat: false) }

    /// With `earlierFormat`, the `DLNER2` file an IOB2 model was written as before tag schemes (for the tests that
    /// such files still load).
    func serialized(earlierFormat: Bool) -> [UInt8] {
        precondition(!earlierFormat || self.scheme == .iob2, "the earlier format holds IOB2 models only")
        let maximum = self.weights.map(abs).max() ?? 1
        let scale = maximum / 32_767
        var raw: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { raw.append(contentsOf: $0) } }
        if !earlierFormat { put(self.scheme.rawValue) }
        put(UInt32(self.rows.count))
        put(scale.bitPattern)
        for (feature, row) in self.rows.sorted(by: { $0.key < $1.key }) {
            put(feature)
            for k in 0..<self.labelCount { put(Int16((self.weights[Int(row) + k] / scale).rounded())) }
        }
        let words = self.clusters.classes.filter { $0.key.utf8.count <= Int(UInt16.max) }.sorted { $0.key < $1.key }
        put(UInt32(words.count))
        for (word, classes) in words {
            put(classes.coarse)
            put(classes.fine)
            put(UInt16(word.utf8.count))
            raw.append(contentsOf: word.utf8)
        }
        var size = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { o in raw.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(raw.count), 9) } }
        precondition(status == Z_OK, "zlib compress2 failed: \(status)")
        return (earlierFormat ? Self.iob2Magic : Self.magic) + withUnsafeBytes(of: UInt64(raw.count).littleEndian) { Array($0) } + out.prefix(Int(size))
    }

    struct FormatError: Error, CustomStringConvertible { var description: String }

    public init(serialized bytes: [UInt8]) throws {
        let header = Array(bytes.prefix(Self.magic.count))
        guard bytes.count > Self.magic.count + 8, header == Self.magic || header == Self.iob2Magic else {
            throw FormatError(description: "not a Dateline NER model")
        }
        var rawSize: UInt64 = 0
        for k in 0..<8 { rawSize |= UInt64(bytes[Self.magic.count + k]) << (8 * k) }
        guard rawSize < 1 << 30 else { throw FormatError(description: "model too large") }
        var raw = [UInt8](repeating: 0, count: Int(rawSize))
        var size = uLongf(rawSize)
        let body = Array(bytes.dropFirst(Self.magic.count + 8))
        let status = raw.withUnsafeMutableBufferPointer { o in body.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &size, i.baseAddress, uLong(body.count)) } }
        guard status == Z_OK, size == rawSize else { throw FormatError(description: "corrupt model (zlib \(status))") }
        var offset = 0
        func get<T: FixedWidthInteger>(_: T.Type) -> T {
            var value: T = 0
            for k in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: raw[offset + k]) << (8 * k) }
            offset += MemoryLayout<T>.size
            return value
        }
        var scheme = NamedEntityTagScheme.iob2
        if header == Self.magic {
            guard !raw.isEmpty else { throw FormatError(description: "model cut short") }
            let code = get(UInt8.self)
            guard let known = NamedEntityTagScheme(rawValue: code) else { throw FormatError(description: "unknown tag scheme \(code)") }
            scheme = known
        }
        let labelCount = scheme.labelCount
        guard raw.count >= offset + 8 else { throw FormatError(description: "model cut short") }
        let count = Int(get(UInt32.self))
        let scale = Float(bitPattern: get(UInt32.self))
        // The rows, then the word classes' count.
        guard raw.count >= offset + count * (8 + 2 * labelCount) + 4 else { throw FormatError(description: "model size does not match its row count") }
        var rows: [UInt64: Int32] = [:]
        rows.reserveCapacity(count)
        var weights = [Float]()
        weights.reserveCapacity(count * labelCount)
        for _ in 0..<count {
            rows[get(UInt64.self)] = Int32(weights.count)
            for _ in 0..<labelCount { weights.append(Float(Int16(bitPattern: get(UInt16.self))) * scale) }
        }
        let wordCount = Int(get(UInt32.self))
        var classes: [String: WordClusters.Classes] = [:]
        classes.reserveCapacity(wordCount)
        for _ in 0..<wordCount {
            guard offset + 6 <= raw.count else { throw FormatError(description: "word classes cut short") }
            let coarse = get(UInt16.self), fine = get(UInt16.self), length = Int(get(UInt16.self))
            guard offset + length <= raw.count else { throw FormatError(description: "word classes cut short") }
            classes[String(decoding: raw[offset..<(offset + length)], as: UTF8.self)] = WordClusters.Classes(coarse: coarse, fine: fine)
            offset += length
        }
        guard offset == raw.count else { throw FormatError(description: "bytes after the word classes") }
        self.init(scheme: scheme, rows: rows, weights: weights, clusters: WordClusters(classes: classes))
    }
}
