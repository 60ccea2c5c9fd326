import DatelineTestSupport
import Foundation
import Testing

/// Environment variables a service cannot read refuse its start, naming the variable (never a silent default).
@Suite("Malformed environment values")
struct ServiceEnvironmentTests {
    /// Runs `service --port 0` with `environment` added; returns its exit status and standard error.
    func start(_ service: String, environment: [String: String]) throws -> (status: Int32, errors: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A bad --log-level too: were the variable ignored, the start would still fail (checked after the
        // environment), without the variable's name, rather than run.
        let exit = try ServiceProcess.runToExit(service, arguments: ["--port", "0", "--data-dir", directory, "--log-level", "chatty"], environment: environment)
        return (exit.status, exit.errors)
    }

    @Test(arguments: [
        ("dateline-ingest", "DATELINE_INGEST_PORT", "abc"),
        ("dateline-ingest", "DATELINE_INGEST_MAX_BATCH", "lots"),
        ("dateline-ingest", "DATELINE_STALLED_READER_TIMEOUT", "soon"),
        ("dateline-query", "DATELINE_QUERY_PORT", "74o1"),
        ("dateline-query", "DATELINE_BM25_K1", "high"),
        ("dateline-query", "DATELINE_METRICS_PORT", "abc"),
        ("dateline-query", "DATELINE_QUERY_MAX_UNCOMMITTED_MB", "plenty"),
        ("dateline-ingest", "DATELINE_MAX_CONNECTIONS", "many"),
        ("dateline-query", "DATELINE_FRAME_RECEIVE_TIMEOUT", "a while"),
    ])
    func aValueThatCannotBeReadIsAnErrorNamingTheVariable(service: String, variable: String, value: String) throws {
        let result = try self.start(service, environment: [variable: value])
        #expect(result.status == 64, "\(result.errors)")
        #expect(result.errors.contains(variable), "\(result.errors)")
    }

    /// A limit on uncommitted articles below twice the buffer (the follower would stop at every buffer-full commit)
    /// or one that overflows is refused at start.
    @Test(arguments: [["--buffer-mb", "4", "--max-uncommitted-mb", "5"], ["--max-uncommitted-mb", "99999999999"]])
    func anUncommittedLimitThatCannotWorkIsRefused(arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exit = try ServiceProcess.runToExit("dateline-query", arguments: ["--port", "0", "--data-dir", directory] + arguments, environment: [:])
        #expect(exit.status == 64, "\(exit.errors)")
        #expect(exit.errors.contains("--max-uncommitted-mb must be 0 (four times --buffer-mb) or between twice --buffer-mb and 1048576"), "\(exit.errors)")
    }

    /// Connection and request-memory limits that cannot work are refused at start, naming the option.
    @Test(arguments: [
        (["--max-connections", "0"], "--max-connections must be between 1 and 1000000"),
        (["--max-streams", "0"], "--max-streams must be between 1 and 100000"),
        (["--max-request-memory", "1M"], "--max-request-memory '1M' is not a size of at least 32M"),
        (["--max-request-memory", "lots"], "--max-request-memory 'lots' is not a size"),
        (["--frame-receive-timeout", "0"], "--frame-receive-timeout must be a positive number of seconds"),
    ])
    func aConnectionOrMemoryLimitThatCannotWorkIsRefused(arguments: [String], message: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exit = try ServiceProcess.runToExit("dateline-ingest", arguments: ["--port", "0", "--data-dir", directory] + arguments, environment: [:])
        #expect(exit.status == 64, "\(exit.errors)")
        #expect(exit.errors.contains(message), "\(exit.errors)")
    }
}
