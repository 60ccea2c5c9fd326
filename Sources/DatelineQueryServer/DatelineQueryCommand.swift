import ArgumentParser
import DatelineBackup
import DatelineProtocol
import DatelineServiceSupport
import DatelineQuery
import DatelineSearch
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `dateline-query`: follows dateline-ingest's log, indexes every article and answers searches.
@main
struct DatelineQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dateline-query",
        abstract: "Follow dateline-ingest, index every article, and answer searches.",
        discussion: """
            Every option can also be set through the environment variable named in its help, or in a YAML or JSON \
            file given to --config (keys are the options' long names: 'port: 7500'); a flag wins over the \
            environment, the environment over the file. --print-config shows what applies and where it comes from. The index is built by following dateline-ingest's log from the start; when the \
            ingest service is unreachable the query service keeps answering from its index and reconnects \
            with backoff. SIGTERM or SIGINT drains in-flight requests and exits.
            """
    )

    static let environment = ProcessInfo.processInfo.environment

    @Option(help: "Address to listen on. Env: DATELINE_QUERY_HOST.")
    var host: String = ServiceSettings.string("host", env: "DATELINE_QUERY_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free one (see --port-file). Env: DATELINE_QUERY_PORT.")
    var port: Int = ServiceSettings.int("port", env: "DATELINE_QUERY_PORT", 7401)

    @Option(help: "The dateline-ingest service to follow, HOST:PORT; several nodes sharing one log (PostgreSQL), comma-separated, are tried in turn when one fails. Env: DATELINE_INGEST.")
    var ingest: String = ServiceSettings.string("ingest", env: "DATELINE_INGEST", "127.0.0.1:7400")

    @Option(
        name: .customLong("ingest-tls-ca"),
        help: "PEM CA certificates: follow dateline-ingest over TLS, trusting certificates they signed (with --tls-cert/--tls-key as this node's client certificate when ingest requires one). Env: DATELINE_INGEST_TLS_CA."
    )
    var ingestTLSCAOption: String = ServiceSettings.string("ingest-tls-ca", env: "DATELINE_INGEST_TLS_CA", "")
    var ingestTLSCA: String? { self.ingestTLSCAOption.isEmpty ? nil : self.ingestTLSCAOption }

    @Option(name: .customLong("data-dir"), help: "Directory for the index: segments and the manifest. Env: DATELINE_QUERY_DATA_DIR.")
    var dataDirectory: String = ServiceSettings.string("data-dir", env: "DATELINE_QUERY_DATA_DIR", ".dateline/query")

    @Option(help: "Shared secret: required from clients and presented to dateline-ingest; empty for none. Env: DATELINE_TOKEN.")
    var token: String = ServiceSettings.string("token", env: "DATELINE_TOKEN", "", secret: true)

    @Option(name: .customLong("max-limit"), help: "The most hits one search may return. Env: DATELINE_QUERY_MAX_LIMIT.")
    var maximumLimit: Int = ServiceSettings.int("max-limit", env: "DATELINE_QUERY_MAX_LIMIT", 100)

    @Option(name: .customLong("bm25-k1"), help: "BM25 term-frequency saturation. Env: DATELINE_BM25_K1.")
    var k1: Double = ServiceSettings.double("bm25-k1", env: "DATELINE_BM25_K1", 1.2)

    @Option(name: .customLong("bm25-b"), help: "BM25 length normalisation. Env: DATELINE_BM25_B.")
    var b: Double = ServiceSettings.double("bm25-b", env: "DATELINE_BM25_B", 0.75)

    @Option(name: .customLong("title-weight"), help: "How much more a title match counts than a body match. Env: DATELINE_TITLE_WEIGHT.")
    var titleWeight: Double = ServiceSettings.double("title-weight", env: "DATELINE_TITLE_WEIGHT", 2)

    @Option(name: .customLong("commit-interval"), help: "Seconds between commits of buffered articles to a new segment (only when something changed, and at shutdown). Env: DATELINE_QUERY_COMMIT_INTERVAL.")
    var commitInterval: Double = ServiceSettings.double("commit-interval", env: "DATELINE_QUERY_COMMIT_INTERVAL", 10)

    @Option(name: .customLong("buffer-articles"), help: "Commit as soon as this many articles are buffered in memory. Env: DATELINE_QUERY_BUFFER_ARTICLES.")
    var bufferArticles: Int = ServiceSettings.int("buffer-articles", env: "DATELINE_QUERY_BUFFER_ARTICLES", 4_096)

    @Option(name: .customLong("buffer-mb"), help: "... or as soon as the buffered articles hold this many MiB of text. Env: DATELINE_QUERY_BUFFER_MB.")
    var bufferMegabytes: Int = ServiceSettings.int("buffer-mb", env: "DATELINE_QUERY_BUFFER_MB", 16)

    @Option(
        name: .customLong("max-uncommitted-mb"),
        help: "Stop reading the ingest log while this many MiB of applied articles (as stored, extraction included) wait to be committed (commits failing, as on a full disk), until a commit succeeds; at least twice --buffer-mb; 0: four times --buffer-mb. Env: DATELINE_QUERY_MAX_UNCOMMITTED_MB."
    )
    var maximumUncommittedMegabytes: Int = ServiceSettings.int("max-uncommitted-mb", env: "DATELINE_QUERY_MAX_UNCOMMITTED_MB", 0)

    @Option(name: .customLong("merge-factor"), help: "How many adjacent segments of one size are merged into one (2 or more). Env: DATELINE_QUERY_MERGE_FACTOR.")
    var mergeFactor: Int = ServiceSettings.int("merge-factor", env: "DATELINE_QUERY_MERGE_FACTOR", 8)

    @Option(
        name: .customLong("quiet-merge-after"),
        help: "Seconds without a new article after which the newest segments (up to --quiet-merge-articles articles) are merged into one; 0: never. Env: DATELINE_QUERY_QUIET_MERGE_AFTER."
    )
    var quietMergeAfter: Double = ServiceSettings.double("quiet-merge-after", env: "DATELINE_QUERY_QUIET_MERGE_AFTER", 60)

    @Option(name: .customLong("quiet-merge-articles"), help: "The most articles a quiet merge rewrites (2 or more). Env: DATELINE_QUERY_QUIET_MERGE_ARTICLES.")
    var quietMergeArticles: Int = ServiceSettings.int("quiet-merge-articles", env: "DATELINE_QUERY_QUIET_MERGE_ARTICLES", 1_000_000)

    @Option(
        name: .customLong("restore-from"),
        help: "A backup directory written by 'dateline backup --with-index': when --data-dir holds no index yet, the backup's index is put there, and only the log after it is replayed (the log must be the one restored from the same backup; otherwise the index is rebuilt from the log). Env: DATELINE_QUERY_RESTORE_FROM."
    )
    var restoreFrom: String = ServiceSettings.string("restore-from", env: "DATELINE_QUERY_RESTORE_FROM", "")

    @OptionGroup var service: ServiceOptions

    func validate() throws {
        try ServiceSettings.namingSources { try self.validateOptions() }
    }

    func validateOptions() throws {
        guard DatelineEndpoint.list(self.ingest) != nil else {
            throw ValidationError("--ingest '\(self.ingest)' must be HOST:PORT or a comma-separated list of them, e.g. 127.0.0.1:7400")
        }
        guard (0...65535).contains(self.port) else { throw ValidationError("--port \(self.port) is not a TCP port (0-65535)") }
        guard self.maximumLimit > 0 else { throw ValidationError("--max-limit must be positive") }
        guard self.commitInterval > 0 else { throw ValidationError("--commit-interval must be a positive number of seconds") }
        guard self.bufferArticles > 0 else { throw ValidationError("--buffer-articles must be positive") }
        guard self.bufferMegabytes > 0 else { throw ValidationError("--buffer-mb must be positive") }
        guard self.bufferMegabytes <= 1 << 20 else { throw ValidationError("--buffer-mb must be at most 1048576 (1 TiB)") }
        guard self.maximumUncommittedMegabytes == 0 || (2 * self.bufferMegabytes...(1 << 20)).contains(self.maximumUncommittedMegabytes) else {
            throw ValidationError("--max-uncommitted-mb must be 0 (four times --buffer-mb) or between twice --buffer-mb and 1048576")
        }
        guard self.mergeFactor >= 2 else { throw ValidationError("--merge-factor must be 2 or more") }
        guard self.quietMergeAfter >= 0, self.quietMergeAfter <= 1e9 else {
            throw ValidationError("--quiet-merge-after must be 0 (never) or a positive number of seconds")
        }
        guard self.quietMergeArticles >= 2 else { throw ValidationError("--quiet-merge-articles must be 2 or more") }
        guard self.k1 >= 0, (0...1).contains(self.b), self.titleWeight >= 0 else {
            throw ValidationError("BM25 parameters out of range: k1 ≥ 0, 0 ≤ b ≤ 1, title weight ≥ 0")
        }
    }

    /// With `--restore-from`, puts the backup's index into an empty data directory. A data directory that holds an
    /// index keeps it (the flag may stay set after a restore), even when the backup is gone by then.
    func restoreIndex(logger: Logger) throws {
        guard !self.restoreFrom.isEmpty else { return }
        let hasIndex = FileManager.default.fileExists(atPath: self.dataDirectory + "/manifest")
        let backup: BackupReader
        do {
            backup = try BackupReader(directory: self.restoreFrom)
        } catch {
            guard hasIndex else { throw ValidationError("--restore-from: \(error)") }
            logger.info("the data directory holds an index; --restore-from (unreadable: \(error)) leaves it")
            return
        }
        switch try IndexRestore.install(backup, into: self.dataDirectory, logger: logger) {
        case .installed(let offset): logger.info("starting from the backup's index", metadata: ["dateline.offset": "\(offset)"])
        case .noIndexInBackup: logger.info("the backup holds no index; building it from the log", metadata: ["dateline.backup": "\(self.restoreFrom)"])
        case .indexPresent: logger.info("the data directory already holds an index; --restore-from leaves it", metadata: ["dateline.backup": "\(self.restoreFrom)"])
        case .indexUnusable(let reason): logger.warning("not using the backup's index; building one from the log", metadata: ["dateline.reason": "\(reason)"])
        }
    }

    static func main() async {
        await Self.mainReadingSettings()
    }

    func run() async throws {
        guard !self.service.printedConfiguration(service: "dateline-query") else { return }
        let arenasLimited = HeapTrim.limitArenas(to: 2)
        self.service.bootstrapLogging()
        let logger = Logger(label: "dateline-query")
        logger.debug("allocator", metadata: ["dateline.arenas": "\(arenasLimited ? "at most 2" : "as MALLOC_ARENA_MAX or glibc decides")"])
        try FileManager.default.createDirectory(atPath: self.dataDirectory, withIntermediateDirectories: true)
        let ingestEndpoints = DatelineEndpoint.list(self.ingest)!
        let ingestEndpoint = ingestEndpoints[0]
        let token = self.token.isEmpty ? nil : self.token
        var configuration = QueryServiceConfiguration(
            server: DatelineServerConfiguration(host: self.host, port: self.port, serviceName: "dateline-query", token: token),
            ingestHost: ingestEndpoint.host,
            ingestPort: ingestEndpoint.port,
            ingestClient: DatelineClientConfiguration(clientName: "dateline-query/0.1.0", token: token, requestTimeout: nil),
            bm25: BM25Parameters(k1: self.k1, b: self.b, titleWeight: self.titleWeight),
            maximumLimit: self.maximumLimit,
            indexDirectory: self.dataDirectory,
            commitInterval: .milliseconds(Int(self.commitInterval * 1000)),
            bufferDocuments: self.bufferArticles,
            bufferBytes: self.bufferMegabytes << 20,
            mergeFactor: self.mergeFactor,
            quietMergeAfter: self.quietMergeAfter == 0 ? nil : .milliseconds(Int(self.quietMergeAfter * 1000)),
            quietMergeDocuments: self.quietMergeArticles,
            maximumUncommittedBytes: self.maximumUncommittedMegabytes == 0 ? nil : self.maximumUncommittedMegabytes << 20
        )
        configuration.ingestFallbacks = Array(ingestEndpoints.dropFirst())
        if let ca = self.ingestTLSCA {
            configuration.ingestClient.tls = DatelineClientTLS(caPath: ca, certificateChainPath: self.service.tlsCertificate, privateKeyPath: self.service.tlsKey)
        }
        self.service.apply(to: &configuration.server)
        let metrics = self.service.bootstrapMetrics()
        configuration.server.metricsFactory = metrics?.factory
        try self.restoreIndex(logger: logger)
        let service = QueryService(configuration: configuration, logger: logger)
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: logger)
        self.service.announcePort(of: server)
        var services: [any Service] = [server, service]
        if let metrics, let endpoint = self.service.metricsEndpoint(registry: metrics.registry, refresh: { service.refreshMetrics() }, logger: logger) {
            services.append(endpoint)
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
