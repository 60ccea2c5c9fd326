#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Encodes `Encodable` messages in the protobuf wire format.
///
/// Field numbers come from each `CodingKey`'s `intValue`. The mapping of Swift types onto wire types is
/// specified in `protocol/SPEC.md` § "Payload encoding"; anything outside it (nested arrays, arrays of
/// optionals, dictionaries not keyed by `String`, a top-level value that is not a message) is rejected with
/// an ``DatelineError/Code/invalidArgument`` error naming the problem.
///
/// Non-optional fields holding their default value (0, `false`, `""`, empty) are omitted, as in proto3;
/// optional fields that are present are always written, so `nil` and `0` stay distinct.
public struct DatelineBinaryEncoder: Sendable {
    /// Whether messages on the hot paths write their fields directly (``ProtobufDirectEncodable``) rather than
    /// through their `Encodable` conformance; the bytes are the same (tests compare both). Default: true.
    package var usesDirectCoding = true

    /// Creates an encoder.
    public init() {}

    private static let placeholder = ByteBuffer()

    /// Encodes `value` into a new buffer.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the value uses an unsupported shape.
    public func encode<Message: Encodable>(_ value: Message) throws(DatelineError) -> ByteBuffer {
        // One allocation that small messages fit (an empty buffer would grow through several).
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        try self.encode(value, into: &buffer)
        return buffer
    }

    /// Encodes `value` into a new buffer.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the value uses an unsupported shape.
    public func encode<Message: DatelineMessage>(_ value: Message) throws(DatelineError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        try self.encode(value, into: &buffer)
        return buffer
    }

    /// Encodes `value` and appends the bytes to `buffer`.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the value uses an unsupported shape.
    public func encode<Message: Encodable>(_ value: Message, into buffer: inout ByteBuffer) throws(DatelineError) {
        // A runtime conformance look-up; messages say it through `_directCoding` (the overload below).
        if self.usesDirectCoding, let directType = Message.self as? any ProtobufDirectEncodable.Type {
            try Self.encode(value, directly: directType, into: &buffer)
            return
        }
        try self.encodeCodable(value, into: &buffer)
    }

    /// Encodes a message and appends the bytes to `buffer`: its direct path when it has one, without asking the
    /// runtime.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the value uses an unsupported shape.
    public func encode<Message: DatelineMessage>(_ value: Message, into buffer: inout ByteBuffer) throws(DatelineError) {
        if self.usesDirectCoding, let direct = Message._directCoding {
            try Self.encode(value, directly: direct.encodable, into: &buffer)
            return
        }
        // A message without a direct path has none for the runtime to find either: Codable, without asking.
        try self.encodeCodable(value, into: &buffer)
    }

    /// `value` written through the direct conformance of `type` (its own type): the metatype, not the value, is
    /// an existential, so no box is made for the message.
    @inline(__always)
    private static func encode<Message>(_ value: Message, directly type: any ProtobufDirectEncodable.Type, into buffer: inout ByteBuffer) throws(DatelineError) {
        var writer = ProtobufFieldWriter(buffer: buffer)
        buffer = Self.placeholder  // hand the storage over (without allocating) so that writes do not copy it
        Self.encodeDirectly(value, as: type, into: &writer)
        buffer = writer.buffer
        if let failure = writer.failure { throw failure }
    }

    private func encodeCodable<Message: Encodable>(_ value: Message, into buffer: inout ByteBuffer) throws(DatelineError) {
        let encoder = _ProtobufEncoder(buffer: buffer)
        buffer = Self.placeholder  // hand the storage over (without allocating) so that writes do not copy it
        do {
            try encoder.encodeTopLevel(value)
        } catch let error as DatelineError {
            throw error
        } catch {
            throw DatelineError(code: .invalidArgument, message: "cannot encode \(Message.self): \(error)")
        }
        buffer = encoder.buffer
    }
}

extension DatelineBinaryEncoder {
    /// `value`, whose type is `Direct`, written through its direct conformance.
    @inline(__always)
    fileprivate static func encodeDirectly<Message, Direct: ProtobufDirectEncodable>(
        _ value: Message,
        as type: Direct.Type,
        into writer: inout ProtobufFieldWriter
    ) {
        unsafeBitCast(value, to: Direct.self).encodeProtobufFields(into: &writer)
    }
}

