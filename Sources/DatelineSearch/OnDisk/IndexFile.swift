import CDatelineZlib
package import DatelineStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The envelope of every index file: an 8-byte magic (`DTLNIDX1`), a 4-byte kind (`DICT`, `POST`, ...), the
/// payload, then a 16-byte footer: the length of everything before the footer (u64), the CRC-32 (zlib's) of it
/// (u32) and `DEND`. All integers little-endian. A file whose footer, length or checksum disagrees is damaged.
package enum IndexFile {
    static let magic = Array("DTLNIDX1".utf8)
    static let footerMagic = Array("DEND".utf8)
    static let headerSize = 12
    static let footerSize = 16

    /// The kinds of file a segment is made of.
    package enum Kind: String, CaseIterable, Sendable {
        /// Term dictionary: sorted, front-coded blocks.
        case dictionary = "DICT"
        /// Postings: documents and frequencies in blocks of 128, with skip entries.
        case postings = "POST"
        /// Positions of every occurrence, by term and document.
        case positions = "POSN"
        /// Fixed-width per-document columns: field lengths, and the caller's numeric columns.
        case documents = "DOCS"
        /// Stored documents, compressed in blocks.
        case store = "STOR"
        /// Document keys (ids, external ids) → document number.
        case keys = "KEYS"
        /// What the index's user keeps beside each document and per segment (``SegmentAnnex``).
        case annex = "ANNX"
        /// The commit point: which segments make up the index (``IndexManifest``).
        case manifest = "MANI"

        /// The kinds a segment is made of.
        package static let segmentFiles: [Kind] = [.dictionary, .postings, .positions, .documents, .store, .keys, .annex]

        /// The file name suffix.
        package var suffix: String { "." + self.rawValue.lowercased() }
    }
}

/// Writes one index file front to back through a buffer, computing its checksum on the way; ``finish()``
/// writes the footer and fsyncs. Memory stays bounded by the buffer whatever the file's size.
package final class IndexFileWriter {
    let path: String
    private let descriptor: FileDescriptor
    private var buffer: [UInt8] = []
    private var written = 0
    private var crc: UInt = 0
    private static let flushThreshold = 1 << 18

    /// Creates (or empties) `path` and writes the header of a `kind` file.
    package init(path: String, kind: IndexFile.Kind) throws(DatelineStorageError) {
        self.path = path
        self.descriptor = try FileDescriptor(path: path, mode: .readWrite)
        try self.descriptor.truncate(to: 0)
        self.crc = crc32(0, nil, 0)
        self.buffer.reserveCapacity(Self.flushThreshold + 4096)
        try self.append(IndexFile.magic)
        try self.append(Array(kind.rawValue.utf8))
    }

    /// Bytes written so far, header included (the offset the next byte will have).
    package var position: Int { self.written + self.buffer.count }

    /// Bytes of payload written so far (offsets within the payload are what the formats record).
    package var payloadPosition: Int { self.position - IndexFile.headerSize }

    package func append(_ bytes: some Collection<UInt8>) throws(DatelineStorageError) {
        self.buffer.append(contentsOf: bytes)
        if self.buffer.count >= Self.flushThreshold { try self.flush() }
    }

    package func append(_ bytes: UnsafeRawBufferPointer) throws(DatelineStorageError) {
        self.buffer.append(contentsOf: bytes)
        if self.buffer.count >= Self.flushThreshold { try self.flush() }
    }

    /// Appends zero bytes until the payload position is a multiple of `alignment`.
    package func pad(to alignment: Int) throws(DatelineStorageError) {
        let remainder = self.payloadPosition % alignment
        if remainder != 0 { try self.append([UInt8](repeating: 0, count: alignment - remainder)) }
    }

    private func flush() throws(DatelineStorageError) {
        guard !self.buffer.isEmpty else { return }
        self.crc = self.buffer.withUnsafeBytes { crc32(self.crc, $0.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt($0.count)) }
        try self.descriptor.write(self.buffer, at: self.written)
        self.written += self.buffer.count
        self.buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the footer and fsyncs the file (the caller fsyncs the directory once all files are written).
    package func finish() throws(DatelineStorageError) {
        try self.flush()
        var footer: [UInt8] = []
        footer.appendLittleEndian(UInt64(self.written))
        footer.appendLittleEndian(UInt32(truncatingIfNeeded: self.crc))
        footer.append(contentsOf: IndexFile.footerMagic)
        try self.descriptor.write(footer, at: self.written)
        try self.descriptor.sync()
    }
}

/// An index file mapped read-only into memory (the page cache holds it, not the heap), its envelope checked.
package final class MappedIndexFile: @unchecked Sendable {  // immutable after init; the mapping lives until deinit
    package let path: String
    private let base: UnsafeMutableRawPointer?
    private let mappedCount: Int
    /// The payload: everything between the header and the footer.
    package let payload: UnsafeRawBufferPointer

    /// Maps `path` and checks its magic, kind, length and (when `verify`) its CRC-32 (``verifyChecksum()``).
    /// - Throws: ``DatelineStorageError`` with code `corrupt` naming the file when it is damaged or not a
    ///   `kind` file; `io` when it cannot be opened (a missing file among them).
    package init(path: String, kind: IndexFile.Kind, verify: Bool = true) throws(DatelineStorageError) {
        self.path = path
        let descriptor = try FileDescriptor(path: path, mode: .readOnly)
        let size = try descriptor.size()
        let name = String(path.split(separator: "/").last ?? "")
        guard size >= IndexFile.headerSize + IndexFile.footerSize else {
            throw .corrupt(segment: name, offset: 0, reason: "index file \(path) is \(size) bytes long, too short to be one")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor.raw, 0), mapped != MAP_FAILED else {
            throw .io("cannot map \(path)", errno: errno)
        }
        self.base = mapped
        self.mappedCount = size
        let bytes = UnsafeRawBufferPointer(start: mapped, count: size)
        func fail(_ reason: String, at offset: Int) -> DatelineStorageError {
            .corrupt(segment: name, offset: offset, reason: "index file \(path): \(reason)")
        }
        guard bytes.prefix(8).elementsEqual(IndexFile.magic) else { throw fail("not a Dateline index file", at: 0) }
        guard bytes[8..<12].elementsEqual(kind.rawValue.utf8) else { throw fail("not a \(kind.rawValue) file", at: 8) }
        let footer = size - IndexFile.footerSize
        guard bytes[(footer + 12)...].elementsEqual(IndexFile.footerMagic) else { throw fail("the footer is missing (truncated?)", at: footer) }
        let length = bytes.loadUnaligned(fromByteOffset: footer, as: UInt64.self).littleEndian
        guard length == UInt64(footer) else { throw fail("the footer records \(length) bytes, the file holds \(footer)", at: footer) }
        self.payload = UnsafeRawBufferPointer(rebasing: bytes[IndexFile.headerSize..<footer])
        if verify { try self.verifyChecksum() }
    }

    /// Computes the file's CRC-32 and compares it with the footer's (reading every page of the file).
    /// - Throws: ``DatelineStorageError`` with code `corrupt` naming the file when they differ.
    package func verifyChecksum() throws(DatelineStorageError) {
        let bytes = UnsafeRawBufferPointer(start: self.base, count: self.mappedCount)
        let footer = self.mappedCount - IndexFile.footerSize
        let stored = bytes.loadUnaligned(fromByteOffset: footer + 8, as: UInt32.self).littleEndian
        var actual = crc32(0, nil, 0)
        var offset = 0
        while offset < footer {  // zlib takes 32-bit lengths
            let chunk = min(footer - offset, 1 << 30)
            actual = crc32(actual, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(chunk))
            offset += chunk
        }
        guard UInt32(truncatingIfNeeded: actual) == stored else {
            throw .corrupt(segment: String(self.path.split(separator: "/").last ?? ""), offset: 0, reason: "index file \(self.path): checksum mismatch: the file is damaged")
        }
    }

    deinit {
        if let base { munmap(base, self.mappedCount) }
    }
}

extension [UInt8] {
    package mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { self.append(contentsOf: $0) }
    }
}

