import DatelineStorage
import Logging
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// The connection pool to the current primary of a host list, found again when it fails.
///
/// A primary is the first endpoint, in the configured order, that accepts a connection and answers
/// `pg_is_in_recovery() = false`; a standby (in recovery) is passed over. Callers report failures that mean
/// the primary is gone (``invalidate(_:)``), and the next call locates one afresh: after a standby is promoted
/// the log moves to it without a restart.
final class PostgresPrimary: Sendable {
    /// A pool connected to one endpoint, with the task running it.
    final class Pool: Sendable {
        let client: PostgresClient
        let endpoint: PostgresLogConfiguration.Endpoint
        let runner: Task<Void, Never>

        init(client: PostgresClient, endpoint: PostgresLogConfiguration.Endpoint) {
            self.client = client
            self.endpoint = endpoint
            self.runner = Task { await client.run() }
        }

        func shutDown() { self.runner.cancel() }
    }

    private enum State {
        case idle
        case locating(Task<Pool, any Error>)
        case connected(Pool)
        case closed
    }

    private let configuration: PostgresLogConfiguration
    private let logger: Logger
    private let state = Mutex(State.idle)

    init(configuration: PostgresLogConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The pool of the current primary, located first if there is none.
    /// - Throws: ``DatelineStorageError/Code/unavailable`` naming the endpoints tried when none is a primary.
    func pool() async throws -> Pool {
        let locating: Task<Pool, any Error> = try self.state.withLock { state in
            switch state {
            case .connected(let pool): return Task { pool }
            case .locating(let task): return task
            case .closed: throw DatelineStorageError.closed
            case .idle:
                let task = Task { try await self.locate() }
                state = .locating(task)
                return task
            }
        }
        do {
            let pool = try await locating.value
            self.state.withLock { state in
                if case .locating = state { state = .connected(pool) }
            }
            return pool
        } catch {
            self.state.withLock { state in
                if case .locating = state { state = .idle }
            }
            throw error
        }
    }

    /// The pool `pool` failed in a way that may mean its server is no longer the primary: drop it, so that the
    /// next call locates one.
    func invalidate(_ pool: Pool) {
        let dropped = self.state.withLock { state -> Bool in
            guard case .connected(let current) = state, current === pool else { return false }
            state = .idle
            return true
        }
        if dropped {
            self.logger.warning("lost the PostgreSQL primary; locating one", metadata: ["dateline.postgres.endpoint": "\(pool.endpoint)"])
            pool.shutDown()
        }
    }

    /// Whether `pool` is the one calls are given now (it has not been invalidated).
    func isCurrent(_ pool: Pool) -> Bool {
        self.state.withLock { state in
            if case .connected(let current) = state { return current === pool }
            return false
        }
    }

    func close() {
        let previous = self.state.withLock { state in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let pool): pool.shutDown()
        case .locating(let task): task.cancel()
        case .idle, .closed: break
        }
    }

    /// Drops `pool` unless its server, asked on a connection of its own, still answers as the primary: for a
    /// loss that may be one connection's (a terminated backend) or the server's (a crash), without failing the
    /// calls in flight on a pool that is fine.
    func invalidateUnlessStillPrimary(_ pool: Pool) async {
        guard self.isCurrent(pool) else { return }
        if (try? await self.isPrimary(pool.endpoint)) != true { self.invalidate(pool) }
    }

    private func locate() async throws -> Pool {
        var failures: [String] = []
        for endpoint in self.configuration.endpoints {
            try Task.checkCancellation()
            do {
                if try await self.isPrimary(endpoint) {
                    self.logger.info("using PostgreSQL primary", metadata: ["dateline.postgres.endpoint": "\(endpoint)"])
                    return Pool(client: PostgresClient(configuration: try self.clientConfiguration(endpoint), backgroundLogger: self.logger), endpoint: endpoint)
                }
                failures.append("\(endpoint) is a standby (in recovery)")
            } catch {
                failures.append("\(endpoint): \(Self.describe(error))")
            }
        }
        throw DatelineStorageError(code: .unavailable, message: "no PostgreSQL primary among \(self.configuration.endpoints.count) host(s): \(failures.joined(separator: "; "))")
    }