/// Marks `Dictionary` so the encoder and decoder can treat `[String: V]` as a protobuf map.
protocol _ProtobufMapMarker {
    static var _protobufKeyIsString: Bool { get }
}

extension Dictionary: _ProtobufMapMarker {
    static var _protobufKeyIsString: Bool { Key.self == String.self }
}

/// The encoder's state. One instance encodes one message; nested values save and restore the per-level state.
final class _ProtobufEncoder: Encoder {
    /// What the value currently being encoded has opened.
    enum Opened {
        case nothing
        /// A message; its length byte is at `lengthAt` (-1 for the top-level message, which has none).
        case message(lengthAt: Int)
        /// A string-keyed dictionary: each entry is written as its own length-delimited field.
        case map
        /// An array whose elements are written one field each (strings, bytes, messages).
        case repeated
        /// An array of numbers written as one packed length-delimited field.
        case packed(lengthAt: Int)
        case singleValue
    }

    var buffer: ByteBuffer
    /// The field number of the value being encoded; 0 at the top level.
    var field = 0
    var opened = Opened.nothing
    var isMap = false
    var isArrayElement = false
    var depth = 0
    /// The first shape error met inside a container factory (which cannot throw); thrown when the value returns.
    var deferredError: DatelineError?

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    static let maximumDepth = 64

    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        if T.self is any _ProtobufMapMarker.Type {
            throw DatelineError(code: .invalidArgument, message: "a top-level value must be a message, not a dictionary")
        }
        try value.encode(to: self)
        if let error = self.deferredError { throw error }
        switch self.opened {
        case .message: break
        case .nothing:
            throw DatelineError(code: .invalidArgument, message: "\(T.self) encoded nothing: a top-level value must be a message")
        default:
            throw DatelineError(
                code: .invalidArgument,
                message: "\(T.self) is not a message: a top-level value must be a struct or class with integer coding keys"
            )
        }
    }

    /// Encodes a nested value (message, array, map, enum...) as field `field`.
    func encodeNested<T: Encodable>(_ value: T, field: Int, isArrayElement: Bool) throws {
        let saved = (self.field, self.opened, self.isMap, self.isArrayElement)
        self.depth += 1
        defer {
            (self.field, self.opened, self.isMap, self.isArrayElement) = saved
            self.depth -= 1
        }
        guard self.depth <= Self.maximumDepth else {
            throw DatelineError(code: .invalidArgument, message: "messages nest deeper than \(Self.maximumDepth) levels")
        }
        self.field = field
        self.opened = .nothing
        self.isArrayElement = isArrayElement
        self.isMap = false
        if let mapType = T.self as? any _ProtobufMapMarker.Type {
            guard mapType._protobufKeyIsString else {
                throw DatelineError(code: .invalidArgument, message: "field \(field): only dictionaries keyed by String are supported (\(T.self))")
            }
            guard !isArrayElement else {
                throw DatelineError(code: .invalidArgument, message: "field \(field): arrays of dictionaries are not supported")
            }
            self.isMap = true
        }
        try value.encode(to: self)
        if let error = self.deferredError { throw error }
        switch self.opened {
        case .message(let lengthAt) where lengthAt >= 0: self.patchLength(at: lengthAt)
        case .packed(let lengthAt): self.patchLength(at: lengthAt)
        default: break
        }
    }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch self.opened {
        case .nothing:
            if self.isMap {
                self.opened = .map
            } else if self.field == 0 {
                self.opened = .message(lengthAt: -1)
            } else {
                self.writeTag(self.field, .lengthDelimited)
                let lengthAt = self.buffer.writerIndex
                self.buffer.writeInteger(UInt8(0))
                self.opened = .message(lengthAt: lengthAt)
            }
        case .message, .map:
            break
        default:
            self.fail("field \(self.field): a value cannot be both a message and another kind of value")
        }
        return KeyedEncodingContainer(_KeyedContainer<Key>(encoder: self, mapField: self.isMap ? self.field : 0))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        switch self.opened {
        case .nothing:
            if self.field == 0 {
                self.fail("a top-level value must be a message, not an array")
            } else if self.isArrayElement {
                self.fail("field \(self.field): nested arrays are not supported")
            } else if self.isMap {
                self.fail("field \(self.field): unexpected array in a dictionary")
            }
            self.opened = .repeated
        case .repeated, .packed:
            break
        default:
            self.fail("field \(self.field): a value cannot be both an array and another kind of value")
        }
        return _UnkeyedContainer(encoder: self, field: self.field)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if case .nothing = self.opened {
            if self.field == 0 { self.fail("a top-level value must be a message, not a single value") }
            self.opened = .singleValue
        }
        return _SingleValueContainer(encoder: self)
    }

    func fail(_ message: String) {
        if self.deferredError == nil {
            self.deferredError = DatelineError(code: .invalidArgument, message: message)
        }
    }

    // MARK: Writing

    @inline(__always)
    func writeTag(_ field: Int, _ wireType: ProtobufWireType) {
        self.buffer.writeProtobufVarint(ProtobufWireFormat.tag(field: field, wireType: wireType))
    }

    @inline(__always)
    func writeVarintField(_ field: Int, _ value: UInt64) {
        self.writeTag(field, .varint)
        self.buffer.writeProtobufVarint(value)
    }

    @inline(__always)
    func writeStringField(_ field: Int, _ value: String) {
        self.writeTag(field, .lengthDelimited)
        self.buffer.writeProtobufVarint(UInt64(value.utf8.count))
        self.buffer.writeString(value)
    }

    @inline(__always)
    func writeBytesField<Bytes: Collection<UInt8>>(_ field: Int, _ value: Bytes) {
        self.writeTag(field, .lengthDelimited)
        self.buffer.writeProtobufVarint(UInt64(value.count))
        self.buffer.writeBytes(value)
    }

    @inline(__always)
    func writeDoubleField(_ field: Int, _ value: Double) {
        self.writeTag(field, .fixed64)
        self.buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    @inline(__always)
    func writeFloatField(_ field: Int, _ value: Float) {
        self.writeTag(field, .fixed32)
        self.buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z, rounded to the nearest millisecond.
    @inline(__always)
    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite, value > -9.2e18, value < 9.2e18 else { return value > 0 ? .max : .min }
        return Int64(value)
    }

    /// Writes the final length of a length-delimited value whose one-byte placeholder is at `lengthAt`.
    func patchLength(at lengthAt: Int) {
        self.buffer.patchProtobufLength(placeholderAt: lengthAt)
    }

    /// Encodes one generic value as field `field`: fast paths for the Foundation types and `[String]`,
    /// otherwise the value's own `encode(to:)`.
    @inline(__always)
    func encodeGeneric<T: Encodable>(_ value: T, field: Int, omitDefault: Bool, isArrayElement: Bool = false) throws {
        if let wire = value as? any DatelineProtobufEnum {
            if omitDefault && wire.rawValue == 0 { return }
            self.writeVarintField(field, UInt64(wire.rawValue))
        } else if T.self == Date.self {
            let milliseconds = Self.milliseconds(unsafeBitCast(value, to: Date.self))
            if omitDefault && milliseconds == 0 { return }
            self.writeVarintField(field, ProtobufWireFormat.zigZag(milliseconds))
        } else if T.self == Data.self {
            let data = unsafeBitCast(value, to: Data.self)
            if omitDefault && data.isEmpty { return }
            self.writeBytesField(field, data)
        } else if T.self == [UInt8].self {
            let bytes = unsafeBitCast(value, to: [UInt8].self)
            if omitDefault && bytes.isEmpty { return }
            self.writeBytesField(field, bytes)
        } else if T.self == [String].self {
            guard !isArrayElement else {
                throw DatelineError(code: .invalidArgument, message: "field \(field): nested arrays are not supported")
            }
            for string in unsafeBitCast(value, to: [String].self) { self.writeStringField(field, string) }
        } else {
            try self.encodeNested(value, field: field, isArrayElement: isArrayElement)
        }
    }
}

