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
        self.forEachWordBytes(text) { word, isAbbreviation, range in
            body(String(decoding: word, as: UTF8.self), isAbbreviation, range)
            return true
        }
    }

    /// Like ``forEachWord(_:_:)`` with each word as its folded UTF-8 bytes, valid only during the call: no string
    /// is made for a word the caller does not keep (snippets look at most words only to skip them). `body`
    /// returns false to stop.
    func forEachWordBytes(_ text: String, _ body: (UnsafeBufferPointer<UInt8>, Bool, Range<Int>) -> Bool) {
        var text = text
        text.withUTF8 { bytes in
            var current = WordBuffer()
            defer { current.deallocate() }
            var currentStart = 0
            var isAbbreviation = false
            var pendingApostrophe = false
            var pendingDot = false
            var lastWordEnd = 0
            var stopped = false

            func flush(end: Int) {
                guard !current.isEmpty else { return }
                stopped = !body(current.bytes, isAbbreviation, currentStart..<end)
                current.removeAll()
                isAbbreviation = false
            }

            var offset = 0
            while offset < bytes.count, !stopped {
                let start = offset
                let lead = bytes[offset]
                if lead < 0x80 {
                    offset += 1
                    switch lead {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                        if current.isEmpty { currentStart = start }
                        if pendingApostrophe { current.append(UInt8(ascii: "'")) }
                        if pendingDot { isAbbreviation = true }
                        pendingApostrophe = false
                        pendingDot = false
                        current.append(lead >= 0x41 && lead <= 0x5A ? lead + 32 : lead)
                        lastWordEnd = offset
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
                } else {
                    // A string's bytes are valid UTF-8: the lead byte gives the scalar's width.
                    let width = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
                    var value = UInt32(lead) & (width == 2 ? 0x1F : width == 3 ? 0x0F : 0x07)
                    for index in 1..<width { value = value << 6 | UInt32(bytes[start + index] & 0x3F) }
                    offset += width
                    if value == 0x2019 || value == 0x02BC {
                        // ’ and ʼ inside a word are apostrophes.
                        if !current.isEmpty, !pendingApostrophe, !pendingDot { pendingApostrophe = true; continue }
                    } else if let scalar = Unicode.Scalar(value), scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                        let folded = String(scalar).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
                        if current.isEmpty { currentStart = start }
                        if pendingApostrophe { current.append(UInt8(ascii: "'")) }
                        pendingApostrophe = false
                        pendingDot = false
                        for byte in folded.lowercased().utf8 { current.append(byte) }
                        lastWordEnd = offset
                        continue
                    }
                }
                // A separator ends the word (a trailing apostrophe or dot is not part of it).
                pendingApostrophe = false
                pendingDot = false
                flush(end: lastWordEnd)
            }
            if !stopped { flush(end: lastWordEnd) }
        }
    }

    /// The word being read: bytes in memory of its own, grown when a word outgrows it (an array would check its
    /// uniqueness on every byte appended).
    private struct WordBuffer {
        private var start = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        private var capacity = 64
        private(set) var count = 0

        var isEmpty: Bool { self.count == 0 }
        var last: UInt8? { self.count == 0 ? nil : self.start[self.count - 1] }
        var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: self.start, count: self.count) }

        @inline(__always)
        mutating func append(_ byte: UInt8) {
            if self.count == self.capacity {
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * self.capacity)
                larger.initialize(from: self.start, count: self.count)
                self.start.deallocate()
                self.start = larger
                self.capacity *= 2
            }
            self.start[self.count] = byte
            self.count += 1
        }

        mutating func removeAll() { self.count = 0 }
        func deallocate() { self.start.deallocate() }
    }

    /// The terms of `text`, in order.
    public func terms(_ text: String) -> [String] {
        var terms: [String] = []
        self.forEachWord(text) { word, isAbbreviation, _ in terms.append(self.stems && !isAbbreviation ? PorterStemmer.stem(word) : word) }
        return terms
    }
}
