import DatelineArticles
public import DatelineProtocol
import Foundation

/// Where the two services are and how to talk to them.
public struct DatelineClientSettings: Sendable {
    /// Default: 127.0.0.1:7400.
    public var ingest: (host: String, port: Int)
    /// Default: 127.0.0.1:7401.
    public var query: (host: String, port: Int)
    /// More nodes of each service (ingest nodes sharing one PostgreSQL log, query replicas following it):
    /// requests are spread over every healthy node, and one that fails is retried on the next. Default: none.
    public var ingestFallbacks: [(host: String, port: Int)] = []
    public var queryFallbacks: [(host: String, port: Int)] = []
    public var token: String?
    /// Per-request timeout. Default: 30 s.
    public var timeout: Duration
    /// How long a node that failed is passed over (tried only when no other is healthy). Default: 2 s.
    public var unhealthyFor: Duration = .seconds(2)
    /// TLS for every connection, for services started with a certificate. Default: nil (plain TCP).
    public var tls: DatelineClientTLS?

    public init(ingest: (String, Int) = ("127.0.0.1", 7400), query: (String, Int) = ("127.0.0.1", 7401), token: String? = nil, timeout: Duration = .seconds(30)) {
        self.ingest = ingest
        self.query = query
        self.token = token
        self.timeout = timeout
    }

    /// Every node of `service`, in the order given.
    public func nodes(of service: DatelineService) -> [(host: String, port: Int)] {
        service == .ingest ? [self.ingest] + self.ingestFallbacks : [self.query] + self.queryFallbacks
    }
}

/// Which service an error came from, so messages can say so.
public enum DatelineService: String, Sendable {
    case ingest = "dateline-ingest"
    case query = "dateline-query"
}

