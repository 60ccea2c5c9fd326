#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import NIOCore

/// Decodes `Decodable` messages from the protobuf wire format.
///
/// Unknown fields are skipped (forward compatibility). A missing optional field decodes as `nil`; a missing
/// non-optional field decodes as its type's default (0, `false`, `""`, empty, a message with all fields
/// defaulted), as in proto3. When a non-repeated field occurs more than once, the last occurrence wins.
public struct DatelineBinaryDecoder: Sendable {
    /// Whether messages on the hot paths read their fields directly (``ProtobufDirectDecodable``) rather than
    /// through their `Decodable` conformance; the results are the same (tests compare both). Default: true.
    package var usesDirectCoding = true

    /// Creates a decoder.
    public init() {}

    /// Decodes a message from the readable bytes of `buffer`.
    /// - Throws: ``DatelineError`` with code `decodeFailed`, saying which field is wrong and why.
    public func decode<Message: Decodable>(_ type: Message.Type, from buffer: ByteBuffer) throws(DatelineError) -> Message {
        try self.decode(type, from: buffer, direct: self.usesDirectCoding)
    }

    private func decode<Message: Decodable>(_ type: Message.Type, from buffer: ByteBuffer, direct: Bool) throws(DatelineError) -> Message {
        do {
            return try buffer.withUnsafeReadableBytes { bytes in
                try Self.decode(type, bytes: bytes, direct: direct)
            }
        } catch let error as DatelineError {
            throw error
        } catch {
            throw DatelineError(code: .decodeFailed, message: "cannot decode \(Message.self): \(Self.describe(error))")
        }
    }

    /// Decodes a message from `bytes`.
    /// - Throws: ``DatelineError`` with code `decodeFailed`, saying which field is wrong and why.
    public func decode<Message: Decodable>(_ type: Message.Type, from bytes: [UInt8]) throws(DatelineError) -> Message {
        try self.decode(type, from: bytes, direct: self.usesDirectCoding)
    }

    private func decode<Message: Decodable>(_ type: Message.Type, from bytes: [UInt8], direct: Bool) throws(DatelineError) -> Message {
        do {
            return try bytes.withUnsafeBytes { bytes in try Self.decode(type, bytes: bytes, direct: direct) }
        } catch let error as DatelineError {
            throw error
        } catch {
            throw DatelineError(code: .decodeFailed, message: "cannot decode \(Message.self): \(Self.describe(error))")
        }
    }

    /// Decodes a message from the readable bytes of `buffer`: its direct path when it has one, without asking the
    /// runtime.
    /// - Throws: ``DatelineError`` with code `decodeFailed`, saying which field is wrong and why.
    public func decode<Message: DatelineMessage>(_ type: Message.Type, from buffer: ByteBuffer) throws(DatelineError) -> Message {
        // A message without a direct path has none for the runtime to find either: Codable, without asking.
        guard self.usesDirectCoding, let direct = Message._directCoding else { return try self.decode(type, from: buffer, direct: false) }
        // (No `Result<Message, …>` to carry the typed error out: for an unspecialised `Message` its metadata would
        // be looked up at run time on every call.)
        do {
            return try buffer.withUnsafeReadableBytes { bytes in try Self.decode(type, bytes: bytes, directly: direct.decodable) }
        } catch {
            throw Self.datelineError(error, decoding: Message.self)
        }
    }

    /// Decodes a message from `bytes`: its direct path when it has one, without asking the runtime.
    /// - Throws: ``DatelineError`` with code `decodeFailed`, saying which field is wrong and why.
    public func decode<Message: DatelineMessage>(_ type: Message.Type, from bytes: [UInt8]) throws(DatelineError) -> Message {
        guard self.usesDirectCoding, let direct = Message._directCoding else { return try self.decode(type, from: bytes, direct: false) }
        do {
            return try bytes.withUnsafeBytes { bytes in try Self.decode(type, bytes: bytes, directly: direct.decodable) }
        } catch {
            throw Self.datelineError(error, decoding: Message.self)
        }
    }

