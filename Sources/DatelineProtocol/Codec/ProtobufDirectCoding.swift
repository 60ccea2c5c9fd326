#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A message on a hot path (pings, searches, ingest batches) that also writes its fields straight into the
/// wire format, skipping Codable's containers, boxes and per-key dynamic dispatch.
///
/// Its `Encodable` conformance stays the reference: ``DatelineBinaryEncoder`` takes this path when it may, and
/// the tests encode random messages both ways and require the same bytes (`DirectCodingTests`).
protocol ProtobufDirectEncodable: Encodable {
    /// Writes the message's fields, in field-number order, with the rules of `protocol/SPEC.md` § 5.
    func encodeProtobufFields(into writer: inout ProtobufFieldWriter)
}

/// A message on a hot path that also reads itself straight from the wire format.
///
/// Its `Decodable` conformance stays the reference: the tests decode random and damaged bytes both ways and
/// require the same value or the same error (`DirectCodingTests`).
protocol ProtobufDirectDecodable: Decodable {
    /// Reads the message from the fields `reader` yields: unknown fields skipped, the last occurrence of a
    /// non-repeated field winning, repeated numbers and enums packed or not.
    init(protobufFields reader: inout ProtobufFieldReader) throws(DatelineError)
}

/// Both directions.
typealias ProtobufDirectCodable = ProtobufDirectEncodable & ProtobufDirectDecodable

// MARK: - Writing

/// Appends protobuf fields to a buffer. Non-optional fields holding their default are omitted; optional
/// fields that are present are written, as ``DatelineBinaryEncoder`` does.
struct ProtobufFieldWriter {
    var buffer: ByteBuffer
    /// The first error a nested Codable value met (see ``codableMessage(_:_:)``); the encoder throws it.
    var failure: DatelineError?

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// An optional nested message written through its `Encodable` conformance (for types without direct
    /// coding, such as an article's extraction); written when present.
    mutating func codableMessage<M: Encodable>(_ field: Int, _ value: M?) {
        guard let value, self.failure == nil else { return }
        let encoder = _ProtobufEncoder(buffer: self.buffer)
        self.buffer = ByteBuffer()  // hand the storage over, so that the encoder's writes do not copy it
        do {
            try encoder.encodeNested(value, field: field, isArrayElement: false)
        } catch let error as DatelineError {
            self.failure = error
        } catch {
            self.failure = DatelineError(code: .invalidArgument, message: "cannot encode \(M.self): \(error)")
        }
        self.buffer = encoder.buffer
    }

    @inline(__always)
    mutating func tag(_ field: Int, _ wireType: ProtobufWireType) {
        self.buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: field, wireType: wireType))
    }

    @inline(__always)
    mutating func varint(_ field: Int, _ value: UInt64) {
        self.tag(field, .varint)
        self.buffer.writeProtobufVarint(value)
    }

    /// A `uint64`/`uint32` field; omitted when 0.
    @inline(__always)
    mutating func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ field: Int, _ value: T) {
        if value != 0 { self.varint(field, UInt64(value)) }
    }

    /// An optional `uint64`/`uint32` field; written when present.
    @inline(__always)
    mutating func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ field: Int, _ value: T?) {
        if let value { self.varint(field, UInt64(value)) }
    }

    /// A `bool` field; omitted when false.
    @inline(__always)
    mutating func bool(_ field: Int, _ value: Bool) {
        if value { self.varint(field, 1) }
    }

    /// An enum field; omitted when its raw value is 0.
    @inline(__always)
    mutating func enumeration<E: RawRepresentable>(_ field: Int, _ value: E) where E.RawValue == UInt32 {
        if value.rawValue != 0 { self.varint(field, UInt64(value.rawValue)) }
    }

    /// A `double` field; omitted when its bit pattern is 0 (+0.0).
    @inline(__always)
    mutating func double(_ field: Int, _ value: Double) {
        if value.bitPattern != 0 { self.writeDouble(field, value) }
    }

    /// An optional `double` field; written when present.
    @inline(__always)
    mutating func double(_ field: Int, _ value: Double?) {
        if let value { self.writeDouble(field, value) }
    }

    @inline(__always)
    private mutating func writeDouble(_ field: Int, _ value: Double) {
        self.tag(field, .fixed64)
        self.buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    /// A date (`sint64` milliseconds since 1970); omitted when it rounds to 0.
    @inline(__always)
    mutating func date(_ field: Int, _ value: Date) {
        let milliseconds = _ProtobufEncoder.milliseconds(value)
        if milliseconds != 0 { self.varint(field, ProtobufWireFormat.zigZag(milliseconds)) }
    }

    /// An optional date; written when present.
    @inline(__always)
    mutating func date(_ field: Int, _ value: Date?) {
        if let value { self.varint(field, ProtobufWireFormat.zigZag(_ProtobufEncoder.milliseconds(value))) }
    }

    /// A `string` field; omitted when empty.
    @inline(__always)
    mutating func string(_ field: Int, _ value: String) {
        if !value.isEmpty { self.writeString(field, value) }
    }

    /// An optional `string` field; written when present, even when empty.
    @inline(__always)
    mutating func string(_ field: Int, _ value: String?) {
        if let value { self.writeString(field, value) }
    }

    /// A `repeated string` field: one occurrence per element.
    @inline(__always)
    mutating func strings(_ field: Int, _ values: [String]) {
        for value in values { self.writeString(field, value) }
    }

    @inline(__always)
    private mutating func writeString(_ field: Int, _ value: String) {
        self.tag(field, .lengthDelimited)
        var value = value
        value.withUTF8 { utf8 in
            self.buffer.writeProtobufVarint(UInt64(utf8.count))
            self.buffer.writeBytes(UnsafeRawBufferPointer(utf8))
        }
    }

    /// A `bytes` field; omitted when empty.
    @inline(__always)
    mutating func bytes(_ field: Int, _ value: Data) {
        guard !value.isEmpty else { return }
        self.tag(field, .lengthDelimited)
        self.buffer.writeProtobufVarint(UInt64(value.count))
        self.buffer.writeBytes(value)
    }

    /// A nested message field (written even when all its fields are default, as a present message is).
    @inline(__always)
    mutating func message<M: ProtobufDirectEncodable>(_ field: Int, _ value: M) {
        self.tag(field, .lengthDelimited)
        let lengthAt = self.buffer.writerIndex
        self.buffer.writeInteger(UInt8(0))
        value.encodeProtobufFields(into: &self)
        self.buffer.patchProtobufLength(placeholderAt: lengthAt)
    }

    /// An optional nested message; written when present.
    @inline(__always)
    mutating func message<M: ProtobufDirectEncodable>(_ field: Int, _ value: M?) {
        if let value { self.message(field, value) }
    }

    /// A `repeated` message field: one occurrence per element.
    @inline(__always)
    mutating func messages<M: ProtobufDirectEncodable>(_ field: Int, _ values: [M]) {
        for value in values { self.message(field, value) }
    }
}

