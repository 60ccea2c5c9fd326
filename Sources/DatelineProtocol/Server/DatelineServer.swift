public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import ServiceLifecycle
import Synchronization

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
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let metrics: DatelineServerMetrics

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
        let router = self.router
        let logger = self.logger
        let metrics = self.metrics
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
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: configuration.maximumOutboundBytes / 2, high: configuration.maximumOutboundBytes))
                .childChannelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(DatelineTLSDetector(context: tls)) }
                        try channel.pipeline.syncOperations.addHandler(DatelineConnectionCounter(metrics: metrics))
                        try channel.pipeline.syncOperations.addHandler(DatelineFrameHandler(DatelineFrameDecoder(limits: configuration.limits)))
                        try channel.pipeline.syncOperations.addHandler(
                            DatelineServerConnectionHandler(
                                configuration: configuration,
                                router: router,
                                logger: logger,
                                serverStartedAt: startedAt,
                                metrics: metrics
                            )
                        )
                        self?.track(channel)
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

        // Until graceful shutdown or cancellation.
        try? await gracefulShutdown()

        logger.info("shutting down: no new connections, draining in-flight requests")
        try? await serverChannel.close()
        await self.drainConnections()
        self.listenState.withLock { $0 = .stopped }
        logger.info("stopped")
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        self.connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.connections.withLock { $0.removeValue(forKey: id) }
        }
    }

    private func drainConnections() async {
        let channels = self.connections.withLock { Array($0.values) }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = ContinuousClock.now + .nanoseconds(self.configuration.drainTimeout.nanoseconds)
        while ContinuousClock.now < deadline {
            if self.connections.withLock({ $0.isEmpty }) { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = self.connections.withLock { Array($0.values) }
        if !remaining.isEmpty {
            self.logger.warning("drain timeout: closing \(remaining.count) connections with requests still in flight")
        }
        for channel in remaining { try? await channel.close() }
    }
}