    /// What the decoding paths throw: their own ``DatelineError``s as they are, anything else as `decodeFailed`.
    static func datelineError<Message>(_ error: any Error, decoding type: Message.Type) -> DatelineError {
        if let error = error as? DatelineError { return error }
        return DatelineError(code: .decodeFailed, message: "cannot decode \(Message.self): \(Self.describe(error))")
    }

    private static func decode<Message>(_ type: Message.Type, bytes: UnsafeRawBufferPointer, directly direct: any ProtobufDirectDecodable.Type) throws(DatelineError) -> Message {
        guard bytes.count < Int(UInt32.max) else {
            throw DatelineError(code: .decodeFailed, message: "payload of \(bytes.count) bytes is too large to decode")
        }
        return try ProtobufDecodingAllowance.with(payloadBytes: bytes.count) { allowance throws(DatelineError) in
            var reader = ProtobufFieldReader(bytes: bytes, start: 0, end: bytes.count, depth: 0, topLevel: Message.self, allowance: allowance)
            return try Self.decodeDirectly(direct, as: Message.self, from: &reader)
        }
    }

    private static func decode<Message: Decodable>(_ type: Message.Type, bytes: UnsafeRawBufferPointer, direct: Bool) throws -> Message {
        guard bytes.count < Int(UInt32.max) else {
            throw DatelineError(code: .decodeFailed, message: "payload of \(bytes.count) bytes is too large to decode")
        }
        // A runtime conformance look-up; messages say it through `_directCoding` (the overloads above).
        return try ProtobufDecodingAllowance.with(payloadBytes: bytes.count) { allowance in
            if direct, let directType = Message.self as? any ProtobufDirectDecodable.Type {
                var reader = ProtobufFieldReader(bytes: bytes, start: 0, end: bytes.count, depth: 0, topLevel: Message.self, allowance: allowance)
                return try Self.decodeDirectly(directType, as: Message.self, from: &reader)
            }
            let decoder = _ProtobufDecoder(bytes: bytes, allowance: allowance)
            let message = try Message(from: decoder)
            // A message with no fields (HealthRequest, IngestStatsRequest) never reads its bytes: still, they must
            // be a valid encoding (of unknown fields at most), as for any other message.
            if !decoder.readTopLevel { _ = try protobufFieldTable(bytes, start: 0, end: bytes.count, allowance: allowance) }
            return message
        }
    }

    /// A `Direct` (which is `Message`) read through its direct conformance, without an existential box.
    @inline(__always)
    private static func decodeDirectly<Direct: ProtobufDirectDecodable, Message>(
        _ type: Direct.Type,
        as message: Message.Type,
        from reader: inout ProtobufFieldReader
    ) throws(DatelineError) -> Message {
        unsafeBitCast(try Direct(protobufFields: &reader), to: Message.self)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as ProtobufWireError:
            return error.message
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            return context.debugDescription
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// One occurrence of a field in an encoded message.
struct ProtobufFieldEntry {
    var field: UInt32
    var wireType: ProtobufWireType
    /// For length-delimited values, the byte range of the contents.
    var start: UInt32
    var end: UInt32
    /// For varint, fixed64 and fixed32 values, the value itself.
    var value: UInt64
}

extension ProtobufFieldEntry {
    /// The value of a varint field named `name` (for the error message).
    @inline(__always)
    func varint(name: some CustomStringConvertible) throws(DatelineError) -> UInt64 {
        guard self.wireType == .varint else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(name)'): expected a varint, found wire type \(self.wireType.name)")
        }
        return self.value
    }

    /// The value of a `double` field.
    @inline(__always)
    func double(name: some CustomStringConvertible) throws(DatelineError) -> Double {
        guard self.wireType == .fixed64 else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(name)'): expected a double (fixed64), found wire type \(self.wireType.name)")
        }
        return Double(bitPattern: self.value)
    }

    /// The contents of a `bytes` field, within the message's `bytes`.
    @inline(__always)
    func bytes(in bytes: UnsafeRawBufferPointer, name: some CustomStringConvertible) throws(DatelineError) -> UnsafeRawBufferPointer {
        guard self.wireType == .lengthDelimited else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(name)'): expected bytes, found wire type \(self.wireType.name)")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[Int(self.start)..<Int(self.end)])
    }

