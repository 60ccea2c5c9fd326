public import NIOCore

/// How a sender compresses frame payloads.
public struct DatelineCompressionConfiguration: Sendable, Hashable {
    /// When to compress. Default: ``DatelineCompressionMode/auto``.
    public var mode: DatelineCompressionMode
    /// zlib level, 1 (fastest) to 9 (smallest). Default: 1: on news text level 6 gains little on small
    /// messages and costs several times the CPU.
    public var level: Int
    /// In `auto` mode, payloads smaller than this many bytes are sent uncompressed. Default: 1024.
    public var threshold: Int
    /// In `auto` mode, whether payloads to a peer on the same host (a loopback address, the host's own
    /// address, a Unix domain socket) are compressed too. Default: false: there are no bytes on a network to
    /// save, and deflating and inflating a 3 KB search reply costs more than its round trip.
    public var compressesForLocalPeers: Bool

    /// Creates a configuration. Defaults: `auto`, level 1, threshold 1024 bytes, local peers uncompressed.
    public init(mode: DatelineCompressionMode = .auto, level: Int = 1, threshold: Int = 1024, compressesForLocalPeers: Bool = false) {
        self.mode = mode
        self.level = level
        self.threshold = threshold
        self.compressesForLocalPeers = compressesForLocalPeers
    }

    /// Never compress.
    public static let disabled = Self(mode: .none)
}

/// Turns encoded payloads into complete frames: decides compression and writes the header in front of the
/// payload, in the room the payload encoder left for it, so an uncompressed payload is never copied.
///
/// One writer per connection; not thread-safe (it owns the connection's zlib stream).
public final class DatelineFrameWriter {
    private let compressor: Zlib.Compressor
    private let configuration: DatelineCompressionConfiguration
    /// What actually happens after negotiation with the peer.
    public private(set) var effectiveMode: DatelineCompressionMode
    /// The largest payload the peer accepts (from its Hello or Welcome).
    public var peerMaximumFrameSize: Int
    /// Whether the peer runs on this host (see ``PeerLocality``): in `auto` mode nothing is compressed for it
    /// unless ``DatelineCompressionConfiguration/compressesForLocalPeers``.
    public var peerIsLocal = false
    private let allocator = ByteBufferAllocator()

    /// Creates a writer.
    /// - Parameters:
    ///   - configuration: How to compress.
    ///   - peerMaximumFrameSize: The largest payload the peer accepts. Default: 16 MiB.
    public init(configuration: DatelineCompressionConfiguration, peerMaximumFrameSize: Int = 16 << 20) {
        self.configuration = configuration
        self.effectiveMode = configuration.mode
        self.compressor = Zlib.Compressor(level: configuration.level)
        self.peerMaximumFrameSize = peerMaximumFrameSize
    }

    /// Applies the peer's stated preference for what it receives.
    public func negotiate(peerPreference: DatelineCompressionMode) {
        self.effectiveMode = DatelineCompressionMode.effective(sender: self.configuration.mode, receiver: peerPreference)
    }

