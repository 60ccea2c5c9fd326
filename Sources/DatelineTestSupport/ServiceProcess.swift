public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A built service executable (`dateline-ingest`, `dateline-query`) run as a child process on a port it picks
/// itself (`--port 0 --port-file`), for tests that kill, restart and combine real processes.
public final class ServiceProcess: @unchecked Sendable {
    /// The directory holding the built executables: beside the test bundle, else `.build/debug`.
    public static func binary(_ name: String) -> String? {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        let inBuild = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/\(name)").path
        return [besideTests, inBuild].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What a service printed before it exited by itself.
    public struct Exit: Sendable {
        public var status: Int32
        public var output: String
        public var errors: String
    }

    /// Runs `name` with exactly `arguments` (no `--port` added) and `environment` merged over this process's (less
    /// the `DATELINE_` variables, so the caller's settings decide), until it exits by itself: for starts that must
    /// be refused, and for `--print-config`. Output goes through files, so nothing blocks on a full pipe.
    public static func runToExit(_ name: String, arguments: [String], environment: [String: String] = [:]) throws -> Exit {
        guard let binary = Self.binary(name) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(name) is not built: run swift build first"])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DATELINE_") }.merging(environment) { $1 }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-exit-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return Exit(status: process.terminationStatus, output: read(base + ".out"), errors: read(base + ".err"))
    }

    public let name: String
    public let process = Process()
    private let portFile: String

    /// The user id tests run services as when they must not be root (`nobody`).
    public static let unprivilegedUser: UInt32 = 65534

    /// Whether services can be run as ``unprivilegedUser`` here: the tests run as root and `setpriv` exists (not
    /// root: they run unprivileged anyway).
    public static var canDropPrivileges: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") }

    /// The executable and arguments that run `binary` with `arguments`, as ``unprivilegedUser`` when `unprivileged`
    /// and this process is root.
    public static func command(_ binary: String, _ arguments: [String], unprivileged: Bool) -> (executable: String, arguments: [String]) {
        guard unprivileged, Self.canDropPrivileges else { return (binary, arguments) }
        let user = "\(Self.unprivilegedUser)"
        return ("/usr/bin/setpriv", ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", binary] + arguments)
    }

    /// Starts `name` with `arguments` plus `--port 0 --port-file ... --log-level warning`; with `unprivileged`, as
    /// ``unprivilegedUser`` when the tests run as root.
    public init(_ name: String, arguments: [String], unprivileged: Bool = false) throws {
        guard let binary = Self.binary(name) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(name) is not built: run swift build first"])
        }
        self.name = name
        self.portFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-port-\(UUID().uuidString)").path
        // DATELINE_TEST_SERVICE_LOGS=DIR keeps each process's log (at info) in DIR, for debugging a failing test.
        let logDirectory = ProcessInfo.processInfo.environment["DATELINE_TEST_SERVICE_LOGS"].flatMap { $0.isEmpty ? nil : $0 }
        let serviceArguments = ["--port", "0", "--port-file", self.portFile, "--log-level", ProcessInfo.processInfo.environment["DATELINE_TEST_SERVICE_LOG_LEVEL"] ?? (logDirectory == nil ? "warning" : "info")] + arguments
        let command = Self.command(binary, serviceArguments, unprivileged: unprivileged)
        self.process.executableURL = URL(fileURLWithPath: command.executable)
        self.process.arguments = command.arguments
        if let logDirectory {
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
            let path = "\(logDirectory)/\(name)-\(UUID().uuidString.prefix(8)).log"
            FileManager.default.createFile(atPath: path, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            self.process.standardOutput = log
            self.process.standardError = log
        } else {
            self.process.standardOutput = FileHandle.nullDevice
            self.process.standardError = FileHandle.nullDevice
        }
        try self.process.run()
    }

    /// Waits until the service listens (it writes its port file then) and returns its port.
    public func port() async throws -> Int {
        while self.process.isRunning {
            if let text = try? String(contentsOfFile: self.portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(self.name) exited with status \(self.process.terminationStatus) before listening"])
    }

    /// Sends `signal` and waits for the process to end.
    public func kill(_ signal: Int32 = SIGKILL) {
        if self.process.isRunning { Glibc.kill(self.process.processIdentifier, signal) }
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: self.portFile)
    }

    deinit {
        if self.process.isRunning { Glibc.kill(self.process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: self.portFile)
    }
}

/// The PostgreSQL server the tests may use: `DATELINE_TEST_POSTGRES`, a connection string that `scripts/test.sh`
/// sets after starting a throwaway server (`scripts/postgres.sh`). Tests that need it are skipped without it.
public enum TestPostgresServer {
    public static let connectionString = ProcessInfo.processInfo.environment["DATELINE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    public static var isConfigured: Bool { connectionString != nil }

    /// A schema name no other test uses.
    public static func newSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    /// The test server's URL with `schema` as the log's schema.
    public static func url(schema: String) -> String {
        let base = connectionString!
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }
}

/// Runs a command to completion with `posix_spawn` and `waitpid`, its standard output captured through a file.
///
/// Foundation's `Process` notices a child's end through a descriptor the child inherits; a daemon the command
/// starts (`pg_ctl start`) inherits it too and keeps it open, so `waitUntilExit()` never returns. This waits for
/// the command's own process and nothing else.
public enum ChildCommand {
    /// The command's exit status, its standard output and its standard error.
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public let errorOutput: String
    }

    public static func run(_ executable: String, _ arguments: [String]) throws -> Outcome {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("child-output-\(UUID().uuidString)").path
        let errorPath = outputPath + ".stderr"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(executable) could not be started: \(String(cString: strerror(spawned)))"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let errorOutput = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return Outcome(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output, errorOutput: errorOutput)
    }
}