/// Reads varints and fixed-width integers out of mapped bytes, bounds-checked: a damaged file gives an error,
/// never a crash.
package struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    package var position: Int

    package init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    package var remaining: Int { self.bytes.count - self.position }

    @inline(__always)
    package mutating func varint() throws(IndexFormatError) -> UInt64 {
        if self.position < self.bytes.count, self.bytes[self.position] < 0x80 {  // most are one byte
            defer { self.position += 1 }
            return UInt64(self.bytes[self.position])
        }
        return try self.longVarint()
    }

    private mutating func longVarint() throws(IndexFormatError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.position < self.bytes.count, shift < 64 else { throw IndexFormatError("a varint runs past its data at byte \(self.position)") }
            let byte = self.bytes[self.position]
            self.position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// Steps over `count` varints without decoding them: a varint ends at a byte below 0x80, so while at least
    /// eight are left, eight bytes at a time are stepped over by counting such bytes (a population count; eight
    /// bytes end at most eight varints, so none past the last wanted is taken), the rest one byte at a time.
    package mutating func skipVarints(_ count: Int) throws(IndexFormatError) {
        var left = count
        while left >= 8, self.position + 8 <= self.bytes.count {
            let word = self.bytes.loadUnaligned(fromByteOffset: self.position, as: UInt64.self)  // byte order is irrelevant here
            // Each byte's "ends a varint" bit moved to its low bit and summed into the top byte by one multiply
            // (a population count without the POPCNT instruction, which the baseline x86-64 target lacks).
            left -= Int(truncatingIfNeeded: (((~word & 0x8080_8080_8080_8080) >> 7) &* 0x0101_0101_0101_0101) >> 56)
            self.position += 8
        }
        while left > 0 {
            guard self.position < self.bytes.count else { throw IndexFormatError("a varint runs past its data at byte \(self.position)") }
            if self.bytes[self.position] & 0x80 == 0 { left -= 1 }
            self.position += 1
        }
    }

    @inline(__always)
    package mutating func int() throws(IndexFormatError) -> Int {
        let value = try self.varint()
        guard value <= UInt64(Int.max) else { throw IndexFormatError("value \(value) is out of range at byte \(self.position)") }
        return Int(value)
    }

    package mutating func fixed<T: FixedWidthInteger>(_ type: T.Type) throws(IndexFormatError) -> T {
        guard self.remaining >= MemoryLayout<T>.size else { throw IndexFormatError("a \(MemoryLayout<T>.size)-byte value runs past its data at byte \(self.position)") }
        let value = T(littleEndian: self.bytes.loadUnaligned(fromByteOffset: self.position, as: T.self))
        self.position += MemoryLayout<T>.size
        return value
    }

    @inline(__always)
    package mutating func bytes(_ count: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= self.remaining else { throw IndexFormatError("\(count) bytes run past their data at byte \(self.position)") }
        defer { self.position += count }
        return UnsafeRawBufferPointer(rebasing: self.bytes[self.position..<(self.position + count)])
    }
}

/// Index data that does not decode (a file that passed its checksum but is not what this version wrote, or a
/// bug): reported with the file's name by the segment that read it.
package struct IndexFormatError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

extension UnsafeRawBufferPointer {
    /// A little-endian fixed-width value at `offset` (the caller has checked the bounds).
    @inline(__always)
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: self.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
