public import ArgumentParser
import CoreMetrics
public import DatelineMetrics
public import DatelineProtocol
import Foundation
public import Logging
import NIOCore
public import Prometheus

/// The options both service executables share, and what they do with them.
public struct ServiceOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: DATELINE_LOG_LEVEL.")
    public var logLevel: String = ServiceSettings.string("log-level", env: "DATELINE_LOG_LEVEL", "info")

    @Option(name: .customLong("port-file"), help: "Write the bound port to this file once listening (for scripts and tests).")
    public var portFileOption: String = ServiceSettings.string("port-file", "")
    public var portFile: String? { self.portFileOption.isEmpty ? nil : self.portFileOption }

    @Option(
        name: .customLong("max-outbound"),
        help: "Unsent reply bytes per connection above which the service stops reading from it (K, M, G suffixes). Env: DATELINE_MAX_OUTBOUND."
    )
    public var maximumOutbound: String = ServiceSettings.string("max-outbound", env: "DATELINE_MAX_OUTBOUND", "4M")

    @Option(
        name: .customLong("stalled-reader-timeout"),
        help: "Seconds a connection may read none of its replies before it is sent GoAway and closed. Env: DATELINE_STALLED_READER_TIMEOUT."
    )
    public var stalledReaderTimeout: Double = ServiceSettings.double("stalled-reader-timeout", env: "DATELINE_STALLED_READER_TIMEOUT", 30)

    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once; one more is told OVERLOADED and closed. Env: DATELINE_MAX_CONNECTIONS."
    )
    public var maximumConnections: Int = ServiceSettings.int("max-connections", env: "DATELINE_MAX_CONNECTIONS", 1_024)

    @Option(
        name: .customLong("max-streams"),
        help: "Streams (subscriptions to the log, index backups) served at once; one more is told OVERLOADED. Env: DATELINE_MAX_STREAMS."
    )
    public var maximumStreams: Int = ServiceSettings.int("max-streams", env: "DATELINE_MAX_STREAMS", 64)

    @Option(
        name: .customLong("max-request-memory"),
        help: "Request bytes held at once over all connections (frames arriving and requests being handled); a frame that does not fit waits, its connection unread (K, M, G suffixes). Env: DATELINE_MAX_REQUEST_MEMORY."
    )
    public var maximumRequestMemory: String = ServiceSettings.string("max-request-memory", env: "DATELINE_MAX_REQUEST_MEMORY", "256M")

    @Option(
        name: .customLong("frame-receive-timeout"),
        help: "Seconds a frame of 64 KiB or more may take to arrive once its header is in. Env: DATELINE_FRAME_RECEIVE_TIMEOUT."
    )
    public var frameReceiveTimeout: Double = ServiceSettings.double("frame-receive-timeout", env: "DATELINE_FRAME_RECEIVE_TIMEOUT", 60)

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve TLS only (plain clients are refused with a clear error). Env: DATELINE_TLS_CERT.")
    public var tlsCertificateOption: String = ServiceSettings.string("tls-cert", env: "DATELINE_TLS_CERT", "")
    public var tlsCertificate: String? { self.tlsCertificateOption.isEmpty ? nil : self.tlsCertificateOption }

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert. Env: DATELINE_TLS_KEY.")
    public var tlsKeyOption: String = ServiceSettings.string("tls-key", env: "DATELINE_TLS_KEY", "")
    public var tlsKey: String? { self.tlsKeyOption.isEmpty ? nil : self.tlsKeyOption }

    @Option(
        name: .customLong("tls-client-ca"),
        help: "PEM CA certificates: require every client to present a certificate they signed (mutual TLS). Env: DATELINE_TLS_CLIENT_CA."
    )
    public var tlsClientCAOption: String = ServiceSettings.string("tls-client-ca", env: "DATELINE_TLS_CLIENT_CA", "")
    public var tlsClientCA: String? { self.tlsClientCAOption.isEmpty ? nil : self.tlsClientCAOption }

    @Option(
        name: .customLong("metrics-port"),
        help: "Serve Prometheus metrics over HTTP on this port (GET /metrics); off unless given; 0 picks a free one (see --metrics-port-file). Env: DATELINE_METRICS_PORT."
    )
    public var metricsPortOption: String = ServiceSettings.string("metrics-port", env: "DATELINE_METRICS_PORT", "")
    public var metricsPort: Int? { Int(self.metricsPortOption) }

    @Option(name: .customLong("metrics-host"), help: "Address of the metrics endpoint (loopback unless set). Env: DATELINE_METRICS_HOST.")
    public var metricsHost: String = ServiceSettings.string("metrics-host", env: "DATELINE_METRICS_HOST", "127.0.0.1")

    @Option(name: .customLong("metrics-port-file"), help: "Write the metrics endpoint's port to this file once it listens (for scripts and tests).")
    public var metricsPortFileOption: String = ServiceSettings.string("metrics-port-file", "")
    public var metricsPortFile: String? { self.metricsPortFileOption.isEmpty ? nil : self.metricsPortFileOption }

    @Option(
        name: .customLong("config"),
        help: "A YAML or JSON file (.json) of option values keyed by the options' long names, e.g. 'port: 7500' or 'data-dir: /var/lib/dateline'. A flag wins over the environment, the environment over the file, the file over the defaults. Env: DATELINE_CONFIG."
    )
    public var configurationFile: String?

    @Flag(name: .customLong("print-config"), help: "Print every option's effective value and where it comes from (flag, environment, file or default), then exit.")
    public var printConfiguration = false

    public init() {}

    /// The TLS the options ask for, nil for plain TCP.
    public var serverTLS: DatelineServerTLS? {
        guard let certificate = self.tlsCertificate, let key = self.tlsKey else { return nil }
        return DatelineServerTLS(certificateChainPath: certificate, privateKeyPath: key, clientCAPath: self.tlsClientCA)
    }

    public func validate() throws {
        do {
            try ServiceSettings.validate()
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
        try ServiceSettings.namingSources { try self.validateOptions() }
    }

    func validateOptions() throws {
        if !self.metricsPortOption.isEmpty {
            guard let port = Int(self.metricsPortOption), (0...65535).contains(port) else {
                throw ValidationError("--metrics-port '\(self.metricsPortOption)' is not a TCP port (0-65535)")
            }
        }
        guard self.metricsPortFile == nil || self.metricsPort != nil else {
            throw ValidationError("--metrics-port-file needs --metrics-port")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level '\(self.logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard let outbound = Self.bytes(self.maximumOutbound), outbound >= 64 << 10 else {
            throw ValidationError("--max-outbound '\(self.maximumOutbound)' is not a size of at least 64K (e.g. 4M)")
        }
        guard (1...1_000_000).contains(self.maximumConnections) else {
            throw ValidationError("--max-connections must be between 1 and 1000000, not \(self.maximumConnections)")
        }
        guard (1...100_000).contains(self.maximumStreams) else {
            throw ValidationError("--max-streams must be between 1 and 100000, not \(self.maximumStreams)")
        }
        guard let requestMemory = Self.bytes(self.maximumRequestMemory), requestMemory >= Self.smallestRequestMemory else {
            throw ValidationError(
                "--max-request-memory '\(self.maximumRequestMemory)' is not a size of at least 32M (the largest frame, on the wire and inflated; e.g. 256M)"
            )
        }
        guard self.frameReceiveTimeout > 0, self.frameReceiveTimeout.isFinite else {
            throw ValidationError("--frame-receive-timeout must be a positive number of seconds")
        }
        guard self.stalledReaderTimeout > 0, self.stalledReaderTimeout.isFinite else {
            throw ValidationError("--stalled-reader-timeout must be a positive number of seconds")
        }
        guard (self.tlsCertificate == nil) == (self.tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together (DATELINE_TLS_CERT and DATELINE_TLS_KEY)")
        }
        guard self.tlsClientCA == nil || self.tlsCertificate != nil else {
            throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first")
        }
        for path in [self.tlsCertificate, self.tlsKey, self.tlsClientCA].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read the TLS file \(path)")
        }
    }

    /// With `--print-config`, prints the effective configuration and returns true (the command then exits).
    public func printedConfiguration(service: String) -> Bool {
        guard self.printConfiguration else { return false }
        print("# \(service)\n" + ServiceSettings.report(arguments: Array(CommandLine.arguments.dropFirst())))
        return true
    }

    /// Sets the backpressure limits and the TLS these options name on a server configuration.
    public func apply(to configuration: inout DatelineServerConfiguration) {
        configuration.maximumOutboundBytes = Self.bytes(self.maximumOutbound) ?? configuration.maximumOutboundBytes
        configuration.stalledReaderTimeout = .milliseconds(Int64(self.stalledReaderTimeout * 1000))
        configuration.maximumConnections = self.maximumConnections
        configuration.maximumStreams = self.maximumStreams
        configuration.maximumRequestMemory = Self.bytes(self.maximumRequestMemory) ?? configuration.maximumRequestMemory
        configuration.frameReceiveTimeout = .milliseconds(Int64(self.frameReceiveTimeout * 1000))
        configuration.tls = self.serverTLS
    }

    /// The least request memory accepted: one frame at the limits, on the wire and inflated.
    static let smallestRequestMemory = DatelineFrameDecoder.Limits().maximumFrameSize + DatelineFrameDecoder.Limits().maximumDecompressedSize

    /// `4096`, `64K`, `4M`, `1G` in bytes.
    static func bytes(_ text: String) -> Int? { ByteSize.parse(text) }

    /// Sends logs to standard error at the chosen level (executables bootstrap logging; libraries never do).
    public func bootstrapLogging() {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The metrics registry and factory when `--metrics-port` asks for metrics (nil otherwise); the factory
    /// is also bootstrapped as the process-wide one, so that the libraries' metrics land in the same registry.
    public func bootstrapMetrics() -> (registry: PrometheusCollectorRegistry, factory: PrometheusMetricsFactory)? {
        guard self.metricsPort != nil else { return nil }
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory.dateline(registry: registry)
        MetricsSystem.bootstrap(factory)
        return (registry, factory)
    }

    /// The metrics endpoint `--metrics-port` asks for, serving `registry` (refreshed by `refresh` before each
    /// scrape); it writes its port to `--metrics-port-file` once it listens.
    public func metricsEndpoint(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void, logger: Logger) -> DatelineMetricsEndpoint? {
        guard let port = self.metricsPort else { return nil }
        let endpoint = DatelineMetricsEndpoint(
            configuration: .init(host: self.metricsHost, port: port),
            registry: registry,
            refresh: refresh,
            logger: logger
        )
        if let portFile = self.metricsPortFile {
            Task {
                if let port = try? await endpoint.listeningAddress().port {
                    try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
                }
            }
        }
        return endpoint
    }

    /// Once `server` listens, writes its port to `--port-file` (if given).
    public func announcePort(of server: DatelineServer) {
        guard let portFile = self.portFile else { return }
        Task {
            if let port = try? await server.listeningAddress().port {
                try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
            }
        }
    }
}

extension AsyncParsableCommand {
    /// What a service's `main` does: reads the configuration file (``ServiceSettings/load(arguments:environment:)``),
    /// whose values the options' defaults then take, and parses and runs the command as ArgumentParser's own
    /// `main` would.
    public static func mainReadingSettings() async {
        await ServiceSettings.load(arguments: Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}

extension ServiceSettings {
    /// Runs `validation`; a `ValidationError` about `--key` whose value came from the environment or the
    /// configuration file says so (`--fsync 'sometimes' must be ... (set by DATELINE_INGEST_FSYNC)`): the user
    /// did not type that flag.
    public static func namingSources(_ validation: () throws -> Void) throws {
        do {
            try validation()
        } catch let error as ValidationError {
            let message = error.message
            guard message.hasPrefix("--"),
                let key = message.dropFirst(2).split(whereSeparator: { $0 == " " || $0 == ":" }).first.map(String.init),
                let source = Self.source(of: key, arguments: Array(CommandLine.arguments.dropFirst()))
            else { throw error }
            switch source {
            case .environment(let variable): throw ValidationError("\(message) (set by \(variable))")
            case .file(let path): throw ValidationError("\(message) (set in \(path))")
            case .flag, .builtInDefault: throw error
            }
        }
    }
}
