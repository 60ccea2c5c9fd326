/// Blocks of small unsigned integers packed at the width of their largest value: one byte giving the width in
/// bits (0–32), then the values, least significant bit first, in `⌈count × width / 8⌉` bytes. The count is
/// known to the reader (128 in a full postings block, fewer in a term's last one).
enum BitPacking {
    /// The number of bits the largest of `values` needs.
    static func width(_ values: UnsafeBufferPointer<UInt32>) -> Int {
        var union: UInt32 = 0
        for value in values { union |= value }
        return union == 0 ? 0 : 32 - union.leadingZeroBitCount
    }

    static func byteCount(count: Int, width: Int) -> Int { (count * width + 7) / 8 }

    /// Appends the width byte and the packed `values`.
    static func pack(_ values: UnsafeBufferPointer<UInt32>, into output: inout [UInt8]) {
        let width = self.width(values)
        output.append(UInt8(width))
        self.pack(values, width: width, into: &output)
    }

    /// Appends `values` packed at `width` bits (at least ``width(_:)`` of them), without the width.
    static func pack(_ values: UnsafeBufferPointer<UInt32>, width: Int, into output: inout [UInt8]) {
        guard width > 0 else { return }
        var accumulator: UInt64 = 0
        var filled = 0
        for value in values {
            accumulator |= UInt64(value) << UInt64(filled)
            filled += width
            while filled >= 8 {
                output.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                filled -= 8
            }
        }
        if filled > 0 { output.append(UInt8(truncatingIfNeeded: accumulator)) }
    }

    /// `count` values packed at a place in a file (its width byte read and its bytes bounded), any run of which
    /// can be decoded without the ones before it: value `i` starts at bit `i × width`. A block cursor decodes
    /// only as far as a search reads.
    struct Packed {
        let bytes: UnsafeRawBufferPointer
        let width: Int
        let count: Int

        /// The values at `cursor` behind their width byte; the cursor moves past them.
        init(_ cursor: inout ByteCursor, count: Int) throws(IndexFormatError) {
            try self.init(&cursor, count: count, width: Int(try cursor.fixed(UInt8.self)))
        }

        /// The values at `cursor`, packed at `width` bits; the cursor moves past them.
        init(_ cursor: inout ByteCursor, count: Int, width: Int) throws(IndexFormatError) {
            guard width <= 32 else { throw IndexFormatError("a packed block claims \(width)-bit values") }
            self.bytes = try cursor.bytes(BitPacking.byteCount(count: count, width: width))
            self.width = width
            self.count = count
        }

        /// No values.
        static var empty: Packed { Packed() }

        private init() {
            (self.bytes, self.width, self.count) = (UnsafeRawBufferPointer(start: nil, count: 0), 0, 0)
        }

        /// Decodes values `range` (within `0..<count`) into `output[range]`.
        @inline(__always)
        func decode(_ range: Range<Int>, into output: UnsafeMutablePointer<UInt32>) {
            precondition(range.lowerBound >= 0 && range.upperBound <= self.count, "values \(range) of \(self.count)")
            let width = self.width
            guard width > 0 else {
                (output + range.lowerBound).update(repeating: 0, count: range.count)
                return
            }
            let mask: UInt64 = (1 << UInt64(width)) - 1
            let bytes = self.bytes
            // Each value is read with one unaligned 8-byte load at its first byte (a value spans at most 5 bytes
            // after its bit shift of under 8), while 8 bytes remain; the last few values byte by byte.
            var index = range.lowerBound
            var bit = index * width
            while index < range.upperBound, (bit >> 3) + 8 <= bytes.count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self))
                output[index] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
                index += 1
                bit += width
            }
            while index < range.upperBound {
                var value: UInt64 = 0
                var taken = 0
                var at = bit
                while taken < width {
                    let byte = UInt64(bytes[at >> 3]) >> UInt64(at & 7)
                    value |= byte << UInt64(taken)
                    let step = min(8 - (at & 7), width - taken)
                    taken += step
                    at += step
                }
                output[index] = UInt32(truncatingIfNeeded: value & mask)
                index += 1
                bit += width
            }
        }

        /// Decodes values `range` as document gaps (each document is the previous one plus one plus its gap, the
        /// first `base` plus its gap) into `output[range]`; returns one past the last document. Gaps and sums in
        /// one pass: a block walk's cost is mostly this loop.
        @inline(__always)
        func decodeAscending(_ range: Range<Int>, from base: UInt32, into output: UnsafeMutablePointer<UInt32>) -> UInt32 {
            precondition(range.lowerBound >= 0 && range.upperBound <= self.count, "values \(range) of \(self.count)")
            var document = base
            let width = self.width
            guard width > 0 else {
                for index in range {
                    output[index] = document
                    document &+= 1
                }
                return document
            }
            let mask: UInt64 = (1 << UInt64(width)) - 1
            let bytes = self.bytes
            // The values whose 8-byte load stays within the bytes: bit `i × width` with `(bit >> 3) + 8 <= count`.
            let loadable = bytes.count >= 8 ? ((bytes.count - 8) * 8 + 7) / width + 1 : 0
            let fastEnd = max(range.lowerBound, min(range.upperBound, loadable))
            var index = range.lowerBound
            var bit = index * width
            if let start = bytes.baseAddress {
                while index < fastEnd {
                    let word = UInt64(littleEndian: (start + (bit >> 3)).loadUnaligned(as: UInt64.self))
                    document &+= UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
                    output[index] = document
                    document &+= 1
                    index += 1
                    bit += width
                }
            }
            guard index < range.upperBound else { return document }
            self.decode(index..<range.upperBound, into: output)
            for rest in index..<range.upperBound {
                document &+= output[rest]
                output[rest] = document
                document &+= 1
            }
            return document
        }
    }
}

extension [UInt8] {
    /// Appends `value` as a LEB128 varint (7 bits per byte, low first).
    package mutating func appendVarUInt(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.append(UInt8(value))
    }
}