// MARK: - Reading

/// What one decode may allocate beyond the bytes it reads, shared by every nested reader of that decode.
///
/// An element of a repeated field can take far more memory decoded than on the wire: an empty message is 2 bytes
/// on the wire and an `ArticleSubmission` of 144 bytes in memory, so a 16 MiB frame of empty articles decoded into
/// 1.2 GB. Each element of a repeated field is charged what its type takes in memory beyond its wire bytes; the
/// decode fails with `DECODE_FAILED` once the charges pass 16 MiB plus twice the payload (any real message stays far
/// below: its strings take what they take on the wire).
struct ProtobufDecodingAllowance {
    private let remaining: UnsafeMutablePointer<Int>

    private init(_ remaining: UnsafeMutablePointer<Int>) {
        self.remaining = remaining
    }

    /// Runs `body` with the allowance of a payload of `payloadBytes`.
    @inline(__always)
    static func with<Result, Failure: Error>(payloadBytes: Int, _ body: (ProtobufDecodingAllowance) throws(Failure) -> Result) throws(Failure) -> Result {
        // On the stack: a heap allocation would cost a small message's decode a tenth more.
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: 1) { (remaining) throws(Failure) -> Result in
            remaining.initialize(repeating: (16 << 20) + 2 * payloadBytes)
            return try body(ProtobufDecodingAllowance(remaining.baseAddress!))
        }
    }

    /// Charges one element of type `Element` read from `wireBytes` bytes.
    @inline(__always)
    func charge<Element>(_ type: Element.Type, wireBytes: Int, field: UInt32, name: StaticString, in message: Any.Type) throws(DatelineError) {
        try self.charge(MemoryLayout<Element>.stride - wireBytes, field: field, name: "\(name)", in: message)
    }

    /// Charges `bytes` (nothing when not positive); false once the allowance is spent.
    @inline(__always)
    func tryCharge(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        self.remaining.pointee -= bytes
        return self.remaining.pointee >= 0
    }

    /// Charges `bytes` (nothing when not positive).
    @inline(__always)
    func charge(_ bytes: Int, field: UInt32, name: String, in message: Any.Type) throws(DatelineError) {
        guard !self.tryCharge(bytes) else { return }
        throw DatelineError(
            code: .decodeFailed,
            message: "cannot decode \(message): the elements of field \(field) ('\(name)') would take far more memory than their bytes (too many small elements)"
        )
    }
}

