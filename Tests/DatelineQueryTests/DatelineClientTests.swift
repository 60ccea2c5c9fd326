import DatelineClient
import DatelineIngest
import DatelineProtocol
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

/// Counts the connections a server accepted: every line a connection logs carries its peer's address
/// (`dateline.peer`), and each one logs at least "client connected" once its handshake is done.
final class ConnectionCounter: Sendable {
    private let peers = Mutex<Set<String>>([])

    /// How many distinct clients connected.
    var count: Int { self.peers.withLock { $0.count } }

    /// A logger for the server, at `trace`, that records peers and prints nothing.
    var logger: Logger {
        Logger(label: "dateline.test.connections") { _ in Handler(counter: self) }
    }

    fileprivate func saw(_ peer: String) {
        _ = self.peers.withLock { $0.insert(peer) }
    }

    private struct Handler: LogHandler {
        let counter: ConnectionCounter
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            if let peer = event.metadata?[DatelineLogKey.peer] ?? self.metadata[DatelineLogKey.peer] {
                self.counter.saw("\(peer)")
            }
        }
    }
}

/// A real dateline-ingest (without extraction: this is about connections) on an ephemeral port, whose
/// server logs to a ``ConnectionCounter``; it can be stopped and started again on the same port.
final class CountedIngestService {
    let connections = ConnectionCounter()
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-client-\(UUID().uuidString)").path
    private(set) var port = 0
    private let service: IngestService
    private var serverTask: Task<Void, any Error>?

