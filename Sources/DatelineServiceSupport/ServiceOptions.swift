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

    public init() {}

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
    }

    /// Sets the backpressure limits these options name on a server configuration.
    public func applyLimits(to configuration: inout DatelineServerConfiguration) {
        configuration.maximumOutboundBytes = Self.bytes(self.maximumOutbound) ?? configuration.maximumOutboundBytes
        configuration.stalledReaderTimeout = .milliseconds(Int64(self.stalledReaderTimeout * 1000))
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
