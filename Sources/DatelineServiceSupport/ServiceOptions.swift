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

    public init() {}

    public func validate() throws {
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level '\(self.logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
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
