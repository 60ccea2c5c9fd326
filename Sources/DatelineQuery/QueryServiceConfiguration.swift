public import DatelineProtocol
public import DatelineSearch

/// Everything `dateline-query` needs to know, with documented defaults.
public struct QueryServiceConfiguration: Sendable {
    /// Address, token, limits of its own protocol server. Default: 127.0.0.1:7401.
    public var server: DatelineServerConfiguration
    /// The ingest service to follow. Default: 127.0.0.1:7400.
    public var ingestHost: String
    public var ingestPort: Int
    /// How it connects to the ingest service (its token included).
    public var ingestClient: DatelineClientConfiguration
    /// Ranking parameters. Default: k1 1.2, b 0.75, title weight 2.
    public var bm25: BM25Parameters
    /// The most hits one search may return. Default: 100.
    public var maximumLimit: Int
    /// Half-life of the recency decay used by `sort: recent`, in days. Default: 30.
    public var recencyHalfLifeDays: Double
    /// Reconnection backoff after losing the ingest service: starts at the first value, doubles up to the second.
    /// Default: 100 ms to 5 s.
    public var reconnectBackoff: (initial: Duration, maximum: Duration)
    /// Where the index snapshot lives; nil keeps no snapshot (every start replays the log). Default: nil.
    public var snapshotDirectory: String?
    /// How often a snapshot is written when new records were applied (and always at shutdown). Default: 30 s.
    public var snapshotInterval: Duration

    /// Creates a configuration; see each property for its default.
    public init(
        server: DatelineServerConfiguration = DatelineServerConfiguration(port: 7401, serviceName: "dateline-query"),
        ingestHost: String = "127.0.0.1",
        ingestPort: Int = 7400,
        ingestClient: DatelineClientConfiguration = DatelineClientConfiguration(clientName: "dateline-query/0.1.0", requestTimeout: nil),
        bm25: BM25Parameters = BM25Parameters(),
        maximumLimit: Int = 100,
        recencyHalfLifeDays: Double = 30,
        reconnectBackoff: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5)),
        snapshotDirectory: String? = nil,
        snapshotInterval: Duration = .seconds(30)
    ) {
        self.server = server
        self.ingestHost = ingestHost
        self.ingestPort = ingestPort
        self.ingestClient = ingestClient
        self.bm25 = bm25
        self.maximumLimit = maximumLimit
        self.recencyHalfLifeDays = recencyHalfLifeDays
        self.reconnectBackoff = reconnectBackoff
        self.snapshotDirectory = snapshotDirectory
        self.snapshotInterval = snapshotInterval
    }
}
