public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A response together with how long the server spent producing it.
public struct DatelineTimedResponse<Message: DatelineMessage>: Sendable {
    /// The response.
    public var message: Message
    /// The server's handling time (the SERVER_TIME header field), if it reported one.
    public var serverTime: Duration?

    @usableFromInline
    init(message: Message, serverTime: Duration?) {
        self.message = message
        self.serverTime = serverTime
    }
}

/// One connection to a Dateline service.
///
/// Any number of tasks may send requests concurrently; they are pipelined on the one connection and their
/// responses may arrive in any order. Each request has a deadline (its own, or the configuration's default);
/// cancelling the calling task cancels the request on the server too.
///
/// ```swift
/// let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: 7401, logger: logger)
/// let pong = try await connection.send(Ping(payload: Data("hi".utf8)))
/// try await connection.close()
/// ```
public final class DatelineClientConnection: Sendable {
    /// What the server said in its Welcome.
    public let welcome: Welcome
    /// The channel; closing it fails every pending request.
    let channel: any Channel
    private let handler: NIOLoopBound<DatelineClientHandler>
    private let configuration: DatelineClientConfiguration
    private let nextCorrelationID = Atomic<UInt32>(0)

    private init(welcome: Welcome, channel: any Channel, handler: NIOLoopBound<DatelineClientHandler>, configuration: DatelineClientConfiguration) {
        self.welcome = welcome
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
    }

    /// The event loop the connection runs on.
    public var eventLoop: any EventLoop { self.channel.eventLoop }

    /// The server's address.
    public var remoteAddress: SocketAddress? { self.channel.remoteAddress }

