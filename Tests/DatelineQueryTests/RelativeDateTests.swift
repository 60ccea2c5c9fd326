import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

/// Relative and partial dates through the CLI and over the protocol, resolved by dateline-query against its
/// clock. The samples were published on 2025-07-26 and 2025-08-04.
@Suite("Dates as text in searches", .serialized)
struct RelativeDateTests {
    @Test func theCLIAcceptsMonthsWeeksAndRelativeDatesAndSaysWhatItApplied() async throws {
        try await withDatelineCluster { cluster in
            let ingested = try await CLI.run(["ingest", Samples.directory.path, "--wait"], cluster: cluster)
            #expect(ingested.status == 0, "\(ingested.errors)")
            func search(_ arguments: [String]) async throws -> String {
                let result = try await CLI.run(["search", "", "--no-color"] + arguments, cluster: cluster)
                #expect(result.status == 0, "\(arguments): \(result.errors)")
                return result.output
            }
            let august = try await search(["--from", "2025-08", "--to", "2025-08"])
            #expect(august.hasPrefix("1 article matches: published from 2025-08-01T00:00:00Z, published to 2025-08-31T23:59:59Z"), "\(august)")
            #expect(try await search(["--to", "2025-W30"]).hasPrefix("1 article matches"))
            #expect(try await search(["--since", "7d"]).hasPrefix("0 articles match"), "published in 2025, long before the last seven days")
            #expect(try await search(["--since", "10y", "--to", "now"]).hasPrefix("2 articles match"))
            #expect(try await search(["--from", "July 26, 2025", "--to", "2025-07-26"]).hasPrefix("1 article matches"))
            let bad = try await CLI.run(["search", "x", "--since", "a while"], cluster: cluster)
            #expect(bad.status != 0)
            #expect(bad.errors.contains("--since 'a while' is not a date"), "\(bad.errors)")
        }
    }

    @Test func theServerResolvesTextAgainstItsClockAndEchoesTheBounds() async throws {
        try await withDatelineCluster { cluster in
            let connection = try await cluster.queryClient()
            let response = try await connection.send(SearchRequest(query: "minister", fromText: "2025", toText: "today"))
            let resolvedFrom = try #require(response.resolvedFrom)
            let resolvedTo = try #require(response.resolvedTo)
            #expect(resolvedFrom == (try Date("2025-01-01T00:00:00Z", strategy: .iso8601)))
            // The end of the server's today: within a day after now, whatever the clock says.
            #expect(resolvedTo > Date() && resolvedTo <= Date().addingTimeInterval(86_400))
            await #expect {
                _ = try await connection.send(SearchRequest(query: "minister", fromText: "someday"))
            } throws: { error in
                (error as? DatelineError)?.code == .invalidArgument && (error as? DatelineError)?.message.contains("'someday' is not a date") == true
            }
            await #expect {
                _ = try await connection.send(SearchRequest(query: "minister", from: Date(), fromText: "7d"))
            } throws: { error in
                (error as? DatelineError)?.message.contains("both as a date and as text") == true
            }
            try await connection.close()
        }
    }
}
