public import NIOCore

/// Cuts a connection's inbound bytes into the preface and frames with a ``DatelineFrameDecoder`` and passes each
/// on as a ``DatelineInboundEvent``: the first handler after the socket (or TLS) on both sides.
///
/// It does what NIO's `ByteToMessageHandler` does for this decoder — keeps what arrived until a frame is
/// complete, decodes every complete frame of a read before passing the read's end on, reports a decoding error
/// once and reads nothing after it, reports a preface or frame cut short when the peer closes — but in this
/// module, where it is specialised for the one decoder: `ByteToMessageHandler`'s generic code is not specialised
/// across the module boundary and looked its decoder's metadata up at run time on every read (about a tenth of a
/// pipelined ping's CPU, by the profile of `DatelineBenchmarks --profile-pings 64`).
public final class DatelineFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = DatelineInboundEvent

    private var decoder: DatelineFrameDecoder
    /// Bytes received and not yet decoded.
    private var buffered = ByteBuffer()
    /// Set once the decoder has thrown (or the input ended): nothing more is decoded.
    private var stopped = false
    /// Set while frames are being passed on, so that a read arriving meanwhile (a handler further on triggering
    /// one) only adds its bytes and the loop already running decodes them, in order.
    private var decoding = false

    /// Creates a handler around `decoder`.
    public init(_ decoder: DatelineFrameDecoder) {
        self.decoder = decoder
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.stopped else { return }
        var bytes = Self.unwrapInboundIn(data)
        if self.buffered.readableBytes == 0 {
            self.buffered = bytes  // the common case: no copy
        } else {
            self.buffered.writeBuffer(&bytes)
        }
        self.decodeFrames(context: context, atEnd: false)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.end(context: context)
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent { self.end(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    /// The input is over: what is left must be whole frames, or the peer cut one short.
    private func end(context: ChannelHandlerContext) {
        guard !self.stopped else { return }
        self.decodeFrames(context: context, atEnd: true)
        self.stopped = true
        self.buffered = ByteBuffer()
    }

    private func decodeFrames(context: ChannelHandlerContext, atEnd: Bool) {
        guard !self.decoding else { return }
        self.decoding = true
        defer { self.decoding = false }
        while !self.stopped {
            let event: DatelineInboundEvent?
            do {
                event = atEnd
                    ? try self.decoder.decodeLast(buffer: &self.buffered, seenEOF: true)
                    : try self.decoder.decode(buffer: &self.buffered)
            } catch {
                self.stopped = true
                self.buffered = ByteBuffer()
                context.fireErrorCaught(error)
                return
            }
            guard let event else { break }
            context.fireChannelRead(Self.wrapInboundOut(event))
        }
        // All decoded: the read's buffer is let go (NIO reuses it for the next read; an empty ByteBuffer allocates
        // nothing). Else decoded bytes are dropped once they are most of the buffer (a partial frame stays).
        if self.buffered.readableBytes == 0 {
            self.buffered = ByteBuffer()
        } else if self.buffered.readerIndex > 1_024, self.buffered.readerIndex > self.buffered.readableBytes {
            self.buffered.discardReadBytes()
        }
    }
}

@available(*, unavailable)
extension DatelineFrameHandler: Sendable {}
