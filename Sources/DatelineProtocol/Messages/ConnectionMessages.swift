#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a peer wants done to the payloads it receives.
public enum DatelineCompressionMode: UInt32, Codable, Sendable, Hashable, CaseIterable {
    /// Not stated; treated as `auto`.
    case unspecified = 0
    /// Send nothing compressed.
    case none = 1
    /// Compress payloads at or above the sender's threshold when that makes them smaller.
    case auto = 2
    /// Compress every non-empty payload.
    case always = 3

    /// What a sender configured with `sender` does for a receiver that asked for `receiver`.
    public static func effective(sender: Self, receiver: Self) -> Self {
        switch receiver {
        case .none: .none
        case .always: .always
        case .auto, .unspecified: sender == .unspecified ? .auto : sender
        }
    }
}

/// The first frame a client sends after its preface.
public struct Hello: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.hello

    /// The protocol version the client speaks (the same as in its preface).
    public var protocolVersion: UInt32
    /// The client's name and version, for the server's logs, e.g. `dateline-cli/0.1.0`.
    public var clientName: String
    /// The fingerprint of the message schema the client was built with (``DatelineSchema/fingerprint``).
    public var schemaFingerprint: String
    /// The largest frame payload the client accepts, in bytes.
    public var maximumFrameSize: UInt32
    /// What the client wants done to the payloads it receives.
    public var compression: DatelineCompressionMode
    /// How many requests the client would like to have in flight at once.
    public var maximumInFlight: UInt32
    /// The shared secret, when the service requires one.
    public var token: String?

    public init(
        protocolVersion: UInt32 = UInt32(DatelinePreface.currentVersion),
        clientName: String,
        schemaFingerprint: String = DatelineSchema.fingerprint,
        maximumFrameSize: UInt32 = 16 << 20,
        compression: DatelineCompressionMode = .auto,
        maximumInFlight: UInt32 = 1024,
        token: String? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.clientName = clientName
        self.schemaFingerprint = schemaFingerprint
        self.maximumFrameSize = maximumFrameSize
        self.compression = compression
        self.maximumInFlight = maximumInFlight
        self.token = token
    }

    enum CodingKeys: Int, CodingKey {
        case protocolVersion = 1, clientName, schemaFingerprint, maximumFrameSize, compression, maximumInFlight, token
    }
}

/// The server's answer to a valid Hello: the connection is ready.
public struct Welcome: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.welcome

    /// The protocol version both sides will speak.
    public var protocolVersion: UInt32
    /// The server's name and version, e.g. `dateline-ingest/0.1.0`.
    public var serverName: String
    /// The fingerprint of the server's message schema.
    public var schemaFingerprint: String
    /// The largest frame payload the server accepts, in bytes.
    public var maximumFrameSize: UInt32
    /// What the server wants done to the payloads it receives.
    public var compression: DatelineCompressionMode
    /// How many requests the client may have in flight at once (the smaller of the two sides' limits).
    public var maximumInFlight: UInt32

    public init(
        protocolVersion: UInt32 = UInt32(DatelinePreface.currentVersion),
        serverName: String,
        schemaFingerprint: String = DatelineSchema.fingerprint,
        maximumFrameSize: UInt32,
        compression: DatelineCompressionMode,
        maximumInFlight: UInt32
    ) {
        self.protocolVersion = protocolVersion
        self.serverName = serverName
        self.schemaFingerprint = schemaFingerprint
        self.maximumFrameSize = maximumFrameSize
        self.compression = compression
        self.maximumInFlight = maximumInFlight
    }

    enum CodingKeys: Int, CodingKey {
        case protocolVersion = 1, serverName, schemaFingerprint, maximumFrameSize, compression, maximumInFlight
    }
}

/// Asks the peer to echo `payload` in a ``Pong``, to measure round-trip time.
public struct Ping: DatelineRequest, Hashable {
    public typealias Response = Pong
    public static let messageType = DatelineMessageType.ping

