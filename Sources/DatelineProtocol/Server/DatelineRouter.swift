public import Logging
public import NIOCore

/// What a request handler knows about the request it is answering.
public struct DatelineRequestContext: Sendable {
    /// The request's correlation id on its connection.
    public let correlationID: UInt32
    /// When the client stops waiting, if it said (the DEADLINE header field).
    public let deadline: NIODeadline?
    /// A logger with the request's metadata attached.
    public let logger: Logger
    /// The client's name from its Hello.
    public let clientName: String
}

/// Who keeps a unary request's deadline.
public enum DatelineDeadlineHandling: Sendable, Hashable {
    /// At the deadline the server answers `DEADLINE_EXCEEDED` and cancels the handler's task. The default.
    case cancelAtDeadline
    /// The handler keeps ``DatelineRequestContext/deadline`` itself: the server neither answers for it nor
    /// cancels it at the deadline, so a request whose work has durable effects once started (an ingest's
    /// append) completes and says what happened. Cancel and a closed connection still cancel the task.
    case handlerEnforced
}

/// Maps message types to the service's handlers. Build one, then hand it to ``DatelineServer``.
///
/// Ping, Cancel and the handshake are handled by the connection itself; Health has a built-in answer
/// unless the service registers its own.
public struct DatelineRouter: Sendable {
    enum Route: Sendable {
        /// Runs in a task; the reply is written when it returns.
        case unary(responseType: DatelineMessageType, deadline: DatelineDeadlineHandling, handler: @Sendable (ByteBuffer, DatelineRequestContext) async throws -> ByteBuffer)
        /// Runs on the connection's event loop, inline: for cheap, non-blocking work only.
        case eventLoop(responseType: DatelineMessageType, handler: @Sendable (ByteBuffer, DatelineRequestContext) throws -> ByteBuffer)
        /// Runs in a task that writes elements through a writer; the stream ends when it returns.
        case stream(elementType: DatelineMessageType, handler: @Sendable (ByteBuffer, DatelineRequestContext, DatelineRawStreamWriter) async throws -> Void)
    }

    private(set) var routes: [DatelineMessageType: Route] = [:]

    /// Creates an empty router.
    public init() {}

    /// Handles `Request` with an async function, run as its own task (cancelled on Cancel, on a closed
    /// connection, and at the deadline unless `deadline` is ``DatelineDeadlineHandling/handlerEnforced``).
    public mutating func on<Request: DatelineRequest>(
        _ type: Request.Type,
        deadline: DatelineDeadlineHandling = .cancelAtDeadline,
        _ handler: @escaping @Sendable (Request, DatelineRequestContext) async throws -> Request.Response
    ) {
        self.routes[Request.messageType] = .unary(responseType: Request.Response.messageType, deadline: deadline) { payload, context in
            let request = try DatelineBinaryDecoder().decode(Request.self, from: payload)
            return try DatelinePayload.encode(try await handler(request, context))
        }
    }

    /// Handles `Request` inline on the connection's event loop: the fastest path, for work that never blocks
    /// (a lookup in memory, a counter).
    public mutating func onEventLoop<Request: DatelineRequest>(
        _ type: Request.Type,
        _ handler: @escaping @Sendable (Request, DatelineRequestContext) throws -> Request.Response
    ) {
        self.routes[Request.messageType] = .eventLoop(responseType: Request.Response.messageType) { payload, context in
            let request = try DatelineBinaryDecoder().decode(Request.self, from: payload)
            return try DatelinePayload.encode(try handler(request, context))
        }
    }

    /// Handles `Request` with a stream of `Request.Element` messages; the stream ends (END_STREAM) when the
    /// handler returns, or with an error frame when it throws.
    public mutating func onStream<Request: DatelineStreamingRequest>(
        _ type: Request.Type,
        _ handler: @escaping @Sendable (Request, DatelineStreamWriter<Request.Element>, DatelineRequestContext) async throws -> Void
    ) {
        self.routes[Request.messageType] = .stream(elementType: Request.Element.messageType) { payload, context, raw in
            let request = try DatelineBinaryDecoder().decode(Request.self, from: payload)
            try await handler(request, DatelineStreamWriter(raw: raw), context)
        }
    }

    func route(for type: DatelineMessageType) -> Route? { self.routes[type] }
}

/// Writes the elements of a streamed response. `write` suspends while the connection's outbound buffer is
/// above its high-water mark, so a slow reader slows its own stream and never grows the server's memory.
public struct DatelineStreamWriter<Element: DatelineMessage>: Sendable {
    let raw: DatelineRawStreamWriter

    /// Sends one element.
    /// - Throws: ``DatelineError`` `cancelled` when the client cancelled or went away.
    public func write(_ element: Element) async throws {
        try await self.raw.write(try DatelinePayload.encode(element))
    }

    /// Sends one element that the caller has already encoded (e.g. ``LogBatch/encode(records:endOffset:epoch:)``).
    /// The bytes must be a valid encoding of `Element`.
    public func write(encoded payload: ByteBuffer) async throws {
        try await self.raw.write(payload)
    }
}

/// The untyped writer behind ``DatelineStreamWriter``: bytes of already-encoded elements.
public struct DatelineRawStreamWriter: Sendable {
    let send: @Sendable (ByteBuffer) async throws -> Void

    /// Sends one encoded element (from ``DatelinePayload/encode(_:allocator:)``).
    public func write(_ payload: ByteBuffer) async throws {
        try await self.send(payload)
    }
}
