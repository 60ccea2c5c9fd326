/// The protocol state of one server connection: events in, actions out, no I/O.
///
/// ``DatelineServerConnectionHandler`` feeds it what happens on the channel (a preface, Hello, a request
/// frame, a finished handler, a deadline, a reply on the socket, a shutdown) and carries out the action it
/// returns (write a frame, start a handler, cancel one, close). Keeping the decisions here, apart from NIO,
/// makes every rule of the handshake, the in-flight limit, cancellation, deadlines and draining testable
/// without sockets or clocks (postgres-nio's `ConnectionStateMachine` is the model).
struct DatelineServerConnectionStateMachine {
    enum State: Equatable {
        case awaitingPreface
        case awaitingHello
        case ready
        case draining
        case closed
    }

    /// What kind of work a request in flight is.
    enum RequestKind: Equatable {
        case unary
        case stream
    }

    /// The handshake's outcome.
    enum HelloAction: Equatable {
        /// Send Welcome with these negotiated values; the connection is ready.
        case welcome(maximumInFlight: Int, peerMaximumFrameSize: Int?)
        /// Send the error on id 0 and close.
        case fail(DatelineError)
    }

    /// What to do with a frame received after the handshake.
    enum FrameAction: Equatable {
        /// Echo the payload as a Pong (inline).
        case answerPing
        /// Cancel the request with this id (its task and timer); nothing is sent.
        case cancel(UInt32)
        /// Nothing to do (a Cancel for an id not in flight).
        case ignore
        /// Answer this request with an error on its id; the connection stays.
        case refuse(DatelineError)
        /// Run the request: it is registered as in flight (register the kind with ``requestStarted``).
        case dispatch
        /// Send the error on id 0 and close.
        case failConnection(DatelineError)
    }

    /// What to do when a request's handler finished, or its deadline passed.
    enum CompletionAction: Equatable {
        /// Write the reply (or the error), then close if ``shouldCloseAfterReply``.
        case reply(closeAfter: Bool)
        /// The request was already answered (cancelled, timed out, or the connection closed): drop the result.
        case discard
    }

    /// What a graceful shutdown does to this connection.
    enum QuiesceAction: Equatable {
        /// Not ready yet (or already closed): close now.
        case close
        /// Send GoAway with the last accepted id, cancel the streams (they never end by themselves), and close
        /// once nothing is in flight (`closeNow` when nothing is).
        case goAway(lastCorrelationID: UInt32, cancelStreams: [UInt32], closeNow: Bool)
        case ignore
    }

    /// What the handshake timer does.
    enum HandshakeTimeoutAction: Equatable {
        /// No preface came: close without a frame (the peer may not speak Dateline).
        case closeSilently
        /// The preface came but no Hello: `UNAUTHORIZED` on id 0, then close.
        case fail(DatelineError)
        case ignore
    }

    private(set) var state: State = .awaitingPreface
    private var inFlight: [UInt32: RequestKind] = [:]
    /// Replies written but not yet on the socket: they keep their requests' slots.
    private(set) var repliesInTransit = 0
    private(set) var maximumInFlight: Int
    private(set) var lastCorrelationID: UInt32 = 0
    let minimumFrameSize: UInt32

    init(maximumInFlight: Int, minimumFrameSize: UInt32 = DatelineFrame.minimumMaximumFrameSize) {
        self.maximumInFlight = maximumInFlight
        self.minimumFrameSize = minimumFrameSize
    }

    /// Requests in flight (started and not yet answered).
    var inFlightCount: Int { self.inFlight.count }

    func kind(of id: UInt32) -> RequestKind? { self.inFlight[id] }

    // MARK: Handshake

