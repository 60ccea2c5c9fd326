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
    /// Where the decoder's budget will call back once it has room for the frame that waits.
    private var budgetWait: (budget: DatelineRequestMemoryBudget, token: DatelineRequestMemoryBudget.WaitToken)?
    private let budget: DatelineRequestMemoryBudget?
    /// How long a frame of at least ``slowFrameThreshold`` bytes may take to arrive once its header is in.
    private let frameReceiveTimeout: TimeAmount?
    private var frameTimer: Scheduled<Void>?

    /// Frames at least this large (declared) must arrive within the frame receive timeout: they hold enough of the
    /// budget to matter. Smaller ones are bounded by the connection limit.
    public static let slowFrameThreshold = 64 << 10

    /// Creates a handler around `decoder`.
    /// - Parameters:
    ///   - decoder: The decoder; give it `budget` too.
    ///   - budget: The budget the decoder reserves frames from: while a frame does not fit, the handler stops
    ///     reading from the connection and waits for room. Default: nil.
    ///   - frameReceiveTimeout: How long a frame of at least ``slowFrameThreshold`` bytes may take to arrive once its
    ///     header is in, so that a slow peer cannot hold the budget (the connection fails with `DEADLINE_EXCEEDED`).
    ///     Default: nil (no limit).
    public init(_ decoder: DatelineFrameDecoder, budget: DatelineRequestMemoryBudget? = nil, frameReceiveTimeout: TimeAmount? = nil) {
        self.decoder = decoder
        self.budget = budget
        self.frameReceiveTimeout = frameReceiveTimeout
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.stop()
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
        self.stop()
    }

    /// Decodes nothing more and gives back what the frame in progress holds of the budget.
    private func stop() {
        self.stopped = true
        self.buffered = ByteBuffer()
        self.decoder.releaseReservation()
        self.frameTimer?.cancel()
        self.frameTimer = nil
        if let wait = self.budgetWait {
            wait.budget.cancelWait(wait.token)
            self.budgetWait = nil
        }
    }

    private func decodeFrames(context: ChannelHandlerContext, atEnd: Bool) {
        guard !self.decoding else { return }
        self.decoding = true
        defer { self.decoding = false }
        var decodedAny = false
        repeat {
            while !self.stopped {
                let event: DatelineInboundEvent?
                do {
                    event = atEnd
                        ? try self.decoder.decodeLast(buffer: &self.buffered, seenEOF: true)
                        : try self.decoder.decode(buffer: &self.buffered)
                } catch {
                    self.stop()
                    context.fireErrorCaught(error)
                    return
                }
                guard let event else { break }
                decodedAny = true
                context.fireChannelRead(Self.wrapInboundOut(event))
            }
        } while self.budget != nil && !self.stopped && !self.settleBudget(afterDecoding: decodedAny, context: context)
        // All decoded: the read's buffer is let go (NIO reuses it for the next read; an empty ByteBuffer allocates
        // nothing). Else decoded bytes are dropped once they are most of the buffer (a partial frame stays).
        if self.buffered.readableBytes == 0 {
            self.buffered = ByteBuffer()
        } else if self.buffered.readerIndex > 1_024, self.buffered.readerIndex > self.buffered.readableBytes {
            self.buffered.discardReadBytes()
        }
    }
}

extension DatelineFrameHandler {
    /// After a decoding pass: times a large frame still arriving, and if the next frame does not fit in the budget,
    /// stops reading and waits for room. False when room appeared meanwhile: decode again.
    private func settleBudget(afterDecoding decodedAny: Bool, context: ChannelHandlerContext) -> Bool {
        if decodedAny || self.decoder.pendingFrameBytes < Self.slowFrameThreshold, let timer = self.frameTimer {
            timer.cancel()
            self.frameTimer = nil
        }
        if self.decoder.pendingFrameBytes >= Self.slowFrameThreshold, self.frameTimer == nil, let timeout = self.frameReceiveTimeout {
            self.startFrameTimer(timeout, context: context)
        }
        let waitingFor = self.decoder.bytesWaitingForBudget
        guard waitingFor > 0, self.budgetWait == nil, let budget = self.budget else { return true }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let token = budget.waitForRoom(for: waitingFor, on: context.eventLoop) {
            let (handler, context) = loopBound.value
            handler.budgetWait = nil
            handler.resumeAfterWaiting(context: context)
        }
        guard let token else { return false }
        self.budgetWait = (budget, token)
        context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
        return true
    }

    private func resumeAfterWaiting(context: ChannelHandlerContext) {
        guard !self.stopped else { return }
        self.decodeFrames(context: context, atEnd: false)
        // The frames decoded now came from no read: end them as a read would, so that the replies written while
        // handling them are flushed (the connection handler flushes at the end of each read).
        context.fireChannelReadComplete()
        if !self.stopped, self.budgetWait == nil {
            context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
        }
    }

    private func startFrameTimer(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let declared = self.decoder.pendingFrameBytes
        self.frameTimer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.frameTimer = nil
            guard !handler.stopped, handler.decoder.pendingFrameBytes > 0 else { return }
            guard context.channel.isWritable else {
                // The server holds reads back while the peer's replies pile up unsent (the stalled-reader timeout
                // deals with a peer that reads nothing): the frame's slowness is then the server's doing.
                handler.startFrameTimer(timeout, context: context)
                return
            }
            let received = handler.buffered.readableBytes
            handler.stop()
            context.fireErrorCaught(
                DatelineError(
                    code: .deadlineExceeded,
                    message: "a frame of \(declared) bytes took longer than \(timeout.nanoseconds / 1_000_000_000) s to arrive (\(received) bytes of it came)"
                )
            )
        }
    }
}

@available(*, unavailable)
extension DatelineFrameHandler: Sendable {}
