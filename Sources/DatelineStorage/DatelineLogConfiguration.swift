public import CoreMetrics

/// How a ``DatelineLog`` stores records.
public struct DatelineLogConfiguration: Sendable {
    /// When appended records are made durable before `append` returns.
    public enum Durability: Sendable, Hashable, CustomStringConvertible {
        /// fsync before acknowledging; concurrent appends share one fsync (group commit). Survives power loss.
        case fsyncEveryCommit
        /// Acknowledge after the write; fsync at most this often. A crash of the machine may lose the last
        /// interval's records; a crash of the process loses nothing.
        case fsyncInterval(Duration)
        /// Never fsync explicitly; the operating system decides.
        case none

        public var description: String {
            switch self {
            case .fsyncEveryCommit: "fsync"
            case .fsyncInterval(let interval): "interval:\(interval)"
            case .none: "none"
            }
        }
    }

    /// The directory holding the segment files.
    public var directory: String
    /// A segment is closed and a new one started once it would grow past this size. Default: 64 MiB.
    public var segmentMaximumBytes: Int
    /// The largest record payload accepted. Default: 16 MiB.
    public var maximumRecordBytes: Int
    /// Default: ``Durability/fsyncEveryCommit``.
    public var durability: Durability
    /// Bytes between entries of each segment's sparse offset index. Default: 16 KiB.
    public var indexInterval: Int
    /// Failures injected before writes and fsyncs, for tests. Default: none.
    package var faults: DatelineLogFaults?
    /// Where the log's fsync timer (`dateline_log_fsync_duration_seconds`) goes; nil: `MetricsSystem.factory`.
    /// Default: nil.
    public var metricsFactory: (any MetricsFactory)?

    /// Creates a configuration; see each property for its default.
    public init(
        directory: String,
        segmentMaximumBytes: Int = 64 << 20,
        maximumRecordBytes: Int = 16 << 20,
        durability: Durability = .fsyncEveryCommit,
        indexInterval: Int = 16 << 10
    ) {
        self.directory = directory
        self.segmentMaximumBytes = segmentMaximumBytes
        self.maximumRecordBytes = maximumRecordBytes
        self.durability = durability
        self.indexInterval = indexInterval
    }
}

/// What recovery found when the log was opened.
public struct DatelineLogRecoveryReport: Sendable, Hashable {
    /// Segment files found.
    public var segments: Int
    /// Records kept.
    public var records: UInt64
    /// The log's epoch after recovery (see ``DatelineLog/epoch``).
    public var epoch: String = ""
    /// Why the epoch is new, if it is (a new log, a truncated tail, a log shorter than its watermark).
    public var newEpochReason: String?
    /// Temporary files a crash left behind, removed.
    public var temporariesRemoved = 0
    /// Bytes of a torn or corrupt last record removed from the end of the last segment (0 if none).
    public var truncatedBytes: Int
    /// The segment that was truncated, if any.
    public var truncatedSegment: String?
    /// Why the tail was truncated.
    public var truncationReason: String?
}

/// One record read back from the log.
public struct DatelineLogRecord: Sendable, Hashable {
    public let offset: UInt64
    public let payload: [UInt8]

    public init(offset: UInt64, payload: [UInt8]) {
        self.offset = offset
        self.payload = payload
    }
}

/// Failures injected into a log's writes, so that tests can make a disk fail (or stall) exactly where they want.
package struct DatelineLogFaults: Sendable {
    /// Where a fault can be injected.
    package enum Point: Sendable, Hashable {
        /// Before the records of a commit are written (once per commit).
        case write
        /// Before an fsync of a segment.
        case sync
    }

    /// Called at each point on the log's writer thread; throwing fails that write as the disk would. It may
    /// block, to hold a commit in flight.
    package var inject: @Sendable (Point) throws(DatelineStorageError) -> Void

    package init(_ inject: @escaping @Sendable (Point) throws(DatelineStorageError) -> Void) {
        self.inject = inject
    }
}