    /// Makes a frame from an encoded payload.
    ///
    /// - Parameter payload: the payload bytes; when its reader index is at least
    ///   ``DatelineFrame/maximumHeaderSize`` (as ``DatelinePayload/encode(_:allocator:)`` leaves it), the header
    ///   is written in place in front of it.
    /// - Throws: `frameTooLarge` when the result exceeds the peer's limit.
    public func frame(
        payload: ByteBuffer,
        type: DatelineMessageType,
        flags: DatelineFrame.Flags,
        correlationID: UInt32,
        timeoutMilliseconds: UInt32? = nil,
        serverTimeMicroseconds: UInt32? = nil
    ) throws(DatelineError) -> ByteBuffer {
        var flags = flags.subtracting([.compressed, .deadline, .serverTime])
        if timeoutMilliseconds != nil { flags.insert(.deadline) }
        if serverTimeMicroseconds != nil { flags.insert(.serverTime) }
        let payloadLength = payload.readableBytes
        var output = payload
        if self.shouldCompress(length: payloadLength) {
            var compressed = self.allocator.buffer(capacity: DatelineFrame.maximumHeaderSize + payloadLength / 2 + 64)
            compressed.moveWriterIndex(forwardBy: DatelineFrame.maximumHeaderSize)
            compressed.moveReaderIndex(forwardBy: DatelineFrame.maximumHeaderSize)
            // In auto mode the compressed form must be strictly smaller; in always mode it may grow a little.
            let limit = self.effectiveMode == .always ? payloadLength + payloadLength / 8 + 64 : payloadLength - 1
            if try self.compressor.compress(payload, into: &compressed, limit: limit) != nil {
                output = compressed
                flags.insert(.compressed)
            }
        }
        let wireLength = output.readableBytes
        guard wireLength <= self.peerMaximumFrameSize else {
            throw DatelineError(
                code: .frameTooLarge,
                message: "\(type) payload of \(wireLength) bytes exceeds the peer's limit of \(self.peerMaximumFrameSize) bytes"
            )
        }
        let headerSize = DatelineFrame.headerSize(flags: flags)
        if output.readerIndex < headerSize {
            var copy = self.allocator.buffer(capacity: headerSize + wireLength)
            copy.moveWriterIndex(forwardBy: headerSize)
            copy.moveReaderIndex(forwardBy: headerSize)
            copy.writeImmutableBuffer(output)
            output = copy
        }
        var index = output.readerIndex - headerSize
        output.moveReaderIndex(to: index)
        output.setInteger(UInt32(wireLength), at: index)
        output.setInteger(flags.rawValue, at: index + 4)
        output.setInteger(type.rawValue, at: index + 5)
        output.setInteger(correlationID, at: index + 7)
        index += DatelineFrame.fixedHeaderSize
        if flags.contains(.compressed) {
            output.setInteger(UInt32(payloadLength), at: index)
            index += 4
        }
        if let timeoutMilliseconds {
            output.setInteger(timeoutMilliseconds, at: index)
            index += 4
        }
        if let serverTimeMicroseconds {
            output.setInteger(serverTimeMicroseconds, at: index)
        }
        return output
    }

    private func shouldCompress(length: Int) -> Bool {
        guard length > 0 else { return false }  // an empty payload is never flagged compressed
        switch self.effectiveMode {
        case .always: return true
        case .auto, .unspecified:
            if self.peerIsLocal && !self.configuration.compressesForLocalPeers { return false }
            return length >= self.configuration.threshold
        case .none: return false
        }
    }
}

/// Encodes message payloads with room for a frame header in front.
public enum DatelinePayload {
    /// Encodes `message` into a new buffer whose reader index leaves room for the largest frame header.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the message cannot be encoded.
    public static func encode<Message: Encodable>(
        _ message: Message,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(DatelineError) -> ByteBuffer {
        var buffer = Self.bufferWithHeaderRoom(allocator)
        try DatelineBinaryEncoder().encode(message, into: &buffer)
        return buffer
    }

    /// An empty buffer whose reader index leaves room for the largest frame header.
    private static func bufferWithHeaderRoom(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.moveWriterIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        buffer.moveReaderIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        return buffer
    }

    /// Encodes a message like ``encode(_:allocator:)``, taking its direct path (when it has one) without a
    /// runtime conformance look-up: the overload every request and reply of the protocol goes through.
    /// - Throws: ``DatelineError`` with code `invalidArgument` when the message cannot be encoded.
    public static func encode<Message: DatelineMessage>(
        _ message: Message,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(DatelineError) -> ByteBuffer {
        var buffer = Self.bufferWithHeaderRoom(allocator)
        try DatelineBinaryEncoder().encode(message, into: &buffer)
        return buffer
    }
}