    /// The value of a `string` field, which must be valid UTF-8.
    @inline(__always)
    func string(in bytes: UnsafeRawBufferPointer, name: some CustomStringConvertible) throws(DatelineError) -> String {
        guard self.wireType == .lengthDelimited else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(name)'): expected a string, found wire type \(self.wireType.name)")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(self.start)..<Int(self.end)])
        guard let string = String(validating: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(name)'): string is not valid UTF-8")
        }
        return string
    }
}

/// Splits a message's bytes into its field occurrences, skipping nothing and validating every length.
func protobufFieldTable(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int, allowance: ProtobufDecodingAllowance) throws(ProtobufWireError) -> [ProtobufFieldEntry] {
    var table: [ProtobufFieldEntry] = []
    table.reserveCapacity(16)
    var reader = ProtobufByteReader(bytes: bytes, start: start, end: end)
    while !reader.isAtEnd {
        let entryStart = reader.position
        let tag = try reader.readVarint()
        let field = tag >> 3
        guard field > 0, field <= UInt64(ProtobufWireFormat.maximumFieldNumber) else {
            throw .malformed("invalid field number \(field) at byte \(reader.position - start)")
        }
        guard let wireType = ProtobufWireType(rawValue: UInt8(tag & 7)) else {
            throw .malformed("invalid wire type \(tag & 7) for field \(field)")
        }
        var entry = ProtobufFieldEntry(field: UInt32(field), wireType: wireType, start: 0, end: 0, value: 0)
        switch wireType {
        case .varint:
            entry.value = try reader.readVarint()
        case .fixed64:
            entry.value = try reader.readFixed64()
        case .fixed32:
            entry.value = UInt64(try reader.readFixed32())
        case .lengthDelimited:
            let length = try reader.readVarint()
            guard length <= UInt64(reader.end - reader.position) else {
                throw .truncated("field \(field) declares \(length) bytes but only \(reader.end - reader.position) remain")
            }
            entry.start = UInt32(reader.position)
            reader.position += Int(length)
            entry.end = UInt32(reader.position)
        case .startGroup, .endGroup:
            throw .malformed("field \(field) uses groups (wire type \(wireType.rawValue)), which are not supported")
        }
        // A table entry takes more than a small field's bytes: charged like an element of a repeated field.
        guard allowance.tryCharge(MemoryLayout<ProtobufFieldEntry>.stride - (reader.position - entryStart)) else {
            throw .malformed("its fields would take far more memory than their bytes (too many small fields)")
        }
        table.append(entry)
    }
    return table
}

/// The decoder's state: the value being decoded is either the whole input (top level), all occurrences of a
/// field in a message's table, or one element of a repeated field.
final class _ProtobufDecoder: Decoder {
    let bytes: UnsafeRawBufferPointer
    var table: [ProtobufFieldEntry] = []
    var field: UInt32 = 0
    var element: ProtobufFieldEntry?
    var isTopLevel = true
    /// Whether the top-level message's bytes were split into fields (not so for a message without fields).
    var readTopLevel = false
    var isMap = false
    var fieldName = ""
    var depth = 0
    /// What the decode may still allocate beyond the bytes it reads.
    let allowance: ProtobufDecodingAllowance

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(bytes: UnsafeRawBufferPointer, allowance: ProtobufDecodingAllowance) {
        self.bytes = bytes
        self.allowance = allowance
    }

    static let maximumDepth = 64

    /// The occurrence that a single (non-repeated) value reads: the array element, or the field's last occurrence.
    @inline(__always)
    func currentEntry() -> ProtobufFieldEntry? {
        if let element = self.element { return element }
        return lastEntry(in: self.table, field: self.field)
    }

