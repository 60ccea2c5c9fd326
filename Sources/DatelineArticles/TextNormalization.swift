import Foundation

/// Tidies text the way the whole pipeline expects: NFC, one kind of line break, no stray control
/// characters, spaces collapsed. Curly quotes and dashes are kept (search folds them, not storage).
public enum TextNormalization {
    /// Decodes bytes as UTF-8, replacing invalid sequences (and saying so).
    public static func decode(_ bytes: some Collection<UInt8>) -> (text: String, repaired: Bool) {
        if let text = String(validating: bytes, as: UTF8.self) { return (text, false) }
        return (String(decoding: bytes, as: UTF8.self), true)
    }

    /// NFC, `\r\n` and `\r` to `\n`, tabs and no-break spaces to spaces, other control characters removed,
    /// runs of spaces collapsed and lines trimmed.
    public static func tidy(_ text: String) -> String {
        let nfc = text.precomposedStringWithCanonicalMapping
        var output = String.UnicodeScalarView()
        var pendingSpace = false
        var atLineStart = true
        var previous: Unicode.Scalar?
        for scalar in nfc.unicodeScalars {
            switch scalar {
            case "\r":
                previous = scalar
                output.append("\n")
                pendingSpace = false
                atLineStart = true
                continue
            case "\n":
                if previous == "\r" { previous = scalar; continue }
                output.append("\n")
                pendingSpace = false
                atLineStart = true
            case " ", "\t", "\u{00A0}", "\u{2007}", "\u{202F}", "\u{2009}", "\u{200A}", "\u{3000}":
                pendingSpace = !atLineStart
            case "\u{200B}", "\u{FEFF}", "\u{00AD}":
                break  // zero-width space, byte-order mark, soft hyphen
            default:
                if scalar.properties.generalCategory == .control { break }
                if pendingSpace { output.append(" ") }
                pendingSpace = false
                atLineStart = false
                output.append(scalar)
            }
            previous = scalar
        }
        return String(output)
    }

    /// A key for deduplication: letters and digits only, lowercased, diacritics and quotes folded.
    public static func contentKey(_ text: String) -> String {
        var key = String.UnicodeScalarView()
        for scalar in text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).unicodeScalars
        where scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
            key.append(scalar)
        }
        return String(key)
    }

    /// FNV-1a, 64 bits, as 16 hex digits.
    public static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
