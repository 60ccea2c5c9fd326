public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import ServiceLifecycle
import Synchronization
import CoreMetrics

/// A Dateline protocol server: listens, runs one ``DatelineServerConnectionHandler`` per connection, and on
/// graceful shutdown stops accepting, sends GoAway, lets in-flight requests finish (up to the drain timeout),
/// then closes.
///
/// Run it in a `ServiceGroup`, or call ``run()`` in a task and cancel it.
public final class DatelineServer: Service, Sendable {
    private enum ListenState {
        case idle
        case starting([CheckedContinuation<SocketAddress, any Error>])
        case listening(SocketAddress)
        case stopped
    }

    private let configuration: DatelineServerConfiguration
    private let router: DatelineRouter
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let listenState = Mutex(ListenState.idle)
    private let connections = Mutex(Connections())
    private let metrics: DatelineServerMetrics
    private let budget: DatelineRequestMemoryBudget
    private let streams: DatelineStreamLimit

    /// The open connections, and which of them are being refused (over ``DatelineServerConfiguration/maximumConnections``).
    private struct Connections {
        var channels: [ObjectIdentifier: (channel: any Channel, refused: Bool)] = [:]
        var refused = 0
        var served: Int { self.channels.count - self.refused }
    }

    /// How many connections beyond the limit are told so before closing; past that they are closed unanswered.
    static let refusalsAnsweredAtOnce = 64

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: Address, limits, token, compression and timeouts.
    ///   - router: The service's request handlers.
    ///   - eventLoopGroup: Where connections run. Default: NIO's shared multi-threaded group.
    ///   - logger: The logger for connection events.
    public init(
        configuration: DatelineServerConfiguration,
        router: DatelineRouter,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.router = router
        self.eventLoopGroup = eventLoopGroup
        self.metrics = DatelineServerMetrics(service: configuration.serviceName, factory: configuration.resolvedMetricsFactory)
        self.budget = DatelineRequestMemoryBudget(capacity: configuration.maximumRequestMemory)
        self.streams = DatelineStreamLimit(limit: configuration.maximumStreams)
        var logger = logger
        logger[metadataKey: DatelineLogKey.service] = "\(configuration.serviceName)"
        self.logger = logger
    }