    /// Whether `endpoint` is a primary (`pg_is_in_recovery()` is false), asked on a connection of its own: a pool
    /// would retry a refused connection until the timeout, where one attempt tells at once that a server is gone.
    private func isPrimary(_ endpoint: PostgresLogConfiguration.Endpoint) async throws -> Bool {
        let configuration = try self.connectionConfiguration(endpoint)
        let logger = self.logger
        return try await Self.withTimeout(self.configuration.connectTimeout, what: "connecting to \(endpoint)") {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger
            ).get()
            do {
                var inRecovery = true
                for try await value in try await connection.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self) {
                    inRecovery = value
                }
                try? await connection.close()
                return !inRecovery
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }

    private func connectionConfiguration(_ endpoint: PostgresLogConfiguration.Endpoint) throws -> PostgresConnection.Configuration {
        var connection: PostgresConnection.Configuration
        if endpoint.isUnixSocket {
            connection = PostgresConnection.Configuration(
                unixSocketPath: "\(endpoint.host)/.s.PGSQL.\(endpoint.port)",
                username: self.configuration.username, password: self.configuration.password, database: self.configuration.database
            )
        } else {
            let tls: PostgresConnection.Configuration.TLS = switch self.configuration.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            connection = PostgresConnection.Configuration(
                host: endpoint.host, port: endpoint.port,
                username: self.configuration.username, password: self.configuration.password, database: self.configuration.database,
                tls: tls
            )
        }
        connection.options.connectTimeout = TimeAmount.nanoseconds(self.configuration.connectTimeout.nanoseconds)
        connection.options.additionalStartupParameters = [("application_name", "dateline-ingest")]
        return connection
    }

    private func clientConfiguration(_ endpoint: PostgresLogConfiguration.Endpoint) throws -> PostgresClient.Configuration {
        var client: PostgresClient.Configuration
        if endpoint.isUnixSocket {
            client = PostgresClient.Configuration(
                unixSocketPath: "\(endpoint.host)/.s.PGSQL.\(endpoint.port)",
                username: self.configuration.username, password: self.configuration.password, database: self.configuration.database
            )
        } else {
            let tls: PostgresClient.Configuration.TLS = switch self.configuration.tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
            client = PostgresClient.Configuration(
                host: endpoint.host, port: endpoint.port,
                username: self.configuration.username, password: self.configuration.password, database: self.configuration.database,
                tls: tls
            )
        }
        client.options.connectTimeout = self.configuration.connectTimeout
        client.options.maximumConnections = 8
        client.options.additionalStartupParameters = [("application_name", "dateline-ingest")]
        return client
    }

    /// `body`'s result, or a timeout error once `limit` has passed. `body` is then cancelled but not waited for:
    /// a call stuck on a dead server must not hold the caller.
    static func withTimeout<T: Sendable>(_ limit: Duration, what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await self.race(body) {
            try await Task.sleep(for: limit)
            throw DatelineStorageError(code: .unavailable, message: "\(what) took longer than \(limit)")
        }
    }

    /// The result of `body`, or the error `watchdog` throws first; whichever loses is cancelled, not awaited.
    static func race<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T,
        watchdog: @escaping @Sendable () async throws -> Never
    ) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, body: body, watchdog: watchdog)
            }
        } onCancel: {
            race.settle(.failure(CancellationError()))
        }
    }

    /// Two tasks, one continuation: the first to finish resumes it and cancels the other.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var tasks: [Task<Void, Never>] = []
            var early: Result<T, any Error>?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, body: @escaping @Sendable () async throws -> T, watchdog: @escaping @Sendable () async throws -> Never) {
            let work = Task {
                do { self.settle(.success(try await body())) } catch { self.settle(.failure(error)) }
            }
            let timer = Task {
                do { try await watchdog() } catch { self.settle(.failure(error)) }
            }
            let early = self.state.withLock { state -> Result<T, any Error>? in
                if let early = state.early { return early }
                state.continuation = continuation
                state.tasks = [work, timer]
                return nil
            }
            if let early {
                work.cancel()
                timer.cancel()
                continuation.resume(with: early)
            }
        }

        func settle(_ result: Result<T, any Error>) {
            let (continuation, tasks) = self.state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                guard let continuation = state.continuation else {
                    if state.tasks.isEmpty && state.early == nil { state.early = result }  // before start: remembered
                    return (nil, [])
                }
                state.continuation = nil
                return (continuation, state.tasks)
            }
            for task in tasks { task.cancel() }
            continuation?.resume(with: result)
        }
    }

    /// A PostgreSQL error as one line: the server's message and SQLSTATE, or the client's error code.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return "\(error.code)"
    }
}
