import Logging
import NIOCore

/// The client end of a connection: sends the preface and Hello, pairs responses with requests by
/// correlation id (responses may arrive in any order), keeps no more requests on the wire than the server
/// granted in Welcome (the rest wait in a local queue), enforces deadlines, sends Cancel, feeds streams with
/// backpressure, and fails every pending request when the connection ends.
///
/// ```
///  socket ─▶ DatelineFrameHandler(DatelineFrameDecoder) ─▶ DatelineClientHandler ─▶ promises / streams
///        ◀──────────────────── ByteBuffer (frames from DatelineFrameWriter) ◀────────┘
/// ```
final class DatelineClientHandler: ChannelDuplexHandler {
    typealias InboundIn = DatelineInboundEvent
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    typealias StreamProducer = NIOThrowingAsyncSequenceProducer<
        DatelineFrame, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamDelegate
    >

    enum State {
        case awaitingPreface
        case awaitingWelcome
        case ready
        /// The server sent GoAway: pending requests finish, new ones are refused.
        case draining
        case closed(DatelineError)
    }

    private enum Sink {
        case unary(EventLoopPromise<DatelineFrame>)
        /// Called on the event loop with the response frame or the error; saves a future per request.
        case callback(@Sendable (Result<DatelineFrame, any Error>) -> Void)
        case stream(StreamProducer.Source)
    }

    private struct Pending {
        var sink: Sink
        var timer: Scheduled<Void>?
        /// Whether the request went out; requests beyond the server's in-flight limit wait in `sendQueue`.
        var isSent: Bool
    }

    private struct QueuedRequest {
        var payload: ByteBuffer
        var type: DatelineMessageType
        var correlationID: UInt32
        var timeout: Duration?
    }

    private let configuration: DatelineClientConfiguration
    private let handshake: EventLoopPromise<Welcome>
    private let logger: Logger
    private let writer: DatelineFrameWriter
    private(set) var state = State.awaitingPreface
    private var pending: [UInt32: Pending] = [:]
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    /// Whether the handler is inside a read burst (between `channelRead` and `channelReadComplete`).
    private var inReadBurst = false
    /// Whether requests were written during the current read burst.
    private var needsFlush = false
    private var pausedStreams = Set<UInt32>()
    private var readPending = false
    private var handshakeCompleted = false
    /// How many requests may be on the wire at once (from Welcome).
    private var maximumInFlight = Int.max
    private var sentCount = 0
    private var sendQueue = CircularBuffer<QueuedRequest>()
    /// Requests in `sendQueue` that ended (timed out, cancelled) before going out: their payloads are dropped once
    /// they are half the queue, so a server that frees no slot cannot make the queue keep dead requests.
    private var endedWhileQueued = 0

