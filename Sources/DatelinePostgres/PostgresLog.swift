public import CoreMetrics
public import DatelineStorage
public import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The ingest log in a PostgreSQL database, shared by any number of `dateline-ingest` nodes.
///
/// Each batch is one call of the schema's append function (one round trip, one transaction; see
/// ``PostgresLogSchema``): appends are serialised by a row lock on the log's head, offsets are dense and in
/// commit order, and the database's unique constraints decide what is a duplicate, whichever node the copies
/// arrive at. An append returns once PostgreSQL has committed it, so it is as durable as the server's
/// `synchronous_commit` makes it (with a synchronous standby: on two machines).
///
/// Every node learns of the others' appends through `LISTEN/NOTIFY` (the notification carries the new end),
/// with a poll of the head as a fallback, and wakes its followers.
public final class PostgresLog: IngestLog {
    private struct State {
        var knownEnd: UInt64
        var waiters: [UInt64: (offset: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter: UInt64 = 0
        var lastFailure: DatelineStorageError?
        var isClosed = false
        var bytesStored = 0
        var commits = 0
        var commitNanoseconds: Int64 = 0
        var lastCommitNanoseconds: Int64 = 0
        /// Appends waiting for the one in flight to finish; the next call takes them together.
        var queuedAppends: [QueuedAppend] = []
        var appendInFlight = false
    }

    private struct QueuedAppend {
        var entries: [IngestLogEntry]
        /// The entries' payload bytes.
        var bytes: Int
        var continuation: CheckedContinuation<[IngestLogAppendOutcome], any Error>
    }

    /// The most entries, and payload bytes, one call of the append function takes from the queue.
    static let groupLimits = (entries: 2_000, bytes: 16 << 20)

    public let configuration: PostgresLogConfiguration
    private let commitTimer: Timer
    public let epoch: String
    private let schema: PostgresLogSchema
    private let primary: PostgresPrimary
    private let logger: Logger
    private let state: Mutex<State>
    private let background = Mutex<[Task<Void, Never>]>([])

    private init(
        configuration: PostgresLogConfiguration,
        epoch: String,
        end: UInt64,
        primary: PostgresPrimary,
        metricsFactory: any MetricsFactory,
        logger: Logger
    ) {
        self.configuration = configuration
        self.commitTimer = Timer(label: "dateline_log_commit_duration_seconds", factory: metricsFactory)
        self.epoch = epoch
        self.schema = PostgresLogSchema(name: configuration.schema)
        self.primary = primary
        self.logger = logger
        self.state = Mutex(State(knownEnd: end))
    }

    /// Connects to the primary, creates the log's tables if they are missing, and starts following the log's end.
    /// - Throws: ``DatelineStorageError``: `unavailable` when no primary can be reached, `invalidArgument` when
    ///   the schema was written by a newer version of Dateline.
    public static func open(
        configuration: PostgresLogConfiguration,
        metricsFactory: (any MetricsFactory)? = nil,
        logger: Logger
    ) async throws -> PostgresLog {
        var logger = logger
        logger[metadataKey: "dateline.postgres.schema"] = "\(configuration.schema)"
        let primary = PostgresPrimary(configuration: configuration, logger: logger)
        let schema = PostgresLogSchema(name: configuration.schema)
        let head: (version: Int, epoch: String, end: Int64)
        do {
            let pool = try await primary.pool()
            head = try await Self.install(schema, client: pool.client, logger: logger)
        } catch {
            primary.close()
            throw Self.storageError(error, doing: "opening the log")
        }
        guard head.version <= PostgresLogSchema.version else {
            primary.close()
            throw DatelineStorageError.invalidArgument(
                "the log in schema \(configuration.schema) has version \(head.version), written by a newer Dateline (this one reads up to \(PostgresLogSchema.version))"
            )
        }
        let log = PostgresLog(
            configuration: configuration, epoch: head.epoch, end: UInt64(head.end), primary: primary,
            metricsFactory: metricsFactory ?? MetricsSystem.factory, logger: logger
        )
        log.startFollowingTheEnd()
        logger.info("opened the PostgreSQL log", metadata: [
            "dateline.postgres": "\(configuration.redactedDescription)", "dateline.log.epoch": "\(head.epoch)", "dateline.log.end": "\(head.end)",
        ])
        return log
    }

    /// Creates what is missing (under an advisory lock, so that nodes starting together do not race) and reads
    /// the head.
    private static func install(_ schema: PostgresLogSchema, client: PostgresClient, logger: Logger) async throws -> (version: Int, epoch: String, end: Int64) {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("dateline-log:" + schema.name)))", logger: logger)
            for statement in schema.installStatements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                "INSERT INTO \(unescaped: schema.head) (schema_version, epoch, end_offset) VALUES (\(PostgresLogSchema.version), \(Self.newEpoch()), 0) ON CONFLICT DO NOTHING",
                logger: logger
            )
            let rows = try await connection.query("SELECT schema_version, epoch, end_offset FROM \(unescaped: schema.head)", logger: logger)
            for try await (version, epoch, end) in rows.decode((Int, String, Int64).self) {
                return (version, epoch, end)
            }
            throw DatelineStorageError(code: .corrupt, message: "the log's head row is missing in schema \(schema.name)")
        }
    }

    private static func newEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return "pg-" + (0..<2).map { _ in
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    // MARK: IngestLog

    public var backend: String { "postgres" }
    public var deduplicatesByKey: Bool { true }
    public var bounds: Range<UInt64> { 0..<self.endOffset }
    public var endOffset: UInt64 { self.state.withLock { $0.knownEnd } }
    public var writeFailure: DatelineStorageError? { self.state.withLock { $0.lastFailure } }

    public var statistics: IngestLogStatistics {
        self.state.withLock { state in
            IngestLogStatistics(
                bytesStored: state.bytesStored, segments: 1, syncCount: state.commits,
                syncMean: .nanoseconds(state.commits == 0 ? 0 : state.commitNanoseconds / Int64(state.commits)),
                syncLast: .nanoseconds(state.lastCommitNanoseconds)
            )
        }
    }

    /// Whether an append is being sent, and how many wait to be sent after it (for tests).
    package var pendingAppends: (inFlight: Bool, queued: Int) {
        self.state.withLock { ($0.appendInFlight, $0.queuedAppends.count) }
    }

    /// Appends `entries` in one transaction with whatever other appends are waiting on this node.
    ///
    /// All appends are serialised on the log's head, and each transaction pays a commit (a WAL flush) while it
    /// holds it; so the appends that arrive while one is in flight wait and are then sent together, as one call
    /// (group commit, as the file log does with its fsyncs). Each caller gets the outcomes of its own entries; a
    /// failure is every waiting caller's. Once sent, an append completes even if its caller is cancelled.
    /// - Throws: `invalidArgument`, storing nothing, when an entry exceeds ``PostgresLogConfiguration/maximumRecordBytes``.
    public func append(_ entries: [IngestLogEntry]) async throws -> [IngestLogAppendOutcome] {
        guard !entries.isEmpty else { return [] }
        for entry in entries where entry.payload.count > self.configuration.maximumRecordBytes {
            throw DatelineStorageError.invalidArgument("a record of \(entry.payload.count) bytes exceeds the limit of \(self.configuration.maximumRecordBytes)")
        }
        let bytes = entries.reduce(0) { $0 + $1.payload.count }
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = self.state.withLock { state -> (lead: Bool, closed: Bool) in
                if state.isClosed { return (false, true) }
                state.queuedAppends.append(QueuedAppend(entries: entries, bytes: bytes, continuation: continuation))
                defer { state.appendInFlight = true }
                return (!state.appendInFlight, false)
            }
            if outcome.closed {
                continuation.resume(throwing: DatelineStorageError.closed)
            } else if outcome.lead {
                Task { await self.sendQueuedAppends() }
            }
        }
    }

    /// Sends the queued appends, as many as the limits allow per call, until none is left.
    private func sendQueuedAppends() async {
        while true {
            let group = self.state.withLock { state -> [QueuedAppend] in
                var taken = 0
                var entries = 0
                var bytes = 0
                for queued in state.queuedAppends {
                    guard taken == 0 || (entries + queued.entries.count <= Self.groupLimits.entries && bytes + queued.bytes <= Self.groupLimits.bytes) else { break }
                    (taken, entries, bytes) = (taken + 1, entries + queued.entries.count, bytes + queued.bytes)
                }
                defer { state.queuedAppends.removeFirst(taken) }
                if taken == 0 { state.appendInFlight = false }
                return Array(state.queuedAppends.prefix(taken))
            }
            guard !group.isEmpty else { return }
            do {
                var outcomes = try await self.appendInOneCall(group.flatMap(\.entries))[...]
                for queued in group {
                    queued.continuation.resume(returning: Array(outcomes.prefix(queued.entries.count)))
                    outcomes = outcomes.dropFirst(queued.entries.count)
                }
            } catch {
                for queued in group { queued.continuation.resume(throwing: error) }
            }
        }
    }

    /// One call of the append function: one transaction.
    private func appendInOneCall(_ entries: [IngestLogEntry]) async throws -> [IngestLogAppendOutcome] {
        if self.state.withLock({ $0.isClosed }) { throw DatelineStorageError.closed }
        let ids = entries.map(\.keys.articleID)
        let externals = entries.map { $0.keys.externalID ?? "" }
        let contents = entries.map(\.keys.contentKey)
        let payloads = entries.map { ByteBuffer(bytes: $0.payload) }
        let started = ContinuousClock.now
        let rows: [(Int32, Int64?, String?, Int64?)]
        do {
            rows = try await self.onPrimary(mayHaveCommitted: true) { connection in
                let sequence = try await connection.query(
                    "SELECT entry, stored_offset, duplicate_of, duplicate_offset FROM \(unescaped: self.schema.appendFunction)(\(ids), \(externals), \(contents), \(payloads))",
                    logger: self.logger
                )
                var rows: [(Int32, Int64?, String?, Int64?)] = []
                for try await row in sequence.decode((Int32, Int64?, String?, Int64?).self) { rows.append(row) }
                return rows
            }
        } catch {
            let failure = Self.storageError(error, doing: "appending")
            self.state.withLock { $0.lastFailure = failure }
            throw failure
        }
        var outcomes = [IngestLogAppendOutcome?](repeating: nil, count: entries.count)
        var end: UInt64 = 0
        for (entry, stored, duplicateOf, duplicateOffset) in rows where entry >= 0 && Int(entry) < entries.count {
            if let stored {
                outcomes[Int(entry)] = .appended(offset: UInt64(stored))
                end = max(end, UInt64(stored) + 1)
            } else if let duplicateOf, let duplicateOffset {
                outcomes[Int(entry)] = .duplicate(of: duplicateOf, offset: UInt64(duplicateOffset))
            } else {
                outcomes[Int(entry)] = .idTaken
            }
        }
        let elapsed = (ContinuousClock.now - started).nanoseconds
        self.state.withLock { state in
            state.lastFailure = nil
            state.commits += 1
            state.commitNanoseconds += elapsed
            state.lastCommitNanoseconds = elapsed
        }
        self.commitTimer.recordNanoseconds(elapsed)
        if end > 0 { self.advance(to: end) }
        guard outcomes.allSatisfy({ $0 != nil }) else {
            throw DatelineStorageError(code: .outcomeUnknown, message: "the append function answered \(rows.count) rows for \(entries.count) entries")
        }
        return outcomes.map { $0! }
    }

    public func read(from offset: UInt64, maximumRecords: Int, maximumBytes: Int) async throws -> [DatelineLogRecord] {
        let limit = Int64(max(1, maximumRecords))
        let records = try await self.onPrimary(mayHaveCommitted: false) { connection in
            let sequence = try await connection.query(
                "SELECT log_offset, payload FROM \(unescaped: self.schema.articles) WHERE log_offset >= \(Int64(offset)) AND log_offset < \(Int64(offset) + limit) ORDER BY log_offset",
                logger: self.logger
            )
            var records: [DatelineLogRecord] = []
            var bytes = 0
            for try await (recordOffset, payload) in sequence.decode((Int64, ByteBuffer).self) {
                guard bytes < maximumBytes || records.isEmpty else { break }
                records.append(DatelineLogRecord(offset: UInt64(recordOffset), payload: Array(payload.readableBytesView)))
                bytes += payload.readableBytes
            }
            return records
        }
        // Offsets are dense by construction; a gap would mean the table was edited by hand.
        for (index, record) in records.enumerated() where record.offset != offset + UInt64(index) {
            throw DatelineStorageError(code: .corrupt, message: "the log's table has no record at offset \(offset + UInt64(index)) (it was edited outside Dateline)")
        }
        if let last = records.last { self.advance(to: last.offset + 1) }
        return records
    }

    public func currentBounds() async -> Range<UInt64> {
        try? await self.refreshEnd()
        return self.bounds
    }

    public func waitForRecord(at offset: UInt64) async {
        let id: UInt64? = self.state.withLock { state in
            guard state.knownEnd <= offset, !state.isClosed else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state in
                    if state.knownEnd > offset || state.isClosed || Task.isCancelled { return true }
                    state.waiters[id] = (offset, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    public func close() async throws {
        let waiters = self.state.withLock { state in
            state.isClosed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
        let tasks = self.background.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        self.primary.close()
    }

    // MARK: Following the end

    /// Moves the known end forward (never back) and wakes the waiters it satisfies.
    private func advance(to end: UInt64) {
        let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard end > state.knownEnd else { return [] }
            state.knownEnd = end
            let ready = state.waiters.filter { $0.value.offset < end }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.values.map(\.continuation)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Reads the head's end (and the table's size).
    private func refreshEnd() async throws {
        let (end, bytes) = try await self.onPrimary(mayHaveCommitted: false) { connection in
            let rows = try await connection.query(
                "SELECT end_offset, pg_total_relation_size(\(self.schema.articles)::regclass) FROM \(unescaped: self.schema.head)",
                logger: self.logger
            )
            for try await row in rows.decode((Int64, Int64).self) { return row }
            return (0, 0)
        }
        self.state.withLock { $0.bytesStored = Int(bytes) }
        self.advance(to: UInt64(end))
    }

    private func startFollowingTheEnd() {
        let listener = Task { await self.listen() }
        let poller = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.configuration.pollInterval)
                try? await self.refreshEnd()
            }
        }
        self.background.withLock { $0 = [listener, poller] }
    }

    /// LISTENs for the end offsets that appends (on any node) notify; reconnects after failures.
    private func listen() async {
        while !Task.isCancelled {
            do {
                let pool = try await self.primary.pool()
                let connected = Atomic<Bool>(false)
                let limit = self.configuration.connectTimeout
                do {
                    try await PostgresPrimary.race({
                        try await pool.client.withConnection { connection in
                            connected.store(true, ordering: .relaxed)
                            try await connection.listen(on: self.schema.channel) { notifications in
                                // Appends committed before LISTEN took effect notified no one here.
                                try await self.refreshEnd()
                                for try await notification in notifications {
                                    if let end = UInt64(notification.payload) { self.advance(to: end) }
                                }
                            }
                        }
                    }, watchdog: {
                        // The pool would wait for a connection to a dead server forever.
                        try await Task.sleep(for: limit)
                        if !connected.load(ordering: .relaxed) { throw PostgresNoConnection(endpoint: pool.endpoint, limit: limit) }
                        // A connection whose server died may never say so; once another call has found the primary
                        // gone, listen on the new one.
                        while self.primary.isCurrent(pool) { try await Task.sleep(for: self.configuration.pollInterval) }
                        throw PostgresNoConnection(endpoint: pool.endpoint, limit: limit)
                    })
                } catch {
                    // Losing the LISTEN connection is the first sign of a dead primary, but it may be that one
                    // connection's alone (a terminated backend, a proxy's idle timeout), and dropping a sound pool
                    // would fail this node's appends in flight: ask the server first.
                    if error is PostgresNoConnection {
                        self.primary.invalidate(pool)
                    } else if Self.meansPrimaryLost(error) {
                        await self.primary.invalidateUnlessStillPrimary(pool)
                    }
                    throw error
                }
            } catch {
                guard !Task.isCancelled else { return }
                self.logger.debug("listening for the log's end failed; retrying", metadata: ["dateline.error": "\(PostgresPrimary.describe(error))"])
                // Soon, not at the next poll: until it listens again, this node learns of other nodes' appends
                // only by polling.
                try? await Task.sleep(for: min(self.configuration.pollInterval, .milliseconds(200)))
            }
        }
    }

    // MARK: Errors

    /// Runs `body` on a connection to the primary. Failures become ``DatelineStorageError``s: `unavailable` when
    /// nothing can have been changed, `outcomeUnknown` when `mayHaveCommitted` and the connection failed after the
    /// statement was sent. A failure that may mean the primary is gone drops it, so that the next call locates one.
    private func onPrimary<Result: Sendable>(
        mayHaveCommitted: Bool,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let pool: PostgresPrimary.Pool
        do {
            pool = try await self.primary.pool()
        } catch {
            throw Self.storageError(error, doing: "connecting")
        }
        let sent = Atomic<Bool>(false)
        let configuration = self.configuration
        let primary = self.primary
        do {
            return try await PostgresPrimary.race({
                try await pool.client.withConnection { connection in
                    sent.store(true, ordering: .relaxed)
                    return try await body(connection)
                }
            }, watchdog: {
                // No connection within the connect timeout: the server is gone (the pool would retry forever).
                try await Task.sleep(for: configuration.connectTimeout)
                if !sent.load(ordering: .relaxed) {
                    throw PostgresNoConnection(endpoint: pool.endpoint, limit: configuration.connectTimeout)
                }
                // A statement on a connection whose server died may never fail by itself. Give up once another
                // call has found the primary gone (it found it so, and the next call goes to the new one), or at
                // the statement timeout.
                let deadline = ContinuousClock.now + configuration.statementTimeout
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: min(configuration.pollInterval, deadline - .now))
                    if !primary.isCurrent(pool) { throw PostgresPrimaryChanged(endpoint: pool.endpoint) }
                }
                throw PostgresLogTimeout()
            })
        } catch {
            if Self.meansPrimaryLost(error) { self.primary.invalidate(pool) }
            if let error = error as? DatelineStorageError { throw error }
            if let error = error as? PostgresNoConnection {
                throw DatelineStorageError(code: .unavailable, message: error.description)
            }
            if let error = error as? PostgresPrimaryChanged, mayHaveCommitted {
                throw DatelineStorageError(code: .outcomeUnknown, message: "\(error.description) while a batch was committed")
            }
            let isStatementError = (error as? PSQLError)?.code == .server
            if mayHaveCommitted && sent.load(ordering: .relaxed) && !isStatementError {
                throw DatelineStorageError(
                    code: .outcomeUnknown,
                    message: "the connection to PostgreSQL \(pool.endpoint) failed while a batch was committed: \(PostgresPrimary.describe(error))"
                )
            }
            throw Self.storageError(error, doing: "on \(pool.endpoint)")
        }
    }

    /// Whether `error` may mean that the server is gone or is no longer the primary.
    static func meansPrimaryLost(_ error: any Error) -> Bool {
        // The pool could not connect, or a statement hung (a partition sends no reset): find the primary again.
        if error is PostgresNoConnection || error is PostgresLogTimeout { return true }
        guard let error = error as? PSQLError else { return !(error is DatelineStorageError) && !(error is CancellationError) }
        guard error.code == .server else { return true }
        let state = error.serverInfo?[.sqlState] ?? ""
        // 08: connection exception; 57: operator intervention (shutdown); 25006: read-only transaction (a standby).
        return state.hasPrefix("08") || state.hasPrefix("57") || state == "25006"
    }

    private static func storageError(_ error: any Error, doing what: String) -> DatelineStorageError {
        if let error = error as? DatelineStorageError { return error }
        return DatelineStorageError(code: .unavailable, message: "PostgreSQL log, \(what): \(PostgresPrimary.describe(error))")
    }
}

/// The pool had no connection for a call within the connect timeout: its server is gone or unreachable (the
/// pool itself would go on retrying).
struct PostgresNoConnection: Error, CustomStringConvertible {
    var endpoint: PostgresLogConfiguration.Endpoint
    var limit: Duration
    var description: String { "no connection to PostgreSQL \(self.endpoint) within \(self.limit)" }
}

/// A call was still waiting on a server that another call had found gone (or no longer the primary).
struct PostgresPrimaryChanged: Error, CustomStringConvertible {
    var endpoint: PostgresLogConfiguration.Endpoint
    var description: String { "PostgreSQL \(self.endpoint) stopped being the primary" }
}

/// A statement outlived ``PostgresLogConfiguration/statementTimeout``.
struct PostgresLogTimeout: Error, CustomStringConvertible {
    var description: String { "the statement took longer than the statement timeout" }
}

extension Duration {
    var nanoseconds: Int64 {
        self.components.seconds * 1_000_000_000 + self.components.attoseconds / 1_000_000_000
    }
}
