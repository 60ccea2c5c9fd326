import Foundation
@testable import DatelineSearch
import Testing

@Suite("Analyzer")
struct AnalyzerTests {
    let analyzer = Analyzer()

    @Test func foldsCaseDiacriticsQuotesAndPossessives() {
        #expect(self.analyzer.terms("Pakistan’s Foreign Office") == ["pakistan", "foreign", "offic"])
        #expect(self.analyzer.terms("Pakistan's") == ["pakistan"])
        #expect(self.analyzer.terms("“Grateful for Pakistan’s partnership”") == ["grate", "for", "pakistan", "partnership"])
        #expect(self.analyzer.terms("Élite CAFÉ naïve") == ["elit", "cafe", "naiv"])
        #expect(self.analyzer.terms("don't") == ["don't"])
    }

    @Test func splitsHyphenatedNamesIntoConsecutiveTokens() {
        let tokens = self.analyzer.tokens("the Pakistan-based Lashkar-e-Taiba (LeT)")
        #expect(tokens.map(\.term) == ["the", "pakistan", "base", "lashkar", "e", "taiba", "let"])
        #expect(tokens.map(\.position) == Array(0..<7))
        #expect(self.analyzer.terms("Lashkar-e-Taiba") == ["lashkar", "e", "taiba"])
    }

    @Test func keepsDottedAbbreviationsTogether() {
        #expect(self.analyzer.terms("the U.S. Secretary") == ["the", "us", "secretari"])
        #expect(self.analyzer.terms("U.S.-based") == ["us", "base"])
        #expect(self.analyzer.terms("Washington, D.C. – United") == ["washington", "dc", "unit"])
        #expect(self.analyzer.terms("end. Next") == ["end", "next"])
        #expect(self.analyzer.terms("U.S") == ["us"])
    }

    @Test func recordsWhereEachTokenIsForHighlighting() {
        let text = "Rubio met Dar — “counterterrorism” talks."
        let tokens = self.analyzer.tokens(text)
        let bytes = Array(text.utf8)
        let surfaces = tokens.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        #expect(surfaces == ["Rubio", "met", "Dar", "counterterrorism", "talks"])
        #expect(tokens.map(\.term) == ["rubio", "met", "dar", "counterterror", "talk"])
    }

    @Test func stemmingIsOptionalAndNothingIsAStopWord() {
        #expect(Analyzer(stems: false).terms("The Ministers met") == ["the", "ministers", "met"])
        #expect(self.analyzer.terms("to be or not to be") == ["to", "be", "or", "not", "to", "be"])
        #expect(self.analyzer.terms("").isEmpty)
        #expect(self.analyzer.terms(" — ’ . ' ").isEmpty)
        #expect(self.analyzer.terms("2025 July 29") == ["2025", "juli", "29"])
    }
}

/// The analyzer's byte-level word splitting against a straightforward reference that walks Unicode scalars (the
/// analyzer's previous implementation): same words, same abbreviation flags, same UTF-8 ranges, on random text
/// mixing ASCII, apostrophes, dots, accented and non-Latin letters, digits of other scripts, curly quotes and
/// emoji. The index and the snippets both depend on it.
@Suite("Analyzer against a reference")
struct AnalyzerReferenceTests {
    static func referenceWords(_ text: String) -> [(String, Bool, Range<Int>)] {
        var words: [(String, Bool, Range<Int>)] = []
        var current: [UInt8] = []
        var currentStart = 0
        var isAbbreviation = false
        var offset = 0
        var pendingApostrophe = false
        var pendingDot = false
        var lastWordEnd = 0
        func flush(end: Int) {
            guard !current.isEmpty else { return }
            words.append((String(decoding: current, as: UTF8.self), isAbbreviation, currentStart..<end))
            current.removeAll()
            isAbbreviation = false
        }
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            defer { offset += width }
            let value = scalar.value
            if value < 0x80 {
                let byte = UInt8(value)
                if (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) {
                    if current.isEmpty { currentStart = offset }
                    if pendingApostrophe { current.append(UInt8(ascii: "'")) }
                    if pendingDot { isAbbreviation = true }
                    pendingApostrophe = false
                    pendingDot = false
                    current.append(byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte)
                    lastWordEnd = offset + width
                    continue
                }
                if byte == UInt8(ascii: "'"), !current.isEmpty, !pendingApostrophe, !pendingDot { pendingApostrophe = true; continue }
                if byte == UInt8(ascii: "."), current.count == 1 || isAbbreviation, !pendingDot, !pendingApostrophe, current.last.map({ $0 >= 0x61 }) == true {
                    pendingDot = true
                    continue
                }
            } else if value == 0x2019 || value == 0x02BC {
                if !current.isEmpty, !pendingApostrophe, !pendingDot { pendingApostrophe = true; continue }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                let folded = String(scalar).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
                if current.isEmpty { currentStart = offset }
                if pendingApostrophe { current.append(UInt8(ascii: "'")) }
                pendingApostrophe = false
                pendingDot = false
                current.append(contentsOf: folded.lowercased().utf8)
                lastWordEnd = offset + width
                continue
            }
            pendingApostrophe = false
            pendingDot = false
            flush(end: lastWordEnd)
        }
        flush(end: lastWordEnd)
        return words
    }

    @Test func wordsMatchTheReferenceOnRandomText() {
        let pieces = ["a", "Z", "U", "s", "7", " ", " ", "\n", ".", "..", "'", "’", "ʼ", "-", ",", "é", "É", "ß", "Ω", "中", "٣", "ﬁ", "“", "”",
                      "😀", "\u{301}", "ǅ", "İ", "Straße", "U.S.", "don't", "O’Neill", "x.y", "A.B.C", "e.g.", "1.5",
                      String(repeating: "Ab", count: 40), String(repeating: "é中", count: 30)]  // words longer than the reader's first buffer
        var random = SeededGenerator(state: 0xA11A)
        let analyzer = Analyzer()
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            var words: [(String, Bool, Range<Int>)] = []
            analyzer.forEachWordBytes(text) { word, isAbbreviation, range in
                words.append((String(decoding: word, as: UTF8.self), isAbbreviation, range))
                return true
            }
            let expected = Self.referenceWords(text)
            #expect(words.map(\.0) == expected.map(\.0), "\(text.debugDescription)")
            #expect(words.map(\.1) == expected.map(\.1), "\(text.debugDescription)")
            #expect(words.map(\.2) == expected.map(\.2), "\(text.debugDescription)")
        }
    }
}

