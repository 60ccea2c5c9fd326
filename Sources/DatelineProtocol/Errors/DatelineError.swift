/// An error in the Dateline protocol, either raised locally or reported by a peer in an error frame.
///
/// Every error has a stable numeric ``Code`` (the registry in `protocol/SPEC.md`), a human-readable message,
/// a flag that says whether retrying the same request may succeed, and an optional underlying cause.
public struct DatelineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable error code. Codes are never reused; new codes may be added.
    public var code: Code
    /// A message for humans: what went wrong and, where it helps, what to do.
    public var message: String
    /// Whether sending the same request again (later, or elsewhere) may succeed.
    public var isRetryable: Bool
    /// Machine-readable context sent with the error, e.g. `position` for a query syntax error.
    public var details: [String: String]
    /// The underlying error, if this one wraps another. Not sent over the wire.
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The stable code.
    ///   - message: A human-readable message.
    ///   - isRetryable: Whether retrying may succeed. Default: the code's usual answer (``Code/isRetryableByDefault``).
    ///   - details: Machine-readable context, sent with the error.
    ///   - cause: The underlying error, if any.
    public init(
        code: Code,
        message: String,
        isRetryable: Bool? = nil,
        details: [String: String] = [:],
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.isRetryable = isRetryable ?? code.isRetryableByDefault
        self.details = details
        self.cause = cause
    }

    public var description: String {
        var text = "\(self.code): \(self.message)"
        if let cause = self.cause { text += " (cause: \(cause))" }
        return text
    }

    public static func == (lhs: DatelineError, rhs: DatelineError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.isRetryable == rhs.isRetryable && lhs.details == rhs.details
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
        hasher.combine(self.isRetryable)
        hasher.combine(self.details)
    }
}

extension DatelineError {
    /// A stable error code, as carried in the `code` field of an `Error` message on the wire.
    ///
    /// A struct wrapping a raw value rather than an enum, so that codes can be added without breaking
    /// anyone's exhaustive `switch`; an unknown code received from a newer peer is kept as it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The numeric value on the wire.
        public let rawValue: UInt32

        /// Wraps a numeric code (known or not).
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// A frame violates the framing rules (bad preface, reserved flag bits set, bad header field).
        public static let badFrame = Code(rawValue: 1)
        /// A frame's declared length, or declared decompressed length, is above the negotiated limit.
        public static let frameTooLarge = Code(rawValue: 2)
        /// A compressed payload is corrupt or does not inflate to exactly its declared length.
        public static let decompressionFailed = Code(rawValue: 3)
        /// The peer speaks a protocol version this side does not.
        public static let unsupportedVersion = Code(rawValue: 4)
        /// The message type is not one this service handles.
        public static let unknownMessageType = Code(rawValue: 5)
        /// The payload is not a valid encoding of the message its type names.
        public static let decodeFailed = Code(rawValue: 6)
        /// The connection has not authenticated (missing or wrong token) or has not said Hello.
        public static let unauthorized = Code(rawValue: 7)
        /// The request is well-formed but asks for something invalid.
        public static let invalidArgument = Code(rawValue: 8)
        /// The requested thing does not exist.
        public static let notFound = Code(rawValue: 9)
        /// The service cannot answer now (starting, draining, or a dependency is down). Retryable.
        public static let unavailable = Code(rawValue: 10)
        /// The request's deadline passed before it completed. Retryable.
        public static let deadlineExceeded = Code(rawValue: 11)
        /// Too many requests in flight, or a resource limit was hit. Retryable.
        public static let overloaded = Code(rawValue: 12)
        /// A bug or an unexpected failure inside the service.
        public static let `internal` = Code(rawValue: 13)
        /// The request was cancelled by the client.
        public static let cancelled = Code(rawValue: 14)
        /// The two sides were built from different message schemas (see `Hello.schemaFingerprint`).
        public static let schemaMismatch = Code(rawValue: 15)
        /// The request assumes a state the service no longer has, e.g. a follower's log epoch after the log
        /// lost records or was replaced; `details` say what changed. Retrying the same request will not help.
        public static let failedPrecondition = Code(rawValue: 16)
        /// Stored data is damaged and cannot be read; an operator must repair it (followers keep retrying,
        /// with backoff, and resume once it is).
        public static let dataLoss = Code(rawValue: 17)

        /// Every code this build knows, in numeric order.
        public static let allKnown: [Code] = [
            .badFrame, .frameTooLarge, .decompressionFailed, .unsupportedVersion, .unknownMessageType,
            .decodeFailed, .unauthorized, .invalidArgument, .notFound, .unavailable, .deadlineExceeded,
            .overloaded, .internal, .cancelled, .schemaMismatch, .failedPrecondition, .dataLoss,
        ]

        /// The code's name as written in the specification, e.g. `FRAME_TOO_LARGE`.
        public var name: String {
            switch self.rawValue {
            case 1: "BAD_FRAME"
            case 2: "FRAME_TOO_LARGE"
            case 3: "DECOMPRESSION_FAILED"
            case 4: "UNSUPPORTED_VERSION"
            case 5: "UNKNOWN_MESSAGE_TYPE"
            case 6: "DECODE_FAILED"
            case 7: "UNAUTHORIZED"
            case 8: "INVALID_ARGUMENT"
            case 9: "NOT_FOUND"
            case 10: "UNAVAILABLE"
            case 11: "DEADLINE_EXCEEDED"
            case 12: "OVERLOADED"
            case 13: "INTERNAL"
            case 14: "CANCELLED"
            case 15: "SCHEMA_MISMATCH"
            case 16: "FAILED_PRECONDITION"
            case 17: "DATA_LOSS"
            default: "CODE_\(self.rawValue)"
            }
        }

        /// Whether an error with this code is worth retrying unless the sender says otherwise.
        public var isRetryableByDefault: Bool {
            self == .unavailable || self == .deadlineExceeded || self == .overloaded
        }

        /// Whether this error ends the connection (framing and handshake errors) rather than one request.
        public var closesConnection: Bool {
            self == .badFrame || self == .frameTooLarge || self == .decompressionFailed
                || self == .unsupportedVersion || self == .schemaMismatch
        }

        public var description: String { self.name }
    }
}

extension DatelineError {
    static func badFrame(_ message: String) -> DatelineError { .init(code: .badFrame, message: message) }
    static func decodeFailed(_ message: String, cause: (any Error & Sendable)? = nil) -> DatelineError {
        .init(code: .decodeFailed, message: message, cause: cause)
    }
    static func `internal`(_ message: String, cause: (any Error & Sendable)? = nil) -> DatelineError {
        .init(code: .internal, message: message, cause: cause)
    }
}
