package import NIOCore

extension DatelineMessageType {
    /// The Swift type of every message in ``known``, by message type: what a frame's payload decodes to.
    ///
    /// Built from each type's own ``DatelineMessage/messageType``, so a number can never be paired with the
    /// wrong type.
    package static let messageTypes: [DatelineMessageType: any DatelineMessage.Type] = {
        let all: [any DatelineMessage.Type] = [
            Hello.self, Welcome.self, Ping.self, Pong.self, Cancel.self, GoAway.self, ErrorMessage.self,
            HealthRequest.self, HealthResponse.self,
            IngestRequest.self, IngestResponse.self, SubscribeRequest.self, LogBatch.self,
            IngestStatsRequest.self, IngestStatsResponse.self,
            SearchRequest.self, SearchResponse.self, GetArticleRequest.self, GetArticleResponse.self,
            QueryStatsRequest.self, QueryStatsResponse.self, EntitiesRequest.self, EntitiesResponse.self,
            TimelineRequest.self, TimelineResponse.self, IndexBackupRequest.self, IndexBackupChunk.self,
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.messageType, $0) })
    }()

    /// The Swift type this type's payloads encode; nil for a type this build does not know.
    package var messageSwiftType: (any DatelineMessage.Type)? { Self.messageTypes[self] }

    /// Decodes `payload` (uncompressed) as the message this type names.
    /// - Throws: ``DatelineError`` `unknownMessageType` when this build does not know the type, `decodeFailed`
    ///   when the payload is not a valid encoding of its message.
    package func decodeMessage(from payload: ByteBuffer) throws(DatelineError) -> any DatelineMessage {
        guard let type = self.messageSwiftType else {
            throw DatelineError(code: .unknownMessageType, message: "message type \(self) is not one this build knows")
        }
        return try Self.decode(type, from: payload)
    }

    private static func decode<Message: DatelineMessage>(_ type: Message.Type, from payload: ByteBuffer) throws(DatelineError) -> any DatelineMessage {
        try DatelineBinaryDecoder().decode(type, from: payload)
    }
}
