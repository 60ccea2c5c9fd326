public import CoreMetrics
import NIOCore
import Synchronization

/// The metrics a ``DatelineServer`` reports through swift-metrics, named as Prometheus expects:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `dateline_requests_total` | counter | `service`, `type` (request message), `code` (`OK` or the error code) |
/// | `dateline_request_duration_seconds` | timer (histogram) | `service`, `type`, `code` |
/// | `dateline_requests_in_flight` | meter (gauge) | `service` |
/// | `dateline_connections` | meter (gauge): open now | `service` |
/// | `dateline_connections_total` | counter: accepted since start | `service` |
/// | `dateline_connections_refused_total` | counter: over `--max-connections` | `service` |
/// | `dateline_request_memory_bytes` | meter (gauge, sampled every second): request bytes held (``DatelineRequestMemoryBudget``) | `service` |
/// | `dateline_request_memory_waiting_connections` | meter (gauge, sampled every second): connections whose next frame waits for room | `service` |
/// | `dateline_received_bytes_total`, `dateline_sent_bytes_total` | counter: protocol bytes | `service` |
///
/// A request type the build does not know is labelled `unknown`, so a peer cannot grow the set of series.
/// Handles are made once per (type, code) and cached; connections keep their own copy of the cache so that the
/// hot path takes no lock.
package final class DatelineServerMetrics: Sendable {
    /// The counter and timer of one (type, code).
    package struct RequestHandles: Sendable {
        package let count: Counter
        package let duration: Timer
    }

    /// What one pair of handles counts. A type this build does not know is folded into one `unknown` key.
    package struct RequestKey: Hashable, Sendable {
        static let unknownType = DatelineMessageType(rawValue: 0xFFFF)
        var type: DatelineMessageType
        var code: DatelineError.Code?

        package init(labelling type: DatelineMessageType, code: DatelineError.Code?) {
            self.type = DatelineMessageType.known.contains(where: { $0.type == type }) ? type : Self.unknownType
            self.code = code
        }
    }

    private let factory: any MetricsFactory
    private let service: String
    private let requests = Mutex<[RequestKey: RequestHandles]>([:])
    let inFlight: Meter
    let connections: Meter
    let connectionsAccepted: Counter
    let connectionsRefused: Counter
    let requestMemory: Meter
    let requestMemoryWaiting: Meter
    let bytesReceived: Counter
    let bytesSent: Counter

    /// Creates the server's metrics in `factory`, labelled with `service`.
    package init(service: String, factory: any MetricsFactory) {
        self.factory = factory
        self.service = service
        let labels = [("service", service)]
        self.inFlight = Meter(label: "dateline_requests_in_flight", dimensions: labels, factory: factory)
        self.connections = Meter(label: "dateline_connections", dimensions: labels, factory: factory)
        self.connectionsAccepted = Counter(label: "dateline_connections_total", dimensions: labels, factory: factory)
        self.connectionsRefused = Counter(label: "dateline_connections_refused_total", dimensions: labels, factory: factory)
        self.requestMemory = Meter(label: "dateline_request_memory_bytes", dimensions: labels, factory: factory)
        self.requestMemoryWaiting = Meter(label: "dateline_request_memory_waiting_connections", dimensions: labels, factory: factory)
        self.bytesReceived = Counter(label: "dateline_received_bytes_total", dimensions: labels, factory: factory)
        self.bytesSent = Counter(label: "dateline_sent_bytes_total", dimensions: labels, factory: factory)
    }

    /// The handles for requests of `type` that ended with `code` (nil: answered).
    package func handles(for key: RequestKey) -> RequestHandles {
        self.requests.withLock { cache in
            if let handles = cache[key] { return handles }
            let typeName = key.type == RequestKey.unknownType ? "unknown" : key.type.name
            let labels = [("service", self.service), ("type", typeName), ("code", key.code?.name ?? "OK")]
            let handles = RequestHandles(
                count: Counter(label: "dateline_requests_total", dimensions: labels, factory: self.factory),
                duration: Timer(label: "dateline_request_duration_seconds", dimensions: labels, factory: self.factory)
            )
            cache[key] = handles
            return handles
        }
    }
}

/// One connection's request metrics: confined to the connection's event loop, it caches the handles it has used.
struct DatelineConnectionMetrics {
    private let shared: DatelineServerMetrics
    private var handles: [DatelineServerMetrics.RequestKey: DatelineServerMetrics.RequestHandles] = [:]

    init(_ shared: DatelineServerMetrics) {
        self.shared = shared
    }

    /// A request of `type` that started at `startedAt` ended now with `code` (nil: answered).
    mutating func requestEnded(type: DatelineMessageType, code: DatelineError.Code?, startedAt: NIODeadline) {
        let key = DatelineServerMetrics.RequestKey(labelling: type, code: code)
        let handles: DatelineServerMetrics.RequestHandles
        if let cached = self.handles[key] {
            handles = cached
        } else {
            handles = self.shared.handles(for: key)
            self.handles[key] = handles
        }
        handles.count.increment()
        handles.duration.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
    }

    func requestStarted() { self.shared.inFlight.increment() }
    func requestFinished() { self.shared.inFlight.decrement() }
}

/// First in a connection's pipeline (after TLS): counts the connection and the protocol bytes that cross it,
/// adding bytes up locally and handing them to the shared counters once per read burst and once per flush.
final class DatelineConnectionCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: DatelineServerMetrics
    private var received = 0
    private var sent = 0
    private var counted = false

    init(metrics: DatelineServerMetrics) {
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.opened() }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.opened()
        context.fireChannelActive()
    }

    private func opened() {
        guard !self.counted else { return }
        self.counted = true
        self.metrics.connections.increment()
        self.metrics.connectionsAccepted.increment()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.counted {
            self.counted = false
            self.metrics.connections.decrement()
        }
        self.report()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received += self.unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.report()
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.sent += self.unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        self.report()
        context.flush()
    }

    private func report() {
        if self.received > 0 {
            self.metrics.bytesReceived.increment(by: Int64(self.received))
            self.received = 0
        }
        if self.sent > 0 {
            self.metrics.bytesSent.increment(by: Int64(self.sent))
            self.sent = 0
        }
    }
}
