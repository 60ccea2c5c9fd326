/// Bytes written as hex text: `89 44 54 4c`, `8944544c`, `0x89, 0x44`, over as many lines as wanted, with `#`
/// comments to the end of a line.
package enum DatelineHexDump {
    /// Why a text is not a hex dump.
    package struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The 1-based line of the problem.
        package var line: Int
        /// The 1-based column (in characters) of the problem.
        package var column: Int
        /// What is wrong there.
        package var message: String

        package var description: String { "hex input line \(self.line), column \(self.column): \(self.message)" }
    }

    /// The bytes `text` spells.
    ///
    /// Tokens are separated by whitespace, commas or colons; each is an even number of hex digits, optionally
    /// prefixed `0x`. Everything from a `#` to the end of its line is a comment.
    /// - Throws: ``ParseError`` naming the line and column of the first character that is not part of a byte.
    package static func parse(_ text: String) throws(ParseError) -> [UInt8] {
        var bytes: [UInt8] = []
        for (lineIndex, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let code = line.firstIndex(of: "#").map { line[..<$0] } ?? line[...]
            var column = 1
            for token in code.split(omittingEmptySubsequences: false, whereSeparator: Self.isSeparator) {
                defer { column += token.count + 1 }
                guard !token.isEmpty else { continue }
                try Self.appendToken(token, into: &bytes, line: lineIndex + 1, column: column)
            }
        }
        return bytes
    }

    /// Whether `text` looks like a hex dump rather than binary bytes: printable ASCII only, and at least one hex
    /// digit outside comments.
    package static func looksLikeHex(_ data: [UInt8]) -> Bool {
        guard data.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) }) else { return false }
        return (try? self.parse(String(decoding: data, as: UTF8.self)).isEmpty == false) ?? false
    }

    private static func isSeparator(_ character: Character) -> Bool {
        character.isWhitespace || character == "," || character == ":"
    }

    private static func appendToken(_ token: Substring, into bytes: inout [UInt8], line: Int, column: Int) throws(ParseError) {
        var digits = token[...]
        var digitColumn = column
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            digitColumn += 2
        }
        var pending: UInt8?
        for (index, character) in digits.enumerated() {
            guard let value = character.hexDigitValue, character.isASCII else {
                throw ParseError(line: line, column: digitColumn + index, message: "'\(character)' is not a hex digit")
            }
            if let high = pending {
                bytes.append(high << 4 | UInt8(value))
                pending = nil
            } else {
                pending = UInt8(value)
            }
        }
        if pending != nil || digits.isEmpty {
            throw ParseError(line: line, column: column, message: "'\(token)' is not a whole number of bytes (two hex digits each)")
        }
    }
}
