import Logging
import NIOCore
import NIOSSL

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Serves one client connection: checks the preface and Hello, dispatches requests to the router's handlers,
/// and writes their replies, with per-request deadlines, cancellation, streaming and graceful draining.
///
/// ```
///  socket ─▶ DatelineFrameHandler(DatelineFrameDecoder) ─▶ DatelineServerConnectionHandler ─▶ router handlers
///        ◀──────────────────── ByteBuffer (complete frames from DatelineFrameWriter) ◀─┘
/// ```
///
/// Everything here runs on the connection's event loop. Replies written while reading are flushed once per
/// read burst; replies from async handlers are flushed once per event-loop tick.
///
/// Backpressure: a request holds its in-flight slot until its reply has been written to the socket; while the
/// connection's unsent bytes are above the write-buffer high-water mark
/// (``DatelineServerConfiguration/maximumOutboundBytes``) the handler holds back `read`, so a client that does
/// not read its replies cannot make the server buffer without bound; one that stays so for
/// ``DatelineServerConfiguration/stalledReaderTimeout`` is sent GoAway and closed.
final class DatelineServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = DatelineInboundEvent
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the handler holds for a request in flight, beside the state machine's record of it.
    private struct RunningRequest {
        var task: Task<Void, Never>?
        var deadlineTimer: Scheduled<Void>?
        let startedAt: NIODeadline
        let messageType: DatelineMessageType
        /// For a stream, the type of its elements (and of its END_STREAM frame).
        var elementType: DatelineMessageType
    }

    private let configuration: DatelineServerConfiguration
    private let router: DatelineRouter
    private var logger: Logger
    private let startedAt: NIODeadline
    private let writer: DatelineFrameWriter
    private var machine: DatelineServerConnectionStateMachine
    private var running: [UInt32: RunningRequest] = [:]
    private var clientName = ""
    private var context: ChannelHandlerContext?
    private var needsFlush = false
    /// Replies written since the last flush, whose slots the flush's marker frees (``flushReplies(context:)``).
    private var unacknowledgedReplies = 0
    /// Bytes of frames written since the last flush, held in the budget until the flush's marker is on the socket.
    private var unflushedBytes = 0
    private var flushScheduled = false
    private var writabilityWaiters: [CheckedContinuation<Void, any Error>] = []
    private var handshakeTimer: Scheduled<Void>?
    /// A read held back while the connection is above its outbound limit.
    private var readPending = false
    private var stalledReaderTimer: Scheduled<Void>?
    private var metrics: DatelineConnectionMetrics
    /// The server's budget, which each frame arrives holding its payload's size of (nil: none).
    private let budget: DatelineRequestMemoryBudget?
    /// Set when the server is over its connection limit: the client is told so once its preface is in.
    private let refusal: DatelineError?
    /// The server's count of streams, which a stream must get into (nil: no limit).
    private let streams: DatelineStreamLimit?

    /// The connection's protocol state (for tests).
    var state: DatelineServerConnectionStateMachine.State { self.machine.state }

    init(
        configuration: DatelineServerConfiguration,
        router: DatelineRouter,
        logger: Logger,
        serverStartedAt: NIODeadline,
        metrics: DatelineServerMetrics,
        budget: DatelineRequestMemoryBudget? = nil,
        streams: DatelineStreamLimit? = nil,
        refusal: DatelineError? = nil
    ) {
        self.budget = budget
        self.streams = streams
        self.refusal = refusal
        self.metrics = DatelineConnectionMetrics(metrics)
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.startedAt = serverStartedAt
        self.machine = DatelineServerConnectionStateMachine(maximumInFlight: configuration.maximumInFlightPerConnection)
        self.writer = DatelineFrameWriter(configuration: configuration.compression)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress {
            self.logger[metadataKey: DatelineLogKey.peer] = "\(address)"
        }
        if context.channel.isActive { self.connectionBecameActive(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        // Written but never flushed: NIO drops those writes with the channel.
        self.budget?.release(self.unflushedBytes)
        self.unflushedBytes = 0
    }

    func channelActive(context: ChannelHandlerContext) {
        self.connectionBecameActive(context: context)
        context.fireChannelActive()
    }

    private func connectionBecameActive(context: ChannelHandlerContext) {
        self.writer.peerIsLocal = PeerLocality.isLocal(remote: context.channel.remoteAddress, local: context.channel.localAddress)
        self.startHandshakeTimer(context: context)
    }

    private func startHandshakeTimer(context: ChannelHandlerContext) {
        guard self.handshakeTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.handshakeTimer = context.eventLoop.scheduleTask(in: self.configuration.handshakeTimeout) {
            let handler = loopBound.value
            guard let context = handler.context else { return }
            switch handler.machine.handshakeTimedOut() {
            case .closeSilently:
                // No preface came: the peer may not speak Dateline at all, so an error frame would mean nothing.
                handler.logger.notice("closing connection: no preface within \(handler.configuration.handshakeTimeout)")
                context.close(promise: nil)
            case .fail(let error):
                handler.logger.notice("closing connection: no Hello within \(handler.configuration.handshakeTimeout)")
                handler.sendErrorAndClose(error, context: context)
            case .ignore:
                break
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.handshakeTimer?.cancel()
        self.stalledReaderTimer?.cancel()
        self.cancelRequests(self.machine.closed())
        self.resumeWriters(throwing: DatelineError(code: .cancelled, message: "the connection closed"))
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stalledReaderTimer?.cancel()
            self.stalledReaderTimer = nil
            self.resumeWriters(throwing: nil)
            if self.readPending {
                self.readPending = false
                context.read()
            }
        } else {
            self.startStalledReaderTimer(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Holds reads back while replies are piling up unsent: the client must read before it may send more.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            self.readPending = true
        }
    }

    private func startStalledReaderTimer(context: ChannelHandlerContext) {
        guard self.stalledReaderTimer == nil, self.machine.state != .closed else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.stalledReaderTimer = context.eventLoop.scheduleTask(in: self.configuration.stalledReaderTimeout) {
            let handler = loopBound.value
            guard let context = handler.context, !context.channel.isWritable, let stalled = handler.machine.stalledReader() else { return }
            handler.logger.notice("closing connection: the client has read none of its replies for \(handler.configuration.stalledReaderTimeout)")
            handler.cancelRequests(stalled.cancel)
            handler.send(
                GoAway(lastCorrelationID: stalled.lastCorrelationID, reason: "the client read none of its replies for \(handler.configuration.stalledReaderTimeout)"),
                type: .goAway,
                correlationID: 0,
                context: context
            )
            handler.flushReplies(context: context)
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.needsFlush {
            self.needsFlush = false
            self.flushReplies(context: context)
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch self.machine.state {
        case .closed:
            return
        case .awaitingPreface:
            // Not a Dateline peer: say why in our log and close; an error frame would mean nothing to it.
            self.logger.notice("rejected connection", metadata: [DatelineLogKey.error: "\(error)"])
            self.cancelRequests(self.machine.closed())
            context.close(promise: nil)
        default:
            let datelineError = error as? DatelineError ?? .internal("connection error", cause: error)
            self.logger.notice(
                "closing connection after a protocol error",
                metadata: [DatelineLogKey.errorCode: "\(datelineError.code)", DatelineLogKey.error: "\(datelineError.message)"]
            )
            self.sendErrorAndClose(datelineError, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch self.machine.quiesce() {
        case .close:
            context.close(promise: nil)
        case .goAway(let lastCorrelationID, let streams, let closeNow):
            self.send(GoAway(lastCorrelationID: lastCorrelationID, reason: "\(self.configuration.serviceName) is shutting down"), type: .goAway, correlationID: 0, context: context)
            // Streams (subscriptions) never finish by themselves: end them now; unary requests may finish.
            for id in streams { self.running[id]?.task?.cancel() }
            self.scheduleFlush(context: context)
            if closeNow { self.closeAfterFlush(context: context) }
        case .ignore:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .preface(let version):
            self.receivedPreface(version: version, context: context)
        case .frame(let frame):
            // The frame holds its payload's size of the budget: a request handed to a task gives it back when the
            // task ends, everything else once it is handled here.
            var handedOver = false
            switch self.machine.state {
            case .awaitingPreface:
                self.sendErrorAndClose(self.machine.frameBeforePreface(), context: context)
            case .awaitingHello:
                self.receivedHello(frame, context: context)
            case .ready, .draining:
                handedOver = self.receivedRequest(frame, context: context)
            case .closed:
                break
            }
            if !handedOver { self.budget?.release(frame.payload.readableBytes) }
        }
    }

    // MARK: Handshake

    private func receivedPreface(version: UInt16, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: DatelinePreface.length)
        DatelinePreface.write(into: &buffer)
        context.write(self.wrapOutboundOut(buffer), promise: nil)
        self.needsFlush = true
        if let refusal = self.refusal {
            _ = self.machine.closed()
            self.sendErrorAndClose(refusal, context: context)
        } else if let error = self.machine.prefaceReceived(version: version) {
            self.logger.notice("rejected client speaking protocol version \(version)")
            self.sendErrorAndClose(error, context: context)
        } else if self.configuration.tls != nil, (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) == nil {
            // A plain client of a TLS service: tell it so, in the protocol it speaks.
            self.logger.notice("refused a plain connection: this service requires TLS")
            self.sendErrorAndClose(
                DatelineError(code: .unauthorized, message: "\(self.configuration.serviceName) requires TLS: connect with TLS (dateline --tls-ca CA.pem, or DatelineClientTLS in the client's configuration)"),
                context: context
            )
        }
    }

    private func receivedHello(_ frame: DatelineFrame, context: ChannelHandlerContext) {
        let hello: Result<Hello, DatelineError>
        if frame.messageType != .hello {
            hello = .failure(DatelineError(code: .unauthorized, message: "the first frame must be Hello, not \(frame.messageType)"))
        } else {
            hello = Result { () throws(DatelineError) in try DatelineBinaryDecoder().decode(Hello.self, from: frame.payload) }
        }
        let action = self.machine.helloReceived(
            hello, token: self.configuration.token, rejectsSchemaMismatch: self.configuration.rejectsSchemaMismatch, serverName: self.configuration.serverName
        )
        switch action {
        case .fail(let error):
            self.logger.notice("refused the handshake", metadata: [DatelineLogKey.errorCode: "\(error.code)", DatelineLogKey.error: "\(error.message)"])
            self.sendErrorAndClose(error, context: context)
        case .welcome(let maximumInFlight, let peerMaximumFrameSize):
            guard case .success(let hello) = hello else { return }
            self.handshakeTimer?.cancel()
            self.clientName = hello.clientName
            self.logger[metadataKey: DatelineLogKey.client] = "\(hello.clientName)"
            if let peerMaximumFrameSize { self.writer.peerMaximumFrameSize = peerMaximumFrameSize }
            self.writer.negotiate(peerPreference: hello.compression)
            let welcome = Welcome(
                serverName: self.configuration.serverName,
                maximumFrameSize: UInt32(clamping: self.configuration.limits.maximumFrameSize),
                compression: self.configuration.compression.mode,
                maximumInFlight: UInt32(clamping: maximumInFlight)
            )
            self.send(welcome, type: .welcome, correlationID: 0, context: context)
            self.logger.debug("client connected")
        }
    }

    // MARK: Requests

    /// Answers or dispatches a request; true when a task took it (and with it the frame's share of the budget).
    private func receivedRequest(_ frame: DatelineFrame, context: ChannelHandlerContext) -> Bool {
        let id = frame.correlationID
        let receivedAt = NIODeadline.now()
        switch self.machine.frameReceived(id: id, type: frame.messageType, hasErrorFlag: frame.flags.contains(.error), serviceName: self.configuration.serviceName) {
        case .answerPing:
            // Ping and Pong encode identically (field 1, bytes), so the payload is echoed as it is.
            self.sendPayload(frame.payload, type: .pong, correlationID: id, startedAt: receivedAt, request: .ping, context: context)
        case .cancel(let id):
            self.logger.debug("request cancelled by the client", metadata: [DatelineLogKey.correlationID: "\(id)"])
            self.cancelRequests([id])
            if self.machine.cancelled() { self.closeAfterFlush(context: context) }
        case .ignore:
            break
        case .refuse(let error):
            self.sendError(error, correlationID: id, startedAt: receivedAt, request: frame.messageType, context: context)
        case .failConnection(let error):
            self.cancelRequests(self.machine.closed())
            self.sendErrorAndClose(error, context: context)
        case .dispatch:
            return self.dispatch(frame, receivedAt: receivedAt, context: context)
        }
        return false
    }

    /// Runs the request's handler; true when it runs in a task, which gives the frame's share of the budget back when
    /// it ends.
    private func dispatch(_ frame: DatelineFrame, receivedAt startedAt: NIODeadline, context: ChannelHandlerContext) -> Bool {
        let id = frame.correlationID
        let deadline = frame.timeoutMilliseconds.map { startedAt + .milliseconds(Int64($0)) }
        var logger = self.logger
        logger[metadataKey: DatelineLogKey.correlationID] = "\(id)"
        logger[metadataKey: DatelineLogKey.messageType] = "\(frame.messageType)"
        let requestContext = DatelineRequestContext(correlationID: id, deadline: deadline, logger: logger, clientName: self.clientName)

        guard let route = self.router.route(for: frame.messageType) else {
            self.answerWithoutRoute(frame, startedAt: startedAt, context: context)
            return false
        }
        let budget = self.budget
        let heldBytes = frame.payload.readableBytes
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        var request = RunningRequest(task: nil, deadlineTimer: nil, startedAt: startedAt, messageType: frame.messageType, elementType: frame.messageType)
        var keepsOwnDeadline = false
        let payload = frame.payload
        switch route {
        case .eventLoop(let responseType, let handler):
            do {
                let reply = try handler(payload, requestContext)
                self.sendPayload(reply, type: responseType, correlationID: id, startedAt: startedAt, request: frame.messageType, context: context)
            } catch {
                self.sendError(self.wireError(error, logger: logger), correlationID: id, startedAt: startedAt, request: frame.messageType, context: context)
            }
            return false
        case .unary(let responseType, let deadlineHandling, let handler):
            keepsOwnDeadline = deadlineHandling == .handlerEnforced
            self.machine.requestStarted(id, kind: .unary)
            let payload = Self.ownStorage(frame.payload, allocator: context.channel.allocator)  // a task may keep it for days
            request.task = Task {
                defer { budget?.release(heldBytes) }
                let result: Result<ByteBuffer, any Error>
                do {
                    result = .success(try await handler(payload, requestContext))
                } catch {
                    result = .failure(error)
                }
                eventLoop.execute {
                    loopBound.value.completed(id, result: result.map { ($0, responseType) })
                }
            }
        case .stream(let elementType, let handler):
            let streams = self.streams
            guard streams?.start() ?? true else {
                let limit = streams?.limit ?? 0
                self.sendError(
                    DatelineError(code: .overloaded, message: "\(self.configuration.serviceName) is serving \(limit) streams, its limit: try again later or another node"),
                    correlationID: id, startedAt: startedAt, request: frame.messageType, context: context
                )
                return false
            }
            request.elementType = elementType
            self.machine.requestStarted(id, kind: .stream)
            let payload = Self.ownStorage(frame.payload, allocator: context.channel.allocator)  // a task may keep it for days
            let writer = DatelineRawStreamWriter { element in
                try await withCheckedThrowingContinuation { continuation in
                    eventLoop.execute {
                        loopBound.value.writeStreamElement(element, correlationID: id, continuation: continuation)
                    }
                }
            }
            request.task = Task {
                defer {
                    budget?.release(heldBytes)
                    streams?.end()
                }
                let result: Result<(ByteBuffer, DatelineMessageType)?, any Error>
                do {
                    try await handler(payload, requestContext, writer)
                    result = .success(nil)
                } catch {
                    result = .failure(error)
                }
                eventLoop.execute {
                    loopBound.value.completed(id, result: result)
                }
            }
        }
        if let deadline, !keepsOwnDeadline {
            request.deadlineTimer = eventLoop.scheduleTask(deadline: deadline) {
                loopBound.value.deadlinePassed(id)
            }
        }
        self.running[id] = request
        self.metrics.requestStarted()
        return true
    }

    /// `payload`, in storage of its own when it is a slice of a much larger receive buffer (a small frame that
    /// arrived behind a large one): the budget counts only the payload, so whoever keeps it must not keep the whole
    /// buffer alive.
    private static func ownStorage(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard payload.storageCapacity > 2 * payload.readableBytes + 4_096 else { return payload }
        return allocator.buffer(buffer: payload)
    }

    /// A message type the service has no handler for: Health has a built-in answer, the rest are unknown.
    private func answerWithoutRoute(_ frame: DatelineFrame, startedAt: NIODeadline, context: ChannelHandlerContext) {
        let id = frame.correlationID
        guard frame.messageType == .healthRequest else {
            self.sendError(
                DatelineError(code: .unknownMessageType, message: "\(self.configuration.serviceName) does not handle message type \(frame.messageType)"),
                correlationID: id,
                startedAt: startedAt,
                request: frame.messageType,
                context: context
            )
            return
        }
        do {
            _ = try DatelineBinaryDecoder().decode(HealthRequest.self, from: frame.payload)
        } catch {
            self.sendError(error, correlationID: id, startedAt: startedAt, request: frame.messageType, context: context)
            return
        }
        let health = HealthResponse(
            status: self.machine.state == .ready ? .serving : .draining,
            service: self.configuration.serviceName,
            version: self.configuration.version,
            uptimeSeconds: Double((NIODeadline.now() - self.startedAt).nanoseconds) / 1e9
        )
        self.send(health, type: .healthResponse, correlationID: id, startedAt: startedAt, request: .healthRequest, context: context)
    }

    /// Cancels the tasks and timers of `ids` (the state machine has already forgotten them).
    private func cancelRequests(_ ids: [UInt32]) {
        for id in ids {
            guard let request = self.takeRunning(id) else { continue }
            request.task?.cancel()
            request.deadlineTimer?.cancel()
            self.metrics.requestEnded(type: request.messageType, code: .cancelled, startedAt: request.startedAt)
        }
    }

    /// Forgets a request in flight (its reply is written, or it ended without one).
    private func takeRunning(_ id: UInt32) -> RunningRequest? {
        guard let request = self.running.removeValue(forKey: id) else { return nil }
        self.metrics.requestFinished()
        return request
    }

    /// A task finished: write its reply (nil: end of a stream) unless the request was cancelled or timed out.
    private func completed(_ id: UInt32, result: Result<(ByteBuffer, DatelineMessageType)?, any Error>) {
        guard let request = self.takeRunning(id), let context = self.context else { return }
        request.deadlineTimer?.cancel()
        guard case .reply(let closeAfter) = self.machine.requestFinished(id) else { return }
        switch result {
        case .success(.some((let payload, let type))):
            self.sendPayload(payload, type: type, correlationID: id, startedAt: request.startedAt, request: request.messageType, context: context)
        case .success(.none):
            var empty = context.channel.allocator.buffer(capacity: DatelineFrame.maximumHeaderSize)
            empty.moveWriterIndex(forwardBy: DatelineFrame.maximumHeaderSize)
            empty.moveReaderIndex(forwardBy: DatelineFrame.maximumHeaderSize)
            self.sendPayload(empty, type: request.elementType, correlationID: id, startedAt: request.startedAt, request: request.messageType, context: context)
        case .failure(let error):
            var logger = self.logger
            logger[metadataKey: DatelineLogKey.correlationID] = "\(id)"
            var wireError = self.wireError(error, logger: logger)
            if self.machine.state != .ready, wireError.code == .cancelled {
                // Ended by the server's shutdown, not by the client: tell it to come back later.
                wireError = DatelineError(code: .unavailable, message: "\(self.configuration.serviceName) is shutting down")
            }
            self.sendError(wireError, correlationID: id, startedAt: request.startedAt, request: request.messageType, context: context)
        }
        self.scheduleFlush(context: context)
        if closeAfter { self.closeAfterFlush(context: context) }
    }

    private func deadlinePassed(_ id: UInt32) {
        guard let request = self.takeRunning(id), let context = self.context else { return }
        request.task?.cancel()
        guard case .reply(let closeAfter) = self.machine.deadlinePassed(id) else { return }
        self.sendError(
            DatelineError(code: .deadlineExceeded, message: "\(request.messageType) did not complete before its deadline"),
            correlationID: id,
            startedAt: request.startedAt,
            request: request.messageType,
            context: context
        )
        self.scheduleFlush(context: context)
        if closeAfter { self.closeAfterFlush(context: context) }
    }

    private func writeStreamElement(_ payload: ByteBuffer, correlationID id: UInt32, continuation: CheckedContinuation<Void, any Error>) {
        guard let request = self.running[id], let context = self.context, self.machine.state != .closed else {
            continuation.resume(throwing: DatelineError(code: .cancelled, message: "the stream was cancelled"))
            return
        }
        do {
            let frame = try self.writer.frame(payload: payload, type: request.elementType, flags: [], correlationID: id)
            self.holdUntilFlushed(frame.readableBytes)
            context.write(self.wrapOutboundOut(frame), promise: nil)
            self.scheduleFlush(context: context)
        } catch {
            continuation.resume(throwing: error)
            return
        }
        if context.channel.isWritable {
            continuation.resume()
        } else {
            self.writabilityWaiters.append(continuation)
        }
    }

    private func resumeWriters(throwing error: DatelineError?) {
        let waiters = self.writabilityWaiters
        self.writabilityWaiters.removeAll()
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    /// What the client is told about an error a handler threw. Internal failures are logged, not leaked.
    private func wireError(_ error: any Error, logger: Logger) -> DatelineError {
        switch error {
        case let error as DatelineError:
            return error
        case is CancellationError:
            return DatelineError(code: .cancelled, message: "the request was cancelled")
        default:
            logger.error("request handler failed", metadata: [DatelineLogKey.error: "\(error)"])
            return DatelineError(code: .internal, message: "\(self.configuration.serviceName) failed to handle the request; see its log")
        }
    }

    /// Flushes what is written, then closes (a draining connection with nothing left in flight).
    private func closeAfterFlush(context: ChannelHandlerContext) {
        let channel = context.channel
        self.flushReplies(context: context)
        context.writeAndFlush(self.wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    // MARK: Writing

    private func send<Message: Encodable>(
        _ message: Message,
        type: DatelineMessageType,
        correlationID: UInt32,
        startedAt: NIODeadline? = nil,
        request: DatelineMessageType? = nil,
        context: ChannelHandlerContext
    ) {
        do {
            let payload = try DatelinePayload.encode(message, allocator: context.channel.allocator)
            self.sendPayload(payload, type: type, correlationID: correlationID, startedAt: startedAt, request: request, context: context)
        } catch {
            self.logger.error("cannot encode \(type)", metadata: [DatelineLogKey.error: "\(error)"])
        }
    }

    /// Writes a reply; `request`, with `startedAt`, is the type of the request it answers, for the metrics.
    private func sendPayload(
        _ payload: ByteBuffer,
        type: DatelineMessageType,
        correlationID: UInt32,
        startedAt: NIODeadline?,
        request: DatelineMessageType? = nil,
        context: ChannelHandlerContext
    ) {
        let serverTime = startedAt.map { UInt32(clamping: (NIODeadline.now() - $0).nanoseconds / 1000) }
        do {
            let frame = try self.writer.frame(
                payload: payload,
                type: type,
                flags: [.endStream],
                correlationID: correlationID,
                serverTimeMicroseconds: serverTime
            )
            self.holdUntilFlushed(frame.readableBytes)
            context.write(self.wrapOutboundOut(frame), promise: nil)
            self.replyWritten(correlationID: correlationID)
            self.needsFlush = true
            if let request, let startedAt { self.metrics.requestEnded(type: request, code: nil, startedAt: startedAt) }
        } catch {
            // The reply is too large for the client's limit: tell the client instead.
            self.sendError(error, correlationID: correlationID, startedAt: startedAt, request: request, context: context)
        }
    }

    private func sendError(
        _ error: DatelineError,
        correlationID: UInt32,
        startedAt: NIODeadline? = nil,
        request: DatelineMessageType? = nil,
        context: ChannelHandlerContext
    ) {
        if let request, let startedAt { self.metrics.requestEnded(type: request, code: error.code, startedAt: startedAt) }
        let serverTime = startedAt.map { UInt32(clamping: (NIODeadline.now() - $0).nanoseconds / 1000) }
        do {
            let payload = try DatelinePayload.encode(ErrorMessage(error), allocator: context.channel.allocator)
            let frame = try self.writer.frame(
                payload: payload,
                type: .error,
                flags: [.error, .endStream],
                correlationID: correlationID,
                serverTimeMicroseconds: serverTime
            )
            self.holdUntilFlushed(frame.readableBytes)
            context.write(self.wrapOutboundOut(frame), promise: nil)
            self.replyWritten(correlationID: correlationID)
            self.needsFlush = true
        } catch {
            self.logger.error("cannot send an error frame", metadata: [DatelineLogKey.error: "\(error)"])
        }
    }

    /// Sends `error` on correlation id 0, then closes the connection (the state machine is already closed).
    private func sendErrorAndClose(_ error: DatelineError, context: ChannelHandlerContext) {
        self.sendError(error, correlationID: 0, context: context)
        self.needsFlush = false
        self.closeAfterFlush(context: context)
    }

    /// A reply to a request was written: it holds its slot until the next flush's bytes reach the socket.
    private func replyWritten(correlationID: UInt32) {
        guard correlationID != 0 else { return }
        self.machine.replyQueued()
        self.unacknowledgedReplies += 1
    }

    /// Flushes, first writing an empty marker whose promise frees the slots of every reply written since the
    /// last flush once they are on the socket (writes complete in order): one promise per flush, not per reply.
    private func flushReplies(context: ChannelHandlerContext) {
        let replies = self.unacknowledgedReplies
        let bytes = self.unflushedBytes
        if replies > 0 || bytes > 0 {
            self.unacknowledgedReplies = 0
            self.unflushedBytes = 0
            let promise = context.eventLoop.makePromise(of: Void.self)
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let budget = self.budget
            promise.futureResult.whenComplete { _ in
                if replies > 0 { loopBound.value.machine.repliesLeftTheSocket(replies) }
                budget?.release(bytes)
            }
            context.write(self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
        context.flush()
    }

    /// Counts a written frame in the server's budget until it is on the socket (or the connection is gone), so that
    /// replies no client reads keep new requests out rather than pile up over many connections.
    private func holdUntilFlushed(_ bytes: Int) {
        guard let budget = self.budget else { return }
        budget.hold(bytes)
        self.unflushedBytes += bytes
    }

    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !self.flushScheduled else { return }
        self.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushScheduled = false
            handler.needsFlush = false
            if let context = handler.context { handler.flushReplies(context: context) }
        }
    }
}

/// Compares two secrets in time that depends only on their lengths, not on where they differ.
func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let left = Array(lhs.utf8)
    let right = Array(rhs.utf8)
    var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
    if left.count != right.count { difference |= 1 }
    let count = max(left.count, right.count)
    for index in 0..<count {
        let a = index < left.count ? left[index] : 0
        let b = index < right.count ? right[index] : 0
        difference |= a ^ b
    }
    return difference == 0
}
