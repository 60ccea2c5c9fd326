import CoreMetrics
import DatelineProtocol
import Synchronization

/// `dateline-ingest`'s own metrics, refreshed from its figures (``IngestService/stats()``) each time they are
/// read, so that nothing on the ingest path pays for them:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `dateline_ingest_articles_total` | counter | `service`, `outcome` (`accepted`, `duplicate`, `rejected`) |
/// | `dateline_log_end_offset` | gauge: records in the log | `service` |
/// | `dateline_log_bytes` | gauge: bytes the log holds | `service` |
/// | `dateline_log_segments` | gauge | `service` |
/// | `dateline_log_followers` | gauge: subscribers being streamed to | `service` |
///
/// The log's own timer (`dateline_log_fsync_duration_seconds`, or `dateline_log_commit_duration_seconds` on
/// PostgreSQL) is recorded by the log as it syncs.
final class IngestMetrics: Sendable {
    private let accepted: Counter
    private let duplicates: Counter
    private let rejected: Counter
    private let endOffset: Gauge
    private let bytes: Gauge
    private let segments: Gauge
    private let followers: Gauge
    /// What the counters have been advanced to: each refresh adds what the figures grew by since.
    private let reported = Mutex<(accepted: UInt64, duplicates: UInt64, rejected: UInt64)>((0, 0, 0))

    init(service: String, factory: any MetricsFactory) {
        func outcome(_ name: String) -> Counter {
            Counter(label: "dateline_ingest_articles_total", dimensions: [("service", service), ("outcome", name)], factory: factory)
        }
        let labels = [("service", service)]
        self.accepted = outcome("accepted")
        self.duplicates = outcome("duplicate")
        self.rejected = outcome("rejected")
        self.endOffset = Gauge(label: "dateline_log_end_offset", dimensions: labels, factory: factory)
        self.bytes = Gauge(label: "dateline_log_bytes", dimensions: labels, factory: factory)
        self.segments = Gauge(label: "dateline_log_segments", dimensions: labels, factory: factory)
        self.followers = Gauge(label: "dateline_log_followers", dimensions: labels, factory: factory)
    }

    func refresh(from stats: IngestStatsResponse) {
        let (accepted, duplicates, rejected) = self.reported.withLock { reported in
            defer { reported = (stats.accepted, stats.duplicates, stats.rejected) }
            return (
                stats.accepted &- min(stats.accepted, reported.accepted),
                stats.duplicates &- min(stats.duplicates, reported.duplicates),
                stats.rejected &- min(stats.rejected, reported.rejected)
            )
        }
        if accepted > 0 { self.accepted.increment(by: Int64(accepted)) }
        if duplicates > 0 { self.duplicates.increment(by: Int64(duplicates)) }
        if rejected > 0 { self.rejected.increment(by: Int64(rejected)) }
        self.endOffset.record(Int64(stats.endOffset))
        self.bytes.record(Int64(stats.bytesOnDisk))
        self.segments.record(Int64(stats.segments))
        self.followers.record(Int64(stats.followers.count))
    }
}
