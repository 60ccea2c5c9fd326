public import DatelineProtocol
public import DatelineStorage

/// Everything `dateline-ingest` needs to know, with documented defaults.
public struct IngestServiceConfiguration: Sendable {
    /// Where the log lives (`<dataDirectory>/log`).
    public var dataDirectory: String
    /// Address, token, limits and compression of the protocol server. Default: 127.0.0.1:7400.
    public var server: DatelineServerConfiguration
    /// Log segment size. Default: 64 MiB.
    public var segmentMaximumBytes: Int
    /// When appends are durable. Default: fsync before acknowledging (group commit).
    public var durability: DatelineLogConfiguration.Durability
    /// The largest article body accepted, in UTF-8 bytes. Default: 1 MiB.
    public var maximumBodyBytes: Int
    /// The most articles in one ingest request. Default: 10,000.
    public var maximumBatchArticles: Int
    /// Records per LogBatch sent to followers (when the follower does not ask for fewer). Default: 256.
    public var subscribeBatchRecords: Int
    /// Whether to run the extractor (people, places, dates, events...) on every article before logging it.
    /// Default: true.
    public var extraction: Bool
    /// Failures injected into the log, for tests. Default: none.
    package var logFaults: DatelineLogFaults?
    /// Called (with the original's article id) when a request starts waiting for another request's append of
    /// the same article, for tests. Default: none.
    package var reservationWaitObserver: (@Sendable (String) -> Void)?

    /// Creates a configuration; see each property for its default.
    public init(
        dataDirectory: String,
        server: DatelineServerConfiguration = DatelineServerConfiguration(port: 7400, serviceName: "dateline-ingest"),
        segmentMaximumBytes: Int = 64 << 20,
        durability: DatelineLogConfiguration.Durability = .fsyncEveryCommit,
        maximumBodyBytes: Int = 1 << 20,
        maximumBatchArticles: Int = 10_000,
        subscribeBatchRecords: Int = 256,
        extraction: Bool = true
    ) {
        self.dataDirectory = dataDirectory
        self.server = server
        self.segmentMaximumBytes = segmentMaximumBytes
        self.durability = durability
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumBatchArticles = maximumBatchArticles
        self.subscribeBatchRecords = subscribeBatchRecords
        self.extraction = extraction
    }

    /// The file log's configuration under ``dataDirectory``.
    public var logConfiguration: DatelineLogConfiguration {
        var configuration = DatelineLogConfiguration(
            directory: self.dataDirectory + "/log",
            segmentMaximumBytes: self.segmentMaximumBytes,
            maximumRecordBytes: max(4 << 20, self.maximumBodyBytes * 2 + (64 << 10)),
            durability: self.durability
        )
        configuration.faults = self.logFaults
        configuration.metricsFactory = self.server.metricsFactory
        return configuration
    }
}
