public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// Where a ``DatelineMetricsEndpoint`` listens, and how it treats its clients.
public struct DatelineMetricsEndpointConfiguration: Sendable {
    /// The address to listen on. Default: `127.0.0.1` (loopback: metrics are not for the world).
    public var host: String
    /// The port to listen on; 0 picks a free one. Default: 0.
    public var port: Int
    /// How long a connection may stay idle before it is closed. Default: 60 s.
    public var idleTimeout: TimeAmount
    /// The most connections served at once; more are closed on arrival. Default: 64.
    public var maximumConnections: Int

    /// Creates a configuration; see each property for its default.
    public init(host: String = "127.0.0.1", port: Int = 0, idleTimeout: TimeAmount = .seconds(60), maximumConnections: Int = 64) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }
}

/// The one small HTTP endpoint of a Dateline service: `GET /metrics` answers the Prometheus text format
/// (version 0.0.4) with everything in `registry` and the process's own figures; `GET /` says where the metrics
/// are; any other path is 404 and any other method 405. Request bodies are discarded as they arrive, never held.
///
/// Before each scrape it calls `refresh`, so that figures a service keeps for itself (log size, follower lag)
/// are read when they are asked for rather than on every request that changes them.
///
/// Run it in a `ServiceGroup` beside the service's ``DatelineServer``; it stops on graceful shutdown.
public final class DatelineMetricsEndpoint: Service, Sendable {
    private enum ListenState {
        case idle
        case starting([CheckedContinuation<SocketAddress, any Error>])
        case listening(SocketAddress)
        case stopped
    }

    private let configuration: DatelineMetricsEndpointConfiguration
    private let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () -> Void
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let listenState = Mutex(ListenState.idle)
    private let openConnections = Atomic<Int>(0)

    /// Creates an endpoint.
    /// - Parameters:
    ///   - configuration: Address, idle timeout and connection limit.
    ///   - registry: The registry the service's metrics factory writes to.
    ///   - refresh: Called before each scrape to bring figures kept elsewhere into the registry.
    ///   - eventLoopGroup: Where connections run. Default: NIO's shared multi-threaded group.
    ///   - logger: The logger for the endpoint's events.
    public init(
        configuration: DatelineMetricsEndpointConfiguration,
        registry: PrometheusCollectorRegistry,
        refresh: @escaping @Sendable () -> Void = {},
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.registry = registry
        self.refresh = refresh
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The body of a scrape: the registry's metrics, then the process's.
    public func exposition() -> [UInt8] {
        self.refresh()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        self.registry.emit(into: &buffer)
        if let sample = ProcessMetrics.sample() { ProcessMetrics.write(sample, into: &buffer) }
        return buffer
    }

    /// Waits until the endpoint listens and returns its address (with the real port when configured with 0).
    /// - Throws: the bind error, or when the endpoint already stopped.
    public func listeningAddress() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            self.listenState.withLock { state in
                switch state {
                case .idle: state = .starting([continuation])
                case .starting(var waiters):
                    waiters.append(continuation)
                    state = .starting(waiters)
                case .listening(let address): continuation.resume(returning: address)
                case .stopped: continuation.resume(throwing: MetricsEndpointError(message: "the metrics endpoint has stopped"))
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

    /// Listens until graceful shutdown (or cancellation), then closes.
    /// - Throws: ``MetricsEndpointError`` when the address cannot be bound.
    public func run() async throws {
        let configuration = self.configuration
        let serverChannel: any Channel
        do {
            serverChannel = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [weak self] channel in
                    guard let self else { return channel.close() }
                    return channel.eventLoop.makeCompletedFuture {
                        try self.configure(channel)
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            let failure = MetricsEndpointError(message: "the metrics endpoint cannot listen on \(configuration.host):\(configuration.port): \(error)")
            self.publish(.failure(failure))
            throw failure
        }
        let address = serverChannel.localAddress!
        self.publish(.success(address))
        self.logger.info("metrics endpoint listening", metadata: ["dateline.metrics.address": "\(address)"])
        try? await gracefulShutdown()
        try? await serverChannel.close()
        self.listenState.withLock { $0 = .stopped }
    }

    private func configure(_ channel: any Channel) throws {
        let open = self.openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { [weak self] _ in _ = self?.openConnections.wrappingSubtract(1, ordering: .relaxed) }
        guard open <= self.configuration.maximumConnections else {
            channel.close(promise: nil)
            return
        }
        let pipeline = channel.pipeline.syncOperations
        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
        try pipeline.addHandler(IdleStateHandler(allTimeout: self.configuration.idleTimeout))
        try pipeline.addHandler(MetricsHTTPHandler(exposition: { [weak self] in self?.exposition() ?? [] }))
    }
}

/// A metrics endpoint that cannot start.
public struct MetricsEndpointError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for the operator.
    public var message: String
    public var description: String { self.message }
}

/// Answers one HTTP/1.1 request at a time (NIO's pipelining handler orders them) from the exposition.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exposition: @Sendable () -> [UInt8]
    private var request: HTTPRequestHead?

    init(exposition: @escaping @Sendable () -> [UInt8]) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.request = head
        case .body:
            break  // discarded: no request here has a body worth reading
        case .end:
            guard let head = self.request else { return }
            self.request = nil
            self.respond(to: head, context: context)
        }
    }

    /// A request that is not HTTP has been answered 400 by NIO's error handler: close the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        var status = HTTPResponseStatus.ok
        var headers = HTTPHeaders()
        let body: [UInt8]
        switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            body = self.exposition()
        case (.GET, "/"), (.HEAD, "/"):
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("Dateline metrics: GET /metrics (Prometheus text format)\n".utf8)
        case (.GET, _), (.HEAD, _):
            status = .notFound
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("not found: the metrics are at /metrics\n".utf8)
        default:
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("\(head.method) is not allowed: use GET /metrics\n".utf8)
        }
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension PrometheusMetricsFactory {
    /// A factory writing to `registry` with histogram buckets that fit Dateline's latencies: 50 µs to 10 s
    /// (Prometheus's defaults start at 5 ms, above most searches and pings).
    public static func dateline(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
        ]
        return factory
    }
}
