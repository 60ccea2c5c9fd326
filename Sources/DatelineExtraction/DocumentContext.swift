extension NamedEntityModel {
    /// What the other sentences of a document say about a word, as flags the tagger weighs: a capitalised word
    /// that the document also writes in lower case is likely a plain word that opened a sentence; one written
    /// with a capital in mid-sentence, or after another capitalised word ("Alan Shearer" … "Shearer takes"),
    /// likely a name. Headlines in capitals say nothing about case and are not counted, but are given the flags
    /// ("SHEARER NAMED ENGLAND CAPTAIN"). Only words that start with a capital have flags.
    public enum DocumentContext {
        /// Written in lower case elsewhere.
        static let lowercaseElsewhere: UInt8 = 1
        /// Capitalised in mid-sentence elsewhere.
        static let capitalisedElsewhere: UInt8 = 2
        /// After a capitalised word (not one opening its sentence) elsewhere.
        static let afterACapitalElsewhere: UInt8 = 4
        /// Before a capitalised word elsewhere.
        static let beforeACapitalElsewhere: UInt8 = 8

        /// How a word is written.
        enum Case: UInt8 {
            /// Starts with an upper-case letter.
            case capitalised
            /// Starts with a lower-case letter and has no upper-case one.
            case lowercase
            /// Anything else: numbers, punctuation, "iPhone".
            case other
        }

        static func writing(_ word: String) -> Case {
            var utf8 = word.utf8.makeIterator()
            guard let first = utf8.next() else { return .other }
            if first < 0x80 {
                if first >= 0x41 && first <= 0x5A { return .capitalised }
                guard first >= 0x61 && first <= 0x7A else { return .other }
                while let byte = utf8.next() {
                    if byte >= 0x41 && byte <= 0x5A { return .other }
                    if byte >= 0x80 { return word.unicodeScalars.contains { $0.properties.isUppercase } ? .other : .lowercase }
                }
                return .lowercase
            }
            let scalar = word.unicodeScalars.first!
            if scalar.properties.isUppercase { return .capitalised }
            guard scalar.properties.isLowercase else { return .other }
            return word.unicodeScalars.contains { $0.properties.isUppercase } ? .other : .lowercase
        }

        /// A headline in capitals: no word has a lower-case letter.
        static func isCapsSentence(_ words: [String]) -> Bool {
            words.allSatisfy { word in
                word.utf8.allSatisfy { $0 < 0x61 || $0 > 0x7A } && (word.utf8.allSatisfy { $0 < 0x80 } || !word.unicodeScalars.contains { $0.properties.isLowercase })
            }
        }

        /// Counts per word, the four flags' evidence.
        struct Counts {
            var lowercase: Int32 = 0
            var capitalised: Int32 = 0
            var afterCapital: Int32 = 0
            var beforeCapital: Int32 = 0

            mutating func add(_ other: Counts, sign: Int32) {
                self.lowercase += sign * other.lowercase
                self.capitalised += sign * other.capitalised
                self.afterCapital += sign * other.afterCapital
                self.beforeCapital += sign * other.beforeCapital
            }
        }

        /// What the occurrence at `i` of a sentence written `cases` contributes to its word's counts.
        static func contribution(_ cases: [Case], _ i: Int) -> Counts {
            var counts = Counts()
            if cases[i] == .lowercase { counts.lowercase = 1 }
            guard cases[i] == .capitalised, i > 0 else { return counts }
            counts.capitalised = 1
            if i > 1, cases[i - 1] == .capitalised { counts.afterCapital = 1 }
            if i + 1 < cases.count, cases[i + 1] == .capitalised { counts.beforeCapital = 1 }
            return counts
        }

        /// The flags of every word of every sentence of a document (words compared in lower case).
        public static func flags(_ sentences: [[String]], lower: [[String]]? = nil) -> [[UInt8]] {
            let lower = lower ?? sentences.map { $0.map { $0.lowercased() } }
            let cases = sentences.map { $0.map(Self.writing) }
            let counted = sentences.map { !Self.isCapsSentence($0) }
            // Words by the FNV hash of their lower-case form, in an open-addressing table (no SipHash per word).
            let total = sentences.reduce(0) { $0 + $1.count }
            var capacity = 16
            while capacity < total * 2 { capacity <<= 1 }
            var keys = [UInt64](repeating: 0, count: capacity)
            var slots = [Int32](repeating: -1, count: capacity)
            var table: [Counts] = []
            func slot(_ key: UInt64) -> Int {
                var index = Int(truncatingIfNeeded: key &* 0x9E37_79B9_7F4A_7C15 >> 32) & (capacity - 1)
                while slots[index] >= 0, keys[index] != key { index = (index + 1) & (capacity - 1) }
                return index
            }
            let ids: [[Int]] = lower.map { words in
                words.map { word in
                    let key = SentenceView.hash(word)
                    let index = slot(key)
                    if slots[index] < 0 {
                        keys[index] = key
                        slots[index] = Int32(table.count)
                        table.append(Counts())
                    }
                    return Int(slots[index])
                }
            }
            for s in sentences.indices where counted[s] {
                for i in sentences[s].indices { table[ids[s][i]].add(self.contribution(cases[s], i), sign: 1) }
            }
            return sentences.indices.map { s in
                sentences[s].indices.map { i in
                    guard cases[s][i] == .capitalised else { return 0 }
                    var c = table[ids[s][i]]
                    if counted[s] { c.add(self.contribution(cases[s], i), sign: -1) }
                    var flags: UInt8 = 0
                    if c.lowercase > 0 { flags |= self.lowercaseElsewhere }
                    if c.capitalised > 0 { flags |= self.capitalisedElsewhere }
                    if c.afterCapital > 0 { flags |= self.afterACapitalElsewhere }
                    if c.beforeCapital > 0 { flags |= self.beforeACapitalElsewhere }
                    return flags
                }
            }
        }
    }
}
