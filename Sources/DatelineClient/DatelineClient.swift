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

/// A failure talking to a service, with what to do about it.
public struct DatelineClientError: Error, Sendable, CustomStringConvertible {
    public var service: DatelineService
    public var address: String
    public var underlying: DatelineError

    /// Whether the service could not be reached at all (as opposed to answering with an error).
    public var isUnreachable: Bool {
        self.underlying.code == .unavailable && self.underlying.message.hasPrefix("cannot reach")
    }

    public var description: String {
        if self.isUnreachable {
            let reason = self.underlying.message.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
            return "cannot reach \(self.service.rawValue) at \(self.address): \(reason) — is it running? try scripts/start.sh"
        }
        return "\(self.service.rawValue) at \(self.address): \(self.underlying.code): \(self.underlying.message)"
    }
}

/// What `ingest` did.
public struct IngestSummary: Sendable, Codable {
    public var accepted = 0
    public var duplicates = 0
    public var rejected = 0
    /// Rejection reasons with the input they came from.
    public var rejections: [String] = []
    /// The log's end offset after the last batch (pass it as `minimumOffset` for read-your-writes).
    public var endOffset: UInt64 = 0
    public var articles = 0
    public var bytes = 0
    public var seconds = 0.0

    public init() {}
}

/// The client library behind the `dateline` CLI: one connection per service, opened on first use.
public actor DatelineClient {
    public let settings: DatelineClientSettings
    private var connections: [String: DatelineClientConnection] = [:]

    public init(settings: DatelineClientSettings) {
        self.settings = settings
    }

    func connection(_ service: DatelineService) async throws -> DatelineClientConnection {
        if let existing = self.connections[service.rawValue] { return existing }
        let (host, port) = service == .ingest ? self.settings.ingest : self.settings.query
        do {
            let connection = try await DatelineClientConnection.connect(
                host: host,
                port: port,
                configuration: DatelineClientConfiguration(clientName: "dateline-cli/0.1.0", token: self.settings.token, requestTimeout: self.settings.timeout)
            )
            self.connections[service.rawValue] = connection
            return connection
        } catch let error as DatelineError {
            throw DatelineClientError(service: service, address: "\(host):\(port)", underlying: error)
        }
    }

    /// Sends `request` to `service`, turning failures into ``DatelineClientError``s that name the service.
    public func send<Request: DatelineRequest>(_ request: Request, to service: DatelineService, timeout: Duration? = nil) async throws -> Request.Response {
        let connection = try await self.connection(service)
        do {
            return try await connection.send(request, timeout: timeout ?? self.settings.timeout)
        } catch let error as DatelineError {
            let (host, port) = service == .ingest ? self.settings.ingest : self.settings.query
            throw DatelineClientError(service: service, address: "\(host):\(port)", underlying: error)
        }
    }

    /// Sends `submissions` in batches, `concurrency` batches in flight, reporting progress after each batch.
    public func ingest(
        _ submissions: [(source: String, submission: ArticleSubmission)],
        batchSize: Int,
        concurrency: Int = 4,
        progress: @Sendable (IngestSummary) -> Void = { _ in }
    ) async throws -> IngestSummary {
        let started = ContinuousClock.now
        var summary = IngestSummary()
        let batches = stride(from: 0, to: submissions.count, by: max(1, batchSize)).map { Array(submissions[$0..<min($0 + batchSize, submissions.count)]) }
        var next = 0
        try await withThrowingTaskGroup(of: ([(source: String, submission: ArticleSubmission)], IngestResponse).self) { group in
            func launch() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                group.addTask { (batch, try await self.send(IngestRequest(articles: batch.map(\.submission)), to: .ingest)) }
            }
            for _ in 0..<concurrency { launch() }
            while let (batch, response) = try await group.next() {
                for (input, result) in zip(batch, response.results) {
                    switch result.status {
                    case .accepted: summary.accepted += 1
                    case .duplicate: summary.duplicates += 1
                    default:
                        summary.rejected += 1
                        summary.rejections.append("\(input.source): \(result.reason ?? "rejected")")
                    }
                    summary.bytes += input.submission.body.utf8.count
                }
                summary.articles += batch.count
                summary.endOffset = max(summary.endOffset, response.endOffset)
                summary.seconds = (ContinuousClock.now - started).secondsValue
                progress(summary)
                launch()
            }
        }
        summary.seconds = (ContinuousClock.now - started).secondsValue
        return summary
    }

    /// Closes the connections.
    public func close() async {
        for connection in self.connections.values { try? await connection.close() }
        self.connections.removeAll()
    }
}

extension Duration {
    var secondsValue: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
