import DatelineArticles
public import DatelineProtocol
import Foundation

/// Where the two services are and how to talk to them.
public struct DatelineClientSettings: Sendable {
    /// Default: 127.0.0.1:7400.
    public var ingest: (host: String, port: Int)
    /// Default: 127.0.0.1:7401.
    public var query: (host: String, port: Int)
    public var token: String?
    /// Per-request timeout. Default: 30 s.
    public var timeout: Duration

    public init(ingest: (String, Int) = ("127.0.0.1", 7400), query: (String, Int) = ("127.0.0.1", 7401), token: String? = nil, timeout: Duration = .seconds(30)) {
        self.ingest = ingest
        self.query = query
        self.token = token
        self.timeout = timeout
    }
}

/// Which service an error came from, so messages can say so.
public enum DatelineService: String, Sendable {
    case ingest = "dateline-ingest"
    case query = "dateline-query"
}

/// The client library behind the `dateline` CLI: one connection per service, opened on first use and shared
/// by every concurrent caller.
public actor DatelineClient {
    public let settings: DatelineClientSettings

    /// A service's connection: being opened (every caller awaits the same attempt), or open.
    private enum Slot {
        case connecting(Task<DatelineClientConnection, any Error>)
        case open(DatelineClientConnection)
    }

    private var connections: [DatelineService: Slot] = [:]

    public init(settings: DatelineClientSettings) {
        self.settings = settings
    }

    func address(of service: DatelineService) -> (host: String, port: Int) {
        service == .ingest ? self.settings.ingest : self.settings.query
    }

    /// The connection to `service`, opening it if there is none.
    ///
    /// The actor is re-entered while a connection is being opened, so the attempt is kept as a task that later
    /// callers await too: concurrent callers share one connection. A failed attempt is forgotten, so the next
    /// call tries again.
    /// - Throws: ``DatelineClientError`` when the service cannot be reached or refuses the handshake.
    func connection(_ service: DatelineService) async throws -> DatelineClientConnection {
        let attempt: Task<DatelineClientConnection, any Error>
        switch self.connections[service] {
        case .open(let connection):
            return connection
        case .connecting(let task):
            attempt = task
        case nil:
            let (host, port) = self.address(of: service)
            let configuration = DatelineClientConfiguration(clientName: "dateline-cli/0.1.0", token: self.settings.token, requestTimeout: self.settings.timeout)
            attempt = Task { try await DatelineClientConnection.connect(host: host, port: port, configuration: configuration) }
            self.connections[service] = .connecting(attempt)
        }
        do {
            let connection = try await attempt.value
            if case .connecting(let current) = self.connections[service], current == attempt {
                self.connections[service] = .open(connection)
            }
            return connection
        } catch {
            if case .connecting(let current) = self.connections[service], current == attempt {
                self.connections[service] = nil
            }
            throw self.clientError(error, service: service, whileConnecting: true)
        }
    }

    /// Forgets `connection` if it is still `service`'s, and closes it: the next request opens a new one.
    private func drop(_ connection: DatelineClientConnection, of service: DatelineService) async {
        guard case .open(let current) = self.connections[service], current === connection else { return }
        self.connections[service] = nil
        try? await connection.close()
    }

    /// `error` as a ``DatelineClientError`` naming `service`. The connection reports everything as a
    /// ``DatelineError``; anything else (a request that cannot be encoded) is a bug, reported as `internal`.
    private func clientError(_ error: any Error, service: DatelineService, whileConnecting: Bool) -> DatelineClientError {
        if let error = error as? DatelineClientError { return error }
        let (host, port) = self.address(of: service)
        let underlying = error as? DatelineError ?? DatelineError(code: .internal, message: "\(error)", cause: error)
        return DatelineClientError(service: service, address: "\(host):\(port)", underlying: underlying, whileConnecting: whileConnecting)
    }

    /// Sends `request` to `service`, turning failures into ``DatelineClientError``s that name the service.
    ///
    /// When the connection turns out to be gone (reset, closed by the service, or the service shutting down), it is
    /// dropped, so that the next request reconnects; this one fails with a retryable error.
    public func send<Request: DatelineRequest>(_ request: Request, to service: DatelineService, timeout: Duration? = nil) async throws -> Request.Response {
        do {
            let connection = try await self.connection(service)
            do {
                return try await connection.send(request, timeout: timeout ?? self.settings.timeout)
            } catch {
                let failure = self.clientError(error, service: service, whileConnecting: false)
                if failure.endsConnection { await self.drop(connection, of: service) }
                throw failure
            }
        } catch var error as DatelineClientError {
            error.requestType = Request.messageType
            throw error
        }
    }

    /// Sends `submissions` in batches, `concurrency` batches in flight, reporting progress after each batch.
    ///
    /// The summary returned lists what happened to every article, in the order of `submissions`; the ones passed
    /// to `progress` have the counts only.
    public func ingest(
        _ submissions: [(source: String, submission: ArticleSubmission)],
        batchSize: Int,
        concurrency: Int = 4,
        progress: @Sendable (IngestSummary) -> Void = { _ in }
    ) async throws -> IngestSummary {
        let started = ContinuousClock.now
        var summary = IngestSummary()
        var outcomes = [IngestedArticle?](repeating: nil, count: submissions.count)
        let batches = stride(from: 0, to: submissions.count, by: max(1, batchSize)).map { $0..<min($0 + max(1, batchSize), submissions.count) }
        var next = 0
        try await withThrowingTaskGroup(of: (Range<Int>, IngestResponse).self) { group in
            func launch() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                let request = IngestRequest(articles: submissions[batch].map(\.submission))
                group.addTask { (batch, try await self.send(request, to: .ingest)) }
            }
            for _ in 0..<concurrency { launch() }
            while let (batch, response) = try await group.next() {
                for result in response.results {
                    let position = batch.lowerBound + Int(result.index)
                    guard batch.contains(position) else { continue }
                    let article = IngestedArticle(submissions[position], result: result)
                    switch article.status {
                    case .accepted: summary.accepted += 1
                    case .duplicate: summary.duplicates += 1
                    case .rejected:
                        summary.rejected += 1
                        summary.rejections.append("\(article.source): \(article.reason ?? "rejected")")
                    case .unavailable: summary.unavailable += 1
                    }
                    outcomes[position] = article
                }
                summary.bytes += submissions[batch].reduce(0) { $0 + $1.submission.body.utf8.count }
                summary.articles += batch.count
                summary.endOffset = max(summary.endOffset, response.endOffset)
                summary.seconds = (ContinuousClock.now - started).secondsValue
                progress(summary)
                launch()
            }
        }
        summary.results = outcomes.compactMap { $0 }
        summary.seconds = (ContinuousClock.now - started).secondsValue
        return summary
    }

    /// Closes the connections, including any still being opened.
    public func close() async {
        let slots = Array(self.connections.values)
        self.connections.removeAll()
        for slot in slots {
            switch slot {
            case .open(let connection): try? await connection.close()
            case .connecting(let task): try? await task.value.close()
            }
        }
    }
}

extension Duration {
    var secondsValue: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
