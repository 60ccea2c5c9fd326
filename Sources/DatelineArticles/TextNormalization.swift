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
    ///
    /// Works on UTF-8 bytes; Foundation's NFC runs only when a scalar that NFC could change is present
    /// (combining marks, Hangul jamo, the few canonical singletons), which English news text rarely has.
    public static func tidy(_ text: String) -> String {
        let source = Self.needsNFC(text) ? text.precomposedStringWithCanonicalMapping : text
        var output: [UInt8] = []
        output.reserveCapacity(source.utf8.count)
        var pendingSpace = false
        var atLineStart = true
        var previousWasCR = false
        var bytes = source.utf8.makeIterator()
        func newline() {
            output.append(0x0A)
            pendingSpace = false
            atLineStart = true
        }
        func content(_ sequence: some Sequence<UInt8>) {
            if pendingSpace { output.append(0x20) }
            pendingSpace = false
            atLineStart = false
            output.append(contentsOf: sequence)
        }
        while let byte = bytes.next() {
            let wasCR = previousWasCR
            previousWasCR = false
            switch byte {
            case 0x0D:
                newline()
                previousWasCR = true
            case 0x0A:
                if !wasCR { newline() }
            case 0x20, 0x09:
                pendingSpace = !atLineStart
            case 0x00..<0x20, 0x7F:
                break  // control characters
            case 0x00..<0x80:
                content(CollectionOfOne(byte))
            default:
                // A multi-byte scalar: gather it, then classify it.
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                var scalarBytes = [byte]
                for _ in 1..<length { if let next = bytes.next() { scalarBytes.append(next) } }
                switch scalarBytes {
                case [0xC2, 0xA0], [0xE2, 0x80, 0x87], [0xE2, 0x80, 0xAF], [0xE2, 0x80, 0x89], [0xE2, 0x80, 0x8A], [0xE3, 0x80, 0x80]:
                    pendingSpace = !atLineStart  // no-break and other fixed-width spaces
                case [0xE2, 0x80, 0x8B], [0xEF, 0xBB, 0xBF], [0xC2, 0xAD]:
                    break  // zero-width space, byte-order mark, soft hyphen
                case _ where scalarBytes[0] == 0xC2 && scalarBytes.count == 2 && (0x80...0x9F).contains(scalarBytes[1]):
                    break  // C1 control characters
                case [0xE2, 0x80, 0xA8], [0xE2, 0x80, 0xA9]:
                    newline()  // line and paragraph separators
                default:
                    content(scalarBytes)
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether NFC could change `text`: it holds a combining mark, Hangul jamo or a canonical singleton.
    static func needsNFC(_ text: String) -> Bool {
        for byte in text.utf8 where byte >= 0xCC {
            // Only scalars from U+0300 up can be affected; check them properly.
            for scalar in text.unicodeScalars where scalar.value >= 0x300 {
                let value = scalar.value
                if scalar.properties.canonicalCombiningClass.rawValue != 0 { return true }
                if (0x1100...0x11FF).contains(value) || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value) { return true }
                if [0x0340, 0x0341, 0x0343, 0x0344, 0x0374, 0x037E, 0x0387, 0x1F71, 0x2000, 0x2001, 0x2126, 0x212A, 0x212B, 0x2329, 0x232A].contains(value) {
                    return true
                }
            }
            return false
        }
        return false
    }

    /// A key for deduplication: letters and digits only, lowercased, diacritics and quotes folded.
    public static func contentKey(_ text: String) -> String {
        var key: [UInt8] = []
        key.reserveCapacity(text.utf8.count)
        var nonASCII = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                switch UInt8(value) {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): key.append(UInt8(value))
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): key.append(UInt8(value) + 32)
                default: break
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                nonASCII.removeAll(keepingCapacity: true)
                nonASCII.append(scalar)
                let folded = String(nonASCII).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
                for character in folded.unicodeScalars where character.properties.isAlphabetic || character.properties.numericType != nil {
                    key.append(contentsOf: String(character).utf8)
                }
            }
        }
        return String(decoding: key, as: UTF8.self)
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
