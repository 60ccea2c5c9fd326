import ArgumentParser
import DatelineBackup
import DatelineIngest
import DatelinePostgres
import DatelineProtocol
import DatelineServiceSupport
import DatelineStorage
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `dateline-ingest`: accepts articles, stores them durably, streams them to followers.
@main
struct DatelineIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dateline-ingest",
        abstract: "Accept news articles, store them durably, and stream them to followers such as dateline-query.",
        discussion: """
            Every option can also be set through the environment variable named in its help, or in a YAML or JSON \
            file given to --config (keys are the options' long names: 'port: 7500'); a flag wins over the \
            environment, the environment over the file. --print-config shows what applies and where it comes from. SIGTERM or SIGINT drains in-flight requests, sends GoAway, syncs the log and exits.

            Guarantees: an article acknowledged as accepted is on disk (fsync) before the reply is sent, unless \
            --fsync says otherwise; a torn last record is dropped at start; corruption anywhere else stops the \
            start with the segment and byte offset named. With --log postgres://..., an acknowledged article is \
            committed in PostgreSQL (as durable as its synchronous_commit makes it), and any number of \
            dateline-ingest nodes may share the log.
            """
    )

    static let environment = ProcessInfo.processInfo.environment

    @Option(help: "Address to listen on. Env: DATELINE_INGEST_HOST.")
    var host: String = ServiceSettings.string("host", env: "DATELINE_INGEST_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free one (see --port-file). Env: DATELINE_INGEST_PORT.")
    var port: Int = ServiceSettings.int("port", env: "DATELINE_INGEST_PORT", 7400)

    @Option(name: .customLong("data-dir"), help: "Directory for the log. Env: DATELINE_INGEST_DATA_DIR.")
    var dataDirectory: String = ServiceSettings.string("data-dir", env: "DATELINE_INGEST_DATA_DIR", ".dateline/ingest")

    @Option(help: "Where the log lives: 'file' (segment files under --data-dir) or a PostgreSQL connection string, postgres://USER[:PASSWORD]@HOST[:PORT][,HOST[:PORT]...]/DB[?schema=NAME&sslmode=MODE] or key=value pairs (several hosts: the first primary is used, and the next on failure). Env: DATELINE_INGEST_LOG.")
    var log: String = ServiceSettings.string("log", env: "DATELINE_INGEST_LOG", "file")

    @Option(help: "Shared secret clients must present; empty for none. Env: DATELINE_TOKEN.")
    var token: String = ServiceSettings.string("token", env: "DATELINE_TOKEN", "", secret: true)

    @Option(help: "When to fsync: 'always' (before every acknowledgement, group commit), 'interval:MS', or 'none'. Env: DATELINE_INGEST_FSYNC.")
    var fsync: String = ServiceSettings.string("fsync", env: "DATELINE_INGEST_FSYNC", "always")

    @Option(name: .customLong("segment-size"), help: "Log segment size, e.g. 64M. Env: DATELINE_INGEST_SEGMENT_SIZE.")
    var segmentSize: String = ServiceSettings.string("segment-size", env: "DATELINE_INGEST_SEGMENT_SIZE", "64M")

    @Option(name: .customLong("max-frame-size"), help: "Largest protocol frame accepted, e.g. 16M. Env: DATELINE_MAX_FRAME_SIZE.")
    var maximumFrameSize: String = ServiceSettings.string("max-frame-size", env: "DATELINE_MAX_FRAME_SIZE", "16M")

    @Option(name: .customLong("max-body-size"), help: "Largest article body accepted, e.g. 1M. Env: DATELINE_INGEST_MAX_BODY_SIZE.")
    var maximumBodySize: String = ServiceSettings.string("max-body-size", env: "DATELINE_INGEST_MAX_BODY_SIZE", "1M")

    @Option(name: .customLong("max-batch"), help: "Most articles in one ingest request. Env: DATELINE_INGEST_MAX_BATCH.")
    var maximumBatch: Int = ServiceSettings.int("max-batch", env: "DATELINE_INGEST_MAX_BATCH", 10_000)

    @Option(help: "Run the extractor (people, offices, places, dates, topics, quotes, events) on every article: 'on' or 'off'. Env: DATELINE_INGEST_EXTRACTION.")
    var extraction: String = ServiceSettings.string("extraction", env: "DATELINE_INGEST_EXTRACTION", "on")

    @Option(
        name: .customLong("restore-from"),
        help: "A backup directory written by 'dateline backup': its articles are put into the log (which must be empty) at their offsets before the service starts serving; a log holding the beginning of that backup (a restore cut short) gets the rest, and one holding all of it is left as it is. Env: DATELINE_INGEST_RESTORE_FROM."
    )
    var restoreFrom: String = ServiceSettings.string("restore-from", env: "DATELINE_INGEST_RESTORE_FROM", "")

    @OptionGroup var service: ServiceOptions

    func validate() throws {
        try ServiceSettings.namingSources { try self.validateOptions() }
    }

    func validateOptions() throws {
        _ = try Self.durability(self.fsync)
        for (name, value) in [("--segment-size", self.segmentSize), ("--max-frame-size", self.maximumFrameSize), ("--max-body-size", self.maximumBodySize)] {
            guard Self.bytes(value) != nil else { throw ValidationError("\(name) '\(value)' is not a size (examples: 1048576, 512K, 64M, 1G)") }
        }
        // A stored article (its log record: up to twice the body, for the extraction) must fit the 16 MiB frame
        // a follower accepts, or following would stop at it for good.
        guard let body = Self.bytes(self.maximumBodySize), body <= 7 << 20 else {
            throw ValidationError("--max-body-size '\(self.maximumBodySize)' is above 7M: a stored article must fit the 16 MiB frames followers accept")
        }
        guard (0...65535).contains(self.port) else { throw ValidationError("--port \(self.port) is not a TCP port (0-65535)") }
        guard self.maximumBatch > 0 else { throw ValidationError("--max-batch must be positive") }
        guard ["on", "off"].contains(self.extraction) else { throw ValidationError("--extraction '\(self.extraction)' must be 'on' or 'off'") }
        _ = try self.postgresLog()
    }

    /// The PostgreSQL log's configuration, or nil for the file log.
    func postgresLog() throws -> PostgresLogConfiguration? {
        guard self.log != "file" else { return nil }
        do {
            return try PostgresLogConfiguration(connectionString: self.log)
        } catch {
            throw ValidationError("--log: \(error.description) (or 'file' for the log on local disk)")
        }
    }

    static func durability(_ text: String) throws -> DatelineLogConfiguration.Durability {
        switch text {
        case "always", "fsync": return .fsyncEveryCommit
        case "none", "never": return .none
        default:
            if text.hasPrefix("interval:"), let milliseconds = Int(text.dropFirst("interval:".count)), milliseconds > 0 {
                return .fsyncInterval(.milliseconds(milliseconds))
            }
            throw ValidationError("--fsync '\(text)' must be 'always', 'interval:MS' or 'none'")
        }
    }

    /// `1048576`, `512K`, `64M`, `1G` (powers of 1024).
    static func bytes(_ text: String) -> Int? {
        let upper = text.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = upper.last, let multiplier = multipliers[last], let value = Int(upper.dropLast()), value > 0 { return value * multiplier }
        if let value = Int(upper), value > 0 { return value }
        return nil
    }

    /// With `--restore-from`, puts the backup's articles into `log` before the service serves it; closes the log
    /// and fails the start when that cannot be done (a service must not serve a log that is half restored).
    ///
    /// A marker in the data directory is written before the first append and removed after the last: a restore
    /// cut short is finished by a start with the same `--restore-from`, and refused by a start without it. Once a
    /// restore is done, the flag may stay set (in a configuration file, say): a log that holds the backup is
    /// served as it is, even when the backup is gone by then.
    func restore(into log: any IngestLog, configuration: IngestServiceConfiguration, logger: Logger) async throws {
        let marker = RestoreMarker(dataDirectory: self.dataDirectory)
        let pending = marker.pendingBackup
        do {
            guard !self.restoreFrom.isEmpty else {
                if let pending {
                    throw ValidationError("a restore from \(pending) was cut short: start again with --restore-from \(pending) to finish it (the log holds only part of it)")
                }
                return
            }
            try FileManager.default.createDirectory(atPath: self.dataDirectory, withIntermediateDirectories: true)
            let logEnd = await log.currentBounds().upperBound
            let backup: BackupReader
            do {
                backup = try BackupReader(directory: self.restoreFrom)
            } catch {
                guard logEnd > 0, pending == nil else { throw ValidationError("--restore-from: \(error)") }
                logger.warning("--restore-from names no readable backup, but the log holds records and no restore is under way: serving it", metadata: [
                    "dateline.backup": "\(self.restoreFrom)", "dateline.error": "\(error)", "dateline.log.end": "\(logEnd)",
                ])
                return
            }
            logger.info("restoring the log from a backup", metadata: [
                "dateline.backup": "\(self.restoreFrom)", "dateline.backup.records": "\(backup.manifest.endOffset)",
                "dateline.backup.created": "\(backup.manifest.createdAt)",
            ])
            _ = try await LogRestore.restore(backup, into: log, maximumRecordBytes: configuration.logConfiguration.maximumRecordBytes, marker: marker, logger: logger)
        } catch {
            try? await log.close()
            logger.critical("cannot start: \(error)")
            throw error
        }
    }

    static func main() async {
        await Self.mainReadingSettings()
    }

    func run() async throws {
        guard !self.service.printedConfiguration(service: "dateline-ingest") else { return }
        self.service.bootstrapLogging()
        let logger = Logger(label: "dateline-ingest")
        let frameSize = Self.bytes(self.maximumFrameSize)!
        var configuration = IngestServiceConfiguration(
            dataDirectory: self.dataDirectory,
            server: DatelineServerConfiguration(
                host: self.host,
                port: self.port,
                serviceName: "dateline-ingest",
                token: self.token.isEmpty ? nil : self.token,
                limits: .init(maximumFrameSize: frameSize, maximumDecompressedSize: frameSize)
            ),
            segmentMaximumBytes: Self.bytes(self.segmentSize)!,
            durability: try Self.durability(self.fsync),
            maximumBodyBytes: Self.bytes(self.maximumBodySize)!,
            maximumBatchArticles: self.maximumBatch,
            extraction: self.extraction == "on"
        )
        configuration.server.version = "0.1.0"
        self.service.apply(to: &configuration.server)
        let metrics = self.service.bootstrapMetrics()
        configuration.server.metricsFactory = metrics?.factory
        let service: IngestService
        if var postgres = try self.postgresLog() {
            postgres.maximumRecordBytes = configuration.logConfiguration.maximumRecordBytes
            let log = try await PostgresLog.open(configuration: postgres, metricsFactory: metrics?.factory, logger: logger)
            try await self.restore(into: log, configuration: configuration, logger: logger)
            service = try await IngestService.open(configuration: configuration, log: log, logger: logger)
        } else if !self.restoreFrom.isEmpty || RestoreMarker(dataDirectory: self.dataDirectory).pendingBackup != nil {
            let log = try DatelineLog(configuration: configuration.logConfiguration, logger: logger)
            try await self.restore(into: log, configuration: configuration, logger: logger)
            service = try await IngestService.open(configuration: configuration, log: log, logger: logger)
        } else {
            service = try IngestService.open(configuration: configuration, logger: logger)
        }
        let server = DatelineServer(configuration: configuration.server, router: service.router, logger: logger)
        self.service.announcePort(of: server)
        var services: [any Service] = [server]
        if let metrics, let endpoint = self.service.metricsEndpoint(registry: metrics.registry, refresh: { service.refreshMetrics() }, logger: logger) {
            services.append(endpoint)
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        try await service.close()
        logger.info("log synced and closed")
    }
}
