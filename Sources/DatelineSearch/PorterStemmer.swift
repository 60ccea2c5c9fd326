/// The Porter2 ("Snowball English") stemmer, as specified by the Snowball project in its current release:
/// the exceptional forms, the `gener`/`commun`/`arsen`/`past`/`univers`/`later`/`emerg`/`organ`/`inter` R1
/// prefixes, `-ogist` → `-og`, single-consonant `-ying` → `-ie`, and no undoubling into a two-letter stem.
///
/// Works on lowercase ASCII words (the analyzer folds case and diacritics first); words with other
/// characters are returned unchanged. Tested against every word of the Snowball project's English test
/// vocabulary.
public enum PorterStemmer {
    /// The stem of `word` (lowercase).
    public static func stem(_ word: String) -> String {
        guard word.utf8.count > 2, word.utf8.allSatisfy({ $0 < 0x80 }) else { return word }
        var bytes = Array(word.utf8)
        self.stem(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static let exceptions: [String: String] = [
        "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "idly": "idl", "gently": "gentl",
        "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl",
        "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias", "andes": "andes",
        // The reference output keeps these apart from "past" (whose R1 prefix would otherwise conflate them).
        "paste": "paste", "pasted": "paste", "pasting": "paste",
    ]
    static let invariantAfterStep1a: Set<[UInt8]> = Set(
        ["inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed", "evening"].map { Array($0.utf8) }
    )
    static let longestException = exceptions.keys.map(\.utf8.count).max()!
    static let invariantLengths = invariantAfterStep1a.map(\.count).min()!...invariantAfterStep1a.map(\.count).max()!
    static let r1Prefixes: [[UInt8]] = ["gener", "commun", "arsen", "past", "univers", "later", "emerg", "organ", "inter"].map { Array($0.utf8) }

    private static let y = UInt8(ascii: "y")
    private static let capitalY = UInt8(ascii: "Y")

    @inline(__always)
    static func isVowel(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "y"): true
        default: false
        }
    }

    /// Stems `word` in place.
    static func stem(_ word: inout [UInt8]) {
        if word.count <= Self.longestException, let exception = self.exceptions[String(decoding: word, as: UTF8.self)] {
            word = Array(exception.utf8)
            return
        }
        // Prelude: drop a leading apostrophe; mark consonant-like y as Y.
        if word.first == UInt8(ascii: "'") { word.removeFirst() }
        if word.first == y { word[0] = capitalY }
        for index in word.indices.dropFirst() where word[index] == y && self.isVowel(word[index - 1]) {
            word[index] = capitalY
        }
        let (p1, p2) = self.regions(word)
        var w = Word(bytes: word, p1: p1, p2: p2)
        w.step1a()
        if !(Self.invariantLengths.contains(w.bytes.count) && self.invariantAfterStep1a.contains(w.bytes)) {
            w.step1b()
            w.step1c()
            w.step2()
            w.step3()
            w.step4()
            w.step5()
        }
        word = w.bytes.map { $0 == capitalY ? y : $0 }
    }

    /// R1 and R2: each starts after the first non-vowel that follows a vowel (R1 from the start, R2 from R1).
    static func regions(_ word: [UInt8]) -> (Int, Int) {
        func after(from start: Int) -> Int {
            var index = start
            while index < word.count, !self.isVowel(word[index]) { index += 1 }
            while index < word.count, self.isVowel(word[index]) { index += 1 }
            return min(index + 1, word.count)
        }
        var p1 = word.count
        if let prefix = self.r1Prefixes.first(where: { word.starts(with: $0) }) {
            p1 = prefix.count
        } else {
            p1 = after(from: 0)
        }
        let p2 = after(from: p1)
        return (p1, p2)
    }

    struct Word {
        var bytes: [UInt8]
        let p1: Int
        let p2: Int

        func ends(with suffix: String) -> Bool {
            let suffix = suffix.utf8
            return self.bytes.count >= suffix.count && self.bytes.suffix(suffix.count).elementsEqual(suffix)
        }

        /// A list of suffixes with their bytes, built once (looking bytes up per word would hash every suffix).
        struct Suffixes {
            let texts: [String]
            let bytes: [[UInt8]]
            init(_ texts: [String]) {
                self.texts = texts
                self.bytes = texts.map { Array($0.utf8) }
            }
        }

        static let apostrophes = Suffixes(["'", "'s", "'s'"])
        static let step1aSuffixes = Suffixes(["sses", "ied", "ies", "s", "us", "ss"])
        static let step1bSuffixes = Suffixes(["eed", "eedly", "ed", "edly", "ing", "ingly"])

        /// The longest of `suffixes` the word ends with.
        func longest(_ suffixes: Suffixes) -> String? {
            var best = -1
            var bestLength = 0
            let count = self.bytes.count
            for (index, bytes) in suffixes.bytes.enumerated() {
                let length = bytes.count
                guard length > bestLength, length <= count, self.bytes[count - 1] == bytes[length - 1] else { continue }
                var matches = true
                var offset = 0
                while offset < length - 1 {
                    if self.bytes[count - length + offset] != bytes[offset] { matches = false; break }
                    offset += 1
                }
                if matches {
                    best = index
                    bestLength = length
                }
            }
            return best < 0 ? nil : suffixes.texts[best]
        }

        func start(of suffix: String) -> Int { self.bytes.count - suffix.utf8.count }

        mutating func replace(_ suffix: String, with replacement: String) {
            self.bytes.removeLast(suffix.utf8.count)
            self.bytes.append(contentsOf: replacement.utf8)
        }

        func hasVowel(in range: Range<Int>) -> Bool { self.bytes[range].contains(where: PorterStemmer.isVowel) }

