public import ArgumentParser
public import DatelineProtocol
import Foundation
import Logging
import NIOCore

/// The options both service executables share, and what they do with them.
public struct ServiceOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: DATELINE_LOG_LEVEL.")
    public var logLevel: String = ProcessInfo.processInfo.environment["DATELINE_LOG_LEVEL"] ?? "info"

    @Option(name: .customLong("port-file"), help: "Write the bound port to this file once listening (for scripts and tests).")
    public var portFile: String?

    @Option(
        name: .customLong("max-outbound"),
        help: "Unsent reply bytes per connection above which the service stops reading from it (K, M, G suffixes). Env: DATELINE_MAX_OUTBOUND."
    )
    public var maximumOutbound: String = ProcessInfo.processInfo.environment["DATELINE_MAX_OUTBOUND"] ?? "4M"

    @Option(
        name: .customLong("stalled-reader-timeout"),
        help: "Seconds a connection may read none of its replies before it is sent GoAway and closed. Env: DATELINE_STALLED_READER_TIMEOUT."
    )
    public var stalledReaderTimeout: Double = Double(ProcessInfo.processInfo.environment["DATELINE_STALLED_READER_TIMEOUT"] ?? "") ?? 30

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve TLS only (plain clients are refused with a clear error). Env: DATELINE_TLS_CERT.")
    public var tlsCertificateOption: String = ProcessInfo.processInfo.environment["DATELINE_TLS_CERT"] ?? ""
    public var tlsCertificate: String? { self.tlsCertificateOption.isEmpty ? nil : self.tlsCertificateOption }

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert. Env: DATELINE_TLS_KEY.")
    public var tlsKeyOption: String = ProcessInfo.processInfo.environment["DATELINE_TLS_KEY"] ?? ""
    public var tlsKey: String? { self.tlsKeyOption.isEmpty ? nil : self.tlsKeyOption }

    @Option(
        name: .customLong("tls-client-ca"),
        help: "PEM CA certificates: require every client to present a certificate they signed (mutual TLS). Env: DATELINE_TLS_CLIENT_CA."
    )
    public var tlsClientCAOption: String = ProcessInfo.processInfo.environment["DATELINE_TLS_CLIENT_CA"] ?? ""
    public var tlsClientCA: String? { self.tlsClientCAOption.isEmpty ? nil : self.tlsClientCAOption }

    public init() {}

    /// The TLS the options ask for, nil for plain TCP.
    public var serverTLS: DatelineServerTLS? {
        guard let certificate = self.tlsCertificate, let key = self.tlsKey else { return nil }
        return DatelineServerTLS(certificateChainPath: certificate, privateKeyPath: key, clientCAPath: self.tlsClientCA)
    }

    public func validate() throws {
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level '\(self.logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard let outbound = Self.bytes(self.maximumOutbound), outbound >= 64 << 10 else {
            throw ValidationError("--max-outbound '\(self.maximumOutbound)' is not a size of at least 64K (e.g. 4M)")
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

    /// Sets the backpressure limits and the TLS these options name on a server configuration.
    public func apply(to configuration: inout DatelineServerConfiguration) {
        configuration.maximumOutboundBytes = Self.bytes(self.maximumOutbound) ?? configuration.maximumOutboundBytes
        configuration.stalledReaderTimeout = .milliseconds(Int64(self.stalledReaderTimeout * 1000))
        configuration.tls = self.serverTLS
    }

    /// `4096`, `64K`, `4M`, `1G` in bytes.
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        let upper = text.uppercased()
        if let last = upper.last, let unit = units[last] { return Int(upper.dropLast()).flatMap { $0.multipliedReportingOverflow(by: unit).overflow ? nil : $0 * unit } }
        return Int(upper)
    }

    /// Sends logs to standard error at the chosen level (executables bootstrap logging; libraries never do).
    public func bootstrapLogging() {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
