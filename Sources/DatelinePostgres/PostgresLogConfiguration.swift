/// Where and how ``PostgresLog`` reaches its database, read from a connection string.
///
/// Two forms are accepted, as libpq does:
/// - a URL: `postgres://USER[:PASSWORD]@HOST[:PORT][,HOST[:PORT]...]/DATABASE[?sslmode=...&schema=...]`
///   (`postgresql://` too);
/// - key=value pairs: `host=HOST[,HOST...] port=PORT[,PORT...] user=USER password=... dbname=DATABASE sslmode=... schema=...`.
///
/// Several hosts make a failover list: the log uses the first that accepts connections and is not in recovery
/// (a primary, not a standby), and moves on when it fails. A host starting with `/` is a directory holding the
/// server's Unix socket. `schema` (ours, not libpq's) names the PostgreSQL schema holding the log's tables
/// (default `dateline`), so that one database can hold several logs.
public struct PostgresLogConfiguration: Sendable, Hashable {
    /// A server to try.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 5432) {
            self.host = host
            self.port = port
        }

        /// Whether `host` is a Unix socket directory.
        public var isUnixSocket: Bool { self.host.hasPrefix("/") }

        public var description: String { self.isUnixSocket ? "\(self.host)/.s.PGSQL.\(self.port)" : "\(self.host):\(self.port)" }
    }

    /// Whether to encrypt the connection (libpq's `sslmode`: disable, prefer, require).
    public enum TLSMode: String, Sendable, Hashable {
        case disable
        case prefer
        case require
    }

    public var endpoints: [Endpoint]
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// The PostgreSQL schema holding the log's tables. Default: `dateline`.
    public var schema: String
    /// How long one connection attempt may take. Default: 5 s.
    public var connectTimeout: Duration
    /// How long a statement may run (an append waits behind the appends of other nodes) before the log gives up
    /// on it and its connection. Default: 30 s.
    public var statementTimeout: Duration = .seconds(30)
    /// How often the end of the log is read when no notification arrives (a fallback for notifications lost
    /// while reconnecting). Default: 1 s.
    public var pollInterval: Duration
    /// The largest record an append takes; a larger one fails the append with `invalidArgument`, as the file log
    /// does, so that no record is stored that a follower, whose frames are limited, could never be sent.
    /// Default: 4 MiB (dateline-ingest sets its file log's limit, which grows with `--max-body-size`).
    public var maximumRecordBytes: Int = 4 << 20

    public init(
        endpoints: [Endpoint],
        username: String,
        password: String? = nil,
        database: String,
        tls: TLSMode = .disable,
        schema: String = "dateline",
        connectTimeout: Duration = .seconds(5),
        pollInterval: Duration = .seconds(1)
    ) {
        self.endpoints = endpoints
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.schema = schema
        self.connectTimeout = connectTimeout
        self.pollInterval = pollInterval
    }

    /// Reads a connection string (either form above).
    /// - Throws: ``PostgresLogConfigurationError`` naming what is wrong.
    public init(connectionString: String) throws(PostgresLogConfigurationError) {
        let text = String(connectionString.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        let fields = text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
            ? try Self.urlFields(text) : try Self.keyValueFields(text)
        try self.init(fields: fields)
    }

    /// The password is never printed.
    public var redactedDescription: String {
        let hosts = self.endpoints.map(\.description).joined(separator: ",")
        return "postgres://\(self.username)@\(hosts)/\(self.database)?schema=\(self.schema)&sslmode=\(self.tls.rawValue)"
    }

    // MARK: Parsing

    private init(fields: [String: String]) throws(PostgresLogConfigurationError) {
        let known: Set<String> = ["host", "port", "user", "password", "dbname", "sslmode", "schema", "connect_timeout", "application_name", "target_session_attrs"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .init("unknown parameter \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let hosts = (fields["host"] ?? "127.0.0.1").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let ports = (fields["port"] ?? "5432").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard ports.count == 1 || ports.count == hosts.count else {
            throw .init("\(hosts.count) hosts but \(ports.count) ports: give one port for all hosts or one per host")
        }
        var endpoints: [Endpoint] = []
        for (index, host) in hosts.enumerated() {
            guard !host.isEmpty else { throw .init("an empty host in the host list") }
            let portText = ports.count == 1 ? ports[0] : ports[index]
            guard let port = Int(portText), (1...65_535).contains(port) else { throw .init("port \"\(portText)\" is not a number from 1 to 65535") }
            endpoints.append(Endpoint(host: host, port: port))
        }
        guard let user = fields["user"], !user.isEmpty else { throw .init("no user given (postgres://USER@HOST/DB or user=USER)") }
        let tls: TLSMode
        switch fields["sslmode"] ?? "disable" {
        case "disable", "allow": tls = .disable
        case "prefer": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        case let other: throw .init("sslmode \"\(other)\" is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        let schema = fields["schema"] ?? "dateline"
        guard Self.isIdentifier(schema) else {
            throw .init("schema \"\(schema)\" must be a lower-case SQL identifier (letters, digits, underscores; not starting with a digit)")
        }
        var timeout = Duration.seconds(5)
        if let text = fields["connect_timeout"] {
            guard let seconds = Int(text), seconds > 0 else { throw .init("connect_timeout \"\(text)\" is not a positive number of seconds") }
            timeout = .seconds(seconds)
        }
        if let attributes = fields["target_session_attrs"], !["read-write", "primary", "any"].contains(attributes) {
            throw .init("target_session_attrs \"\(attributes)\": the log always writes to a primary (read-write)")
        }
        self.init(
            endpoints: endpoints, username: user, password: fields["password"], database: fields["dbname"] ?? user,
            tls: tls, schema: schema, connectTimeout: timeout
        )
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first), text.utf8.count <= 48 else { return false }
        return text.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
    }

    private static func urlFields(_ text: String) throws(PostgresLogConfigurationError) -> [String: String] {
        var rest = Substring(text[text.firstRange(of: "://")!.upperBound...])
        var fields: [String: String] = [:]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw .init("query parameter \"\(pair)\" is not NAME=VALUE") }
                fields[try percentDecoded(parts[0])] = try percentDecoded(parts[1])
            }
            rest = rest[..<question]
        }
        if let slash = rest.firstIndex(of: "/") {
            let database = try percentDecoded(rest[rest.index(after: slash)...])
            if !database.isEmpty { fields["dbname"] = database }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                fields["user"] = try percentDecoded(credentials[..<colon])
                fields["password"] = try percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                fields["user"] = try percentDecoded(credentials)
            }
            rest = rest[rest.index(after: at)...]
        }
        if !rest.isEmpty {
            var hosts: [String] = []
            var ports: [String] = []
            for hostPort in rest.split(separator: ",", omittingEmptySubsequences: false) {
                // [v6]:port, host:port or host
                if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                    hosts.append(String(hostPort[hostPort.index(after: hostPort.startIndex)..<close]))
                    let after = hostPort[hostPort.index(after: close)...]
                    ports.append(after.hasPrefix(":") ? String(after.dropFirst()) : "5432")
                } else if let colon = hostPort.lastIndex(of: ":") {
                    hosts.append(try percentDecoded(hostPort[..<colon]))
                    ports.append(String(hostPort[hostPort.index(after: colon)...]))
                } else {
                    hosts.append(try percentDecoded(hostPort))
                    ports.append("5432")
                }
            }
            fields["host"] = hosts.joined(separator: ",")
            fields["port"] = ports.joined(separator: ",")
        }
        return fields
    }

    private static func keyValueFields(_ text: String) throws(PostgresLogConfigurationError) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw .init("\"\(pair)\" is not KEY=VALUE (a connection string is postgres://USER@HOST:PORT/DB or key=value pairs)")
            }
            fields[String(parts[0])] = String(parts[1])
        }
        guard !fields.isEmpty else { throw .init("the connection string is empty") }
        return fields
    }

    private static func percentDecoded(_ text: Substring) throws(PostgresLogConfigurationError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw .init("\"\(text)\" has a malformed percent escape")
            }
            bytes.append(value)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw .init("\"\(text)\" is not UTF-8 once decoded") }
        return decoded
    }
}

/// A connection string that cannot be used, and why.
public struct PostgresLogConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { "invalid PostgreSQL connection string: \(self.message)" }
}