    /// Decodes a nested value of type `T` from field `field` of `table`, or from one array `element`.
    func decodeNested<T: Decodable>(
        _ type: T.Type,
        table: [ProtobufFieldEntry],
        field: UInt32,
        element: ProtobufFieldEntry?,
        name: String
    ) throws -> T {
        let saved = (self.table, self.field, self.element, self.isTopLevel, self.isMap, self.fieldName)
        self.depth += 1
        defer {
            (self.table, self.field, self.element, self.isTopLevel, self.isMap, self.fieldName) = saved
            self.depth -= 1
        }
        guard self.depth <= Self.maximumDepth else {
            throw DatelineError(code: .decodeFailed, message: "messages nest deeper than \(Self.maximumDepth) levels")
        }
        self.table = table
        self.field = field
        self.element = element
        self.isTopLevel = false
        self.fieldName = name
        self.isMap = false
        if let mapType = T.self as? any _ProtobufMapMarker.Type {
            guard mapType._protobufKeyIsString else {
                throw DatelineError(code: .decodeFailed, message: "field \(field) ('\(name)'): only dictionaries keyed by String are supported")
            }
            self.isMap = true
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if self.isTopLevel {
            self.readTopLevel = true
            let table = try protobufFieldTable(self.bytes, start: 0, end: self.bytes.count, allowance: self.allowance)
            return KeyedDecodingContainer(_KeyedDecodingContainer<Key>(decoder: self, table: table))
        }
        if self.isMap {
            return KeyedDecodingContainer(try _MapDecodingContainer<Key>(decoder: self))
        }
        guard let entry = self.currentEntry() else {
            return KeyedDecodingContainer(_KeyedDecodingContainer<Key>(decoder: self, table: []))
        }
        guard entry.wireType == .lengthDelimited else {
            throw self.mismatch(entry, expected: "a message (length-delimited)")
        }
        let table = try protobufFieldTable(self.bytes, start: Int(entry.start), end: Int(entry.end), allowance: self.allowance)
        return KeyedDecodingContainer(_KeyedDecodingContainer<Key>(decoder: self, table: table))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if self.isTopLevel {
            throw DatelineError(code: .decodeFailed, message: "a top-level value must be a message, not an array")
        }
        if self.element != nil {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(self.fieldName)'): nested arrays are not supported")
        }
        return _UnkeyedDecodingContainer(decoder: self, table: self.table, field: self.field)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        if self.isTopLevel {
            throw DatelineError(code: .decodeFailed, message: "a top-level value must be a message, not a single value")
        }
        return _SingleValueDecodingContainer(decoder: self)
    }

    func mismatch(_ entry: ProtobufFieldEntry, expected: String) -> DatelineError {
        DatelineError(
            code: .decodeFailed,
            message: "field \(entry.field)\(self.fieldName.isEmpty ? "" : " ('\(self.fieldName)')"): expected \(expected), found wire type \(entry.wireType.name)"
        )
    }

    // MARK: Reading scalars from an entry

    @inline(__always)
    func varint(_ entry: ProtobufFieldEntry, name: String) throws -> UInt64 {
        try entry.varint(name: name)
    }

    @inline(__always)
    func string(_ entry: ProtobufFieldEntry, name: String) throws -> String {
        try entry.string(in: self.bytes, name: name)
    }

    @inline(__always)
    func bytes(_ entry: ProtobufFieldEntry, name: String) throws -> UnsafeRawBufferPointer {
        try entry.bytes(in: self.bytes, name: name)
    }

    @inline(__always)
    func double(_ entry: ProtobufFieldEntry, name: String) throws -> Double {
        try entry.double(name: name)
    }

    @inline(__always)
    func float(_ entry: ProtobufFieldEntry, name: String) throws -> Float {
        guard entry.wireType == .fixed32 else {
            throw DatelineError(code: .decodeFailed, message: "field \(entry.field) ('\(name)'): expected a float (fixed32), found wire type \(entry.wireType.name)")
        }
        return Float(bitPattern: UInt32(truncatingIfNeeded: entry.value))
    }

    @inline(__always)
    func integer<T: FixedWidthInteger>(_ raw: UInt64, as type: T.Type, field: UInt32, name: String) throws -> T {
        if T.isSigned {
            let value: Int64
            if T.bitWidth <= 32 {
                guard raw <= UInt64(UInt32.max) else { throw self.overflow(T.self, field: field, name: name) }
                value = Int64(ProtobufWireFormat.unZigZag32(UInt32(raw)))
            } else {
                value = ProtobufWireFormat.unZigZag(raw)
            }
            guard let result = T(exactly: value) else { throw self.overflow(T.self, field: field, name: name) }
            return result
        } else {
            guard let result = T(exactly: raw) else { throw self.overflow(T.self, field: field, name: name) }
            return result
        }
    }

    func overflow<T>(_ type: T.Type, field: UInt32, name: String) -> DatelineError {
        DatelineError(code: .decodeFailed, message: "field \(field) ('\(name)'): value does not fit in \(T.self)")
    }

    static func date(milliseconds raw: UInt64) -> Date {
        Date(timeIntervalSince1970: Double(ProtobufWireFormat.unZigZag(raw)) / 1000)
    }

    /// Decodes one generic value: fast paths for the Foundation types and `[String]`, otherwise the type's own
    /// `init(from:)`. `entry` is the occurrence to read for single values (nil: the field is absent).
    @inline(__always)
    func decodeGeneric<T: Decodable>(
        _ type: T.Type,
        table: [ProtobufFieldEntry],
        field: UInt32,
        element: ProtobufFieldEntry?,
        name: String
    ) throws -> T {
        if T.self == Date.self {
            let entry = element ?? lastEntry(in: table, field: field)
            guard let entry else { return unsafeBitCast(Date(timeIntervalSince1970: 0), to: T.self) }
            return unsafeBitCast(Self.date(milliseconds: try self.varint(entry, name: name)), to: T.self)
        } else if T.self == Data.self {
            let entry = element ?? lastEntry(in: table, field: field)
            guard let entry else { return unsafeBitCast(Data(), to: T.self) }
            return unsafeBitCast(Data(try self.bytes(entry, name: name)), to: T.self)
        } else if T.self == [UInt8].self {
            let entry = element ?? lastEntry(in: table, field: field)
            guard let entry else { return unsafeBitCast([UInt8](), to: T.self) }
            return unsafeBitCast(Array(try self.bytes(entry, name: name)), to: T.self)
        } else if T.self == [String].self, element == nil {
            var strings: [String] = []
            for entry in table where entry.field == field {
                try self.allowance.charge(MemoryLayout<String>.stride - Int(entry.end - entry.start), field: field, name: name, in: String.self)
                strings.append(try self.string(entry, name: name))
            }
            return unsafeBitCast(strings, to: T.self)
        }
        return try self.decodeNested(type, table: table, field: field, element: element, name: name)
    }
}

@inline(__always)
func lastEntry(in table: [ProtobufFieldEntry], field: UInt32) -> ProtobufFieldEntry? {
    var index = table.count - 1
    while index >= 0 {
        if table[index].field == field { return table[index] }
        index -= 1
    }
    return nil
}

// MARK: - Keyed container (messages)

private struct _KeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: _ProtobufDecoder
    let table: [ProtobufFieldEntry]

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] {
        var seen = Set<UInt32>()
        return self.table.compactMap { entry in
            seen.insert(entry.field).inserted ? Key(intValue: Int(entry.field)) : nil
        }
    }

    @inline(__always)
    func fieldNumber(_ key: Key) throws -> UInt32 {
        guard let number = key.intValue, number > 0, number <= ProtobufWireFormat.maximumFieldNumber else {
            throw DatelineError(
                code: .decodeFailed,
                message: "coding key '\(key.stringValue)' has no valid integer value: give the CodingKeys enum Int raw values (the field numbers)"
            )
        }
        return UInt32(number)
    }

    @inline(__always)
    func entry(_ key: Key) throws -> ProtobufFieldEntry? {
        lastEntry(in: self.table, field: try self.fieldNumber(key))
    }

    func contains(_ key: Key) -> Bool {
        guard let number = key.intValue else { return false }
        return self.table.contains { $0.field == UInt32(truncatingIfNeeded: number) }
    }

    func decodeNil(forKey key: Key) throws -> Bool { !self.contains(key) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        guard let entry = try self.entry(key) else { return false }
        return try self.decoder.varint(entry, name: key.stringValue) != 0
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        guard let entry = try self.entry(key) else { return "" }
        return try self.decoder.string(entry, name: key.stringValue)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        guard let entry = try self.entry(key) else { return 0 }
        return try self.decoder.double(entry, name: key.stringValue)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        guard let entry = try self.entry(key) else { return 0 }
        return try self.decoder.float(entry, name: key.stringValue)
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.integer(key) }

    @inline(__always)
    private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
        guard let entry = try self.entry(key) else { return 0 }
        let raw = try self.decoder.varint(entry, name: key.stringValue)
        return try self.decoder.integer(raw, as: T.self, field: entry.field, name: key.stringValue)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try self.decoder.decodeGeneric(type, table: self.table, field: try self.fieldNumber(key), element: nil, name: key.stringValue)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let entry = try self.entry(key) else { return nil }
        return try self.decoder.varint(entry, name: key.stringValue) != 0
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let entry = try self.entry(key) else { return nil }
        return try self.decoder.string(entry, name: key.stringValue)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let entry = try self.entry(key) else { return nil }
        return try self.decoder.double(entry, name: key.stringValue)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try self.integerIfPresent(key) }

    @inline(__always)
    private func integerIfPresent<T: FixedWidthInteger>(_ key: Key) throws -> T? {
        guard let entry = try self.entry(key) else { return nil }
        let raw = try self.decoder.varint(entry, name: key.stringValue)
        return try self.decoder.integer(raw, as: T.self, field: entry.field, name: key.stringValue)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let field = try self.fieldNumber(key)
        guard self.table.contains(where: { $0.field == field }) else { return nil }
        return try self.decoder.decodeGeneric(type, table: self.table, field: field, element: nil, name: key.stringValue)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DatelineError(code: .decodeFailed, message: "nested keyed containers are not supported (key '\(key.stringValue)')")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DatelineError(code: .decodeFailed, message: "nested unkeyed containers are not supported (key '\(key.stringValue)')")
    }

    func superDecoder() throws -> any Decoder {
        throw DatelineError(code: .decodeFailed, message: "superDecoder() is not supported")
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        throw DatelineError(code: .decodeFailed, message: "superDecoder(forKey:) is not supported")
    }
}

