public import DatelineClient
import DatelineIngest
public import DatelineProtocol
public import DatelineQuery
public import Foundation
import Logging
import NIOCore

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The repository's sample articles.
public enum Samples {
    /// `samples/` in the checkout.
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")

    /// Both samples as plain-text submissions.
    public static func submissions() throws -> [ArticleSubmission] {
        try ["000_840db5600f595d32.txt", "004_e96d74743f33cd42.txt"].map {
            ArticleSubmission(body: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8), format: .plainText)
        }
    }
}

/// Starts both services, runs `body`, and stops everything afterwards — also when `body` throws or a test
/// expectation fails midway.
public func withDatelineCluster<T>(
    persistentIndex: Bool = false,
    _ body: (DatelineCluster) async throws -> T
) async throws -> T {
    let cluster = DatelineCluster()
    do {
        try await cluster.startIngest()
        try await cluster.startQuery(persistentIndex: persistentIndex)
        try await cluster.waitUntilHealthy()
        let result = try await body(cluster)
        try await cluster.stop()
        return result
    } catch {
        try? await cluster.stop()
        throw error
    }
}

/// Both real services, in process, on ephemeral ports (port 0, read back) with a temporary data directory;
/// each can be stopped and started again on the same port and data, to test restarts.
public final class DatelineCluster {
    public let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-cluster-\(UUID().uuidString)").path
    public private(set) var ingestPort = 0
    public private(set) var queryPort = 0
    private var ingestTask: Task<Void, any Error>?
    private var ingestService: IngestService?
    private var queryTasks: [Task<Void, any Error>] = []
    public private(set) var queryService: QueryService?

    public init() {}

    deinit { try? FileManager.default.removeItem(atPath: self.dataDirectory) }

    /// Starts dateline-ingest, on the port it had before when restarted.
    /// - Parameter subscribeBatchRecords: The most records a subscription's batch carries.
    public func startIngest(subscribeBatchRecords: Int = 256) async throws {
        let configuration = IngestServiceConfiguration(
            dataDirectory: self.dataDirectory + "/ingest",
            server: DatelineServerConfiguration(port: self.ingestPort, serviceName: "dateline-ingest", drainTimeout: .seconds(1)),
            subscribeBatchRecords: subscribeBatchRecords
        )
        let service = try IngestService.open(configuration: configuration, logger: quietLogger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quietLogger)
        self.ingestTask = Task { try await server.run() }
        self.ingestPort = try await server.listeningAddress().port!
        self.ingestService = service
    }

    /// Starts dateline-ingest on a fresh, empty data directory (its log "reset").
    public func resetIngest() async throws {
        try await self.stopIngest()
        try? FileManager.default.removeItem(atPath: self.dataDirectory + "/ingest")
        try await self.startIngest()
    }

    public func stopIngest() async throws {
        self.ingestTask?.cancel()
        _ = await self.ingestTask?.result
        try await self.ingestService?.close()
        self.ingestTask = nil
        self.ingestService = nil
    }

    /// Where dateline-query keeps its index when started with `persistentIndex`.
    public var indexDirectory: String { self.dataDirectory + "/query" }

    /// Starts dateline-query following the ingest service, on the port it had before when restarted.
    /// - Parameters:
    ///   - persistentIndex: Keep the index in ``indexDirectory`` (committed every 200 ms), not in memory only.
    ///   - bufferDocuments: Commit as soon as this many articles are buffered.
    ///   - configure: Changes to the configuration, made last.
    public func startQuery(
        persistentIndex: Bool = false, bufferDocuments: Int = 4_096, mergeFactor: Int = 8,
        configure: (inout QueryServiceConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = QueryServiceConfiguration(
            server: DatelineServerConfiguration(port: self.queryPort, serviceName: "dateline-query", drainTimeout: .seconds(1)),
            ingestPort: self.ingestPort,
            reconnectBackoff: (.milliseconds(20), .milliseconds(200)),
            indexDirectory: persistentIndex ? self.indexDirectory : nil,
            commitInterval: .milliseconds(200),
            bufferDocuments: bufferDocuments,
            mergeFactor: mergeFactor
        )
        configure(&configuration)
        let service = QueryService(configuration: configuration, logger: quietLogger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quietLogger)
        self.queryTasks = [Task { try await server.run() }, Task { try await service.run() }]
        self.queryPort = try await server.listeningAddress().port!
        self.queryService = service
    }

    public func stopQuery() async {
        for task in self.queryTasks { task.cancel() }
        for task in self.queryTasks { _ = await task.result }
        self.queryTasks = []
        self.queryService = nil
    }

    /// Waits until both services answer Health.
    public func waitUntilHealthy() async throws {
        let client = self.client
        defer { Task { await client.close() } }
        for service in [DatelineService.ingest, .query] {
            _ = try await client.send(HealthRequest(), to: service)
        }
    }

    /// A client of both services (the CLI's library).
    public var client: DatelineClient {
        DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", self.ingestPort), query: ("127.0.0.1", self.queryPort)))
    }

    /// A protocol connection to dateline-ingest.
    public func ingestClient() async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: self.ingestPort)
    }

    /// A protocol connection to dateline-query.
    public func queryClient() async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: self.queryPort)
    }

    /// Stops both services.
    public func stop() async throws {
        await self.stopQuery()
        try await self.stopIngest()
    }
}
