import DatelinePostgres
import DatelineStorage
import Foundation
import Logging
import PostgresNIO
import Testing

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The PostgreSQL server the tests use: `DATELINE_TEST_POSTGRES` (a connection string), which `scripts/test.sh`
/// sets after starting a throwaway server with `scripts/postgres.sh`. Without it the PostgreSQL tests are
/// skipped, and say so.
enum TestPostgres {
    static let connectionString = ProcessInfo.processInfo.environment["DATELINE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static var isConfigured: Bool { connectionString != nil }

    /// A configuration for a schema of its own.
    static func configuration(schema: String) throws -> PostgresLogConfiguration {
        var configuration = try PostgresLogConfiguration(connectionString: connectionString!)
        configuration.schema = schema
        configuration.pollInterval = .milliseconds(200)
        return configuration
    }

    /// A new schema name, dropped by ``dropSchema(_:)``.
    static func newSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    /// Runs `body` while another session holds the head row of the log in `schema` locked, as a slow append
    /// of another node would; the lock is released when `body` returns.
    static func holdingTheHead<T: Sendable>(of schema: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let client = self.client()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await client.withTransaction(logger: quietLogger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "SELECT end_offset FROM \(schema).log_head FOR UPDATE"), logger: quietLogger)
                return try await body()
            }
        }
    }

    private static func client() -> PostgresClient {
        let configuration = try! PostgresLogConfiguration(connectionString: connectionString!)
        let endpoint = configuration.endpoints[0]
        return PostgresClient(
            configuration: .init(host: endpoint.host, port: endpoint.port, username: configuration.username, password: configuration.password, database: configuration.database, tls: .disable),
            backgroundLogger: quietLogger
        )
    }

    /// The integer the first column of the first row of `sql` holds, run outside any log.
    static func integer(_ sql: String) async throws -> Int {
        let client = self.client()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            for try await (value) in try await client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger).decode(Int.self) { return value }
            return 0
        }
    }

    /// Runs SQL on the test server outside any log (to inspect or damage what a log wrote).
    static func execute(_ sql: String) async throws {
        let client = self.client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        }
    }

    static func dropSchema(_ schema: String) async {
        try? await execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}

/// Which log a contract test runs against.
enum LogBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case file
    case postgres

    var testDescription: String { self.rawValue }

    /// The backends available here: the file log always, PostgreSQL when a test server is configured.
    static var available: [LogBackend] { TestPostgres.isConfigured ? [.file, .postgres] : [.file] }
}

/// A place for one test's log, reopened as often as the test likes, removed afterwards.
struct LogPlace: Sendable {
    let backend: LogBackend
    let name: String

    init(_ backend: LogBackend) {
        self.backend = backend
        self.name = backend == .file
            ? FileManager.default.temporaryDirectory.appendingPathComponent("dateline-log-\(UUID().uuidString)").path
            : TestPostgres.newSchema()
    }

    /// Opens the log; `maximumRecordBytes` as a service would set it (nil: each log's default).
    func open(maximumRecordBytes: Int? = nil) async throws -> any IngestLog {
        switch self.backend {
        case .file:
            var configuration = DatelineLogConfiguration(directory: self.name)
            if let maximumRecordBytes { configuration.maximumRecordBytes = maximumRecordBytes }
            return try DatelineLog(configuration: configuration, logger: quietLogger)
        case .postgres:
            var configuration = try TestPostgres.configuration(schema: self.name)
            if let maximumRecordBytes { configuration.maximumRecordBytes = maximumRecordBytes }
            return try await PostgresLog.open(configuration: configuration, logger: quietLogger)
        }
    }

    func remove() async {
        switch self.backend {
        case .file: try? FileManager.default.removeItem(atPath: self.name)
        case .postgres: await TestPostgres.dropSchema(self.name)
        }
    }
}

/// Runs `body` with a fresh place for a log of `backend`, removed afterwards even when the test fails.
func withLogPlace<T>(_ backend: LogBackend, _ body: (LogPlace) async throws -> T) async throws -> T {
    let place = LogPlace(backend)
    do {
        let result = try await body(place)
        await place.remove()
        return result
    } catch {
        await place.remove()
        throw error
    }
}

func payload(_ index: Int, size: Int = 100) -> [UInt8] {
    Array("record \(index) ".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
}

/// An entry whose keys are all its own (never a duplicate of another index's).
func entry(_ index: Int, size: Int = 100, externalID: String? = nil, content: String? = nil) -> IngestLogEntry {
    IngestLogEntry(
        payload: payload(index, size: size),
        keys: DeduplicationKeys(articleID: "article-\(index)", externalID: externalID, contentKey: content ?? "content-\(index)")
    )
}

func offsets(_ outcomes: [IngestLogAppendOutcome]) -> [UInt64] {
    outcomes.compactMap { if case .appended(let offset) = $0 { offset } else { nil } }
}
