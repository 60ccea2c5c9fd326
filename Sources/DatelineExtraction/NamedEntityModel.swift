import CDatelineZlib
internal import Foundation

/// A greedy left-to-right named-entity tagger (PER / LOC / ORG / MISC, IOB2), an averaged perceptron over
/// word, shape, affix, context and gazetteer features. Trained here, in Swift, on the CoNLL-2003 English train
/// split (`dateline train-ner`), and shipped as `Data/ner.model`.
public struct NamedEntityModel: Sendable {
    public static let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
    static let labelCount = 9

    /// Feature hash → first weight of its row.
    var rows: [UInt64: Int32]
    var weights: [Float]

    init(rows: [UInt64: Int32], weights: [Float]) {
        self.rows = rows
        self.weights = weights
    }

    /// The model shipped with the module, if it is there.
    public static let shared: NamedEntityModel? = {
        guard let url = Bundle.module.url(forResource: "ner", withExtension: "model", subdirectory: "Data")
            ?? Bundle.module.url(forResource: "ner", withExtension: "model"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return try? NamedEntityModel(serialized: Array(data))
    }()

    // MARK: Features

    /// FNV-1a 64 over a template number and strings.
    struct FeatureHasher {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325

        init(_ template: UInt8) { self.mix(template) }

        mutating func mix(_ byte: UInt8) {
            self.value ^= UInt64(byte)
            self.value &*= 0x100_0000_01B3
        }

        mutating func mix(_ text: String) {
            self.mix(0x1F)
            for byte in text.utf8 { self.mix(byte) }
        }
    }

    /// What the features of one sentence are computed from.
    struct SentenceView {
        var lower: [String]
        var shapes: [String]
        var gazetteer: [UInt8]
        var capitalized: [Bool]

        init(words: [String], gazetteer: [UInt8]) {
            self.lower = words.map { $0.lowercased() }
            self.shapes = words.map(Self.shape)
            self.gazetteer = gazetteer
            self.capitalized = words.map { $0.first?.isUppercase ?? false }
        }

        /// "Rubio" → "Xx", "TRF" → "X", "1996-08-30" → "d-d-d", "U.S." → "X.X.".
        static func shape(_ word: String) -> String {
            var out = ""
            var last: Character = " "
            for character in word {
                let c: Character = character.isUppercase ? "X" : character.isLowercase ? "x" : character.isNumber ? "d" : character
                if c != last { out.append(c) }
                last = c
            }
            return out
        }
    }

    static func features(_ view: SentenceView, _ i: Int, previous: Int, beforePrevious: Int, into out: inout [UInt64]) {
        out.removeAll(keepingCapacity: true)
        let n = view.lower.count
        func word(_ j: Int) -> String { j < 0 ? "<s>" : j >= n ? "</s>" : view.lower[j] }
        func shape(_ j: Int) -> String { j < 0 ? "<s>" : j >= n ? "</s>" : view.shapes[j] }
        func add(_ template: UInt8, _ parts: String...) {
            var hasher = FeatureHasher(template)
            for part in parts { hasher.mix(part) }
            out.append(hasher.value)
        }
        let w = view.lower[i]
        add(0)
        add(1, w)
        add(2, view.shapes[i])
        add(3, String(w.prefix(3)))
        add(4, String(w.suffix(3)))
        add(5, String(w.suffix(2)))
        add(6, word(i - 1))
        add(7, word(i + 1))
        add(8, word(i - 2))
        add(9, word(i + 2))
        add(10, shape(i - 1), view.shapes[i])
        add(11, view.shapes[i], shape(i + 1))
        add(12, Self.labels[previous])
        add(13, Self.labels[previous], Self.labels[beforePrevious])
        add(14, Self.labels[previous], w)
        add(15, word(i - 1), w)
        add(16, w, word(i + 1))
        add(17, i == 0 ? "first" : "inside", view.shapes[i])
        add(18, String(view.gazetteer[i]))
        add(19, String(view.gazetteer[i]), view.shapes[i])
        add(20, i > 0 ? String(view.gazetteer[i - 1]) : "-", String(view.gazetteer[i]))
        add(21, i + 1 < n ? String(view.gazetteer[i + 1]) : "-", String(view.gazetteer[i]))
        add(22, String(w.prefix(4)))
        add(23, String(w.suffix(4)))
        let allCapsSentence = view.capitalized.allSatisfy { $0 } && view.shapes.allSatisfy { !$0.contains("x") }
        add(24, allCapsSentence ? "caps-sentence" : "mixed", view.shapes[i])
    }

    /// Gazetteer classes for each word: 1 country, 2 capital, 3 demonym, 4 place, 5 organisation, 6 office,
    /// 7 honorific, 8 designation; +10 on words that continue a phrase.
    static func gazetteer(words: [String], lexicon: Lexicon) -> [UInt8] {
        let tokens = words.enumerated().map { index, word in
            Token(text: word, start: index, end: index + 1, kind: .word, isJoinedToPrevious: false, followsLineBreak: false)
        }
        var classes = [UInt8](repeating: 0, count: words.count)
        var i = 0
        while i < words.count {
            guard let match = lexicon.longestMatch(in: tokens, at: i, sentenceEnd: words.count) else { i += 1; continue }
            var value: UInt8 = 0
            switch match.entries[0] {
            case .country: value = 1
            case .capital: value = 2
            case .demonym: value = 3
            case .place: value = 4
            case .organization: value = 5
            case .office: value = 6
            case .honorific: value = 7
            case .designation: value = 8
            }
            for k in 0..<match.length { classes[i + k] = k == 0 ? value : value + 10 }
            i += match.length
        }
        return classes
    }

    // MARK: Tagging

    func score(_ features: [UInt64], into scores: inout [Float]) {
        for k in 0..<Self.labelCount { scores[k] = 0 }
        for feature in features {
            guard let row = self.rows[feature] else { continue }
            let base = Int(row)
            for k in 0..<Self.labelCount { scores[k] += self.weights[base + k] }
        }
    }

    /// Label ids for each word of a sentence.
    public func tag(words: [String], lexicon: Lexicon = .shared) -> [Int] {
        guard !words.isEmpty else { return [] }
        let view = SentenceView(words: words, gazetteer: Self.gazetteer(words: words, lexicon: lexicon))
        var labels: [Int] = []
        var features: [UInt64] = []
        features.reserveCapacity(32)
        var scores = [Float](repeating: 0, count: Self.labelCount)
        for i in words.indices {
            let previous = i > 0 ? labels[i - 1] : 0
            Self.features(view, i, previous: previous, beforePrevious: i > 1 ? labels[i - 2] : 0, into: &features)
            self.score(features, into: &scores)
            var best = 0
            for k in 1..<Self.labelCount where Self.allowed(k, after: previous) && scores[k] > scores[best] { best = k }
            labels.append(best)
        }
        return labels
    }

    /// I-X only after B-X or I-X.
    static func allowed(_ label: Int, after previous: Int) -> Bool {
        guard label > 0, label % 2 == 0 else { return true }
        return previous == label || previous == label - 1
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

    /// Trains an averaged perceptron on IOB2-tagged sentences (greedy decoding with the previous labels as
    /// features), keeping features seen at least `minimumCount` times.
    public static func train(
        sentences: [(words: [String], labels: [Int])],
        epochs: Int = 8,
        minimumCount: Int = 2,
        lexicon: Lexicon = .shared,
        progress: (Int, Double) -> Void = { _, _ in }
    ) -> NamedEntityModel {
        let views = sentences.map { SentenceView(words: $0.words, gazetteer: Self.gazetteer(words: $0.words, lexicon: lexicon)) }
        // Count features (with gold history) to drop the rare ones.
        var counts: [UInt64: Int32] = [:]
        var features: [UInt64] = []
        for (s, sentence) in sentences.enumerated() {
            for i in sentence.words.indices {
                Self.features(views[s], i, previous: i > 0 ? sentence.labels[i - 1] : 0, beforePrevious: i > 1 ? sentence.labels[i - 2] : 0, into: &features)
                for feature in features { counts[feature, default: 0] += 1 }
            }
        }
        var rows: [UInt64: Int32] = [:]
        for (feature, count) in counts where count >= minimumCount { rows[feature] = Int32(rows.count * labelCount) }
        var weights = [Float](repeating: 0, count: rows.count * labelCount)
        var totals = [Double](repeating: 0, count: weights.count)
        var stamps = [Int](repeating: 0, count: weights.count)
        var time = 0
        var order = Array(sentences.indices)
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        var scores = [Float](repeating: 0, count: labelCount)
        func update(_ features: [UInt64], _ label: Int, _ delta: Float) {
            for feature in features {
                guard let row = rows[feature] else { continue }
                let index = Int(row) + label
                totals[index] += Double(time - stamps[index]) * Double(weights[index])
                stamps[index] = time
                weights[index] += delta
            }
        }
        for epoch in 0..<epochs {
            // Deterministic shuffle.
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                order.swapAt(i, Int(random >> 33) % (i + 1))
            }
            var correct = 0
            var total = 0
            for s in order {
                let sentence = sentences[s]
                var predicted: [Int] = []
                for i in sentence.words.indices {
                    time += 1
                    let previous = i > 0 ? predicted[i - 1] : 0
                    Self.features(views[s], i, previous: previous, beforePrevious: i > 1 ? predicted[i - 2] : 0, into: &features)
                    for k in 0..<labelCount { scores[k] = 0 }
                    for feature in features {
                        guard let row = rows[feature] else { continue }
                        for k in 0..<labelCount { scores[k] += weights[Int(row) + k] }
                    }
                    var best = 0
                    for k in 1..<labelCount where allowed(k, after: previous) && scores[k] > scores[best] { best = k }
                    let gold = sentence.labels[i]
                    if best != gold {
                        update(features, gold, 1)
                        update(features, best, -1)
                    } else {
                        correct += 1
                    }
                    total += 1
                    predicted.append(best)
                }
            }
            progress(epoch + 1, Double(correct) / Double(max(1, total)))
        }
        // Average.
        var averaged = [Float](repeating: 0, count: weights.count)
        for index in weights.indices {
            let sum = totals[index] + Double(time - stamps[index]) * Double(weights[index])
            averaged[index] = Float(sum / Double(max(1, time)))
        }
        // Drop rows that no longer matter.
        var kept: [UInt64: Int32] = [:]
        var keptWeights: [Float] = []
        for (feature, row) in rows.sorted(by: { $0.key < $1.key }) {
            let slice = averaged[Int(row)..<(Int(row) + labelCount)]
            guard slice.contains(where: { abs($0) >= 0.005 }) else { continue }
            kept[feature] = Int32(keptWeights.count)
            keptWeights.append(contentsOf: slice)
        }
        return NamedEntityModel(rows: kept, weights: keptWeights)
    }

    // MARK: Serialization

    static let magic = Array("DLNER1\n".utf8)

    /// `DLNER1\n`, then zlib (RFC 1950) of: u32 row count, f32 scale, and per row (sorted by hash) u64 hash and
    /// nine i16 weights (weight = i16 × scale). Little-endian.
    public func serialized() -> [UInt8] {
        let maximum = self.weights.map(abs).max() ?? 1
        let scale = maximum / 32_767
        var raw: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { raw.append(contentsOf: $0) } }
        put(UInt32(self.rows.count))
        put(scale.bitPattern)
        for (feature, row) in self.rows.sorted(by: { $0.key < $1.key }) {
            put(feature)
            for k in 0..<Self.labelCount { put(Int16((self.weights[Int(row) + k] / scale).rounded())) }
        }
        var size = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { o in raw.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(raw.count), 9) } }
        precondition(status == Z_OK, "zlib compress2 failed: \(status)")
        return Self.magic + withUnsafeBytes(of: UInt64(raw.count).littleEndian) { Array($0) } + out.prefix(Int(size))
    }

    struct FormatError: Error, CustomStringConvertible { var description: String }

    public init(serialized bytes: [UInt8]) throws {
        guard bytes.count > Self.magic.count + 8, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
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
        let count = Int(get(UInt32.self))
        let scale = Float(bitPattern: get(UInt32.self))
        guard raw.count == 8 + count * (8 + 2 * Self.labelCount) else { throw FormatError(description: "model size does not match its row count") }
        var rows: [UInt64: Int32] = [:]
        rows.reserveCapacity(count)
        var weights = [Float]()
        weights.reserveCapacity(count * Self.labelCount)
        for _ in 0..<count {
            rows[get(UInt64.self)] = Int32(weights.count)
            for _ in 0..<Self.labelCount { weights.append(Float(Int16(bitPattern: get(UInt16.self))) * scale) }
        }
        self.init(rows: rows, weights: weights)
    }
}