// MARK: - Keyed container

private struct _KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: _ProtobufEncoder
    /// The field number of the dictionary when this container encodes a `[String: V]`; 0 for a message.
    let mapField: Int

    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    func fieldNumber(_ key: Key) throws -> Int {
        guard let number = key.intValue else {
            throw DatelineError(
                code: .invalidArgument,
                message: "coding key '\(key.stringValue)' has no integer value: give the CodingKeys enum Int raw values (the field numbers)"
            )
        }
        guard number > 0, number <= ProtobufWireFormat.maximumFieldNumber else {
            throw DatelineError(code: .invalidArgument, message: "coding key '\(key.stringValue)' has field number \(number), outside 1...\(ProtobufWireFormat.maximumFieldNumber)")
        }
        return number
    }

    /// For a map: opens one entry `{1: key, 2: value}` and returns the value's field number (2) after `body`.
    @inline(__always)
    func field(for key: Key, omitDefault: Bool, _ body: (Int, Bool) throws -> Void) throws {
        if self.mapField == 0 {
            try body(self.fieldNumber(key), omitDefault)
        } else {
            let encoder = self.encoder
            encoder.writeTag(self.mapField, .lengthDelimited)
            let lengthAt = encoder.buffer.writerIndex
            encoder.buffer.writeInteger(UInt8(0))
            encoder.writeStringField(1, key.stringValue)
            try body(2, true)
            encoder.patchLength(at: lengthAt)
        }
    }

    mutating func encodeNil(forKey key: Key) throws {}

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try self.field(for: key, omitDefault: true) { field, omit in
            if !(omit && !value) { self.encoder.writeVarintField(field, value ? 1 : 0) }
        }
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try self.field(for: key, omitDefault: true) { field, omit in
            if !(omit && value.isEmpty) { self.encoder.writeStringField(field, value) }
        }
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try self.field(for: key, omitDefault: true) { field, omit in
            if !(omit && value.bitPattern == 0) { self.encoder.writeDoubleField(field, value) }
        }
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try self.field(for: key, omitDefault: true) { field, omit in
            if !(omit && value.bitPattern == 0) { self.encoder.writeFloatField(field, value) }
        }
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try self.encodeSigned(Int64(value), key, omitDefault: true) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try self.encodeSigned32(Int32(value), key, omitDefault: true) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try self.encodeSigned32(Int32(value), key, omitDefault: true) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try self.encodeSigned32(value, key, omitDefault: true) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try self.encodeSigned(value, key, omitDefault: true) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try self.encodeUnsigned(UInt64(value), key, omitDefault: true) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try self.encodeUnsigned(UInt64(value), key, omitDefault: true) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try self.encodeUnsigned(UInt64(value), key, omitDefault: true) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try self.encodeUnsigned(UInt64(value), key, omitDefault: true) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try self.encodeUnsigned(value, key, omitDefault: true) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try self.field(for: key, omitDefault: true) { field, omit in
            try self.encoder.encodeGeneric(value, field: field, omitDefault: omit)
        }
    }

    // Optional fields that are present are written even when they hold the default value.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        guard let value else { return }
        try self.field(for: key, omitDefault: false) { field, _ in self.encoder.writeVarintField(field, value ? 1 : 0) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        guard let value else { return }
        try self.field(for: key, omitDefault: false) { field, _ in self.encoder.writeStringField(field, value) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        guard let value else { return }
        try self.field(for: key, omitDefault: false) { field, _ in self.encoder.writeDoubleField(field, value) }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        guard let value else { return }
        try self.field(for: key, omitDefault: false) { field, _ in self.encoder.writeFloatField(field, value) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeSigned(Int64(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeSigned32(Int32(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeSigned32(Int32(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeSigned32(value, key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeSigned(value, key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeUnsigned(UInt64(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeUnsigned(UInt64(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeUnsigned(UInt64(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeUnsigned(UInt64(value), key, omitDefault: false)
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        guard let value else { return }
        try self.encodeUnsigned(value, key, omitDefault: false)
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return }
        try self.field(for: key, omitDefault: false) { field, _ in
            try self.encoder.encodeGeneric(value, field: field, omitDefault: false)
        }
    }

    @inline(__always)
    private func encodeSigned(_ value: Int64, _ key: Key, omitDefault: Bool) throws {
        try self.field(for: key, omitDefault: omitDefault) { field, omit in
            if !(omit && value == 0) { self.encoder.writeVarintField(field, ProtobufWireFormat.zigZag(value)) }
        }
    }

    @inline(__always)
    private func encodeSigned32(_ value: Int32, _ key: Key, omitDefault: Bool) throws {
        try self.field(for: key, omitDefault: omitDefault) { field, omit in
            if !(omit && value == 0) { self.encoder.writeVarintField(field, ProtobufWireFormat.zigZag32(value)) }
        }
    }

    @inline(__always)
    private func encodeUnsigned(_ value: UInt64, _ key: Key, omitDefault: Bool) throws {
        try self.field(for: key, omitDefault: omitDefault) { field, omit in
            if !(omit && value == 0) { self.encoder.writeVarintField(field, value) }
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        self.encoder.fail("nested keyed containers are not supported; encode a nested struct instead (key '\(key.stringValue)')")
        return KeyedEncodingContainer(_KeyedContainer<NestedKey>(encoder: self.encoder, mapField: 0))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        self.encoder.fail("nested unkeyed containers are not supported; encode an array instead (key '\(key.stringValue)')")
        return _UnkeyedContainer(encoder: self.encoder, field: 0)
    }

    mutating func superEncoder() -> any Encoder {
        self.encoder.fail("superEncoder() is not supported")
        return self.encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.encoder.fail("superEncoder(forKey:) is not supported")
        return self.encoder
    }
}

// MARK: - Unkeyed container (repeated fields)

private struct _UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: _ProtobufEncoder
    let field: Int
    private(set) var count = 0

    init(encoder: _ProtobufEncoder, field: Int) {
        self.encoder = encoder
        self.field = field
    }

    var codingPath: [any CodingKey] { [] }

    /// Starts (or continues) the packed run that numbers are written into.
    @inline(__always)
    private mutating func packed() {
        self.count += 1
        switch self.encoder.opened {
        case .packed:
            return
        case .repeated where self.count == 1:
            self.encoder.writeTag(self.field, .lengthDelimited)
            let lengthAt = self.encoder.buffer.writerIndex
            self.encoder.buffer.writeInteger(UInt8(0))
            self.encoder.opened = .packed(lengthAt: lengthAt)
        default:
            self.encoder.fail("field \(self.field): an array must not mix numbers with other kinds of elements")
        }
    }

    @inline(__always)
    private mutating func unpacked() {
        self.count += 1
        if case .packed = self.encoder.opened {
            self.encoder.fail("field \(self.field): an array must not mix numbers with other kinds of elements")
        }
    }

    mutating func encodeNil() throws {
        throw DatelineError(code: .invalidArgument, message: "field \(self.field): arrays of optionals are not supported")
    }
    mutating func encode(_ value: Bool) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(value ? 1 : 0) }
    mutating func encode(_ value: String) throws { self.unpacked(); self.encoder.writeStringField(self.field, value) }
    mutating func encode(_ value: Double) throws {
        self.packed()
        self.encoder.buffer.writeInteger(value.bitPattern, endianness: .little)
    }
    mutating func encode(_ value: Float) throws {
        self.packed()
        self.encoder.buffer.writeInteger(value.bitPattern, endianness: .little)
    }
    mutating func encode(_ value: Int) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag(Int64(value))) }
    mutating func encode(_ value: Int8) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag32(Int32(value))) }
    mutating func encode(_ value: Int16) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag32(Int32(value))) }
    mutating func encode(_ value: Int32) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag32(value)) }
    mutating func encode(_ value: Int64) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag(value)) }
    mutating func encode(_ value: UInt) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { self.packed(); self.encoder.buffer.writeProtobufVarint(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        // `Array.encode(to:)` calls this generic method, so numbers are routed to their packed forms here.
        if T.self == Int.self { return try self.encode(unsafeBitCast(value, to: Int.self)) }
        if T.self == UInt32.self { return try self.encode(unsafeBitCast(value, to: UInt32.self)) }
        if T.self == UInt64.self { return try self.encode(unsafeBitCast(value, to: UInt64.self)) }
        if T.self == Int64.self { return try self.encode(unsafeBitCast(value, to: Int64.self)) }
        if T.self == Int32.self { return try self.encode(unsafeBitCast(value, to: Int32.self)) }
        if T.self == UInt.self { return try self.encode(unsafeBitCast(value, to: UInt.self)) }
        if T.self == Double.self { return try self.encode(unsafeBitCast(value, to: Double.self)) }
        if T.self == Float.self { return try self.encode(unsafeBitCast(value, to: Float.self)) }
        if T.self == Bool.self { return try self.encode(unsafeBitCast(value, to: Bool.self)) }
        if T.self == UInt16.self { return try self.encode(unsafeBitCast(value, to: UInt16.self)) }
        if T.self == UInt8.self { return try self.encode(unsafeBitCast(value, to: UInt8.self)) }
        if T.self == Int16.self { return try self.encode(unsafeBitCast(value, to: Int16.self)) }
        if T.self == Int8.self { return try self.encode(unsafeBitCast(value, to: Int8.self)) }
        if T.self == String.self { return try self.encode(unsafeBitCast(value, to: String.self)) }
        if T.self == Date.self {
            self.packed()
            self.encoder.buffer.writeProtobufVarint(ProtobufWireFormat.zigZag(_ProtobufEncoder.milliseconds(unsafeBitCast(value, to: Date.self))))
            return
        }
        if let wire = value as? any DatelineProtobufEnum {
            // Repeated enums are packed, as proto3 writes them.
            self.packed()
            self.encoder.buffer.writeProtobufVarint(UInt64(wire.rawValue))
            return
        }
        self.unpacked()
        try self.encoder.encodeGeneric(value, field: self.field, omitDefault: false, isArrayElement: true)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        self.encoder.fail("field \(self.field): nested keyed containers in arrays are not supported")
        return KeyedEncodingContainer(_KeyedContainer<NestedKey>(encoder: self.encoder, mapField: 0))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        self.encoder.fail("field \(self.field): nested arrays are not supported")
        return self
    }

    mutating func superEncoder() -> any Encoder {
        self.encoder.fail("superEncoder() is not supported")
        return self.encoder
    }
}

// MARK: - Single value container (enums with raw values, wrappers)

private struct _SingleValueContainer: SingleValueEncodingContainer {
    let encoder: _ProtobufEncoder

    var codingPath: [any CodingKey] { [] }

    private var field: Int { self.encoder.field }

    /// Array elements that are single values (enums) are written unpacked, one field each; that is valid
    /// protobuf for repeated scalars.
    mutating func encodeNil() throws {
        if self.encoder.isArrayElement {
            throw DatelineError(code: .invalidArgument, message: "field \(self.field): arrays of optionals are not supported")
        }
    }
    mutating func encode(_ value: Bool) throws { self.encoder.writeVarintField(self.field, value ? 1 : 0) }
    mutating func encode(_ value: String) throws { self.encoder.writeStringField(self.field, value) }
    mutating func encode(_ value: Double) throws { self.encoder.writeDoubleField(self.field, value) }
    mutating func encode(_ value: Float) throws { self.encoder.writeFloatField(self.field, value) }
    mutating func encode(_ value: Int) throws { self.encoder.writeVarintField(self.field, ProtobufWireFormat.zigZag(Int64(value))) }
    mutating func encode(_ value: Int8) throws { self.encoder.writeVarintField(self.field, ProtobufWireFormat.zigZag32(Int32(value))) }
    mutating func encode(_ value: Int16) throws { self.encoder.writeVarintField(self.field, ProtobufWireFormat.zigZag32(Int32(value))) }
    mutating func encode(_ value: Int32) throws { self.encoder.writeVarintField(self.field, ProtobufWireFormat.zigZag32(value)) }
    mutating func encode(_ value: Int64) throws { self.encoder.writeVarintField(self.field, ProtobufWireFormat.zigZag(value)) }
    mutating func encode(_ value: UInt) throws { self.encoder.writeVarintField(self.field, UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { self.encoder.writeVarintField(self.field, UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { self.encoder.writeVarintField(self.field, UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { self.encoder.writeVarintField(self.field, UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { self.encoder.writeVarintField(self.field, value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try self.encoder.encodeGeneric(value, field: self.field, omitDefault: false, isArrayElement: self.encoder.isArrayElement)
    }
}