    /// The peer's preface arrived: the server answers with its own in any case; a version it does not speak
    /// fails the connection.
    mutating func prefaceReceived(version: UInt16, supported: UInt16 = DatelinePreface.currentVersion) -> DatelineError? {
        guard self.state == .awaitingPreface else { return .badFrame("a second preface") }
        guard version == supported else {
            self.state = .closed
            return DatelineError(code: .unsupportedVersion, message: "client speaks protocol version \(version); this server speaks version \(supported)")
        }
        self.state = .awaitingHello
        return nil
    }

    /// A frame arrived before the preface: always fatal.
    mutating func frameBeforePreface() -> DatelineError {
        self.state = .closed
        return .badFrame("frame before the preface")
    }

    /// The first frame after the preface. `hello` is its decoded Hello (or why it is not one); the checks run in
    /// SPEC section 7's order.
    mutating func helloReceived(
        _ hello: Result<Hello, DatelineError>,
        token: String?,
        rejectsSchemaMismatch: Bool,
        serverName: String
    ) -> HelloAction {
        let action = self.checkHello(hello, token: token, rejectsSchemaMismatch: rejectsSchemaMismatch, serverName: serverName)
        switch action {
        case .welcome(let maximumInFlight, _):
            self.maximumInFlight = maximumInFlight
            self.state = .ready
        case .fail:
            self.state = .closed
        }
        return action
    }

    private func checkHello(_ result: Result<Hello, DatelineError>, token: String?, rejectsSchemaMismatch: Bool, serverName: String) -> HelloAction {
        let hello: Hello
        switch result {
        case .failure(let error): return .fail(error)
        case .success(let value): hello = value
        }
        if hello.protocolVersion != UInt32(DatelinePreface.currentVersion) {
            return .fail(DatelineError(code: .unsupportedVersion, message: "Hello asks for protocol version \(hello.protocolVersion); this server speaks \(DatelinePreface.currentVersion)"))
        }
        if let token, !constantTimeEquals(hello.token ?? "", token) {
            return .fail(DatelineError(code: .unauthorized, message: "missing or wrong token"))
        }
        if rejectsSchemaMismatch, hello.schemaFingerprint != DatelineSchema.fingerprint {
            return .fail(DatelineError(
                code: .schemaMismatch,
                message: "client \(hello.clientName) was built with message schema \(hello.schemaFingerprint); this server (\(serverName)) has \(DatelineSchema.fingerprint): rebuild one of them from the same protocol/dateline.proto"
            ))
        }
        if hello.maximumFrameSize != 0 && hello.maximumFrameSize < self.minimumFrameSize {
            return .fail(DatelineError(
                code: .invalidArgument,
                message: "Hello.maximum_frame_size \(hello.maximumFrameSize) is below the minimum of \(self.minimumFrameSize) bytes (0 means the default, 16 MiB)"
            ))
        }
        let inFlight = hello.maximumInFlight > 0 ? min(self.maximumInFlight, Int(hello.maximumInFlight)) : self.maximumInFlight
        return .welcome(maximumInFlight: inFlight, peerMaximumFrameSize: hello.maximumFrameSize > 0 ? Int(hello.maximumFrameSize) : nil)
    }

    /// The handshake timer fired.
    mutating func handshakeTimedOut() -> HandshakeTimeoutAction {
        switch self.state {
        case .awaitingPreface:
            self.state = .closed
            return .closeSilently
        case .awaitingHello:
            self.state = .closed
            return .fail(DatelineError(code: .unauthorized, message: "handshake not completed in time"))
        default:
            return .ignore
        }
    }

    // MARK: Requests

