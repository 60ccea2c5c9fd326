/// Bounds-checked integer reads from captured bytes: a capture is untrusted input, so every read may fail.
extension Array where Element == UInt8 {
    /// The big-endian `UInt16` at `offset`, or nil when the bytes end first.
    func uint16(bigEndianAt offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= self.count else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    /// The `UInt16` at `offset` in the given byte order, or nil when the bytes end first.
    func uint16(at offset: Int, bigEndian: Bool) -> UInt16? {
        guard let value = self.uint16(bigEndianAt: offset) else { return nil }
        return bigEndian ? value : value.byteSwapped
    }

    /// The big-endian `UInt32` at `offset`, or nil when the bytes end first.
    func uint32(bigEndianAt offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= self.count else { return nil }
        return UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    /// The `UInt32` at `offset` in the given byte order, or nil when the bytes end first.
    func uint32(at offset: Int, bigEndian: Bool) -> UInt32? {
        guard let value = self.uint32(bigEndianAt: offset) else { return nil }
        return bigEndian ? value : value.byteSwapped
    }

    /// `length` bytes from `offset`, or nil when the bytes end first.
    func bytes(at offset: Int, length: Int) -> [UInt8]? {
        guard offset >= 0, length >= 0, offset + length <= self.count else { return nil }
        return Array(self[offset..<(offset + length)])
    }
}

/// Bytes as lowercase hex, optionally with a space every `groupSize` bytes.
package func hexString(_ bytes: some Sequence<UInt8>, groupSize: Int = 0) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for (index, byte) in bytes.enumerated() {
        if groupSize > 0, index > 0, index % groupSize == 0 { text.append(UInt8(ascii: " ")) }
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