    /// Echoed unchanged.
    public var payload: Data

    public init(payload: Data = Data()) { self.payload = payload }

    enum CodingKeys: Int, CodingKey { case payload = 1 }
}

/// The answer to a ``Ping``.
public struct Pong: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.pong

    /// The ping's payload.
    public var payload: Data

    public init(payload: Data = Data()) { self.payload = payload }

    enum CodingKeys: Int, CodingKey { case payload = 1 }
}

/// Stops the in-flight request whose correlation id the Cancel frame carries. Never answered.
public struct Cancel: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.cancel
    public init() {}
}

/// Sent by a server that is shutting down: it finishes the requests it has, accepts no new ones, then closes.
public struct GoAway: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.goAway

    /// The highest correlation id the server accepted on this connection.
    public var lastCorrelationID: UInt32
    /// Why, for humans.
    public var reason: String

    public init(lastCorrelationID: UInt32, reason: String) {
        self.lastCorrelationID = lastCorrelationID
        self.reason = reason
    }

    enum CodingKeys: Int, CodingKey { case lastCorrelationID = 1, reason }
}

/// The payload of every error frame (ERROR flag set, type `Error`).
public struct ErrorMessage: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.error

    /// The stable code (``DatelineError/Code``).
    public var code: UInt32
    /// For humans.
    public var message: String
    /// Whether the same request may succeed if sent again.
    public var retryable: Bool
    /// Machine-readable context, e.g. `position` for a query syntax error.
    public var details: [String: String]

    public init(code: UInt32, message: String, retryable: Bool, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details
    }

    /// The wire form of `error`.
    public init(_ error: DatelineError) {
        self.init(code: error.code.rawValue, message: error.message, retryable: error.isRetryable, details: error.details)
    }

    /// The error this message reports.
    public var error: DatelineError {
        DatelineError(code: .init(rawValue: self.code), message: self.message, isRetryable: self.retryable, details: self.details)
    }

    enum CodingKeys: Int, CodingKey { case code = 1, message, retryable, details }
}

/// Whether a service is answering requests.
public enum DatelineHealthStatus: UInt32, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    /// Ready and answering.
    case serving = 1
    /// Shutting down: finishing in-flight requests, accepting no new ones.
    case draining = 2
    /// Up but unable to answer (e.g. still recovering).
    case notServing = 3
    /// Answering, but something is wrong; `details["condition"]` says what (appends failing, log damaged,
    /// not following the log).
    case degraded = 4
    /// `dateline-query` is replaying the log after a start or a rebuild; look-ups of ids it has not reached yet
    /// answer `UNAVAILABLE`.
    case catchingUp = 5

    /// The status as people and scripts read it: `serving`, `draining`, `not-serving`, `degraded`, `catching-up`.
    public var description: String {
        switch self {
        case .unspecified: "unspecified"
        case .serving: "serving"
        case .draining: "draining"
        case .notServing: "not-serving"
        case .degraded: "degraded"
        case .catchingUp: "catching-up"
        }
    }
}

/// Asks a service for its health.
public struct HealthRequest: DatelineRequest, Hashable {
    public typealias Response = HealthResponse
    public static let messageType = DatelineMessageType.healthRequest
    public init() {}
}

/// A service's health.
public struct HealthResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.healthResponse

    public var status: DatelineHealthStatus
    /// The service's name, e.g. `dateline-ingest`.
    public var service: String
    /// The service's version.
    public var version: String
    /// Seconds since the service started.
    public var uptimeSeconds: Double
    /// Service-specific facts (offsets, counts), as text.
    public var details: [String: String]

    public init(
        status: DatelineHealthStatus,
        service: String,
        version: String,
        uptimeSeconds: Double,
        details: [String: String] = [:]
    ) {
        self.status = status
        self.service = service
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.details = details
    }

    enum CodingKeys: Int, CodingKey { case status = 1, service, version, uptimeSeconds, details }
}
