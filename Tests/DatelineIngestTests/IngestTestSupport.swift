import DatelineIngest
import DatelineProtocol
import Foundation
import Logging
import NIOCore
import ServiceLifecycleTestKit

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")
    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
    static func submissions() throws -> [ArticleSubmission] {
        [
            ArticleSubmission(body: try text("000_840db5600f595d32.txt"), format: .plainText),
            ArticleSubmission(body: try text("004_e96d74743f33cd42.txt"), format: .plainText),
        ]
    }
}

func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("dateline-ingest-\(UUID().uuidString)").path
}

/// Runs the ingest service with a real server on an ephemeral port for `body`, then shuts both down.
func withIngestService<T: Sendable>(
    dataDirectory: String,
    configure: (inout IngestServiceConfiguration) -> Void = { _ in },
    enrich: @escaping IngestService.Enricher = { _ in },
    _ body: @Sendable (IngestService, DatelineClientConnection) async throws -> T
) async throws -> T {
    var configuration = IngestServiceConfiguration(
        dataDirectory: dataDirectory,
        server: DatelineServerConfiguration(port: 0, serviceName: "dateline-ingest", drainTimeout: .seconds(2))
    )
    configure(&configuration)
    let service = try IngestService.open(configuration: configuration, enrich: enrich, logger: quietLogger)
    let server = DatelineServer(configuration: configuration.server, router: service.router, logger: quietLogger)
    let result: T = try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningAddress().port!
            do {
                let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
                let result = try await body(service, connection)
                try await connection.close()
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                trigger.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
    try await service.close()
    return result
}

/// Collects LogBatch entries from a subscription until `count` entries have arrived.
func collect(_ connection: DatelineClientConnection, from offset: UInt64, count: Int) async throws -> [LogEntry] {
    var entries: [LogEntry] = []
    for try await batch in try connection.stream(SubscribeRequest(fromOffset: offset, follower: "test")) {
        entries += batch.entries
        if entries.count >= count { break }
    }
    return entries
}