/// Snippets stop reading a body once its passages are settled; they must be the passages a reading of the whole
/// body gives (every word analysed, every match collected, then the passages chosen).
@Suite("Snippets against a whole reading")
struct SnippetReferenceTests {
    @Test func passagesEqualThoseOfTheWholeBody() throws {
        let vocabulary = ["trade", "trading", "talks", "tariffs", "tariff", "minister", "ministers", "met", "meeting", "in", "the",
                          "Geneva", "and", "of", "U.S.", "said", "on", "Friday", "oil", "prices", "rose", "fell", "\n\n",
                          "dying", "die", "lying", "tying", "ties", "skies", "a", "I", "idly", "x",
                          "relational", "relate", "hoping", "hope", "happy", "happiness", "generously", "agreed", "agreement"]
        let queries = ["trade", "tariff OR talks", "trade talks", "minist*", "oil OR absent", "\"trade talks\"", "meet tar*", "us OR geneva friday",
                       "die OR tie", "lie", "sky OR i", "idl* OR a", "x OR ti*",
                       "happy OR hope", "relational", "relat*", "generous OR agree", "agreement"]
        let analyzer = Analyzer()
        let parser = SearchQueryParser()
        var random = SeededGenerator(state: 0x5A1F)
        for _ in 0..<600 {
            let body = (0..<Int.random(in: 5...400, using: &random)).map { _ in vocabulary.randomElement(using: &random)! }.joined(separator: " ")
            let text = queries.randomElement(using: &random)!
            let query = try parser.parse(text)
            let limit = Int.random(in: 1...4, using: &random)
            var exact = Set<String>()
            var prefixes: [String] = []
            for term in SearchIndex.positiveTerms(query) {
                if term.hasSuffix("*") { prefixes.append(term) } else { exact.insert(term) }
            }
            var matched: [(range: Range<Int>, term: String)] = []
            for token in analyzer.tokens(body) {
                if exact.contains(token.term) { matched.append((token.range, token.term)) }
                for label in prefixes.sorted() where token.term.hasPrefix(String(label.dropLast())) { matched.append((token.range, label)) }
            }
            let whole = Snippets.make(body, matched: matched, limit: limit)
            #expect(Snippets.highlight(body, for: query, analyzer: analyzer, limit: limit) == whole, "\(text) limit \(limit): \(body)")
        }
    }
}

@Suite("Word table")
struct WordTableTests {
    @Test(arguments: [UInt64.max, 0x7])
    func findsExactlyTheWordsStoredWithTheirFlagAcrossGrowth(hashMask: UInt64) {
        // With three bits of hash kept, nearly every word collides: found only by comparing keys.
        var table = WordTable(hashMask: hashMask)
        var model: [[UInt8]: UInt32] = [:]  // the flag as a leading byte 0xFF, which the analyzer never yields
        var random = SeededGenerator(state: 0x3D0_7AB1E)
        func key(_ word: [UInt8], _ abbreviation: Bool) -> [UInt8] { (abbreviation ? [0xFF] : []) + word }
        for step in 0..<(hashMask == .max ? 30_000 : 6_000) {
            // Short words from a small alphabet collide often, in hash and in prefix.
            let word = (0..<Int.random(in: 1...(step % 7 == 0 ? 40 : 4), using: &random)).map { _ in UInt8.random(in: 97...100, using: &random) }
            let abbreviation = Int.random(in: 0..<5, using: &random) == 0
            let found = word.withUnsafeBufferPointer { table.id(of: $0, abbreviation: abbreviation) }
            #expect(found == model[key(word, abbreviation)], "step \(step): \(word) \(abbreviation)")
            if found == nil {
                let id = UInt32(model.count)
                word.withUnsafeBufferPointer { table.insert($0, abbreviation: abbreviation, id: id) }
                model[key(word, abbreviation)] = id
            }
        }
        #expect(table.count == model.count)
        if hashMask == .max { #expect(model.count > 4_096, "the table grew past its first 4,096 slots") }
    }
}