    /// A frame after the handshake. `hasRoute` says whether the service handles `type` (Health always counts).
    mutating func frameReceived(id: UInt32, type: DatelineMessageType, hasErrorFlag: Bool, serviceName: String) -> FrameAction {
        guard self.state == .ready || self.state == .draining else { return .ignore }
        // Id 0 belongs to the connection, and the server's own message types never come from a client.
        guard id != 0 else { return self.failConnection(.badFrame("\(type) on correlation id 0: requests must have a non-zero id")) }
        if type == .hello { return self.failConnection(.badFrame("Hello was already received on this connection")) }
        if [.welcome, .pong, .goAway, .error].contains(type) || hasErrorFlag {
            return self.failConnection(.badFrame("a client must not send \(type)\(hasErrorFlag ? " (or error frames)" : "")"))
        }
        switch type {
        case .ping:
            return .answerPing
        case .cancel:
            return self.inFlight.removeValue(forKey: id) == nil ? .ignore : .cancel(id)
        default:
            break
        }
        guard self.inFlight[id] == nil else { return self.failConnection(.badFrame("correlation id \(id) is already in flight")) }
        // While draining, only health checks are still answered (they report `draining`).
        guard self.state == .ready || type == .healthRequest else {
            return .refuse(DatelineError(code: .unavailable, message: "\(serviceName) is shutting down"))
        }
        guard self.inFlight.count + self.repliesInTransit < self.maximumInFlight else {
            return .refuse(DatelineError(code: .overloaded, message: "more than \(self.maximumInFlight) requests in flight on one connection"))
        }
        self.lastCorrelationID = max(self.lastCorrelationID, id)
        return .dispatch
    }

    /// A dispatched request runs as a task (answered later through ``requestFinished(_:)``).
    mutating func requestStarted(_ id: UInt32, kind: RequestKind) {
        self.inFlight[id] = kind
    }

    /// A request's handler finished.
    mutating func requestFinished(_ id: UInt32) -> CompletionAction {
        guard self.state != .closed, self.inFlight.removeValue(forKey: id) != nil else { return .discard }
        return .reply(closeAfter: self.closesWhenIdle())
    }

    /// A request's deadline passed: it is answered `DEADLINE_EXCEEDED` now and its task cancelled.
    mutating func deadlinePassed(_ id: UInt32) -> CompletionAction {
        self.requestFinished(id)
    }

    /// Whether, after a Cancel, the draining connection has nothing left and closes.
    mutating func cancelled() -> Bool { self.closesWhenIdle() }

    private mutating func closesWhenIdle() -> Bool {
        guard self.state == .draining, self.inFlight.isEmpty else { return false }
        self.state = .closed
        return true
    }

    /// A reply to a request was written (it holds its slot until ``repliesLeftTheSocket(_:)``).
    mutating func replyQueued() { self.repliesInTransit += 1 }

    /// `count` replies' bytes reached the socket (or their write failed): their slots are free.
    mutating func repliesLeftTheSocket(_ count: Int) { self.repliesInTransit = max(0, self.repliesInTransit - count) }

    // MARK: Shutdown

    /// The server is shutting down gracefully.
    mutating func quiesce() -> QuiesceAction {
        switch self.state {
        case .awaitingPreface, .awaitingHello:
            self.state = .closed
            return .close
        case .ready:
            self.state = .draining
            let streams = self.inFlight.filter { $0.value == .stream }.map(\.key).sorted()
            return .goAway(lastCorrelationID: self.lastCorrelationID, cancelStreams: streams, closeNow: self.closesWhenIdle())
        case .draining, .closed:
            return .ignore
        }
    }

    /// The connection failed or is being failed: nothing more is sent. Returns the requests to cancel.
    mutating func failConnection(_ error: DatelineError) -> FrameAction {
        self.state = .closed
        return .failConnection(error)
    }

    /// The channel went inactive (or a fatal error closes it): every request in flight is cancelled.
    mutating func closed() -> [UInt32] {
        self.state = .closed
        defer { self.inFlight.removeAll() }
        return self.inFlight.keys.sorted()
    }

    /// The client read none of its replies for the stalled-reader timeout: GoAway and close.
    mutating func stalledReader() -> (lastCorrelationID: UInt32, cancel: [UInt32])? {
        guard self.state != .closed else { return nil }
        return (self.lastCorrelationID, self.closed())
    }
}
