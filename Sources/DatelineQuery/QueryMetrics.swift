import CoreMetrics
import DatelineProtocol

/// `dateline-query`'s own metrics, refreshed from its figures each time they are read, so that nothing on the
/// search or indexing path pays for them:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `dateline_index_articles` | gauge | `service` |
/// | `dateline_index_terms` | gauge | `service` |
/// | `dateline_index_bytes` | gauge: segment files plus the buffer | `service` |
/// | `dateline_index_segments` | gauge | `service` |
/// | `dateline_index_applied_offset` | gauge: one past the last log offset indexed | `service` |
/// | `dateline_follower_lag_records` | gauge: the ingest log's end minus the applied offset | `service` |
/// | `dateline_follower_connected` | gauge: 1 while following dateline-ingest | `service` |
/// | `dateline_index_uncommitted_bytes` | gauge: articles (as stored) applied but not yet committed to a segment | `service` |
/// | `dateline_index_commit_failing` | gauge: 1 while the last commit failed (a full disk) | `service` |
final class QueryMetrics: Sendable {
    private let articles: Gauge
    private let terms: Gauge
    private let bytes: Gauge
    private let segments: Gauge
    private let appliedOffset: Gauge
    private let lag: Gauge
    private let connected: Gauge
    private let uncommitted: Gauge
    private let commitFailing: Gauge

    init(service: String, factory: any MetricsFactory) {
        func gauge(_ name: String) -> Gauge { Gauge(label: name, dimensions: [("service", service)], factory: factory) }
        self.articles = gauge("dateline_index_articles")
        self.terms = gauge("dateline_index_terms")
        self.bytes = gauge("dateline_index_bytes")
        self.segments = gauge("dateline_index_segments")
        self.appliedOffset = gauge("dateline_index_applied_offset")
        self.lag = gauge("dateline_follower_lag_records")
        self.connected = gauge("dateline_follower_connected")
        self.uncommitted = gauge("dateline_index_uncommitted_bytes")
        self.commitFailing = gauge("dateline_index_commit_failing")
    }

    func refresh(from stats: QueryStatsResponse, segments: Int, uncommittedBytes: Int, commitFailing: Bool) {
        self.articles.record(Int64(clamping: stats.articleCount))
        self.terms.record(Int64(clamping: stats.indexTerms))
        self.bytes.record(Int64(clamping: stats.indexBytes))
        self.segments.record(Int64(segments))
        self.appliedOffset.record(Int64(clamping: stats.appliedOffset))
        self.lag.record(Int64(clamping: stats.lag))
        self.connected.record(stats.following ? 1 : 0)
        self.uncommitted.record(Int64(uncommittedBytes))
        self.commitFailing.record(commitFailing ? 1 : 0)
    }
}
