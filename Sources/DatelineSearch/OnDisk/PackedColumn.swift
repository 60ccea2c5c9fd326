/// A column of unsigned 64-bit values, one per document, stored by frame of reference: every value is the
/// column's `base` plus a code shifted left by `shift` bits, the codes bit-packed at the width of the largest
/// (Lucene's and Tantivy's numeric doc values do the same). Field lengths take a dozen bits instead of 32, log
/// offsets two dozen instead of 64, and publication times (a `Double`'s bits: whole seconds leave the low
/// mantissa bits zero, which the shift drops) about as many. `UInt64.max` means "no value" (an article without
/// a publication time): the code of all ones stands for it, whatever its distance from the others.
///
/// Layout: `u64 base, u8 width (0–64), u8 shift, u8 flags (bit 0: the code of all ones is UInt64.max), 5 zero
/// bytes`, then `⌈count × width / 8⌉` bytes of codes (value `i` at bit `i × width`, least significant bit
/// first), then 7 zero bytes, so that every code is read with one unaligned 8-byte load at its first byte. A width
/// of 58 to 63 is stored as 64 (codes then start on a byte and need no shift) with no shift: the values verbatim.
package enum PackedColumn {
    static let headerSize = 16
    static let padding = 7

    /// The value that means "none"; it does not widen the other values' codes.
    package static let absent = UInt64.max

    /// The encoded column of `values`.
    package static func encode(_ values: [UInt64]) -> [UInt8] {
        let absent = Self.absent
        var base = UInt64.max
        var hasAbsent = false
        for value in values {
            if value == absent { hasAbsent = true } else { base = min(base, value) }
        }
        if base == .max { base = 0 }  // every value absent (or none)
        var differences: UInt64 = 0
        var largest: UInt64 = 0
        for value in values where value != absent {
            differences |= value - base
            largest = max(largest, value - base)
        }
        let shift = differences == 0 ? 0 : differences.trailingZeroBitCount
        let largestCode = largest >> UInt64(shift)
        // With absent values, all ones is theirs: the largest present code must stay below it.
        var width = Self.bitWidth(hasAbsent ? largestCode + 1 : largestCode)
        var effectiveShift = shift
        var effectiveBase = base
        if width > 57 {
            (width, effectiveShift, effectiveBase) = (64, 0, 0)  // verbatim
        }
        var output: [UInt8] = []
        output.reserveCapacity(self.headerSize + (values.count * width + 7) / 8 + self.padding)
        output.appendLittleEndian(effectiveBase)
        output.append(UInt8(width))
        output.append(UInt8(effectiveShift))
        output.append(hasAbsent && width < 64 ? 1 : 0)
        output.append(contentsOf: repeatElement(0, count: 5))
        let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        var accumulator: UInt64 = 0
        var filled = 0
        for value in values {
            let code = width == 64 ? value : (value == absent ? mask : (value - effectiveBase) >> UInt64(effectiveShift))
            guard width > 0 else { continue }
            if filled + width <= 64 {
                accumulator |= code << UInt64(filled)
                filled += width
            } else {  // the code straddles the accumulator: its low part fills it
                let room = 64 - filled
                accumulator |= code << UInt64(filled)
                output.appendLittleEndian(accumulator)
                accumulator = code >> UInt64(room)
                filled = width - room
                continue
            }
            if filled == 64 {
                output.appendLittleEndian(accumulator)
                (accumulator, filled) = (0, 0)
            }
        }
        while filled > 0 {
            output.append(UInt8(truncatingIfNeeded: accumulator))
            accumulator >>= 8
            filled = max(0, filled - 8)
        }
        output.append(contentsOf: repeatElement(0, count: self.padding))
        return output
    }

    /// Bytes a column of `count` values takes, read from its header at `offset` in `bytes`.
    static func size(of bytes: UnsafeRawBufferPointer, at offset: Int, count: Int) throws(IndexFormatError) -> Int {
        guard offset >= 0, offset + self.headerSize <= bytes.count else { throw IndexFormatError("a column's header runs past its file") }
        let width = Int(bytes[offset + 8])
        guard width <= 64 else { throw IndexFormatError("a column of \(width)-bit codes") }
        return self.headerSize + (count * width + 7) / 8 + self.padding
    }

    private static func bitWidth(_ value: UInt64) -> Int { 64 - value.leadingZeroBitCount }

    /// A column read in place from mapped bytes.
    package struct Reader: Sendable {
        private nonisolated(unsafe) let codes: UnsafeRawPointer?
        private let base: UInt64
        private let width: Int
        private let shift: UInt64
        private let mask: UInt64
        /// The code of an absent value (one no code equals when the column has none).
        private let absentCode: UInt64
        /// Values in the column.
        package let count: Int

        /// The column of `count` values at `offset` in `bytes`, its header checked.
        init(_ bytes: UnsafeRawBufferPointer, at offset: Int, count: Int) throws(IndexFormatError) {
            let size = try PackedColumn.size(of: bytes, at: offset, count: count)
            guard offset + size <= bytes.count else { throw IndexFormatError("a column of \(count) values runs past its file") }
            let width = Int(bytes[offset + 8])
            let shift = Int(bytes[offset + 9])
            let flags = bytes[offset + 10]
            guard flags <= 1, width == 64 ? shift == 0 : (width <= 57 && shift < 64) else {
                throw IndexFormatError("a column's header is inconsistent (width \(width), shift \(shift), flags \(flags))")
            }
            self.codes = bytes.baseAddress.map { $0 + offset + PackedColumn.headerSize }
            self.base = bytes.littleEndian(at: offset, as: UInt64.self)
            self.width = width
            self.shift = UInt64(shift)
            self.mask = width == 64 ? .max : (1 << UInt64(width)) - 1
            // Verbatim codes are the values, the absent one's too; narrower ones never reach UInt64.max.
            self.absentCode = flags == 1 ? self.mask : .max
            self.count = count
        }

        /// Writes the documents of `documents` whose value, read as a `Double`'s bits (a publication time), lies
        /// within `lower...upper` into `kept` from `count`, which it advances; a document's value is at its number
        /// minus `base`. No branch per document (a range keeps an unpredictable share of them), and the absent
        /// value, a NaN, is in no range. A date filter's loop, here so that the value reads inline.
        package func keepTimes(
            _ documents: Slice<UnsafeBufferPointer<UInt32>>, base: Int, from lower: Double, to upper: Double,
            into kept: UnsafeMutableBufferPointer<UInt32>, count: inout Int
        ) {
            var written = count
            for document in documents {
                let time = Double(bitPattern: self[Int(document) - base])
                kept[written] = document
                written += (time >= lower ? 1 : 0) & (time <= upper ? 1 : 0)
            }
            count = written
        }

        /// Value `index` (below ``count``).
        @inline(__always)
        package subscript(_ index: Int) -> UInt64 {
            guard let codes = self.codes, self.width > 0 else { return self.base }  // no absent value has width 0
            let bit = index &* self.width
            let word = UInt64(littleEndian: (codes + (bit >> 3)).loadUnaligned(as: UInt64.self))
            let code = (word >> UInt64(bit & 7)) & self.mask
            let value = self.base &+ (code << self.shift)
            return code == self.absentCode ? PackedColumn.absent : value
        }
    }
}