/// The client library behind the `dateline` CLI: one connection per node, opened on first use and shared by
/// every concurrent caller.
///
/// With several nodes of a service, requests go to the healthy ones in turn. A request that fails because its
/// node cannot be reached, went away or is unavailable is sent again to the next node: that is safe for every
/// request, ingest included, since dateline-ingest deduplicates (an article stored by the first attempt is
/// answered as a duplicate of itself).
public actor DatelineClient {
    public nonisolated let settings: DatelineClientSettings

    /// One node of one service.
    struct Node: Hashable {
        var service: DatelineService
        var index: Int
    }

    /// A node's connection: being opened (every caller awaits the same attempt), or open.
    private enum Slot {
        case connecting(Task<DatelineClientConnection, any Error>)
        case open(DatelineClientConnection)
    }

    private var connections: [Node: Slot] = [:]
    /// Where the next request of each service starts looking.
    private var nextNode: [DatelineService: Int] = [:]
    /// Nodes that failed, passed over until then.
    private var unhealthyUntil: [Node: ContinuousClock.Instant] = [:]

    public init(settings: DatelineClientSettings) {
        self.settings = settings
    }

    func address(of node: Node) -> (host: String, port: Int) {
        self.settings.nodes(of: node.service)[node.index]
    }

    /// The nodes to try for one request, in order: the healthy ones in turn from the rotating start, then those
    /// that failed lately (a last resort).
    func order(for service: DatelineService) -> [Node] {
        let count = self.settings.nodes(of: service).count
        let start = self.nextNode[service, default: 0] % count
        self.nextNode[service] = (start + 1) % count
        let now = ContinuousClock.now
        let rotated = (0..<count).map { Node(service: service, index: (start + $0) % count) }
        let healthy = rotated.filter { (self.unhealthyUntil[$0] ?? now) <= now }
        return healthy + rotated.filter { !healthy.contains($0) }
    }

    /// The connection to `node`, opening it if there is none.
    ///
    /// The actor is re-entered while a connection is being opened, so the attempt is kept as a task that later
    /// callers await too: concurrent callers share one connection. A failed attempt is forgotten, so the next
    /// call tries again.
    /// - Throws: ``DatelineClientError`` when the node cannot be reached or refuses the handshake.
    func connection(_ node: Node) async throws -> DatelineClientConnection {
        let attempt: Task<DatelineClientConnection, any Error>
        switch self.connections[node] {
        case .open(let connection):
            return connection
        case .connecting(let task):
            attempt = task
        case nil:
            let (host, port) = self.address(of: node)
            let configuration = DatelineClientConfiguration(clientName: "dateline-cli/0.1.0", token: self.settings.token, requestTimeout: self.settings.timeout, tls: self.settings.tls)
            attempt = Task { try await DatelineClientConnection.connect(host: host, port: port, configuration: configuration) }
            self.connections[node] = .connecting(attempt)
        }
        do {
            let connection = try await attempt.value
            if case .connecting(let current) = self.connections[node], current == attempt {
                self.connections[node] = .open(connection)
            }
            return connection
        } catch {
            if case .connecting(let current) = self.connections[node], current == attempt {
                self.connections[node] = nil
            }
            throw self.clientError(error, node: node, whileConnecting: true)
        }
    }

    /// Forgets `connection` if it is still `node`'s, and closes it: the next request opens a new one.
    private func drop(_ connection: DatelineClientConnection, of node: Node) async {
        guard case .open(let current) = self.connections[node], current === connection else { return }
        self.connections[node] = nil
        try? await connection.close()
    }

    /// `error` as a ``DatelineClientError`` naming the node. The connection reports everything as a
    /// ``DatelineError``; anything else (a request that cannot be encoded) is a bug, reported as `internal`.
    private func clientError(_ error: any Error, node: Node, whileConnecting: Bool) -> DatelineClientError {
        if let error = error as? DatelineClientError { return error }
        let (host, port) = self.address(of: node)
        let underlying = error as? DatelineError ?? DatelineError(code: .internal, message: "\(error)", cause: error)
        return DatelineClientError(service: node.service, address: "\(host):\(port)", underlying: underlying, whileConnecting: whileConnecting)
    }

    /// Sends `request` to `service`, turning failures into ``DatelineClientError``s that name the node.
    ///
    /// When a connection turns out to be gone (reset, closed by the service, or the service shutting down), it is
    /// dropped, so that the next request reconnects. With several nodes, a request whose node failed that way (or
    /// could not be reached, or answered UNAVAILABLE) is sent to the next; the last node's error is thrown.
    public func send<Request: DatelineRequest>(_ request: Request, to service: DatelineService, timeout: Duration? = nil) async throws -> Request.Response {
        let nodes = self.order(for: service)
        var attempt = 0
        while true {
            let node = nodes[attempt]
            do {
                return try await self.send(request, to: node, timeout: timeout)
            } catch var error as DatelineClientError {
                error.requestType = Request.messageType
                attempt += 1
                guard error.failsOver, attempt < nodes.count else { throw error }
                self.unhealthyUntil[node] = .now + self.settings.unhealthyFor
            }
        }
    }

    /// Sends `request` to one node of `service` (its position in ``DatelineClientSettings/nodes(of:)``), with no
    /// failover: for what must be asked of each replica in turn, such as whether it has indexed an offset.
    public func send<Request: DatelineRequest>(_ request: Request, to service: DatelineService, node index: Int, timeout: Duration? = nil) async throws -> Request.Response {
        precondition(self.settings.nodes(of: service).indices.contains(index), "no node \(index) of \(service)")
        do {
            return try await self.send(request, to: Node(service: service, index: index), timeout: timeout)
        } catch var error as DatelineClientError {
            error.requestType = Request.messageType
            throw error
        }
    }

    private func send<Request: DatelineRequest>(_ request: Request, to node: Node, timeout: Duration?) async throws -> Request.Response {
        let connection = try await self.connection(node)
        do {
            let response = try await connection.send(request, timeout: timeout ?? self.settings.timeout)
            self.unhealthyUntil[node] = nil
            return response
        } catch {
            let failure = self.clientError(error, node: node, whileConnecting: false)
            if failure.endsConnection { await self.drop(connection, of: node) }
            throw failure
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

    /// Opens a stream of `request` on the first node of `service` that can be reached (in the same order as
    /// ``send(_:to:timeout:)``), and says which node that is. Failures while the stream runs are the stream's.
    public func stream<Request: DatelineStreamingRequest>(
        _ request: Request,
        to service: DatelineService
    ) async throws -> (stream: DatelineResponseStream<Request.Element>, address: String) {
        let nodes = self.order(for: service)
        var attempt = 0
        while true {
            let node = nodes[attempt]
            do {
                let connection = try await self.connection(node)
                let (host, port) = self.address(of: node)
                return (try connection.stream(request), "\(host):\(port)")
            } catch var error as DatelineClientError {
                error.requestType = Request.messageType
                attempt += 1
                guard error.failsOver, attempt < nodes.count else { throw error }
                self.unhealthyUntil[node] = .now + self.settings.unhealthyFor
            } catch {
                throw self.clientError(error, node: node, whileConnecting: false)
            }
        }
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
