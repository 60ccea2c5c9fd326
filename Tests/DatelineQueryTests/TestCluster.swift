import DatelineIngest
import DatelineProtocol
import DatelineQuery
import Foundation
import Logging
import NIOCore

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")
    static func submissions() throws -> [ArticleSubmission] {
        try ["000_840db5600f595d32.txt", "004_e96d74743f33cd42.txt"].map {
            ArticleSubmission(body: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8), format: .plainText)
        }
    }
}

/// Both real services on ephemeral ports, each startable and stoppable on its own.
final class TestCluster {
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-cluster-\(UUID().uuidString)").path
    private(set) var ingestPort = 0
    private(set) var queryPort = 0
    private var ingestTask: Task<Void, any Error>?
    private var ingestService: IngestService?
    private var queryTasks: [Task<Void, any Error>] = []
    private(set) var queryService: QueryService?

    deinit { try? FileManager.default.removeItem(atPath: self.dataDirectory) }

    /// Starts dateline-ingest, on the port it had before when restarted.
    func startIngest() async throws {
        let configuration = IngestServiceConfiguration(
            dataDirectory: self.dataDirectory + "/ingest",
            server: DatelineServerConfiguration(port: self.ingestPort, serviceName: "dateline-ingest", drainTimeout: .seconds(1))
        )
        let service = try IngestService.open(configuration: configuration, logger: quietLogger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quietLogger)
        self.ingestTask = Task { try await server.run() }
        self.ingestPort = try await server.listeningAddress().port!
        self.ingestService = service
    }

    /// Starts dateline-ingest on a fresh, empty data directory (its log "reset").
    func resetIngest() async throws {
        try await self.stopIngest()
        try? FileManager.default.removeItem(atPath: self.dataDirectory + "/ingest")
        try await self.startIngest()
    }

    func stopIngest() async throws {
        self.ingestTask?.cancel()
        _ = await self.ingestTask?.result
        try await self.ingestService?.close()
        self.ingestTask = nil
        self.ingestService = nil
    }

    var snapshotDirectory: String { self.dataDirectory + "/query" }

    func startQuery(snapshots: Bool = false) async throws {
        let configuration = QueryServiceConfiguration(
            server: DatelineServerConfiguration(port: self.queryPort, serviceName: "dateline-query", drainTimeout: .seconds(1)),
            ingestPort: self.ingestPort,
            reconnectBackoff: (.milliseconds(20), .milliseconds(200)),
            snapshotDirectory: snapshots ? self.snapshotDirectory : nil,
            snapshotInterval: .milliseconds(200)
        )
        let service = QueryService(configuration: configuration, logger: quietLogger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quietLogger)
        self.queryTasks = [Task { try await server.run() }, Task { try await service.run() }]
        self.queryPort = try await server.listeningAddress().port!
        self.queryService = service
    }

    func stopQuery() async {
        for task in self.queryTasks { task.cancel() }
        for task in self.queryTasks { _ = await task.result }
        self.queryTasks = []
        self.queryService = nil
    }

    func ingestClient() async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: self.ingestPort)
    }

    func queryClient() async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: self.queryPort)
    }

    func stop() async throws {
        await self.stopQuery()
        try await self.stopIngest()
    }
}
