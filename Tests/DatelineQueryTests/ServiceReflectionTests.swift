import DatelineQuery
import DatelineTestSupport
import Testing

/// A failed expectation shows the values in it; for a call on a service that means reflecting the service, whose
/// locks cannot be copied: without its own mirror the whole test run would crash instead of reporting the failure.
@Suite("Services in a failed expectation")
struct ServiceReflectionTests {
    @Test func aFailedExpectationOnAServiceCallIsReportedNotACrash() async throws {
        try await withDatelineCluster { cluster in
            let service = try #require(cluster.queryService)
            withKnownIssue {
                #expect(service.mergeIfDue(), "no index on disk: nothing to merge")
            }
            #expect(Mirror(reflecting: service).children.map(\.label) == ["appliedOffset", "articleCount", "following", "uncommittedBytes"])
        }
    }
}
