import ArgumentParser
import DatelineClient
import DatelineProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a command prints its result.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    static let environment = ProcessInfo.processInfo.environment

    @Option(help: "dateline-ingest's address, HOST:PORT; several nodes comma-separated (requests are spread over them and fail over). Env: DATELINE_INGEST.")
    var ingest: String = environment["DATELINE_INGEST"] ?? "127.0.0.1:7400"

    @Option(help: "dateline-query's address, HOST:PORT; several replicas comma-separated (requests are spread over them and fail over). Env: DATELINE_QUERY.")
    var query: String = environment["DATELINE_QUERY"] ?? "127.0.0.1:7401"

    @Option(help: "Shared secret of the services, if they have one. Env: DATELINE_TOKEN.")
    var token: String = environment["DATELINE_TOKEN"] ?? ""

    @Option(name: .customLong("tls-ca"), help: "PEM CA certificates: connect over TLS, trusting servers whose certificate they signed. Env: DATELINE_TLS_CA.")
    var tlsCAOption: String = environment["DATELINE_TLS_CA"] ?? ""
    var tlsCA: String? { self.tlsCAOption.isEmpty ? nil : self.tlsCAOption }

    @Flag(
        name: .customLong("tls-insecure"),
        help: "Connect over TLS WITHOUT checking the server's certificate: anyone in the middle can read and change everything. For tests only. Env: DATELINE_TLS_INSECURE=1."
    )
    var tlsInsecure = environment["DATELINE_TLS_INSECURE"] == "1"

    @Option(name: .customLong("tls-cert"), help: "PEM client certificate chain, for services that require one (mutual TLS). Env: DATELINE_TLS_CERT.")
    var tlsCertificateOption: String = environment["DATELINE_TLS_CERT"] ?? ""
    var tlsCertificate: String? { self.tlsCertificateOption.isEmpty ? nil : self.tlsCertificateOption }

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert. Env: DATELINE_TLS_KEY.")
    var tlsKeyOption: String = environment["DATELINE_TLS_KEY"] ?? ""
    var tlsKey: String? { self.tlsKeyOption.isEmpty ? nil : self.tlsKeyOption }

    @Option(help: "Seconds to wait for each request.")
    var timeout: Double = 30

    @Option(name: [.short, .long], help: "What to print: a readable table, or one JSON document (for scripts and jq).")
    var output: OutputFormat = .table

    @Flag(name: .customLong("no-color"), help: "Never colour the output (it is coloured only on a terminal).")
    var noColor = false

    static func addresses(_ text: String) -> [(String, Int)]? {
        DatelineEndpoint.list(text).map { $0.map { ($0.host, $0.port) } }
    }

    func validate() throws {
        guard Self.addresses(self.ingest) != nil else {
            throw ValidationError("--ingest '\(self.ingest)' must be HOST:PORT or a comma-separated list of them, e.g. 127.0.0.1:7400")
        }
        guard Self.addresses(self.query) != nil else {
            throw ValidationError("--query '\(self.query)' must be HOST:PORT or a comma-separated list of them, e.g. 127.0.0.1:7401")
        }
        guard self.timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
        guard (self.tlsCertificate == nil) == (self.tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard self.tlsCertificate == nil || self.tlsCA != nil || self.tlsInsecure else {
            throw ValidationError("--tls-cert is a client certificate for TLS: give --tls-ca too (or --tls-insecure in tests)")
        }
        for path in [self.tlsCA, self.tlsCertificate, self.tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read the TLS file \(path)")
        }
    }

    /// The TLS these options ask for; nil for plain TCP.
    var tls: DatelineClientTLS? {
        guard self.tlsCA != nil || self.tlsInsecure else { return nil }
        return DatelineClientTLS(caPath: self.tlsCA, insecureSkipVerification: self.tlsInsecure, certificateChainPath: self.tlsCertificate, privateKeyPath: self.tlsKey)
    }

    var client: DatelineClient {
        let ingest = Self.addresses(self.ingest)!
        let query = Self.addresses(self.query)!
        var settings = DatelineClientSettings(
            ingest: ingest[0],
            query: query[0],
            token: self.token.isEmpty ? nil : self.token,
            timeout: .milliseconds(Int(self.timeout * 1000))
        )
        settings.ingestFallbacks = ingest.dropFirst().map { $0 }
        settings.queryFallbacks = query.dropFirst().map { $0 }
        settings.tls = self.tls
        return DatelineClient(settings: settings)
    }

    var colors: Bool { !self.noColor && isatty(STDOUT_FILENO) == 1 && Self.environment["NO_COLOR"] == nil }
}

/// Distinct exit statuses, so scripts can tell failures apart.
enum ExitStatus {
    /// A service answered with an error.
    static let serverError = ExitCode(1)
    /// Some articles were rejected (or some inputs could not be read).
    static let partialIngest = ExitCode(2)
    /// The command line was wrong (argument-parser's own validation uses the same code).
    static let usage = ExitCode(64)
    /// A service could not be reached.
    static let unreachable = ExitCode(69)
    /// A service went away mid-request (reset, closed, shutting down), is overloaded or did not answer in time:
    /// running the command again may succeed (EX_TEMPFAIL).
    static let retryable = ExitCode(75)

    /// The status for failures talking to services: 69 if one could not be reached, else 75 if retrying may
    /// help, else 1.
    static func of(_ errors: [DatelineClientError]) -> ExitCode {
        if errors.contains(where: \.isUnreachable) { return self.unreachable }
        if errors.contains(where: \.isRetryable) { return self.retryable }
        return self.serverError
    }
}

extension GlobalOptions {
    /// Sends one request to `service` and closes the connection; failures become one line on stderr and an exit
    /// status. With `--output json` it prints the reply as JSON and returns nil: the caller prints a table only for
    /// what it gets back.
    func ask<Request: DatelineRequest>(_ request: Request, of service: DatelineService) async throws -> Request.Response? {
        let client = self.client
        var response: Request.Response?
        try await reportingErrors { response = try await client.send(request, to: service) }
        await client.close()
        guard let response else { return nil }
        if self.output == .json {
            try printJSON(response)
            return nil
        }
        return response
    }
}

/// Runs `body`, turning failures into one clear line on stderr and a distinct exit status.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as DatelineClientError {
        printError(error.description)
        throw ExitStatus.of([error])
    } catch let error as DatelineError {
        printError(error.isRetryable ? "\(error.description) — retry the command" : error.description)
        throw error.isRetryable ? ExitStatus.retryable : ExitStatus.serverError
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("dateline: \(message)\n".utf8))
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A left-aligned text table.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
