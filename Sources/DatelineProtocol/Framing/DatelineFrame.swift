public import NIOCore

/// One frame of the Dateline protocol: header fields plus the (uncompressed) payload.
///
/// On the wire a frame is a fixed 11-byte big-endian header, then optional 4-byte header fields named by
/// the flags, then the payload (see `protocol/SPEC.md` § "Frames"):
///
/// ```
///  0       4     5        7               11
///  +-------+-----+--------+----------------+-----------------+-----------------+------------------+---------+
///  |length |flags|  type  | correlation id | [uncompressed]  | [timeout ms]    | [server time µs] | payload |
///  +-------+-----+--------+----------------+-----------------+-----------------+------------------+---------+
///   UInt32  UInt8  UInt16      UInt32        UInt32 if          UInt32 if         UInt32 if
///                                            COMPRESSED         DEADLINE          SERVER_TIME
/// ```
public struct DatelineFrame: Sendable, Hashable {
    /// The smallest `maximum_frame_size` a peer may announce in Hello or Welcome (0 means the default), so
    /// that every error, Welcome and GoAway frame fits.
    public static let minimumMaximumFrameSize: UInt32 = 4_096

    /// The message type the payload encodes.
    public var messageType: DatelineMessageType
    /// END_STREAM and ERROR as sent; COMPRESSED, DEADLINE and SERVER_TIME are derived from the fields below
    /// and from the writer's compression decision.
    public var flags: Flags
    /// Pairs responses with requests; 0 for frames about the connection itself.
    public var correlationID: UInt32
    /// In a request: how long the client will wait, in milliseconds.
    public var timeoutMilliseconds: UInt32?
    /// In a response: how long the server took to handle the request, in microseconds.
    public var serverTimeMicroseconds: UInt32?
    /// The payload, uncompressed.
    public var payload: ByteBuffer
    /// Whether the payload was compressed on the wire (set by the decoder; ignored when writing).
    public var wasCompressed: Bool

    /// Creates a frame.
    public init(
        messageType: DatelineMessageType,
        flags: Flags = [.endStream],
        correlationID: UInt32,
        timeoutMilliseconds: UInt32? = nil,
        serverTimeMicroseconds: UInt32? = nil,
        payload: ByteBuffer,
        wasCompressed: Bool = false
    ) {
        self.messageType = messageType
        self.flags = flags
        self.correlationID = correlationID
        self.timeoutMilliseconds = timeoutMilliseconds
        self.serverTimeMicroseconds = serverTimeMicroseconds
        self.payload = payload
        self.wasCompressed = wasCompressed
    }

    /// The size of the fixed part of the header.
    public static let fixedHeaderSize = 11
    /// The largest header: fixed part plus all three optional fields.
    public static let maximumHeaderSize = 23

    /// The header size for a frame with these flags.
    @inlinable
    public static func headerSize(flags: Flags) -> Int {
        var size = Self.fixedHeaderSize
        if flags.contains(.compressed) { size += 4 }
        if flags.contains(.deadline) { size += 4 }
        if flags.contains(.serverTime) { size += 4 }
        return size
    }
}

extension DatelineFrame {
    /// The frame flags (one byte). Bits 6 and 7 are reserved and must be zero.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The payload is a zlib (RFC 1950) stream; a 4-byte uncompressed length follows the fixed header.
        public static let compressed = Flags(rawValue: 0x01)
        /// The last frame of a response (every unary response sets it; a stream sets it on its final frame).
        public static let endStream = Flags(rawValue: 0x02)
        /// The payload is an `Error` message; the type must be `error`. Implies the end of the response.
        public static let error = Flags(rawValue: 0x04)
        /// A 4-byte timeout in milliseconds follows (requests only).
        public static let deadline = Flags(rawValue: 0x08)
        /// A 4-byte server handling time in microseconds follows (responses only).
        public static let serverTime = Flags(rawValue: 0x10)

        /// The bits v1 defines; any other bit set is a framing error.
        public static let allDefined: Flags = [.compressed, .endStream, .error, .deadline, .serverTime]
    }
}

/// The 8 bytes a client sends first on every connection, and a server answers with its own.
///
/// Bytes 0-5 are the magic `89 44 54 4C 0D 0A` ("\x89DTL\r\n"): the high first byte rejects TLS (0x16),
/// HTTP ('G', 'P', ...) and text protocols at once, and the CR LF catches line-ending translation. Bytes 6-7
/// are the protocol version, big-endian.
public enum DatelinePreface {
    /// The magic bytes.
    public static let magic: [UInt8] = [0x89, 0x44, 0x54, 0x4C, 0x0D, 0x0A]
    /// The preface's total length.
    public static let length = 8
    /// The protocol version this build speaks.
    public static let currentVersion: UInt16 = 1

    /// The preface for `version`.
    public static func bytes(version: UInt16 = currentVersion) -> [UInt8] {
        magic + [UInt8(version >> 8), UInt8(version & 0xFF)]
    }

    /// Writes the preface into `buffer`.
    public static func write(version: UInt16 = currentVersion, into buffer: inout ByteBuffer) {
        buffer.writeBytes(magic)
        buffer.writeInteger(version)
    }
}
