/// The keys an article is deduplicated by: a second article with the same external id, or with the same content,
/// is the same article.
public struct DeduplicationKeys: Sendable, Hashable {
    /// The article's id (a fingerprint of its external id and content; unique in the log).
    public var articleID: String
    /// The publisher's own id, when the submission had one.
    public var externalID: String?
    /// The normalised content's key.
    public var contentKey: String

    public init(articleID: String, externalID: String?, contentKey: String) {
        self.articleID = articleID
        self.externalID = externalID
        self.contentKey = contentKey
    }
}

/// One record to append: its payload and the keys of the article it holds.
public struct IngestLogEntry: Sendable, Hashable {
    public var payload: [UInt8]
    public var keys: DeduplicationKeys

    public init(payload: [UInt8], keys: DeduplicationKeys) {
        self.payload = payload
        self.keys = keys
    }
}

/// What became of one appended entry.
public enum IngestLogAppendOutcome: Sendable, Hashable {
    /// Stored, durable, at this offset.
    case appended(offset: UInt64)
    /// Not stored: an article already in the log (durable) has one of its keys; that article's id and offset.
    case duplicate(of: String, offset: UInt64)
    /// Not stored: its article id names a different article already in the log (a fingerprint collision). Give
    /// it another id and append it again.
    case idTaken
}

/// Figures about a log, whatever holds it.
public struct IngestLogStatistics: Sendable, Hashable {
    /// Bytes of records stored.
    public var bytesStored: Int
    /// Segment files (the file log) or 1 (a database table).
    public var segments: Int
    /// Syncs (fsyncs or commits) made, their mean and last duration.
    public var syncCount: Int
    public var syncMean: Duration
    public var syncLast: Duration

    public init(bytesStored: Int, segments: Int, syncCount: Int, syncMean: Duration, syncLast: Duration) {
        self.bytesStored = bytesStored
        self.segments = segments
        self.syncCount = syncCount
        self.syncMean = syncMean
        self.syncLast = syncLast
    }
}

/// The ingest log's contract: an append-only sequence of records at dense offsets (0, 1, 2, ...) in the order
/// followers see them, each acknowledged only once durable, read back from any offset.
///
/// Two backends keep it: ``DatelineLog`` (segment files on local disk, the embedded default, one writer) and
/// the PostgreSQL log of the `DatelinePostgres` module (one table shared by many ingest nodes). The same
/// contract tests run against both.
public protocol IngestLog: AnyObject, Sendable {
    /// "file" or "postgres", for health and stats.
    var backend: String { get }
    /// Whether ``append(_:)`` deduplicates entries by their keys itself (a log shared by several writers must:
    /// no one writer sees the others' appends in flight). When false, the caller deduplicates, and every entry
    /// is appended.
    var deduplicatesByKey: Bool { get }
    /// An offset names the same record only within one epoch.
    var epoch: String { get }
    /// The first offset kept and one past the last committed one known to this process.
    var bounds: Range<UInt64> { get }
    /// One past the last committed offset known to this process.
    var endOffset: UInt64 { get }
    /// Why appends are failing now, if the last one failed.
    var writeFailure: DatelineStorageError? { get }
    /// Size and sync figures.
    var statistics: IngestLogStatistics { get }

    /// Appends entries in order; returns once every appended one is durable, one outcome per entry. Entries
    /// appended by one call get consecutive offsets.
    /// - Throws: ``DatelineStorageError`` when nothing of the call was stored, or (``DatelineStorageError/Code/outcomeUnknown``)
    ///   when the store failed while committing and the entries may or may not be stored.
    func append(_ entries: [IngestLogEntry]) async throws -> [IngestLogAppendOutcome]

    /// Reads committed records from `offset` on, up to `maximumRecords` and about `maximumBytes` (at least one
    /// record when one exists).
    func read(from offset: UInt64, maximumRecords: Int, maximumBytes: Int) async throws -> [DatelineLogRecord]

    /// Waits until a record at or after `offset` is committed (at once if one already is), the log is closed, or
    /// the calling task is cancelled.
    func waitForRecord(at offset: UInt64) async

    /// ``bounds``, first brought up to date with appends other processes made (for a shared log); the file log
    /// has no other writer and answers at once.
    func currentBounds() async -> Range<UInt64>

    /// Finishes what is in flight and closes.
    func close() async throws
}

extension DatelineLog: IngestLog {
    public var backend: String { "file" }

    /// The file log has one writer, which deduplicates before appending.
    public var deduplicatesByKey: Bool { false }

    public var statistics: IngestLogStatistics {
        let fsync = self.fsyncLatency
        return IngestLogStatistics(
            bytesStored: self.bytesOnDisk, segments: self.segmentCount,
            syncCount: fsync.count, syncMean: fsync.mean, syncLast: fsync.last
        )
    }

    public func currentBounds() async -> Range<UInt64> { self.bounds }

    public func append(_ entries: [IngestLogEntry]) async throws -> [IngestLogAppendOutcome] {
        let offsets = try await self.append(entries.map(\.payload))
        return offsets.map { .appended(offset: $0) }
    }
}