    /// Connects, sends the preface and Hello, and waits for Welcome.
    /// - Throws: ``DatelineError``: `unavailable` when the service cannot be reached, or the server's own
    ///   error (`unauthorized`, `schemaMismatch`, `unsupportedVersion`) when it refuses the handshake.
    public static func connect(
        host: String,
        port: Int,
        configuration: DatelineClientConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "dateline.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> DatelineClientConnection {
        let tls = try configuration.tls.map { tls throws(DatelineError) in try tls.makeContext() }
        let eventLoop = eventLoopGroup.next()
        let handshake = eventLoop.makePromise(of: Welcome.self)
        let handlerBox = LockedSlot<NIOLoopBound<DatelineClientHandler>>()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(try DatelineClientTLS.handler(context: tls, host: host)) }
                        let handler = DatelineClientHandler(configuration: configuration, handshake: handshake, logger: logger)
                        try channel.pipeline.syncOperations.addHandler(DatelineFrameHandler(DatelineFrameDecoder(limits: configuration.limits)))
                        try channel.pipeline.syncOperations.addHandler(handler)
                        handlerBox.set(NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            handshake.fail(error)
            throw DatelineError(code: .unavailable, message: "cannot reach \(host):\(port): \(Self.describe(error))", cause: error)
        }
        let timeout = eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            handshake.fail(DatelineError(code: .unavailable, message: "\(host):\(port) accepted the connection but did not complete the handshake in time"))
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        let welcome: Welcome
        do {
            welcome = try await handshake.futureResult.get()
        } catch let error as DatelineError where tls != nil && error.cause.map(Self.isTLSError) == true {
            try? await channel.close()
            throw Self.tlsFailure(error, host: host, port: port)
        } catch let error as DatelineError where tls != nil && error.code == .unavailable && error.cause == nil {
            try? await channel.close()
            throw DatelineError(code: .unavailable, message: "\(error.message) during the TLS handshake with \(host):\(port) (is the service started with --tls-cert? a plain service closes a TLS client)", cause: error)
        } catch {
            try? await channel.close()
            throw error
        }
        return DatelineClientConnection(welcome: welcome, channel: channel, handler: handlerBox.get()!, configuration: configuration)
    }

    private static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    /// A failed TLS handshake, said plainly: an untrusted or misnamed certificate will not get better by retrying.
    private static func tlsFailure(_ error: DatelineError, host: String, port: Int) -> DatelineError {
        let detail = error.cause.map { "\($0)" } ?? error.message
        let message: String
        var retryable = false
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            message = "the TLS handshake with \(host):\(port) failed: its certificate is not signed by a CA this client trusts (--tls-ca)"
        } else if detail.contains("failedToValidateHostname") {
            message = "the TLS handshake with \(host):\(port) failed: its certificate does not name \(host)"
        } else if detail.contains("CERTIFICATE_REQUIRED") || detail.contains("HANDSHAKE_FAILURE") || detail.contains("BAD_CERTIFICATE") {
            message = "the TLS handshake with \(host):\(port) failed: the service requires a client certificate its CA signed (--tls-cert, --tls-key)"
        } else {
            message = "the TLS handshake with \(host):\(port) failed: \(detail) (a service without --tls-cert speaks plain TCP)"
            retryable = true
        }
        return DatelineError(code: .unavailable, message: message, isRetryable: retryable, cause: error)
    }

    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if error is ChannelError, case ChannelError.connectTimeout = error as! ChannelError { return "connection timed out" }
        return text
    }

    private func makeCorrelationID() -> UInt32 {
        while true {
            let id = self.nextCorrelationID.wrappingAdd(1, ordering: .relaxed).newValue
            if id != 0 { return id }
        }
    }

    /// Sends a request and waits for its response.
    /// - Parameters:
    ///   - request: The request.
    ///   - timeout: How long to wait; default: the configuration's `requestTimeout`. The server sees it too.
    /// - Throws: ``DatelineError``: the server's error, `deadlineExceeded`, `cancelled`, or `unavailable`
    ///   when the connection is lost.
    @inlinable
    public func send<Request: DatelineRequest>(_ request: Request, timeout: Duration? = nil) async throws -> Request.Response {
        try await self.sendTimed(request, timeout: timeout).message
    }

    /// The requests waiting locally for an in-flight slot, ended ones not yet dropped included (for tests).
    var queuedRequests: Int {
        get async throws {
            let handler = self.handler
            return try await handler.eventLoop.submit { handler.value.queuedRequests }.get()
        }
    }

    /// Sends a request and returns its response with the server's handling time.
    @inlinable
    public func sendTimed<Request: DatelineRequest>(
        _ request: Request,
        timeout: Duration? = nil
    ) async throws -> DatelineTimedResponse<Request.Response> {
        // Generic only at its two ends (encode, decode), inlined into the caller and specialised there: the frame's
        // way through the connection is the same for every message, and unspecialised generic code would look up
        // the metadata of its generic types at run time on every request.
        let payload = try DatelinePayload.encode(request)
        let frame = try await self.exchange(payload, type: Request.messageType, timeout: timeout)
        return try Self.decodeResponse(Request.Response.self, from: frame)
    }

    /// Sends an encoded request and waits for its response frame.
    @usableFromInline
    func exchange(_ payload: ByteBuffer, type: DatelineMessageType, timeout: Duration?) async throws -> DatelineFrame {
        let id = self.makeCorrelationID()
        let promise = self.eventLoop.makePromise(of: DatelineFrame.self)
        let handler = self.handler
        let timeout = timeout ?? self.configuration.requestTimeout
        // The send and the Cancel go to the event loop in that order, whichever of the two closures runs first
        // (a task cancelled before this point runs `onCancel` first): a request cancelled before it was sent is
        // never sent.
        let sending = Mutex<(sent: Bool, cancelled: Bool)>((false, false))
        return try await withTaskCancellationHandler {
            let send = sending.withLock { state in
                guard !state.cancelled else { return false }
                state.sent = true
                handler.eventLoop.execute {
                    handler.value.sendUnary(payload: payload, type: type, correlationID: id, timeout: timeout, promise: promise)
                }
                return true
            }
            guard send else {
                let error = DatelineError(code: .cancelled, message: "the request was cancelled before it was sent")
                promise.fail(error)
                throw error
            }
            return try await promise.futureResult.get()
        } onCancel: {
            sending.withLock { state in
                state.cancelled = true
                guard state.sent else { return }
                handler.eventLoop.execute {
                    handler.value.cancel(id, error: DatelineError(code: .cancelled, message: "the request was cancelled"))
                }
            }
        }
    }

    /// Sends a request from the event loop's world: the future completes on the connection's event loop.
    ///
    /// The cheapest way to drive many requests (no task switch per response); used by the benchmarks.
    @inlinable
    public func sendRequest<Request: DatelineRequest>(
        _ request: Request,
        timeout: Duration? = nil
    ) -> EventLoopFuture<DatelineTimedResponse<Request.Response>> {
        let promise = self.eventLoop.makePromise(of: DatelineTimedResponse<Request.Response>.self)
        do {
            let payload = try DatelinePayload.encode(request)
            self.exchange(payload, type: Request.messageType, timeout: timeout) { result in
                switch result {
                case .success(let frame):
                    do {
                        promise.succeed(try Self.decodeResponse(Request.Response.self, from: frame))
                    } catch {
                        promise.fail(error)
                    }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    /// Sends an encoded request; `callback` gets the response frame, or the error, on the connection's event loop.
    @usableFromInline
    func exchange(
        _ payload: ByteBuffer,
        type: DatelineMessageType,
        timeout: Duration?,
        callback: @escaping @Sendable (Result<DatelineFrame, any Error>) -> Void
    ) {
        let id = self.makeCorrelationID()
        let timeout = timeout ?? self.configuration.requestTimeout
        let handler = self.handler
        if handler.eventLoop.inEventLoop {
            handler.value.sendUnary(payload: payload, type: type, correlationID: id, timeout: timeout, callback: callback)
        } else {
            handler.eventLoop.execute {
                handler.value.sendUnary(payload: payload, type: type, correlationID: id, timeout: timeout, callback: callback)
            }
        }
    }

    /// Sends a streaming request; the returned sequence yields its elements as they arrive.
    ///
    /// When the consumer falls behind, the connection stops reading from the socket (so the server's writes
    /// slow down) until it catches up: at most four elements wait decoded (a follower's element is a batch of up
    /// to 256 articles with their extraction, a few MB decoded). Dropping the sequence cancels the request on the
    /// server.
    public func stream<Request: DatelineStreamingRequest>(
        _ request: Request,
        timeout: Duration? = nil
    ) throws -> DatelineResponseStream<Request.Element> {
        let payload = try DatelinePayload.encode(request)
        let id = self.makeCorrelationID()
        let handler = self.handler
        let produced = DatelineClientHandler.StreamProducer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 4),
            finishOnDeinit: true,
            delegate: DatelineClientHandler.StreamDelegate(handler: handler, id: id)
        )
        let source = produced.source
        handler.eventLoop.execute {
            handler.value.sendStreaming(payload: payload, type: Request.messageType, correlationID: id, timeout: timeout, source: source)
        }
        return DatelineResponseStream(frames: produced.sequence)
    }

    /// Sends a Ping with `payload` and returns the round-trip time.
    public func ping(payload: Data = Data(), timeout: Duration? = nil) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let pong = try await self.send(Ping(payload: payload), timeout: timeout)
        guard pong.payload == payload else {
            throw DatelineError(code: .internal, message: "Pong payload differs from the Ping's")
        }
        return clock.now - start
    }

    /// Closes the connection; pending requests fail with `unavailable`.
    public func close() async throws {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.close() }
        try? await self.channel.closeFuture.get()
    }

    @inlinable
    static func decodeResponse<Message: DatelineMessage>(_ type: Message.Type, from frame: DatelineFrame) throws -> DatelineTimedResponse<Message> {
        guard frame.messageType == Message.messageType else {
            throw DatelineError(code: .decodeFailed, message: "expected a \(Message.messageType) response, got \(frame.messageType)")
        }
        let message = try DatelineBinaryDecoder().decode(Message.self, from: frame.payload)
        return DatelineTimedResponse(message: message, serverTime: frame.serverTimeMicroseconds.map { .microseconds($0) })
    }
}

/// The elements of a streamed response, decoded as they are consumed.
public struct DatelineResponseStream<Element: DatelineMessage>: AsyncSequence, Sendable {
    let frames: DatelineClientHandler.StreamProducer

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(frames: self.frames.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var frames: DatelineClientHandler.StreamProducer.AsyncIterator

        public mutating func next() async throws -> Element? {
            guard let frame = try await self.frames.next() else { return nil }
            return try DatelineClientConnection.decodeResponse(Element.self, from: frame).message
        }
    }
}

/// A tiny lock-protected slot, to carry the handler out of the channel initializer.
final class LockedSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    init() {}
    func set(_ newValue: Value) { self.value.withLock { $0 = newValue } }
    func get() -> Value? { self.value.withLock { $0 } }
}
