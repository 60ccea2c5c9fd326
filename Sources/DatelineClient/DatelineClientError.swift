public import DatelineProtocol
import Foundation

/// A failure talking to a service, with what to do about it.
public struct DatelineClientError: Error, Sendable, CustomStringConvertible {
    /// How a connection ended under a request.
    public enum ConnectionLoss: Sendable, Hashable {
        /// The service reset the connection (ECONNRESET, EPIPE): typically it was killed or restarted.
        case reset
        /// The service closed the connection.
        case closed
        /// The service announced that it is shutting down (GoAway).
        case shuttingDown
        /// Another socket failure, described in words.
        case failed(String)
    }

    public var service: DatelineService
    public var address: String
    public var underlying: DatelineError
    /// Whether it failed while opening the connection (connect and handshake) rather than on a request.
    public var whileConnecting: Bool
    /// The type of the request that failed, when there was one.
    public var requestType: DatelineMessageType?

    /// Creates an error.
    /// - Parameters:
    ///   - service: The service the request was for.
    ///   - address: Where that service was expected, `HOST:PORT`.
    ///   - underlying: The protocol's error.
    ///   - whileConnecting: Whether the connection was being opened. Default: false.
    ///   - requestType: The request that failed. Default: none.
    public init(service: DatelineService, address: String, underlying: DatelineError, whileConnecting: Bool = false, requestType: DatelineMessageType? = nil) {
        self.service = service
        self.address = address
        self.underlying = underlying
        self.whileConnecting = whileConnecting
        self.requestType = requestType
    }

    /// What to do when an ingest failed in a way worth retrying.
    public static let ingestRetryAdvice =
        "nothing is lost that was acknowledged — retry the command (that is safe: articles already stored are detected as duplicates)"

    /// Whether the service could not be reached at all (as opposed to answering with an error).
    public var isUnreachable: Bool {
        self.underlying.code == .unavailable && self.underlying.message.hasPrefix("cannot reach")
    }

    /// How the connection was lost, when that is what went wrong.
    public var connectionLoss: ConnectionLoss? {
        Self.connectionLoss(in: self.underlying)
    }

    /// Whether running the same command again may succeed: the service said so, or the connection went away.
    /// An unreachable service is not counted: it needs someone to start it first.
    public var isRetryable: Bool {
        !self.isUnreachable && (self.underlying.isRetryable || self.connectionLoss != nil)
    }

    /// Whether another node of the service may answer where this one failed: it could not be reached, went
    /// away, or said it is unavailable or overloaded.
    public var failsOver: Bool {
        self.isUnreachable || self.connectionLoss != nil || self.underlying.code == .unavailable || self.underlying.code == .overloaded
    }

    /// Whether the connection is unusable after this error, so that the next request must open a new one.
    var endsConnection: Bool {
        self.connectionLoss != nil || self.underlying.code.closesConnection
    }

    public var description: String {
        let service = "\(self.service.rawValue) at \(self.address)"
        if self.isUnreachable {
            let reason = self.underlying.message.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
            return "cannot reach \(service): \(reason) — is it running? try scripts/start.sh"
        }
        let retry = self.requestType == .ingestRequest ? "; " + Self.ingestRetryAdvice : " — retry the command"
        if let loss = self.connectionLoss {
            let what: String
            switch loss {
            case .reset: what = "connection reset"
            case .closed: what = "it closed the connection"
            case .shuttingDown: what = "it is shutting down"
            case .failed(let words): what = words
            }
            return "\(service) went away \(self.whileConnecting ? "during the handshake" : "mid-request") (\(what))\(retry)"
        }
        if self.requestType == .ingestRequest, self.underlying.code == .deadlineExceeded, !self.underlying.message.contains("nothing of it was stored") {
            // The client stopped waiting: the batch may be stored or not, and only a retry can tell.
            return "\(service): DEADLINE_EXCEEDED: \(self.underlying.message); the batch may have been stored — retrying is safe (duplicates are detected)"
        }
        let reported = "\(service): \(self.underlying.code): \(self.underlying.message)"
        // The service may have said to retry already (dateline-ingest does when its log cannot store a batch).
        let advised = self.underlying.message.localizedCaseInsensitiveContains("retry")
        return self.underlying.isRetryable && !advised ? reported + retry : reported
    }

    /// Reads how the connection ended out of the errors `DatelineClientConnection` fails requests with when it
    /// loses its connection (all `unavailable`): the service closed it, sent GoAway, or the socket failed
    /// (`connection failed: ` and NIO's `IOError`, whose text ends in `(errno: N)`).
    static func connectionLoss(in error: DatelineError) -> ConnectionLoss? {
        guard error.code == .unavailable else { return nil }
        let message = error.message
        if message == "the server closed the connection" || message == "the connection is closed" { return .closed }
        if message.hasPrefix("the server is shutting down") { return .shuttingDown }
        guard message.hasPrefix("connection failed: ") else { return nil }
        let text = error.cause.map { "\($0)" } ?? String(message.dropFirst("connection failed: ".count))
        switch Self.errno(in: text) {
        case ECONNRESET, EPIPE, ECONNABORTED: return .reset
        case ETIMEDOUT: return .failed("the connection timed out")
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN: return .failed("the network is unreachable")
        case .some(let code): return .failed("the connection failed: \(String(cString: strerror(code)).lowercased())")
        case nil: break
        }
        // NIO's ChannelError cases, e.g. `ioOnClosedChannel`, `eof`, `inputClosed`.
        if text.localizedCaseInsensitiveContains("closed") || text == "eof" { return .closed }
        return .failed("the connection failed")
    }

    /// The number in an `IOError`'s `(errno: N)`, if `text` has one.
    private static func errno(in text: String) -> Int32? {
        guard let range = text.range(of: "(errno: ", options: .backwards) else { return nil }
        return Int32(text[range.upperBound...].prefix { $0.isNumber })
    }
}
