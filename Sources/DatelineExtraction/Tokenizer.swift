/// A token of a text, with its Unicode scalar offsets.
public struct Token: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case word
        case number
        case punctuation
    }

    public var text: String
    public var start: Int
    public var end: Int
    public var kind: Kind
    /// True when no whitespace separates it from the token before.
    public var isJoinedToPrevious: Bool
    /// True when a line break comes before it.
    public var followsLineBreak: Bool
    /// The sentence it belongs to.
    public var sentence: Int = 0

    /// Starts with an upper-case letter.
    public var isCapitalized: Bool {
        guard let first = self.text.unicodeScalars.first else { return false }
        if first.value < 128 { return first.value >= 65 && first.value <= 90 }
        return first.properties.isUppercase
    }

    /// Has letters, all upper case ("TRF", "U.S.").
    public var isAllCaps: Bool {
        var letters = 0
        for scalar in self.text.unicodeScalars {
            if scalar.value < 128 {
                // ASCII without the Unicode property tables (most words of most articles).
                if scalar.value >= 97 && scalar.value <= 122 { return false }
                if scalar.value >= 65 && scalar.value <= 90 { letters += 1 }
                continue
            }
            guard scalar.properties.isAlphabetic else { continue }
            if !scalar.properties.isUppercase { return false }
            letters += 1
        }
        return letters > 0
    }
}

/// A sentence: a range of tokens and of scalars.
public struct Sentence: Sendable, Hashable {
    public var tokens: Range<Int>
    public var start: Int
    public var end: Int
}

/// Splits text into tokens and sentences, keeping Unicode scalar offsets.
///
/// Words keep internal apostrophes ("O'Brien") but the possessive "'s" / "’s" is its own token; dotted
/// abbreviations ("U.S.", "D.C.", "Mr.", "a.m.") stay whole; hyphens are tokens of their own, so "Pakistan-based"
/// yields "Pakistan"; numbers keep internal ",", "." and ":" ("1,000", "3.5", "10:30").
public struct TokenizedText: Sendable {
    public let scalars: [Unicode.Scalar]
    public private(set) var tokens: [Token] = []
    public private(set) var sentences: [Sentence] = []

    /// Abbreviations that keep their final dot and do not end a sentence.
    static let abbreviations: Set<String> = [
        "Mr", "Mrs", "Ms", "Dr", "Prof", "Gen", "Lt", "Col", "Adm", "Rep", "Sen", "Gov", "St", "Jr", "Sr", "Inc",
        "Corp", "Ltd", "Co", "No", "Jan", "Feb", "Mar", "Apr", "Aug", "Sept", "Sep", "Oct", "Nov", "Dec", "vs",
        "Mt", "Ft", "Capt", "Sgt", "Cmdr", "Rev", "Hon", "approx", "est", "Messrs",
    ]

    /// The text's UTF-8 bytes, and the byte offset of each scalar (plus the end), so that slices are cut as
    /// bytes: building strings scalar by scalar is several times slower.
    let utf8: [UInt8]
    let utf8Offsets: [Int]

    public init(_ text: String) {
        var scalars: [Unicode.Scalar] = []
        var offsets: [Int] = []
        scalars.reserveCapacity(text.utf8.count)
        offsets.reserveCapacity(text.utf8.count + 1)
        var offset = 0
        for scalar in text.unicodeScalars {
            scalars.append(scalar)
            offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        offsets.append(offset)
        self.scalars = scalars
        self.utf8 = Array(text.utf8)
        self.utf8Offsets = offsets
        self.tokenize()
        self.splitSentences()
    }

    public func text(_ range: Range<Int>) -> String {
        String(decoding: self.utf8[self.utf8Offsets[range.lowerBound]..<self.utf8Offsets[range.upperBound]], as: UTF8.self)
    }

    /// The text from token `first` through token `last`, inclusive.
    public func text(tokens first: Int, _ last: Int) -> String {
        self.text(self.tokens[first].start..<self.tokens[last].end)
    }

    private static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 128 { return (s.value | 0x20) >= 97 && (s.value | 0x20) <= 122 }
        return s.properties.isAlphabetic
    }