    init(configuration: DatelineClientConfiguration, handshake: EventLoopPromise<Welcome>, logger: Logger) {
        self.configuration = configuration
        self.handshake = handshake
        self.logger = logger
        self.writer = DatelineFrameWriter(configuration: configuration.compression)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.sendHello(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendHello(context: context)
        context.fireChannelActive()
    }

    private var helloSent = false

    private func sendHello(context: ChannelHandlerContext) {
        guard !self.helloSent else { return }
        self.writer.peerIsLocal = PeerLocality.isLocal(remote: context.channel.remoteAddress, local: context.channel.localAddress)
        self.helloSent = true
        var buffer = context.channel.allocator.buffer(capacity: 128)
        DatelinePreface.write(into: &buffer)
        context.write(self.wrapOutboundOut(buffer), promise: nil)
        let hello = Hello(
            clientName: self.configuration.clientName,
            maximumFrameSize: UInt32(clamping: self.configuration.limits.maximumFrameSize),
            compression: self.configuration.compression.mode,
            maximumInFlight: UInt32(clamping: self.configuration.maximumInFlight),
            token: self.configuration.token
        )
        do {
            let payload = try DatelinePayload.encode(hello, allocator: context.channel.allocator)
            let frame = try self.writer.frame(payload: payload, type: .hello, flags: [.endStream], correlationID: 0)
            context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
        } catch {
            self.closeWith(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error: DatelineError
        if case .closed(let reason) = self.state {
            error = reason
        } else {
            error = DatelineError(code: .unavailable, message: "the server closed the connection")
        }
        self.failEverything(error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.closeWith(error, context: context)
    }

    func read(context: ChannelHandlerContext) {
        if self.pausedStreams.isEmpty {
            context.read()
        } else {
            self.readPending = true
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Requests written while the replies of this read burst were handled go out together, now.
        self.inReadBurst = false
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.inReadBurst = true
        switch self.unwrapInboundIn(data) {
        case .preface(let version):
            guard version == DatelinePreface.currentVersion else {
                self.closeWith(
                    DatelineError(
                        code: .unsupportedVersion,
                        message: "server speaks protocol version \(version); this client speaks \(DatelinePreface.currentVersion)"
                    ),
                    context: context
                )
                return
            }
            self.state = .awaitingWelcome
        case .frame(let frame):
            if frame.correlationID == 0 {
                self.receivedConnectionFrame(frame, context: context)
            } else {
                self.receivedResponse(frame)
            }
        }
    }

    private func receivedConnectionFrame(_ frame: DatelineFrame, context: ChannelHandlerContext) {
        switch frame.messageType {
        case .welcome:
            guard case .awaitingWelcome = self.state else {
                self.closeWith(DatelineError.badFrame("unexpected Welcome"), context: context)
                return
            }
            do {
                let welcome = try DatelineBinaryDecoder().decode(Welcome.self, from: frame.payload)
                if welcome.maximumFrameSize > 0 { self.writer.peerMaximumFrameSize = Int(welcome.maximumFrameSize) }
                self.writer.negotiate(peerPreference: welcome.compression)
                if welcome.maximumInFlight > 0 { self.maximumInFlight = Int(welcome.maximumInFlight) }
                self.state = .ready
                self.handshakeCompleted = true
                self.handshake.succeed(welcome)
            } catch {
                self.closeWith(error, context: context)
            }
        case .error:
            let error = (try? DatelineBinaryDecoder().decode(ErrorMessage.self, from: frame.payload))?.error
                ?? DatelineError.badFrame("the server sent an undecodable error frame")
            self.closeWith(error, context: context)
        case .goAway:
            let goAway = try? DatelineBinaryDecoder().decode(GoAway.self, from: frame.payload)
            self.logger.debug("server sent GoAway", metadata: ["dateline.reason": "\(goAway?.reason ?? "")"])
            if case .ready = self.state { self.state = .draining }
            // Requests still waiting locally will never be accepted.
            for queued in self.sendQueue {
                self.complete(queued.correlationID, with: .failure(DatelineError(code: .unavailable, message: "the server is shutting down (GoAway); reconnect")))
            }
            self.sendQueue.removeAll()
            self.endedWhileQueued = 0
        default:
            self.logger.debug("ignoring \(frame.messageType) frame on correlation id 0")
        }
    }

    private func receivedResponse(_ frame: DatelineFrame) {
        let id = frame.correlationID
        guard let index = self.pending.index(forKey: id) else {
            return  // the request already timed out or was cancelled
        }
        // A stream's element other than its last leaves the request pending.
        if case .stream(let source) = self.pending.values[index].sink, !frame.flags.contains(.error), !frame.flags.contains(.endStream) {
            if source.yield(frame) == .stopProducing { self.pausedStreams.insert(id) }
            return
        }
        // One look-up per response: the request is found and ended through the same index.
        let pending = self.pending.remove(at: index).value
        if frame.flags.contains(.error) {
            let error: any Error
            do {
                error = try DatelineBinaryDecoder().decode(ErrorMessage.self, from: frame.payload).error
            } catch let decodeError {
                error = decodeError
            }
            self.ended(pending, id: id, with: .failure(error))
            return
        }
        switch pending.sink {
        case .unary, .callback:
            self.ended(pending, id: id, with: .success(frame))
        case .stream(let source):
            if frame.payload.readableBytes > 0 { _ = source.yield(frame) }
            self.ended(pending, id: id, with: nil)
        }
    }

    /// Ends request `id`: completes its sink (nil ends a stream normally) and lets a queued request go out.
    private func complete(_ id: UInt32, with result: Result<DatelineFrame, any Error>?) {
        guard let pending = self.pending.removeValue(forKey: id) else { return }
        self.ended(pending, id: id, with: result)
    }

    /// Completes the sink of request `id`, already removed from `pending`, and lets a queued request go out.
    private func ended(_ pending: Pending, id: UInt32, with result: Result<DatelineFrame, any Error>?) {
        pending.timer?.cancel()
        switch (pending.sink, result) {
        case (.unary(let promise), .some(let result)):
            promise.completeWith(result)
        case (.unary(let promise), .none):
            promise.fail(DatelineError.badFrame("empty response"))
        case (.callback(let callback), .some(let result)):
            callback(result)
        case (.callback(let callback), .none):
            callback(.failure(DatelineError.badFrame("empty response")))
        case (.stream(let source), .some(.failure(let error))):
            source.finish(error)
        case (.stream(let source), .some(.success(let frame))):
            _ = source.yield(frame)
            source.finish()
        case (.stream(let source), .none):
            source.finish()
        }
        self.resumeReading(id)
        if pending.isSent {
            self.sentCount -= 1
            self.sendQueued()
        } else {
            self.endedWhileQueued += 1
            if self.endedWhileQueued > 16, self.endedWhileQueued * 2 > self.sendQueue.count { self.dropEndedFromQueue() }
        }
    }

    /// Removes the requests that ended while queued (the payloads they hold).
    private func dropEndedFromQueue() {
        var kept = CircularBuffer<QueuedRequest>(initialCapacity: max(16, self.sendQueue.count - self.endedWhileQueued))
        for queued in self.sendQueue where self.pending[queued.correlationID] != nil { kept.append(queued) }
        self.sendQueue = kept
        self.endedWhileQueued = 0
    }

    /// The requests waiting to go out, ended ones not yet dropped included (for tests).
    var queuedRequests: Int { self.sendQueue.count }

    // MARK: Requests (called on the event loop by DatelineClientConnection)

    /// Why new requests cannot be sent, or nil when they can.
    private func admissionError() -> DatelineError? {
        switch self.state {
        case .ready: nil
        case .awaitingPreface, .awaitingWelcome: DatelineError(code: .unavailable, message: "the connection is not ready yet")
        case .draining: DatelineError(code: .unavailable, message: "the server is shutting down (GoAway); reconnect")
        case .closed(let error): error
        }
    }

    func sendUnary(payload: ByteBuffer, type: DatelineMessageType, correlationID id: UInt32, timeout: Duration?, promise: EventLoopPromise<DatelineFrame>) {
        self.start(.unary(promise), payload: payload, type: type, correlationID: id, timeout: timeout)
    }

    func sendUnary(
        payload: ByteBuffer,
        type: DatelineMessageType,
        correlationID id: UInt32,
        timeout: Duration?,
        callback: @escaping @Sendable (Result<DatelineFrame, any Error>) -> Void
    ) {
        self.start(.callback(callback), payload: payload, type: type, correlationID: id, timeout: timeout)
    }

    func sendStreaming(payload: ByteBuffer, type: DatelineMessageType, correlationID id: UInt32, timeout: Duration?, source: StreamProducer.Source) {
        self.start(.stream(source), payload: payload, type: type, correlationID: id, timeout: timeout)
    }

    private func start(_ sink: Sink, payload: ByteBuffer, type: DatelineMessageType, correlationID id: UInt32, timeout: Duration?) {
        var refusal = self.admissionError()
        if self.context == nil {
            refusal = DatelineError(code: .unavailable, message: "the connection is closed")
        } else if self.pending[id] != nil {
            refusal = DatelineError.internal("correlation id \(id) is already in use")
        }
        guard let context = self.context, refusal == nil else {
            let error = refusal!
            switch sink {
            case .unary(let promise): promise.fail(error)
            case .callback(let callback): callback(.failure(error))
            case .stream(let source): source.finish(error)
            }
            return
        }
        let timer = self.scheduleTimeout(timeout, id: id, context: context)
        if self.sendQueue.isEmpty, self.sentCount < self.maximumInFlight, self.canWrite {
            // Nothing waits before it and the server has room: straight onto the wire, without the queue.
            self.pending[id] = Pending(sink: sink, timer: timer, isSent: true)
            self.sentCount += 1
            self.write(payload: payload, type: type, correlationID: id, timeout: timeout, context: context)
            return
        }
        self.pending[id] = Pending(sink: sink, timer: timer, isSent: false)
        self.sendQueue.append(QueuedRequest(payload: payload, type: type, correlationID: id, timeout: timeout))
        self.sendQueued()
    }

    private func sendQueued() {
        guard let context = self.context, self.canWrite else { return }
        while self.sentCount < self.maximumInFlight, let next = self.sendQueue.popFirst() {
            guard self.pending[next.correlationID] != nil else {
                // Cancelled or timed out while queued.
                self.endedWhileQueued = max(0, self.endedWhileQueued - 1)
                continue
            }
            self.pending[next.correlationID]?.isSent = true
            self.sentCount += 1
            self.write(payload: next.payload, type: next.type, correlationID: next.correlationID, timeout: next.timeout, context: context)
        }
    }

    /// Stops waiting for request `id`: fails it with `error` and, if it was sent, tells the server to stop.
    func cancel(_ id: UInt32, error: DatelineError) {
        guard let pending = self.pending[id] else { return }
        self.complete(id, with: .failure(error))
        guard pending.isSent, let context = self.context, self.canWrite else { return }
        var empty = context.channel.allocator.buffer(capacity: DatelineFrame.maximumHeaderSize)
        empty.moveWriterIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        empty.moveReaderIndex(forwardBy: DatelineFrame.maximumHeaderSize)
        self.write(payload: empty, type: .cancel, correlationID: id, timeout: nil, context: context)
    }

    /// The consumer of stream `id` has room again.
    func resumeReading(_ id: UInt32) {
        guard !self.pausedStreams.isEmpty, self.pausedStreams.remove(id) != nil, self.pausedStreams.isEmpty, self.readPending else { return }
        self.readPending = false
        self.context?.read()
    }

    private var canWrite: Bool {
        switch self.state {
        case .ready, .draining: true
        default: false
        }
    }

    private func scheduleTimeout(_ timeout: Duration?, id: UInt32, context: ChannelHandlerContext) -> Scheduled<Void>? {
        guard let timeout else { return nil }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.cancel(id, error: DatelineError(code: .deadlineExceeded, message: "no response within \(timeout)"))
        }
    }

    private func write(payload: ByteBuffer, type: DatelineMessageType, correlationID: UInt32, timeout: Duration?, context: ChannelHandlerContext) {
        do {
            let milliseconds = timeout.map {
                UInt32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)
            }
            let frame = try self.writer.frame(
                payload: payload,
                type: type,
                flags: [.endStream],
                correlationID: correlationID,
                timeoutMilliseconds: milliseconds
            )
            context.write(self.wrapOutboundOut(frame), promise: nil)
            if self.inReadBurst {
                self.needsFlush = true  // flushed at the end of the burst
            } else {
                self.scheduleFlush(context: context)
            }
        } catch {
            self.complete(correlationID, with: .failure(error))
        }
    }

    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !self.flushScheduled else { return }
        self.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    func close() {
        guard let context = self.context else { return }
        self.closeWith(DatelineError(code: .unavailable, message: "the connection was closed by the client"), context: context)
    }

    private func closeWith(_ error: any Error, context: ChannelHandlerContext) {
        if case .closed = self.state { return }
        let datelineError = error as? DatelineError ?? DatelineError(code: .unavailable, message: "connection failed: \(error)", cause: error)
        self.failEverything(datelineError)
        context.close(promise: nil)
    }

    private func failEverything(_ error: DatelineError) {
        if case .closed = self.state {} else { self.state = .closed(error) }
        if !self.handshakeCompleted {
            self.handshakeCompleted = true
            self.handshake.fail(error)
        }
        self.sendQueue.removeAll()
        self.endedWhileQueued = 0
        for id in Array(self.pending.keys) {
            self.complete(id, with: .failure(error))
        }
        self.pausedStreams.removeAll()
    }
}

extension DatelineClientHandler {
    /// Resumes reading when a stream's consumer catches up, and cancels the request when it stops listening.
    struct StreamDelegate: NIOAsyncSequenceProducerDelegate {
        let handler: NIOLoopBound<DatelineClientHandler>
        let id: UInt32

        func produceMore() {
            let handler = self.handler
            let id = self.id
            handler.eventLoop.execute { handler.value.resumeReading(id) }
        }

        func didTerminate() {
            let handler = self.handler
            let id = self.id
            handler.eventLoop.execute {
                handler.value.cancel(id, error: DatelineError(code: .cancelled, message: "the stream's consumer went away"))
            }
        }
    }
}
