public import NIOCore

/// What the frame decoder produces: the peer's preface (once, first), then frames.
public enum DatelineInboundEvent: Sendable, Hashable {
    /// The peer's preface was read; it speaks protocol `version`.
    case preface(version: UInt16)
    /// A complete frame, its payload already inflated.
    case frame(DatelineFrame)
}

/// Decodes the preface and then frames from a byte stream.
///
/// Limits are enforced as soon as the first five header bytes (length and flags) arrive, before anything is
/// buffered; a compressed payload is inflated into a buffer of exactly its declared size, which the limit has
/// already bounded. Every violation throws a ``DatelineError`` whose code says which rule was broken.
public struct DatelineFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = DatelineInboundEvent

    /// Limits for one connection's inbound frames.
    public struct Limits: Sendable, Hashable {
        /// The largest payload accepted on the wire, in bytes. Default: 16 MiB.
        public var maximumFrameSize: Int
        /// The largest payload accepted after decompression, in bytes. Default: 16 MiB.
        public var maximumDecompressedSize: Int
        /// The largest first frame after the preface (a client's Hello, a server's Welcome), on the wire and
        /// decompressed: a peer that has not identified itself cannot make the receiver buffer 16 MiB. Default: 64 KiB.
        public var maximumHandshakeFrameSize: Int

        /// Creates limits. Defaults: 16 MiB each, 64 KiB for the handshake's frame.
        public init(maximumFrameSize: Int = 16 << 20, maximumDecompressedSize: Int = 16 << 20, maximumHandshakeFrameSize: Int = 64 << 10) {
            self.maximumFrameSize = maximumFrameSize
            self.maximumDecompressedSize = maximumDecompressedSize
            self.maximumHandshakeFrameSize = maximumHandshakeFrameSize
        }
    }

    private enum State {
        case awaitingPreface
        /// The first frame after the preface, under ``Limits/maximumHandshakeFrameSize``.
        case handshakeFrame
        case frames
    }

    private var state: State
    public var limits: Limits
    private let decompressor = Zlib.Decompressor()
    private let allocator = ByteBufferAllocator()
    /// Where a server's frames reserve their bytes (nil: nothing is counted, as on a client).
    private let budget: DatelineRequestMemoryBudget?
    /// What the frame whose header has been read holds of ``budget``, until the frame is complete.
    public private(set) var reservedBytes = 0
    /// The size the frame being received declared (wire and decompressed), 0 between frames.
    public private(set) var pendingFrameBytes = 0
    /// The bytes the next frame needs from ``budget`` when its header is in but they do not fit (0 otherwise):
    /// decoding waits until ``DatelineRequestMemoryBudget/release(_:)`` frees room.
    public private(set) var bytesWaitingForBudget = 0

    /// Creates a decoder.
    /// - Parameters:
    ///   - limits: The inbound limits.
    ///   - expectsPreface: Whether the stream starts with the peer's 8-byte preface. Default: true.
    ///   - budget: Where each frame reserves its declared size (on the wire plus decompressed) as soon as its
    ///     header is in. A decoded frame hands over a reservation of exactly its payload's size, which its receiver
    ///     gives back when done with it. Default: nil (nothing reserved).
    public init(limits: Limits = Limits(), expectsPreface: Bool = true, budget: DatelineRequestMemoryBudget? = nil) {
        self.limits = limits
        self.state = expectsPreface ? .awaitingPreface : .frames
        self.budget = budget
    }

    /// Gives back what a frame cut short holds (the connection ended or failed in its middle).
    public mutating func releaseReservation() {
        self.budget?.release(self.reservedBytes)
        self.reservedBytes = 0
        self.pendingFrameBytes = 0
        self.bytesWaitingForBudget = 0
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> DatelineInboundEvent? {
        switch self.state {
        case .awaitingPreface:
            return try self.decodePreface(buffer: &buffer)
        case .handshakeFrame:
            guard let frame = try self.decodeFrame(buffer: &buffer) else { return nil }
            self.state = .frames
            return .frame(frame)
        case .frames:
            return try self.decodeFrame(buffer: &buffer).map { .frame($0) }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> DatelineInboundEvent? {
        if let event = try self.decode(buffer: &buffer) { return event }
        if seenEOF && buffer.readableBytes > 0 {
            let what = self.state == .awaitingPreface ? "the preface" : "a frame"
            throw DatelineError(code: .badFrame, message: "connection closed in the middle of \(what) (\(buffer.readableBytes) bytes unread)")
        }
        return nil
    }

    private mutating func decodePreface(buffer: inout ByteBuffer) throws -> DatelineInboundEvent? {
        let readable = buffer.readableBytes
        let reader = buffer.readerIndex
        for index in 0..<min(readable, DatelinePreface.magic.count) {
            if buffer.getInteger(at: reader + index, as: UInt8.self) != DatelinePreface.magic[index] {
                throw DatelineError(
                    code: .badFrame,
                    message: "peer is not speaking the Dateline protocol: \(Self.describeForeignBytes(buffer))"
                )
            }
        }
        guard readable >= DatelinePreface.length,
            let version = buffer.getInteger(at: reader + DatelinePreface.magic.count, as: UInt16.self)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: DatelinePreface.length)
        self.state = .handshakeFrame
        return .preface(version: version)
    }

    /// Names what a wrong peer seems to be, for the log line.
    package static func describeForeignBytes(_ buffer: ByteBuffer) -> String {
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 8)) ?? []
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: " ")
        let text = String(decoding: bytes, as: UTF8.self)
        if bytes.first == 0x16 { return "first bytes [\(hex)] look like a TLS handshake" }
        for method in ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "PRI ", "HTTP"] where text.hasPrefix(method) {
            return "first bytes [\(hex)] look like HTTP"
        }
        return "first bytes [\(hex)] are not the Dateline preface 89 44 54 4c 0d 0a"
    }

    /// The frame size in force: the handshake's smaller limit until its frame is read.
    private var maximumFrameSize: Int {
        self.state == .handshakeFrame ? min(self.limits.maximumFrameSize, self.limits.maximumHandshakeFrameSize) : self.limits.maximumFrameSize
    }

    /// The decompressed size in force, likewise.
    private var maximumDecompressedSize: Int {
        self.state == .handshakeFrame ? min(self.limits.maximumDecompressedSize, self.limits.maximumHandshakeFrameSize) : self.limits.maximumDecompressedSize
    }

    /// Reserves the frame's bytes once its header is in; false while they do not fit.
    private mutating func reserve(wireLength: Int, decompressedLength: Int) -> Bool {
        guard let budget = self.budget, self.pendingFrameBytes == 0 else { return true }
        let needed = wireLength + decompressedLength
        guard needed > 0 else { return true }
        guard budget.reserve(needed) else {
            self.bytesWaitingForBudget = needed
            return false
        }
        self.bytesWaitingForBudget = 0
        self.reservedBytes = needed
        self.pendingFrameBytes = needed
        return true
    }

    /// The frame is complete: what it reserved beyond its payload (the wire bytes of a compressed one) goes back, the
    /// payload's share goes with the frame to its receiver.
    private mutating func handOverReservation(keeping payloadBytes: Int) {
        guard let budget = self.budget else { return }
        budget.release(self.reservedBytes - min(payloadBytes, self.reservedBytes))
        self.reservedBytes = 0
        self.pendingFrameBytes = 0
    }

    private mutating func decodeFrame(buffer: inout ByteBuffer) throws -> DatelineFrame? {
        let reader = buffer.readerIndex
        guard let length = buffer.getInteger(at: reader, as: UInt32.self),
            let rawFlags = buffer.getInteger(at: reader + 4, as: UInt8.self)
        else { return nil }
        let flags = DatelineFrame.Flags(rawValue: rawFlags)
        guard flags.isSubset(of: .allDefined) else {
            throw DatelineError(code: .badFrame, message: "frame sets reserved flag bits (flags 0x\(String(rawFlags, radix: 16)))")
        }
        guard Int(length) <= self.maximumFrameSize else {
            throw DatelineError(
                code: .frameTooLarge,
                message: self.state == .handshakeFrame && self.maximumFrameSize < self.limits.maximumFrameSize
                    ? "the first frame, of \(length) bytes, exceeds the handshake's limit of \(self.maximumFrameSize) bytes"
                    : "frame of \(length) bytes exceeds the limit of \(self.maximumFrameSize) bytes"
            )
        }
        let headerSize = DatelineFrame.headerSize(flags: flags)
        guard buffer.readableBytes >= headerSize,
            let rawType = buffer.getInteger(at: reader + 5, as: UInt16.self),
            let correlationID = buffer.getInteger(at: reader + 7, as: UInt32.self)
        else { return nil }
        let messageType = DatelineMessageType(rawValue: rawType)
        guard rawType != 0 else {
            throw DatelineError(code: .badFrame, message: "frame has message type 0, which is reserved")
        }
        guard flags.contains(.error) == (messageType == .error) else {
            throw DatelineError(code: .badFrame, message: "the ERROR flag must be set exactly on frames of type Error (type \(messageType))")
        }
        var offset = reader + DatelineFrame.fixedHeaderSize
        var uncompressedLength: Int?
        if flags.contains(.compressed) {
            let declared = Int(buffer.getInteger(at: offset, as: UInt32.self)!)
            offset += 4
            guard length > 0, declared > 0 else {
                throw DatelineError(code: .badFrame, message: "frame is flagged compressed but its payload is empty")
            }
            guard declared <= self.maximumDecompressedSize else {
                throw DatelineError(
                    code: .frameTooLarge,
                    message: "frame declares \(declared) bytes decompressed, above the limit of \(self.maximumDecompressedSize) bytes"
                )
            }
            uncompressedLength = declared
        }
        if !self.reserve(wireLength: Int(length), decompressedLength: uncompressedLength ?? 0) { return nil }
        var timeout: UInt32?
        if flags.contains(.deadline) {
            timeout = buffer.getInteger(at: offset, as: UInt32.self)
            offset += 4
        }
        var serverTime: UInt32?
        if flags.contains(.serverTime) {
            serverTime = buffer.getInteger(at: offset, as: UInt32.self)
            offset += 4
        }
        guard buffer.readableBytes >= headerSize + Int(length) else { return nil }
        var payload = buffer.getSlice(at: reader + headerSize, length: Int(length))!
        buffer.moveReaderIndex(forwardBy: headerSize + Int(length))
        if let uncompressedLength {
            payload = try self.decompressor.decompress(payload, expectedSize: uncompressedLength, allocator: self.allocator)
        }
        self.handOverReservation(keeping: payload.readableBytes)
        return DatelineFrame(
            messageType: messageType,
            flags: flags.subtracting([.compressed, .deadline, .serverTime]),
            correlationID: correlationID,
            timeoutMilliseconds: timeout,
            serverTimeMicroseconds: serverTime,
            payload: payload,
            wasCompressed: uncompressedLength != nil
        )
    }
}
