/// A message that travels as the payload of a frame.
///
/// Conforming types are `Codable` structs whose `CodingKeys` have `Int` raw values: the protobuf field
/// numbers, which must match `protocol/dateline.proto` and are never reused.
public protocol DatelineMessage: Codable, Sendable {
    /// The type carried in the frame header.
    static var messageType: DatelineMessageType { get }
}

/// A request answered by exactly one response message.
public protocol DatelineRequest: DatelineMessage {
    associatedtype Response: DatelineMessage
}

/// A request answered by a stream of messages, ended by a frame with the END_STREAM flag.
public protocol DatelineStreamingRequest: DatelineMessage {
    associatedtype Element: DatelineMessage
}
