import NIOCore

/// The protobuf wire format's primitive pieces: wire types, tags, varints and zig-zag encoding.
///
/// See `protocol/SPEC.md` § "Payload encoding" for how Swift types map onto these.
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5

    var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .startGroup: "start-group"
        case .endGroup: "end-group"
        case .fixed32: "fixed32"
        }
    }
}

enum ProtobufWireFormat {
    /// The largest field number protobuf allows (2^29 - 1).
    static let maximumFieldNumber = 536_870_911

    @inline(__always)
    static func tag(field: Int, wireType: ProtobufWireType) -> UInt64 {
        UInt64(truncatingIfNeeded: field) << 3 | UInt64(wireType.rawValue)
    }

    @inline(__always)
    static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func zigZag32(_ value: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    @inline(__always)
    static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    @inline(__always)
    static func unZigZag32(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// How many bytes `value` takes as a varint (1...10).
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        if value < 0x80 { return 1 }
        let bits = 64 - value.leadingZeroBitCount
        return (bits + 6) / 7
    }
}

extension ByteBuffer {
    /// Appends `value` as a protobuf varint (little-endian base-128).
    @inline(__always)
    mutating func writeProtobufVarint(_ value: UInt64) {
        if value < 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: value))
            return
        }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { pointer in
            var value = value
            var index = 0
            while value >= 0x80 {
                pointer[index] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                index += 1
            }
            pointer[index] = UInt8(truncatingIfNeeded: value)
            return index + 1
        }
    }

    /// Writes the length of the length-delimited value whose one-byte placeholder is at `lengthAt` (the value runs
    /// from after it to the writer index), moving the contents right when the length needs more than one byte.
    mutating func patchProtobufLength(placeholderAt lengthAt: Int) {
        let contentStart = lengthAt + 1
        let length = self.writerIndex - contentStart
        if length < 0x80 {
            self.setInteger(UInt8(length), at: lengthAt)
            return
        }
        let extra = ProtobufWireFormat.varintSize(UInt64(length)) - 1
        self.writeRepeatingByte(0, count: extra)
        let offset = contentStart - self.readerIndex
        self.withUnsafeMutableReadableBytes { pointer in
            let base = pointer.baseAddress!
            (base + offset + extra).copyMemory(from: base + offset, byteCount: length)
        }
        self.setProtobufVarint(UInt64(length), at: lengthAt)
    }

    /// Writes `value` as a varint at absolute `index`, which must have room for it.
    @inline(__always)
    mutating func setProtobufVarint(_ value: UInt64, at index: Int) {
        var value = value
        var index = index
        while value >= 0x80 {
            self.setInteger(UInt8(truncatingIfNeeded: value) | 0x80, at: index)
            value >>= 7
            index += 1
        }
        self.setInteger(UInt8(truncatingIfNeeded: value), at: index)
    }
}

/// A cursor over a contiguous run of protobuf-encoded bytes.
struct ProtobufByteReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(bytes: UnsafeRawBufferPointer, start: Int, end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    var isAtEnd: Bool { self.position >= self.end }

    @inline(__always)
    mutating func readVarint() throws(ProtobufWireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.position < self.end else { throw .truncated("varint runs past the end of its message") }
            let byte = self.bytes[self.position]
            self.position += 1
            if shift == 63 && byte > 1 { throw .malformed("varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .malformed("varint is longer than 10 bytes") }
        }
    }

    @inline(__always)
    mutating func readFixed64() throws(ProtobufWireError) -> UInt64 {
        guard self.end - self.position >= 8 else { throw .truncated("fixed64 runs past the end of its message") }
        let value = self.bytes.loadUnaligned(fromByteOffset: self.position, as: UInt64.self)
        self.position += 8
        return UInt64(littleEndian: value)
    }

    @inline(__always)
    mutating func readFixed32() throws(ProtobufWireError) -> UInt32 {
        guard self.end - self.position >= 4 else { throw .truncated("fixed32 runs past the end of its message") }
        let value = self.bytes.loadUnaligned(fromByteOffset: self.position, as: UInt32.self)
        self.position += 4
        return UInt32(littleEndian: value)
    }
}

/// A violation of the protobuf wire format found while decoding.
enum ProtobufWireError: Error, Sendable {
    case truncated(String)
    case malformed(String)

    var message: String {
        switch self {
        case .truncated(let text): "truncated payload: \(text)"
        case .malformed(let text): "malformed payload: \(text)"
        }
    }
}
