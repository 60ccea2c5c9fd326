import DatelineTestSupport
import Foundation
import Testing

/// `--config FILE` (YAML or JSON) and `--print-config` on both services: the file's values apply, the precedence is
/// flag > environment > file > default, and a file the service cannot use refuses the start naming what is wrong.
@Suite("Configuration files", .serialized)
struct ServiceConfigurationFileTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-config-\(UUID().uuidString)").path

    init() throws {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
    }

    /// Writes `text` to a file named `name` in the test's directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = self.directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `service` with `arguments` and `environment` added to this process's, to its exit.
    func run(_ service: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ServiceProcess.Exit {
        try ServiceProcess.runToExit(service, arguments: arguments, environment: environment)
    }

    /// The line `--print-config` printed for `key`.
    func line(_ key: String, in output: String) -> String? {
        output.split(separator: "\n").map(String.init).first { $0.hasPrefix(key + " ") }
    }

    @Test func eachOptionTakesTheFirstOfFlagEnvironmentFileAndDefault() throws {
        let config = try self.file("ingest.yaml", """
            # dateline-ingest
            port: 7500
            fsync: interval:50
            segment-size: 8M
            max-batch: 500
            host: 127.0.0.2
            token: s3cret
            log: postgres://dateline:hunter2@db.example:5432/news
            """)
        let result = try self.run(
            "dateline-ingest",
            ["--config", config, "--port", "7600", "--print-config"],
            environment: ["DATELINE_INGEST_FSYNC": "none", "DATELINE_INGEST_MAX_BATCH": "700"]
        )
        #expect(result.status == 0, "\(result.errors)")
        let out = result.output
        #expect(self.line("port", in: out)?.hasSuffix("= 7600  # flag") == true, "\(out)")
        #expect(self.line("fsync", in: out)?.hasSuffix("= none  # environment DATELINE_INGEST_FSYNC") == true, "\(out)")
        #expect(self.line("max-batch", in: out)?.hasSuffix("= 700  # environment DATELINE_INGEST_MAX_BATCH") == true, "\(out)")
        #expect(self.line("segment-size", in: out)?.hasSuffix("= 8M  # file \(config)") == true, "\(out)")
        #expect(self.line("host", in: out)?.hasSuffix("= 127.0.0.2  # file \(config)") == true, "\(out)")
        #expect(self.line("max-body-size", in: out)?.hasSuffix("= 1M  # default") == true, "\(out)")
        // Secrets are never printed: the token at all, a password inside a connection string.
        #expect(self.line("token", in: out)?.contains("(set, hidden)") == true, "\(out)")
        #expect(!out.contains("s3cret") && !out.contains("hunter2"), "\(out)")
        #expect(self.line("log", in: out)?.contains("postgres://dateline:****@db.example:5432/news") == true, "\(out)")
        // The options every service shares are there too.
        #expect(self.line("stalled-reader-timeout", in: out)?.hasSuffix("= 30.0  # default") == true, "\(out)")
    }

    @Test func aJSONFileNamedByTheEnvironmentConfiguresTheQueryService() throws {
        let config = try self.file("query.json", #"{"port": 7501, "bm25-k1": 0.9, "ingest": "10.0.0.1:7400", "merge-factor": "4", "max-outbound": 8388608}"#)
        let result = try self.run("dateline-query", ["--print-config"], environment: ["DATELINE_CONFIG": config])
        #expect(result.status == 0, "\(result.errors)")
        #expect(self.line("port", in: result.output)?.hasSuffix("= 7501  # file \(config)") == true, "\(result.output)")
        #expect(self.line("bm25-k1", in: result.output)?.hasSuffix("= 0.9  # file \(config)") == true, "\(result.output)")
        #expect(self.line("merge-factor", in: result.output)?.hasSuffix("= 4  # file \(config)") == true, "\(result.output)")
        #expect(self.line("ingest", in: result.output)?.hasSuffix("= 10.0.0.1:7400  # file \(config)") == true, "\(result.output)")
        // A JSON number for a text option, and a string for a number, are taken as the text they read as.
        #expect(self.line("max-outbound", in: result.output)?.hasSuffix("= 8388608  # file \(config)") == true, "\(result.output)")
    }

    @Test func theFilesValuesAreWhatTheServiceRunsWith() async throws {
        let dataDirectory = self.directory + "/from-file"
        let config = try self.file("ingest.yaml", "data-dir: \(dataDirectory)\nextraction: \"off\"\nmax-batch: 1\n")
        let ingest = try ServiceProcess("dateline-ingest", arguments: ["--config", config])
        defer { ingest.kill(SIGTERM) }
        let port = try await ingest.port()
        // Two samples in one request exceed the file's max-batch of 1; one at a time they are stored.
        let refused = try await CLI.run(["ingest", Samples.directory.path, "--batch", "2"], ports: (port, 1))
        #expect(refused.status != 0)
        #expect(refused.errors.contains("exceeds the limit of 1"), "\(refused.errors)")
        let stored = try await CLI.run(["ingest", Samples.directory.path, "--batch", "1"], ports: (port, 1))
        #expect(stored.status == 0, "\(stored.errors)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/log").filter { $0.hasSuffix(".log") }
        #expect(!segments.isEmpty)
    }

    @Test(arguments: [
        ("bad-port.yaml", "port: abc\n", ["bad-port.yaml", "'port'", "'abc'", "whole number"]),
        ("typo.yaml", "prot: 7400\n", ["typo.yaml", "no option is called 'prot'"]),
        ("list.yaml", "port:\n  - 1\n  - 2\n", ["list.yaml", "'port' must be a single value"]),
        ("broken.yaml", "port: [7400\n", ["broken.yaml", "not valid YAML"]),
        ("broken.json", "{\"port\": 7400,,}", ["broken.json", "not valid JSON"]),
        ("scalar.yaml", "7400\n", ["scalar.yaml", "must be a mapping"]),
    ])
    func aFileTheServiceCannotUseRefusesTheStartNamingWhatIsWrong(name: String, text: String, expected: [String]) throws {
        let config = try self.file(name, text)
        for service in ["dateline-ingest", "dateline-query"] {
            let result = try self.run(service, ["--config", config, "--data-dir", self.directory + "/data", "--port", "0"])
            #expect(result.status == 64, "\(service): \(result.errors)")
            for fragment in expected {
                #expect(result.errors.contains(fragment), "\(service): \(result.errors)")
            }
        }
    }

    @Test func aValueRefusedByItsOptionNamesWhereItCameFrom() throws {
        let fromEnvironment = try self.run("dateline-ingest", ["--port", "0", "--data-dir", self.directory + "/data"], environment: ["DATELINE_INGEST_FSYNC": "sometimes"])
        #expect(fromEnvironment.status == 64)
        #expect(fromEnvironment.errors.contains("--fsync 'sometimes' must be") && fromEnvironment.errors.contains("(set by DATELINE_INGEST_FSYNC)"), "\(fromEnvironment.errors)")
        let config = try self.file("query.yaml", "ingest: nowhere\n")
        let fromFile = try self.run("dateline-query", ["--config", config, "--port", "0", "--data-dir", self.directory + "/data"])
        #expect(fromFile.status == 64)
        #expect(fromFile.errors.contains("--ingest 'nowhere'") && fromFile.errors.contains("(set in \(config))"), "\(fromFile.errors)")
        let fromFlag = try self.run("dateline-ingest", ["--port", "0", "--fsync", "sometimes"], environment: ["DATELINE_INGEST_FSYNC": "none"])
        #expect(fromFlag.status == 64)
        #expect(fromFlag.errors.contains("--fsync 'sometimes'") && !fromFlag.errors.contains("set by"), "\(fromFlag.errors)")
    }

    @Test func aMissingFileIsNamed() throws {
        let result = try self.run("dateline-ingest", ["--config", self.directory + "/absent.yaml", "--print-config"])
        #expect(result.status == 64, "\(result.errors)")
        #expect(result.errors.contains("cannot read the configuration file \(self.directory)/absent.yaml"), "\(result.errors)")
    }
}