/// Yields a message's fields one at a time, validating each as ``DatelineBinaryDecoder`` does (field numbers,
/// wire types, lengths, groups), and converts field values with the same checks and error messages.
struct ProtobufFieldReader {
    private var reader: ProtobufByteReader
    let bytes: UnsafeRawBufferPointer
    let start: Int
    /// How deep the message being read is nested (the top level is 0).
    let depth: Int
    /// The top-level message's type, which wire-format errors name.
    let topLevel: Any.Type
    /// What the whole decode may still allocate beyond the bytes it reads (``ProtobufDecodingAllowance``).
    let allowance: ProtobufDecodingAllowance

    init(bytes: UnsafeRawBufferPointer, start: Int, end: Int, depth: Int, topLevel: Any.Type, allowance: ProtobufDecodingAllowance) {
        self.bytes = bytes
        self.reader = ProtobufByteReader(bytes: bytes, start: start, end: end)
        self.start = start
        self.depth = depth
        self.topLevel = topLevel
        self.allowance = allowance
    }

    /// Where the next field starts (the end of the last one read).
    var position: Int { self.reader.position }

    /// The next field, or nil at the end of the message.
    @inline(__always)
    mutating func next() throws(DatelineError) -> ProtobufFieldEntry? {
        guard !self.reader.isAtEnd else { return nil }
        do {
            return try self.readEntry()
        } catch {
            throw DatelineError(code: .decodeFailed, message: "cannot decode \(self.topLevel): \(error.message)")
        }
    }

    @inline(__always)
    private mutating func readEntry() throws(ProtobufWireError) -> ProtobufFieldEntry {
        let tag = try self.reader.readVarint()
        let field = tag >> 3
        guard field > 0, field <= UInt64(ProtobufWireFormat.maximumFieldNumber) else {
            throw .malformed("invalid field number \(field) at byte \(self.reader.position - self.start)")
        }
        guard let wireType = ProtobufWireType(rawValue: UInt8(tag & 7)) else {
            throw .malformed("invalid wire type \(tag & 7) for field \(field)")
        }
        var entry = ProtobufFieldEntry(field: UInt32(field), wireType: wireType, start: 0, end: 0, value: 0)
        switch wireType {
        case .varint:
            entry.value = try self.reader.readVarint()
        case .fixed64:
            entry.value = try self.reader.readFixed64()
        case .fixed32:
            entry.value = UInt64(try self.reader.readFixed32())
        case .lengthDelimited:
            let length = try self.reader.readVarint()
            guard length <= UInt64(self.reader.end - self.reader.position) else {
                throw .truncated("field \(field) declares \(length) bytes but only \(self.reader.end - self.reader.position) remain")
            }
            entry.start = UInt32(self.reader.position)
            self.reader.position += Int(length)
            entry.end = UInt32(self.reader.position)
        case .startGroup, .endGroup:
            throw .malformed("field \(field) uses groups (wire type \(wireType.rawValue)), which are not supported")
        }
        return entry
    }

    // MARK: Values (nil entry: the field was absent)