    private static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 128 { return s.value == 32 || (s.value >= 9 && s.value <= 13) }
        return s.properties.isWhitespace
    }
    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 48 && s.value <= 57 }
    private static func isApostrophe(_ s: Unicode.Scalar) -> Bool { s == "'" || s == "\u{2019}" }

    private mutating func tokenize() {
        let s = self.scalars
        let n = s.count
        var i = 0
        var joined = false
        var lineBreak = false
        while i < n {
            let c = s[i]
            if Self.isWhitespace(c) {
                if c == "\n" || c == "\r" || c == "\u{2029}" { lineBreak = true }
                joined = false
                i += 1
                continue
            }
            let start = i
            var kind = Token.Kind.punctuation
            if Self.isDigit(c) {
                kind = .number
                i += 1
                while i < n {
                    if Self.isDigit(s[i]) { i += 1; continue }
                    if (s[i] == "," || s[i] == "." || s[i] == ":"), i + 1 < n, Self.isDigit(s[i + 1]) { i += 2; continue }
                    break
                }
                // "1990s", "22nd", "10am": letters glued to digits stay with them.
                while i < n, Self.isLetter(s[i]) { i += 1 }
            } else if Self.isLetter(c) {
                kind = .word
                i += 1
                while i < n {
                    if Self.isLetter(s[i]) || Self.isDigit(s[i]) { i += 1; continue }
                    // Internal apostrophe, but not the possessive 's.
                    if Self.isApostrophe(s[i]), i + 1 < n, Self.isLetter(s[i + 1]) {
                        let possessive = (s[i + 1] == "s" || s[i + 1] == "S") && (i + 2 >= n || !Self.isLetter(s[i + 2]))
                        if possessive { break }
                        i += 2
                        continue
                    }
                    break
                }
                // Dotted abbreviations: "U.S.", "D.C.", "a.m.", "Mr.".
                if i < n, s[i] == "." {
                    var j = i
                    if i - start == 1 {
                        while j + 2 < n, s[j] == ".", Self.isLetter(s[j + 1]), s[j + 2] == "." { j += 2 }
                    }
                    if j > i {
                        i = j + 1
                    } else {
                        let word = String(String.UnicodeScalarView(s[start..<i]))
                        if Self.abbreviations.contains(word) || (i - start == 1 && s[start].properties.isUppercase) {
                            i += 1
                        }
                    }
                }
            } else if Self.isApostrophe(c), i + 1 < n, s[i + 1] == "s" || s[i + 1] == "S", i + 2 >= n || !Self.isLetter(s[i + 2]), joined {
                kind = .word
                i += 2
            } else {
                i += 1
            }
            self.tokens.append(Token(
                text: self.text(start..<i),
                start: start,
                end: i,
                kind: kind,
                isJoinedToPrevious: joined,
                followsLineBreak: lineBreak
            ))
            joined = true
            lineBreak = false
        }
    }

    /// The tokens of `range` grouped into words as CoNLL-2003 writes them: a hyphen with no space on either side
    /// joins its neighbours into one word ("Jean-Luc", "Chester-le-Street", "1996-08-30"), where the tokens keep
    /// hyphens apart for the rules ("Pakistan-based").
    public func conllWords(_ range: Range<Int>) -> [ClosedRange<Int>] {
        var words: [ClosedRange<Int>] = []
        var k = range.lowerBound
        while k < range.upperBound {
            var last = k
            while last + 2 < range.upperBound, self.tokens[last + 1].text == "-", self.tokens[last + 1].isJoinedToPrevious,
                  self.tokens[last + 2].isJoinedToPrevious, self.tokens[last].kind != .punctuation, self.tokens[last + 2].kind != .punctuation
            {
                last += 2
            }
            words.append(k...last)
            k = last + 1
        }
        return words
    }

    /// Each sentence's words as CoNLL-2003 writes them (`conllWords`), as text.
    public var conllSentences: [[String]] {
        self.sentences.map { sentence in
            self.conllWords(sentence.tokens).map { $0.count == 1 ? self.tokens[$0.lowerBound].text : self.text(tokens: $0.lowerBound, $0.upperBound) }
        }
    }

    private static let closers: Set<String> = ["\"", "\u{201D}", "'", "\u{2019}", ")"]
    private static let openers: Set<String> = ["\"", "\u{201C}", "'", "\u{2018}", "("]

    private mutating func splitSentences() {
        var first = 0
        var index = 0
        func close(_ last: Int) {
            guard last >= first else { return }
            for t in first...last { self.tokens[t].sentence = self.sentences.count }
            self.sentences.append(Sentence(tokens: first..<(last + 1), start: self.tokens[first].start, end: self.tokens[last].end))
            first = last + 1
        }
        while index < self.tokens.count {
            let token = self.tokens[index]
            if index > first, token.followsLineBreak {
                close(index - 1)
                continue
            }
            var end = false
            if token.kind == .punctuation, token.text == "." || token.text == "!" || token.text == "?" {
                end = true
            } else if token.kind == .word, token.text.hasSuffix("."), token.text.count > 2, !Self.abbreviations.contains(String(token.text.dropLast())) {
                // "U.S." or "D.C." ends a sentence when a capitalized word that is not a name part follows a line
                // break; otherwise it is taken as mid-sentence.
                end = index + 1 < self.tokens.count && self.tokens[index + 1].followsLineBreak
            }
            if end {
                var last = index
                while last + 1 < self.tokens.count, Self.closers.contains(self.tokens[last + 1].text), !self.tokens[last + 1].followsLineBreak {
                    last += 1
                }
                let next = last + 1
                if next >= self.tokens.count || self.tokens[next].isCapitalized || self.tokens[next].followsLineBreak
                    || Self.openers.contains(self.tokens[next].text) || self.tokens[next].kind == .number
                {
                    close(last)
                    index = last + 1
                    continue
                }
            }
            index += 1
        }
        if first < self.tokens.count { close(self.tokens.count - 1) }
    }
}