        /// Whether `bytes[..<end]` ends in a short syllable.
        func endsInShortSyllable(_ end: Int) -> Bool {
            let b = self.bytes
            if end >= 3 {
                let last = b[end - 1]
                if !PorterStemmer.isVowel(last), last != UInt8(ascii: "w"), last != UInt8(ascii: "x"), last != PorterStemmer.capitalY,
                    PorterStemmer.isVowel(b[end - 2]), !PorterStemmer.isVowel(b[end - 3])
                {
                    return true
                }
            }
            return end == 2 && PorterStemmer.isVowel(b[0]) && !PorterStemmer.isVowel(b[1])
        }

        mutating func step1a() {
            if let apostrophe = self.longest(Self.apostrophes) { self.bytes.removeLast(apostrophe.utf8.count) }
            guard let suffix = self.longest(Self.step1aSuffixes) else { return }
            switch suffix {
            case "sses": self.replace(suffix, with: "ss")
            case "ied", "ies": self.replace(suffix, with: self.start(of: suffix) > 1 ? "i" : "ie")
            case "s":
                // Delete if a vowel occurs before the letter preceding the s.
                let start = self.start(of: suffix)
                if start >= 2, self.hasVowel(in: 0..<(start - 1)) { self.bytes.removeLast() }
            default: break
            }
        }

        mutating func step1b() {
            guard let suffix = self.longest(Self.step1bSuffixes) else { return }
            let start = self.start(of: suffix)
            if suffix == "eed" || suffix == "eedly" {
                if start >= self.p1 { self.replace(suffix, with: "ee") }
                return
            }
            guard self.hasVowel(in: 0..<start) else { return }
            // A single consonant before "ying": hying → hie, vying → vie.
            if suffix == "ing", self.bytes.count == 5, self.bytes[1] == PorterStemmer.y, !PorterStemmer.isVowel(self.bytes[0]) {
                self.bytes = [self.bytes[0], UInt8(ascii: "i"), UInt8(ascii: "e")]
                return
            }
            self.bytes.removeLast(suffix.utf8.count)
            if self.ends(with: "at") || self.ends(with: "bl") || self.ends(with: "iz") {
                self.bytes.append(UInt8(ascii: "e"))
            } else if let last = self.bytes.last, self.bytes.count > 3, self.bytes[self.bytes.count - 2] == last,
                "bdfgmnprt".utf8.contains(last)
            {
                self.bytes.removeLast()
            } else if self.bytes.count == self.p1, self.endsInShortSyllable(self.bytes.count) {
                self.bytes.append(UInt8(ascii: "e"))
            }
        }

        mutating func step1c() {
            guard let last = self.bytes.last, last == PorterStemmer.y || last == PorterStemmer.capitalY, self.bytes.count >= 3,
                !PorterStemmer.isVowel(self.bytes[self.bytes.count - 2])
            else { return }
            self.bytes[self.bytes.count - 1] = UInt8(ascii: "i")
        }

        static let step2Rules: [(String, String)] = [
            ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("abli", "able"), ("entli", "ent"),
            ("izer", "ize"), ("ization", "ize"), ("ational", "ate"), ("ation", "ate"), ("ator", "ate"),
            ("alism", "al"), ("aliti", "al"), ("alli", "al"), ("fulness", "ful"), ("ousli", "ous"), ("ousness", "ous"),
            ("iveness", "ive"), ("iviti", "ive"), ("biliti", "ble"), ("bli", "ble"), ("ogi", "og"), ("fulli", "ful"),
            ("lessli", "less"), ("li", ""), ("ogist", "og"),
        ]

        mutating func step2() {
            guard let suffix = self.longest(Self.step2Suffixes) else { return }
            let start = self.start(of: suffix)
            guard start >= self.p1 else { return }
            let replacement = Self.step2Rules.first { $0.0 == suffix }!.1
            switch suffix {
            case "ogi":
                guard start >= 1, self.bytes[start - 1] == UInt8(ascii: "l") else { return }
            case "li":
                guard start >= 1, "cdeghkmnrt".utf8.contains(self.bytes[start - 1]) else { return }
            default: break
            }
            self.replace(suffix, with: replacement)
        }

        static let step3Rules: [(String, String)] = [
            ("tional", "tion"), ("ational", "ate"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"), ("ical", "ic"),
            ("ful", ""), ("ness", ""), ("ative", ""),
        ]
        static let step3Suffixes = Suffixes(step3Rules.map(\.0))
        static let step2Suffixes = Suffixes(step2Rules.map(\.0))

        mutating func step3() {
            let rules = Self.step3Rules
            guard let suffix = self.longest(Self.step3Suffixes) else { return }
            let start = self.start(of: suffix)
            guard start >= self.p1 else { return }
            if suffix == "ative", start < self.p2 { return }
            self.replace(suffix, with: rules.first { $0.0 == suffix }!.1)
        }

        static let step4Suffixes = Suffixes(["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion"])

        mutating func step4() {
            guard let suffix = self.longest(Self.step4Suffixes) else { return }
            let start = self.start(of: suffix)
            guard start >= self.p2 else { return }
            if suffix == "ion" {
                guard start >= 1, self.bytes[start - 1] == UInt8(ascii: "s") || self.bytes[start - 1] == UInt8(ascii: "t") else { return }
            }
            self.bytes.removeLast(suffix.utf8.count)
        }

        mutating func step5() {
            guard let last = self.bytes.last else { return }
            let start = self.bytes.count - 1
            if last == UInt8(ascii: "e") {
                if start >= self.p2 || (start >= self.p1 && !self.endsInShortSyllable(start)) { self.bytes.removeLast() }
            } else if last == UInt8(ascii: "l") {
                if start >= self.p2, start >= 1, self.bytes[start - 1] == UInt8(ascii: "l") { self.bytes.removeLast() }
            }
        }
    }
}
