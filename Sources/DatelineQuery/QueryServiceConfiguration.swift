public import DatelineProtocol
public import DatelineSearch

/// Everything `dateline-query` needs to know, with documented defaults.
public struct QueryServiceConfiguration: Sendable {
    /// Address, token, limits of its own protocol server. Default: 127.0.0.1:7401.
    public var server: DatelineServerConfiguration
    /// The ingest service to follow. Default: 127.0.0.1:7400.
    public var ingestHost: String
    public var ingestPort: Int
    /// More ingest nodes serving the same log (one PostgreSQL log shared by several nodes), tried in turn after
    /// the first when it fails. Default: none.
    public var ingestFallbacks: [DatelineEndpoint] = []
    /// Every ingest node to follow from, in the order they are tried.
    public var ingestEndpoints: [DatelineEndpoint] { [DatelineEndpoint(host: self.ingestHost, port: self.ingestPort)] + self.ingestFallbacks }
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
    /// Where the index lives on disk (segments and the manifest); nil keeps it in memory only (every start
    /// replays the log). Default: nil.
    public var indexDirectory: String?
    /// How often buffered articles are committed to a new segment (and always at shutdown). Default: 10 s.
    public var commitInterval: Duration
    /// A commit starts as soon as the buffer holds this many articles. Default: 4,096.
    public var bufferDocuments: Int
    /// ... or this many bytes of article text. Default: 16 MiB.
    public var bufferBytes: Int
    /// How many adjacent segments of one size level are merged into one. Default: 8.
    public var mergeFactor: Int
    /// Once no article has been applied for this long, the newest segments (up to ``quietMergeDocuments``
    /// articles together) are merged into one: an archive that stops growing ends in few segments, smaller (one
    /// dictionary, not one per segment) and faster to search, while one that grows keeps the merge policy's
    /// bounded rewriting. nil: never. Default: 60 s.
    public var quietMergeAfter: Duration?
    /// The most articles a quiet merge rewrites. Default: 1,000,000.
    public var quietMergeDocuments: Int
    /// The most bytes of articles (as stored: text, fields and extraction) held in memory uncommitted: while
    /// commits fail (a full disk) or lag behind, the follower stops reading the log once the buffers hold this
    /// much, and carries on after a commit succeeds, so memory stays bounded whatever the log holds. nil: 4 ×
    /// ``bufferBytes``; never less than twice ``bufferBytes`` (see ``uncommittedLimit``). Default: nil.
    public var maximumUncommittedBytes: Int?
    /// The limit in force: ``maximumUncommittedBytes`` or its default, at least twice ``bufferBytes`` (a buffer
    /// that fills asks for a commit; the follower must not stop before that commit has had its chance).
    public var uncommittedLimit: Int { max(2 * self.bufferBytes, self.maximumUncommittedBytes ?? 4 * self.bufferBytes) }
    /// Faults injected into index writes, for tests (nil: none).
    package var indexWriteFaults: IndexWriteFaults?

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
        indexDirectory: String? = nil,
        commitInterval: Duration = .seconds(10),
        bufferDocuments: Int = 4_096,
        bufferBytes: Int = 16 << 20,
        mergeFactor: Int = 8,
        quietMergeAfter: Duration? = .seconds(60),
        quietMergeDocuments: Int = 1_000_000,
        maximumUncommittedBytes: Int? = nil
    ) {
        self.server = server
        self.ingestHost = ingestHost
        self.ingestPort = ingestPort
        self.ingestClient = ingestClient
        self.bm25 = bm25
        self.maximumLimit = maximumLimit
        self.recencyHalfLifeDays = recencyHalfLifeDays
        self.reconnectBackoff = reconnectBackoff
        self.indexDirectory = indexDirectory
        self.commitInterval = commitInterval
        self.bufferDocuments = bufferDocuments
        self.bufferBytes = bufferBytes
        self.mergeFactor = mergeFactor
        self.quietMergeAfter = quietMergeAfter
        self.quietMergeDocuments = quietMergeDocuments
        self.maximumUncommittedBytes = maximumUncommittedBytes
    }
}

/// Where a test makes the index's writes fail, as a full or failing disk would.
package struct IndexWriteFaults: Sendable {
    /// Where a fault can be injected.
    package enum Point: Sendable, Hashable {
        /// While a commit writes a buffer's segment, before each article (the segment's files are part-written).
        case flushDocument
        /// Before a commit writes the manifest (its segments are written).
        case manifest
        /// Before a merge writes its segment.
        case merge
    }

    /// Called at each point; throwing fails that write there.
    package var inject: @Sendable (Point) throws -> Void

    package init(_ inject: @escaping @Sendable (Point) throws -> Void) {
        self.inject = inject
    }
}