// MARK: - Map container (`[String: V]`)

/// The key of a map entry's value field.
private enum _MapEntryKey: Int, CodingKey {
    case key = 1
    case value = 2
}

private struct _MapDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: _ProtobufDecoder
    /// Each key's entry table (the value is its field 2); later entries for the same key win.
    let entries: [String: [ProtobufFieldEntry]]

    init(decoder: _ProtobufDecoder) throws {
        self.decoder = decoder
        var entries: [String: [ProtobufFieldEntry]] = [:]
        for entry in decoder.table where entry.field == decoder.field {
            guard entry.wireType == .lengthDelimited else {
                throw decoder.mismatch(entry, expected: "a map entry (length-delimited)")
            }
            let table = try protobufFieldTable(decoder.bytes, start: Int(entry.start), end: Int(entry.end), allowance: decoder.allowance)
            let key = try lastEntry(in: table, field: 1).map { try decoder.string($0, name: "key") } ?? ""
            entries[key] = table
        }
        self.entries = entries
    }

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { self.entries.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { self.entries[key.stringValue] != nil }

    private func value(_ key: Key) throws -> KeyedDecodingContainer<_MapEntryKey> {
        guard let table = self.entries[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no map entry for key '\(key.stringValue)'"))
        }
        return KeyedDecodingContainer(_KeyedDecodingContainer<_MapEntryKey>(decoder: self.decoder, table: table))
    }

    func decodeNil(forKey key: Key) throws -> Bool { !self.contains(key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.value(key).decode(type, forKey: .value) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.value(key).decode(type, forKey: .value) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try self.value(key).decode(type, forKey: .value) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DatelineError(code: .decodeFailed, message: "nested keyed containers are not supported")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DatelineError(code: .decodeFailed, message: "nested unkeyed containers are not supported")
    }
    func superDecoder() throws -> any Decoder {
        throw DatelineError(code: .decodeFailed, message: "superDecoder() is not supported")
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        throw DatelineError(code: .decodeFailed, message: "superDecoder(forKey:) is not supported")
    }
}

// MARK: - Unkeyed container (repeated fields, packed or not)

private struct _UnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: _ProtobufDecoder
    let table: [ProtobufFieldEntry]
    let field: UInt32
    /// Index in `table` of the next occurrence of `field` (table.count when none is left).
    private var next: Int
    /// The packed run being read, if any.
    private var packed: ProtobufByteReader?
    private(set) var currentIndex = 0

    init(decoder: _ProtobufDecoder, table: [ProtobufFieldEntry], field: UInt32) {
        self.decoder = decoder
        self.table = table
        self.field = field
        self.next = 0
        self.advance(from: 0)
    }

    var codingPath: [any CodingKey] { [] }
    var count: Int? { nil }
    var isAtEnd: Bool { self.packed == nil && self.next >= self.table.count }

    private mutating func advance(from index: Int) {
        var index = index
        while index < self.table.count, self.table[index].field != self.field { index += 1 }
        self.next = index
    }

    /// Takes the next occurrence as a whole element (strings, bytes, messages).
    private mutating func takeEntry() throws -> ProtobufFieldEntry {
        guard self.packed == nil, self.next < self.table.count else {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(self.decoder.fieldName)'): read past the end of the array")
        }
        let entry = self.table[self.next]
        self.advance(from: self.next + 1)
        self.currentIndex += 1
        return entry
    }

    /// Reads the next number, from a packed run or from an unpacked occurrence of the expected wire type.
    private mutating func takeNumber(_ wireType: ProtobufWireType) throws -> UInt64 {
        if self.packed == nil {
            let entry = try self.takeEntry()
            self.currentIndex -= 1
            if entry.wireType == wireType {
                self.currentIndex += 1
                return entry.value
            }
            guard entry.wireType == .lengthDelimited else {
                throw self.decoder.mismatch(entry, expected: "a \(wireType.name) or packed number")
            }
            self.packed = ProtobufByteReader(bytes: self.decoder.bytes, start: Int(entry.start), end: Int(entry.end))
        }
        let value: UInt64
        do {
            switch wireType {
            case .fixed64: value = try self.packed!.readFixed64()
            case .fixed32: value = UInt64(try self.packed!.readFixed32())
            default: value = try self.packed!.readVarint()
            }
        } catch {
            throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(self.decoder.fieldName)'): \(error.message)")
        }
        if self.packed!.isAtEnd { self.packed = nil }
        self.currentIndex += 1
        return value
    }

    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        // A varint takes at least one byte on the wire.
        try self.charge(T.self, wireBytes: 1)
        let raw = try self.takeNumber(.varint)
        return try self.decoder.integer(raw, as: T.self, field: self.field, name: self.decoder.fieldName)
    }

    mutating func decodeNil() throws -> Bool { false }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try self.takeNumber(.varint) != 0 }
    mutating func decode(_ type: String.Type) throws -> String {
        let entry = try self.takeEntry()
        try self.charge(String.self, wireBytes: Int(entry.end - entry.start))
        return try self.decoder.string(entry, name: self.decoder.fieldName)
    }

    /// Charges one element to the decode's allowance (``ProtobufDecodingAllowance``).
    private func charge<Element>(_ type: Element.Type, wireBytes: Int) throws {
        try self.decoder.allowance.charge(MemoryLayout<Element>.stride - wireBytes, field: self.field, name: self.decoder.fieldName, in: Element.self)
    }
    mutating func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: try self.takeNumber(.fixed64)) }
    mutating func decode(_ type: Float.Type) throws -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: try self.takeNumber(.fixed32)))
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try self.integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try self.integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try self.integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try self.integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try self.integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try self.integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try self.integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try self.integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try self.integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try self.integer(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // `Array.init(from:)` calls this generic method, so numbers are routed to the packed-aware readers here.
        if T.self == Int.self { return unsafeBitCast(try self.decode(Int.self), to: T.self) }
        if T.self == UInt32.self { return unsafeBitCast(try self.decode(UInt32.self), to: T.self) }
        if T.self == UInt64.self { return unsafeBitCast(try self.decode(UInt64.self), to: T.self) }
        if T.self == Int64.self { return unsafeBitCast(try self.decode(Int64.self), to: T.self) }
        if T.self == Int32.self { return unsafeBitCast(try self.decode(Int32.self), to: T.self) }
        if T.self == UInt.self { return unsafeBitCast(try self.decode(UInt.self), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try self.decode(Double.self), to: T.self) }
        if T.self == Float.self { return unsafeBitCast(try self.decode(Float.self), to: T.self) }
        if T.self == Bool.self { return unsafeBitCast(try self.decode(Bool.self), to: T.self) }
        if T.self == UInt16.self { return unsafeBitCast(try self.decode(UInt16.self), to: T.self) }
        if T.self == UInt8.self { return unsafeBitCast(try self.decode(UInt8.self), to: T.self) }
        if T.self == Int16.self { return unsafeBitCast(try self.decode(Int16.self), to: T.self) }
        if T.self == Int8.self { return unsafeBitCast(try self.decode(Int8.self), to: T.self) }
        if T.self == String.self { return unsafeBitCast(try self.decode(String.self), to: T.self) }
        if T.self == Date.self {
            return unsafeBitCast(_ProtobufDecoder.date(milliseconds: try self.takeNumber(.varint)), to: T.self)
        }
        if let enumType = T.self as? any DatelineProtobufEnum.Type {
            // Packed (as proto3 writes repeated enums) or one field each.
            let raw = try self.decode(UInt32.self)
            guard let value = enumType.init(rawValue: raw) else {
                throw DatelineError(code: .decodeFailed, message: "field \(self.field) ('\(self.decoder.fieldName)'): \(raw) is not a value of \(T.self)")
            }
            return value as! T
        }
        let entry = try self.takeEntry()
        try self.charge(T.self, wireBytes: Int(entry.end - entry.start))
        return try self.decoder.decodeGeneric(type, table: self.table, field: self.field, element: entry, name: self.decoder.fieldName)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw DatelineError(code: .decodeFailed, message: "nested keyed containers in arrays are not supported")
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DatelineError(code: .decodeFailed, message: "nested arrays are not supported")
    }
    mutating func superDecoder() throws -> any Decoder {
        throw DatelineError(code: .decodeFailed, message: "superDecoder() is not supported")
    }
}

