/// A message that travels as the payload of a frame.
///
/// Conforming types are `Codable` structs whose `CodingKeys` have `Int` raw values: the protobuf field
/// numbers, which must match `protocol/dateline.proto` and are never reused.
public protocol DatelineMessage: Codable, Sendable {
    /// The type carried in the frame header.
    static var messageType: DatelineMessageType { get }

    /// How the codec writes and reads the message without Codable's containers, when DatelineProtocol knows a
    /// direct path for it; `nil` (the default) otherwise. Not for conforming types to implement: it spares the
    /// codec a runtime conformance look-up on every message.
    static var _directCoding: DatelineDirectCoding? { get }
}

extension DatelineMessage {
    public static var _directCoding: DatelineDirectCoding? { nil }
}

/// The direct paths of a message the codec knows (see ``DatelineMessage/_directCoding``); made only inside
/// DatelineProtocol. (Two metatypes, immutable: sendable whatever the protocols they are typed by.)
public struct DatelineDirectCoding: @unchecked Sendable {
    let encodable: any ProtobufDirectEncodable.Type
    let decodable: any ProtobufDirectDecodable.Type

    init<Message: ProtobufDirectCodable>(_ type: Message.Type) {
        self.encodable = type
        self.decodable = type
    }
}

/// A request answered by exactly one response message.
public protocol DatelineRequest: DatelineMessage {
    associatedtype Response: DatelineMessage
}

/// A request answered by a stream of messages, ended by a frame with the END_STREAM flag.
public protocol DatelineStreamingRequest: DatelineMessage {
    associatedtype Element: DatelineMessage
}