    init() throws {
        let configuration = IngestServiceConfiguration(dataDirectory: self.dataDirectory, extraction: false)
        self.service = try IngestService.open(configuration: configuration, logger: Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    deinit { try? FileManager.default.removeItem(atPath: self.dataDirectory) }

    var client: DatelineClient {
        DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", self.port), query: ("127.0.0.1", 1), timeout: .seconds(10)))
    }

    /// Starts listening, on the port it had before when restarted.
    func start() async throws {
        let configuration = DatelineServerConfiguration(port: self.port, serviceName: "dateline-ingest", drainTimeout: .seconds(1))
        let server = DatelineServer(configuration: configuration, router: self.service.router, logger: self.connections.logger)
        self.serverTask = Task { try await server.run() }
        self.port = try await server.listeningAddress().port!
    }

    /// Shuts the server down gracefully: GoAway, drain, close every connection.
    func stop() async {
        self.serverTask?.cancel()
        _ = await self.serverTask?.result
        self.serverTask = nil
    }

    /// Stops the server and closes the log.
    func close() async throws {
        await self.stop()
        try await self.service.close()
    }
}

/// Runs `body` with a ``CountedIngestService`` and closes it afterwards, also when `body` fails.
func withCountedIngestService(_ body: (CountedIngestService) async throws -> Void) async throws {
    let service = try CountedIngestService()
    do {
        try await service.start()
        try await body(service)
        try await service.close()
    } catch {
        try? await service.close()
        throw error
    }
}

@Suite("The client library's connections")
struct DatelineClientTests {
    func submissions(_ count: Int) -> [(source: String, submission: ArticleSubmission)] {
        (0..<count).map { index in
            ("test#\(index)", ArticleSubmission(externalID: "connection-test-\(index)", body: "Article number \(index) about trade and energy.", format: .fields))
        }
    }

    @Test func concurrentBatchesShareOneConnection() async throws {
        try await withCountedIngestService { service in
            let client = service.client
            let summary = try await client.ingest(self.submissions(12), batchSize: 1, concurrency: 4)
            await client.close()
            #expect(summary.accepted == 12)
            #expect(service.connections.count == 1, "12 batches, 4 in flight, must share one connection")
        }
    }

    @Test func concurrentRequestsShareTheConnectionBeingOpened() async throws {
        try await withCountedIngestService { service in
            let client = service.client
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try await client.send(HealthRequest(), to: .ingest) } }
                try await group.waitForAll()
            }
            await client.close()
            #expect(service.connections.count == 1)
        }
    }

    @Test func aConnectionTheServiceClosedIsDroppedAndTheNextRequestReconnects() async throws {
        try await withCountedIngestService { service in
            let client = service.client
            _ = try await client.send(HealthRequest(), to: .ingest)
            #expect(service.connections.count == 1)

            // The service restarts: its shutdown closes our connection.
            await service.stop()
            try await service.start()
            let failure = await #expect(throws: DatelineClientError.self) { _ = try await client.send(HealthRequest(), to: .ingest) }
            #expect(failure?.isRetryable == true, "\(String(describing: failure))")
            #expect(failure?.connectionLoss != nil, "\(String(describing: failure))")

            let health = try await client.send(HealthRequest(), to: .ingest)
            #expect(health.status == .serving)
            let again = try await client.send(HealthRequest(), to: .ingest)
            #expect(again.status == .serving)
            await client.close()
            #expect(service.connections.count == 2, "one reconnection, then that connection is kept")
        }
    }

    @Test func errorsSayWhatHappenedAndWhetherToRetry() {
        func error(_ code: DatelineError.Code, _ message: String, on service: DatelineService = .query, ingesting: Bool = false) -> DatelineClientError {
            DatelineClientError(service: service, address: "h:1", underlying: DatelineError(code: code, message: message), requestType: ingesting ? .ingestRequest : nil)
        }
        let reset = error(.unavailable, "connection failed: read(descriptor:pointer:size:): Connection reset by peer (errno: 104)")
        #expect(reset.connectionLoss == .reset)
        #expect(reset.isRetryable)
        #expect(reset.description == "dateline-query at h:1 went away mid-request (connection reset) — retry the command")
        let goAway = error(.unavailable, "the server is shutting down (GoAway); reconnect", on: .ingest, ingesting: true)
        #expect(goAway.description == "dateline-ingest at h:1 went away mid-request (it is shutting down); " + DatelineClientError.ingestRetryAdvice)
        let timedOut = error(.unavailable, "connection failed: connect(descriptor:addr:size:): Connection timed out (errno: 110)")
        #expect(timedOut.connectionLoss == .failed("the connection timed out"))

        let overloaded = error(.overloaded, "too many requests in flight")
        #expect(overloaded.connectionLoss == nil)
        #expect(overloaded.description == "dateline-query at h:1: OVERLOADED: too many requests in flight — retry the command")
        let advised = error(.unavailable, "the log could not store the batch; retrying is safe (duplicates are detected)", on: .ingest, ingesting: true)
        #expect(advised.isRetryable)
        #expect(advised.description == "dateline-ingest at h:1: UNAVAILABLE: the log could not store the batch; retrying is safe (duplicates are detected)")
        let invalid = error(.invalidArgument, "query syntax: unbalanced parenthesis")
        #expect(!invalid.isRetryable)
        #expect(invalid.description == "dateline-query at h:1: INVALID_ARGUMENT: query syntax: unbalanced parenthesis")
        let unreachable = error(.unavailable, "cannot reach h:1: connection refused")
        #expect(unreachable.isUnreachable && !unreachable.isRetryable)
        // An ingest the client stopped waiting for may have been stored: say so, and that retrying is safe.
        let late = error(.deadlineExceeded, "no response within 30 seconds", on: .ingest, ingesting: true)
        #expect(late.isRetryable)
        #expect(late.description.contains("may have been stored — retrying is safe (duplicates are detected)"))
        let early = error(.deadlineExceeded, "the batch's deadline passed while it was parsed and extracted; nothing of it was stored (retry, with a longer timeout or smaller batches)", on: .ingest, ingesting: true)
        #expect(!early.description.contains("may have been stored"))
    }

    @Test func aFailedConnectIsForgottenSoTheNextCallRetries() async throws {
        try await withCountedIngestService { service in
            await service.stop()
            let client = service.client
            let failure = await #expect(throws: DatelineClientError.self) { _ = try await client.send(HealthRequest(), to: .ingest) }
            #expect(failure?.isUnreachable == true)
            try await service.start()
            #expect(try await client.send(HealthRequest(), to: .ingest).status == .serving)
            await client.close()
            #expect(service.connections.count == 1)
        }
    }
}
