import CDatelineZlib

/// The on-disk record: `[length u32][crc32 u32][offset u64][payload]`, big-endian, where the CRC-32 (zlib's)
/// covers the 8 offset bytes and the payload, so that a record found at the wrong place is caught too.
enum RecordFormat {
    static let headerSize = 16

    static func crc(offset: UInt64, payload: UnsafeRawBufferPointer) -> UInt32 {
        var offsetBytes = offset.bigEndian
        var value = withUnsafeBytes(of: &offsetBytes) { bytes in
            CDatelineZlib.crc32(0, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self), 8)
        }
        if let base = payload.baseAddress, payload.count > 0 {
            value = CDatelineZlib.crc32(value, base.assumingMemoryBound(to: Bytef.self), uInt(payload.count))
        }
        return UInt32(value)
    }

    /// Appends one encoded record to `output`.
    static func append(offset: UInt64, payload: [UInt8], to output: inout [UInt8]) {
        let checksum = payload.withUnsafeBytes { self.crc(offset: offset, payload: $0) }
        output.appendBigEndian(UInt32(payload.count))
        output.appendBigEndian(checksum)
        output.appendBigEndian(offset)
        output.append(contentsOf: payload)
    }

    /// The outcome of parsing one record at `position` in `bytes`.
    enum Parsed {
        case record(offset: UInt64, payload: Range<Int>, next: Int)
        /// The bytes end before the record does (a torn write).
        case incomplete(String)
        /// The record is complete but wrong.
        case invalid(String)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, at position: Int, expectedOffset: UInt64, maximumRecordBytes: Int) -> Parsed {
        let remaining = bytes.count - position
        guard remaining >= self.headerSize else {
            return .incomplete("only \(remaining) of the record header's 16 bytes are present")
        }
        let length = Int(bytes.loadBigEndianUInt32(at: position))
        let checksum = bytes.loadBigEndianUInt32(at: position + 4)
        let offset = bytes.loadBigEndianUInt64(at: position + 8)
        guard length <= maximumRecordBytes else {
            if position + self.headerSize + length > bytes.count {
                return .incomplete("the record header declares \(length) bytes, past the end of the file")
            }
            return .invalid("the record declares \(length) bytes, above the limit of \(maximumRecordBytes)")
        }
        guard position + self.headerSize + length <= bytes.count else {
            return .incomplete("the record declares \(length) bytes but only \(remaining - self.headerSize) follow")
        }
        let payload = (position + self.headerSize)..<(position + self.headerSize + length)
        let actual = self.crc(offset: offset, payload: UnsafeRawBufferPointer(rebasing: bytes[payload]))
        guard actual == checksum else {
            return .invalid("CRC-32 mismatch (stored \(checksum), computed \(actual))")
        }
        guard offset == expectedOffset else {
            return .invalid("record has offset \(offset) where \(expectedOffset) was expected")
        }
        return .record(offset: offset, payload: payload, next: payload.upperBound)
    }
}

extension RecordFormat {
    /// Counts the intact records after damage at `position`: scans forward byte by byte for a record that
    /// parses with a good checksum and an offset that can follow `expectedOffset` (one each 16 bytes at most),
    /// then counts the consecutive records from there. 0 means nothing intact follows: a torn tail.
    static func intactRecords(_ bytes: UnsafeRawBufferPointer, after position: Int, expectedOffset: UInt64, maximumRecordBytes: Int) -> Int {
        var candidate = position + 1
        while candidate + self.headerSize <= bytes.count {
            defer { candidate += 1 }
            let length = Int(bytes.loadBigEndianUInt32(at: candidate))
            guard length <= maximumRecordBytes, candidate + self.headerSize + length <= bytes.count else { continue }
            let offset = bytes.loadBigEndianUInt64(at: candidate + 8)
            // At most one record per header's worth of bytes can lie between the damage and here.
            guard offset >= expectedOffset, offset - expectedOffset <= UInt64((candidate - position) / self.headerSize) + 1 else { continue }
            guard case .record(_, _, var next) = self.parse(bytes, at: candidate, expectedOffset: offset, maximumRecordBytes: maximumRecordBytes) else { continue }
            var count = 1
            var following = offset + 1
            while next < bytes.count, case .record(_, _, let after) = self.parse(bytes, at: next, expectedOffset: following, maximumRecordBytes: maximumRecordBytes) {
                count += 1
                following += 1
                next = after
            }
            return count
        }
        return 0
    }
}

extension [UInt8] {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { self.append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: self.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func loadBigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: self.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