    /// Waits until the server listens and returns its address (with the real port when configured with 0).
    /// - Throws: the bind error, or `unavailable` if the server already stopped.
    public func listeningAddress() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            self.listenState.withLock { state in
                switch state {
                case .idle:
                    state = .starting([continuation])
                case .starting(var waiters):
                    waiters.append(continuation)
                    state = .starting(waiters)
                case .listening(let address):
                    continuation.resume(returning: address)
                case .stopped:
                    continuation.resume(throwing: DatelineError(code: .unavailable, message: "\(self.configuration.serviceName) has stopped"))
                }
            }
        }
    }

    private func publish(_ result: Result<SocketAddress, any Error>) {
        let waiters: [CheckedContinuation<SocketAddress, any Error>] = self.listenState.withLock { state in
            var waiters: [CheckedContinuation<SocketAddress, any Error>] = []
            if case .starting(let pending) = state { waiters = pending }
            switch result {
            case .success(let address): state = .listening(address)
            case .failure: state = .stopped
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Listens until graceful shutdown (or task cancellation), then drains and returns.
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        let startedAt = NIODeadline.now()
        let configuration = self.configuration
        let logger = self.logger
        let metrics = self.metrics
        let budget = self.budget
        let serverChannel: any Channel
        let tls: NIOSSLContext?
        do {
            tls = try configuration.tls?.makeContext()
        } catch {
            self.publish(.failure(error))
            throw error
        }
        do {
            serverChannel = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: configuration.maximumOutboundBytes / 2, high: configuration.maximumOutboundBytes))
                .childChannelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let self, let admission = self.admit(channel) else {
                            metrics.connectionsRefused.increment()
                            channel.close(promise: nil)
                            return
                        }
                        try self.addHandlers(to: channel, tls: tls, refusal: admission, startedAt: startedAt)
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            let failure = DatelineError(
                code: .unavailable,
                message: "\(configuration.serviceName) cannot listen on \(configuration.host):\(configuration.port): \(error)",
                cause: error
            )
            self.publish(.failure(failure))
            throw failure
        }
        let address = serverChannel.localAddress!
        self.publish(.success(address))
        logger.info("listening", metadata: ["dateline.address": "\(address)"])

        // Until graceful shutdown or cancellation, sampling the request memory for its gauge.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [budget] in
                while !Task.isCancelled {
                    metrics.requestMemory.set(budget.bytesInUse)
                    metrics.requestMemoryWaiting.set(budget.waitingConnections)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }

        logger.info("shutting down: no new connections, draining in-flight requests")
        try? await serverChannel.close()
        await self.drainConnections()
        self.listenState.withLock { $0 = .stopped }
        logger.info("stopped")
    }

    /// A connection's pipeline: TLS (when configured), the connection counter, the frame handler, the connection
    /// handler (which answers `refusal` and closes, when set).
    private func addHandlers(to channel: any Channel, tls: NIOSSLContext?, refusal: DatelineError?, startedAt: NIODeadline) throws {
        let pipeline = channel.pipeline.syncOperations
        if let tls { try pipeline.addHandler(DatelineTLSDetector(context: tls)) }
        try pipeline.addHandler(DatelineConnectionCounter(metrics: self.metrics))
        let decoder = DatelineFrameDecoder(limits: self.configuration.limits, budget: self.budget)
        try pipeline.addHandler(DatelineFrameHandler(decoder, budget: self.budget, frameReceiveTimeout: self.configuration.frameReceiveTimeout))
        try pipeline.addHandler(
            DatelineServerConnectionHandler(
                configuration: self.configuration,
                router: self.router,
                logger: self.logger,
                serverStartedAt: startedAt,
                metrics: self.metrics,
                budget: self.budget,
                streams: self.streams,
                refusal: refusal
            )
        )
    }

    /// Tracks a new connection. Returns `.some(nil)` to serve it, `.some(error)` to answer it with `error` and close
    /// (over the connection limit), nil to close it at once (past the refusals answered at once too).
    private func admit(_ channel: any Channel) -> DatelineError?? {
        let id = ObjectIdentifier(channel)
        let limit = self.configuration.maximumConnections
        let admitted: (refused: Bool, first: Bool)? = self.connections.withLock { connections in
            let refused = connections.served >= limit
            if refused {
                guard connections.refused < Self.refusalsAnsweredAtOnce else { return nil }
                connections.refused += 1
            }
            connections.channels[id] = (channel, refused)
            return (refused, connections.refused == 1)
        }
        guard let (refused, first) = admitted else { return nil }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.connections.withLock { connections in
                if connections.channels.removeValue(forKey: id)?.refused == true { connections.refused -= 1 }
            }
        }
        guard refused else { return .some(nil) }
        self.metrics.connectionsRefused.increment()
        // Once per burst of refusals, not once per connection: a flood must not flood the log too.
        guard first else {
            return DatelineError(code: .overloaded, message: "\(self.configuration.serviceName) is serving \(limit) connections, its limit: try again later or another node")
        }
        self.logger.warning(
            "refusing a connection: \(limit) are open, the limit (--max-connections)",
            metadata: ["dateline.peer": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"]
        )
        return DatelineError(
            code: .overloaded,
            message: "\(self.configuration.serviceName) is serving \(limit) connections, its limit: try again later or another node"
        )
    }

    /// The bytes of requests held now, over all connections (``DatelineRequestMemoryBudget``).
    public var requestMemoryInUse: Int { self.budget.bytesInUse }

    /// The streams (subscriptions, backups) running now.
    public var runningStreams: Int { self.streams.count }

    /// The connections whose next frame waits for request memory now.
    public var connectionsWaitingForRequestMemory: Int { self.budget.waitingConnections }

    private func drainConnections() async {
        let channels = self.connections.withLock { $0.channels.values.map(\.channel) }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = ContinuousClock.now + .nanoseconds(self.configuration.drainTimeout.nanoseconds)
        while ContinuousClock.now < deadline {
            if self.connections.withLock({ $0.channels.isEmpty }) { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = self.connections.withLock { $0.channels.values.map(\.channel) }
        if !remaining.isEmpty {
            self.logger.warning("drain timeout: closing \(remaining.count) connections with requests still in flight")
        }
        for channel in remaining { try? await channel.close() }
    }
}
