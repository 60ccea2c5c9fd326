public import CoreMetrics
public import NIOCore

/// Everything a ``DatelineServer`` needs to know, with documented defaults.
public struct DatelineServerConfiguration: Sendable {
    /// The address to listen on. Default: `127.0.0.1`.
    public var host: String
    /// The port to listen on; 0 picks a free one (read it back from ``DatelineServer/listeningAddress()``).
    /// Default: 0.
    public var port: Int
    /// The service's name, reported in Health, e.g. `dateline-ingest`.
    public var serviceName: String
    /// The service's version, reported in Welcome and Health. Default: `0.1.0`.
    public var version: String
    /// A shared secret clients must present in Hello; nil accepts any client. Default: nil.
    public var token: String?
    /// Limits on what a client may send. Default: 16 MiB frames, 16 MiB decompressed.
    public var limits: DatelineFrameDecoder.Limits
    /// How responses are compressed. Default: `auto`, level 1, 1 KiB threshold.
    public var compression: DatelineCompressionConfiguration
    /// The most requests one connection may have in flight; more are refused with `OVERLOADED`. Default: 256.
    public var maximumInFlightPerConnection: Int
    /// How long a client has to send its preface and Hello. Default: 10 s.
    public var handshakeTimeout: TimeAmount
    /// How long graceful shutdown waits for in-flight requests before closing connections. Default: 10 s.
    public var drainTimeout: TimeAmount
    /// Whether a client built from another message schema is refused at Hello. Default: true.
    public var rejectsSchemaMismatch: Bool
    /// The most reply bytes one connection may have waiting to be sent. Above it the server stops reading from
    /// that connection (no new requests are taken) until the client has read half of them. Default: 4 MiB.
    public var maximumOutboundBytes: Int
    /// How long a connection may stay above ``maximumOutboundBytes`` (the client reading nothing) before it
    /// is sent GoAway and closed. Default: 30 s.
    public var stalledReaderTimeout: TimeAmount
    /// The most connections served at once. One more is answered, once it has sent its preface, with an
    /// `OVERLOADED` error frame and closed (beyond 64 more, closed at once). Default: 1,024.
    public var maximumConnections: Int
    /// The most bytes of requests the server holds at once over all connections: frames being received (counted
    /// from their header) and requests being handled. A frame that does not fit waits, its connection unread,
    /// until requests finish (``DatelineRequestMemoryBudget``); frames of at most 64 KiB may use an eighth more.
    /// Default: 256 MiB.
    public var maximumRequestMemory: Int
    /// The most streams (subscriptions to the log, index backups) served at once over all connections; one more is
    /// refused with `OVERLOADED`. A stream's handler builds its next element (a batch of up to 4 MiB) before the
    /// client has read the last, so this bounds what streams hold. Default: 64.
    public var maximumStreams: Int
    /// How long a frame of 64 KiB or more may take to arrive once its header is in; a slower one fails its
    /// connection with `DEADLINE_EXCEEDED`, so that a slow peer cannot hold the request memory. Default: 60 s.
    public var frameReceiveTimeout: TimeAmount
    /// TLS for every connection; a plain client is refused with `UNAUTHORIZED` (TLS required). Default: nil
    /// (plain TCP).
    public var tls: DatelineServerTLS?
    /// Where the server's metrics go (``DatelineServerMetrics`` lists them); nil: `MetricsSystem.factory`, the
    /// process-wide factory (a no-op until an executable bootstraps one). Default: nil.
    public var metricsFactory: (any MetricsFactory)?

    /// Creates a configuration; see each property for its default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        serviceName: String,
        version: String = "0.1.0",
        token: String? = nil,
        limits: DatelineFrameDecoder.Limits = .init(),
        compression: DatelineCompressionConfiguration = .init(),
        maximumInFlightPerConnection: Int = 256,
        handshakeTimeout: TimeAmount = .seconds(10),
        drainTimeout: TimeAmount = .seconds(10),
        rejectsSchemaMismatch: Bool = true,
        maximumOutboundBytes: Int = 4 << 20,
        stalledReaderTimeout: TimeAmount = .seconds(30),
        maximumConnections: Int = 1_024,
        maximumRequestMemory: Int = 256 << 20,
        frameReceiveTimeout: TimeAmount = .seconds(60),
        maximumStreams: Int = 64,
        tls: DatelineServerTLS? = nil,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.host = host
        self.port = port
        self.serviceName = serviceName
        self.version = version
        self.token = token
        self.limits = limits
        self.compression = compression
        self.maximumInFlightPerConnection = maximumInFlightPerConnection
        self.handshakeTimeout = handshakeTimeout
        self.drainTimeout = drainTimeout
        self.rejectsSchemaMismatch = rejectsSchemaMismatch
        self.maximumOutboundBytes = max(64 << 10, maximumOutboundBytes)
        self.stalledReaderTimeout = stalledReaderTimeout
        self.maximumConnections = max(1, maximumConnections)
        self.maximumRequestMemory = max(1, maximumRequestMemory)
        self.frameReceiveTimeout = frameReceiveTimeout
        self.maximumStreams = max(1, maximumStreams)
        self.tls = tls
        self.metricsFactory = metricsFactory
    }

    /// The factory metrics are made in: ``metricsFactory`` or the process-wide one.
    package var resolvedMetricsFactory: any MetricsFactory { self.metricsFactory ?? MetricsSystem.factory }

    /// `serviceName/version`, as sent in Welcome.
    var serverName: String { "\(self.serviceName)/\(self.version)" }
}