// MARK: - Single value container

private struct _SingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoder: _ProtobufDecoder

    var codingPath: [any CodingKey] { [] }

    private var name: String { self.decoder.fieldName }

    func decodeNil() -> Bool { self.decoder.currentEntry() == nil }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard let entry = self.decoder.currentEntry() else { return false }
        return try self.decoder.varint(entry, name: self.name) != 0
    }
    func decode(_ type: String.Type) throws -> String {
        guard let entry = self.decoder.currentEntry() else { return "" }
        return try self.decoder.string(entry, name: self.name)
    }
    func decode(_ type: Double.Type) throws -> Double {
        guard let entry = self.decoder.currentEntry() else { return 0 }
        return try self.decoder.double(entry, name: self.name)
    }
    func decode(_ type: Float.Type) throws -> Float {
        guard let entry = self.decoder.currentEntry() else { return 0 }
        return try self.decoder.float(entry, name: self.name)
    }
    func decode(_ type: Int.Type) throws -> Int { try self.integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try self.integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try self.integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try self.integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try self.integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try self.integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try self.integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try self.integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try self.integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try self.integer(type) }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let entry = self.decoder.currentEntry() else { return 0 }
        let raw = try self.decoder.varint(entry, name: self.name)
        return try self.decoder.integer(raw, as: T.self, field: entry.field, name: self.name)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try self.decoder.decodeGeneric(type, table: self.decoder.table, field: self.decoder.field, element: self.decoder.element, name: self.name)
    }
}