    @inline(__always)
    func string(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> String {
        guard let entry else { return "" }
        return try self.readString(entry, name)
    }

    @inline(__always)
    func optionalString(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> String? {
        guard let entry else { return nil }
        return try self.readString(entry, name)
    }

    /// Appends one occurrence of a `repeated string` field.
    @inline(__always)
    func appendString(_ entry: ProtobufFieldEntry, _ name: StaticString, to values: inout [String]) throws(DatelineError) {
        try self.allowance.charge(String.self, wireBytes: Int(entry.end - entry.start), field: entry.field, name: name, in: self.topLevel)
        values.append(try self.readString(entry, name))
    }

    @inline(__always)
    private func readString(_ entry: ProtobufFieldEntry, _ name: StaticString) throws(DatelineError) -> String {
        try entry.string(in: self.bytes, name: name)
    }

    @inline(__always)
    func bytes(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> Data {
        guard let entry else { return Data() }
        return Data(try entry.bytes(in: self.bytes, name: name))
    }

    @inline(__always)
    private func varint(_ entry: ProtobufFieldEntry, _ name: StaticString) throws(DatelineError) -> UInt64 {
        try entry.varint(name: name)
    }

    @inline(__always)
    func unsigned<T: FixedWidthInteger & UnsignedInteger>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: T.Type = T.self) throws(DatelineError) -> T {
        guard let entry else { return 0 }
        return try self.readUnsigned(entry, name)
    }

    @inline(__always)
    func optionalUnsigned<T: FixedWidthInteger & UnsignedInteger>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: T.Type = T.self) throws(DatelineError) -> T? {
        guard let entry else { return nil }
        return try self.readUnsigned(entry, name) as T
    }

    @inline(__always)
    private func readUnsigned<T: FixedWidthInteger & UnsignedInteger>(_ entry: ProtobufFieldEntry, _ name: StaticString) throws(DatelineError) -> T {
        let raw = try self.varint(entry, name)
        guard let value = T(exactly: raw) else {
            throw DatelineError(code: .decodeFailed, message: "field \(entry.field) ('\(name)'): value does not fit in \(T.self)")
        }
        return value
    }

    @inline(__always)
    func bool(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> Bool {
        guard let entry else { return false }
        return try self.varint(entry, name) != 0
    }

    @inline(__always)
    func double(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> Double {
        guard let entry else { return 0 }
        return try entry.double(name: name)
    }

    @inline(__always)
    func date(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> Date {
        guard let entry else { return Date(timeIntervalSince1970: 0) }
        return _ProtobufDecoder.date(milliseconds: try self.varint(entry, name))
    }

    @inline(__always)
    func optionalDate(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> Date? {
        guard let entry else { return nil }
        return _ProtobufDecoder.date(milliseconds: try self.varint(entry, name))
    }

    /// A closed enum: a value the schema does not know is an error.
    @inline(__always)
    func enumeration<E: RawRepresentable>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: E.Type = E.self) throws(DatelineError) -> E where E.RawValue == UInt32 {
        let raw: UInt32 = entry == nil ? 0 : try self.readUnsigned(entry!, name)
        guard let value = E(rawValue: raw) else {
            throw DatelineError(code: .decodeFailed, message: "field \(entry?.field ?? 0) ('\(name)'): \(raw) is not a valid \(E.self)")
        }
        return value
    }

    /// A nested message (absent: every field defaulted).
    @inline(__always)
    func message<M: ProtobufDirectDecodable>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: M.Type = M.self) throws(DatelineError) -> M {
        var nested = try self.nestedReader(entry, name)
        return try M(protobufFields: &nested)
    }

    @inline(__always)
    func optionalMessage<M: ProtobufDirectDecodable>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: M.Type = M.self) throws(DatelineError) -> M? {
        guard entry != nil else { return nil }
        return try self.message(entry, name) as M
    }

    /// An optional nested message read through its `Decodable` conformance (see
    /// ``ProtobufFieldWriter/codableMessage(_:_:)``).
    func optionalCodableMessage<M: Decodable>(_ entry: ProtobufFieldEntry?, _ name: StaticString, as type: M.Type = M.self) throws(DatelineError) -> M? {
        guard let entry else { return nil }
        guard entry.wireType == .lengthDelimited else {
            throw DatelineError(
                code: .decodeFailed,
                message: "field \(entry.field) ('\(name)'): expected a message (length-delimited), found wire type \(entry.wireType.name)"
            )
        }
        guard self.depth < _ProtobufDecoder.maximumDepth else {
            throw DatelineError(code: .decodeFailed, message: "messages nest deeper than \(_ProtobufDecoder.maximumDepth) levels")
        }
        let decoder = _ProtobufDecoder(bytes: UnsafeRawBufferPointer(rebasing: self.bytes[Int(entry.start)..<Int(entry.end)]), allowance: self.allowance)
        decoder.depth = self.depth + 1
        do {
            return try M(from: decoder)
        } catch let error as DatelineError {
            throw error
        } catch {
            throw DatelineError(code: .decodeFailed, message: "cannot decode \(self.topLevel): \(DatelineBinaryDecoder.describe(error))")
        }
    }

    /// Appends one occurrence of a `repeated` message field.
    @inline(__always)
    func appendMessage<M: ProtobufDirectDecodable>(_ entry: ProtobufFieldEntry, _ name: StaticString, to values: inout [M]) throws(DatelineError) {
        try self.allowance.charge(M.self, wireBytes: Int(entry.end - entry.start), field: entry.field, name: name, in: self.topLevel)
        values.append(try self.message(entry, name))
    }

    private func nestedReader(_ entry: ProtobufFieldEntry?, _ name: StaticString) throws(DatelineError) -> ProtobufFieldReader {
        guard self.depth < _ProtobufDecoder.maximumDepth else {
            throw DatelineError(code: .decodeFailed, message: "messages nest deeper than \(_ProtobufDecoder.maximumDepth) levels")
        }
        guard let entry else {
            return ProtobufFieldReader(bytes: self.bytes, start: 0, end: 0, depth: self.depth + 1, topLevel: self.topLevel, allowance: self.allowance)
        }
        guard entry.wireType == .lengthDelimited else {
            throw DatelineError(
                code: .decodeFailed,
                message: "field \(entry.field) ('\(name)'): expected a message (length-delimited), found wire type \(entry.wireType.name)"
            )
        }
        return ProtobufFieldReader(
            bytes: self.bytes, start: Int(entry.start), end: Int(entry.end), depth: self.depth + 1, topLevel: self.topLevel, allowance: self.allowance
        )
    }
}
