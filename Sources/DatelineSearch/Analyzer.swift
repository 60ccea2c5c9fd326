import Foundation

/// One token of analysed text.
public struct Token: Sendable, Hashable {
    /// The indexed form: folded and stemmed.
    public var term: String
    /// The token's ordinal in its text (phrases match consecutive positions).
    public var position: Int
    /// Where the token's surface form sits in the text, as UTF-8 offsets (for highlighting).
    public var range: Range<Int>
}

/// Turns text into search terms, the same way for documents and queries:
///
/// * words are runs of letters and digits; an apostrophe inside a word (`Pakistan’s`, `don't`) stays in it,
///   and the stemmer removes a possessive `'s`;
/// * hyphens split words into consecutive tokens (`Lashkar-e-Taiba` → `lashkar`, `e`, `taiba`), so the
///   hyphenated form is found as a phrase;
/// * dotted abbreviations become one token (`U.S.` → `us`);
/// * case and diacritics are folded (`Élite` → `elite`), curly quotes and dashes are separators;
/// * English words are stemmed with ``PorterStemmer``; nothing is dropped as a stop word, so phrases such as
///   "the call" match exactly.
public struct Analyzer: Sendable {
    /// Whether terms are stemmed. Default: true.
    public var stems: Bool

    public init(stems: Bool = true) {
        self.stems = stems
    }

    public func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        self.forEachWord(text) { word, isAbbreviation, range in
            let term = self.stems && !isAbbreviation ? PorterStemmer.stem(word) : word
            tokens.append(Token(term: term, position: tokens.count, range: range))
        }
        return tokens
    }

    /// Calls `body` with each word of `text`, folded but not stemmed, whether it is a dotted abbreviation
    /// (never stemmed), and its UTF-8 range.
    func forEachWord(_ text: String, _ body: (String, Bool, Range<Int>) -> Void) {
        var current: [UInt8] = []
        var currentStart = 0
        var isAbbreviation = false
        var offset = 0
        var pendingApostrophe = false
        var pendingDot = false

        func flush(end: Int) {
            guard !current.isEmpty else { return }
            body(String(decoding: current, as: UTF8.self), isAbbreviation, currentStart..<end)
            current.removeAll(keepingCapacity: true)
            isAbbreviation = false
        }

        var lastWordEnd = 0
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            defer { offset += width }
            let value = scalar.value
            if value < 0x80 {
                let byte = UInt8(value)
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    let folded = byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte
                    if current.isEmpty { currentStart = offset }
                    if pendingApostrophe { current.append(UInt8(ascii: "'")) }
                    if pendingDot { isAbbreviation = true }
                    pendingApostrophe = false
                    pendingDot = false
                    current.append(folded)
                    lastWordEnd = offset + width
                    continue
                case UInt8(ascii: "'"):
                    if !current.isEmpty, !pendingApostrophe, !pendingDot { pendingApostrophe = true; continue }
                case UInt8(ascii: "."):
                    // A dot between single letters (U.S., U.K.) joins an abbreviation.
                    if current.count == 1 || isAbbreviation, !pendingDot, !pendingApostrophe, current.last.map({ $0 >= 0x61 }) == true {
                        pendingDot = true
                        continue
                    }
                default:
                    break
                }
            } else if value == 0x2019 || value == 0x02BC {
                // ’ and ʼ inside a word are apostrophes.
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
            // A separator ends the word (a trailing apostrophe or dot is not part of it).
            pendingApostrophe = false
            pendingDot = false
            flush(end: lastWordEnd)
        }
        flush(end: lastWordEnd)
    }

    /// The terms of `text`, in order.
    public func terms(_ text: String) -> [String] { self.tokens(text).map(\.term) }
}
