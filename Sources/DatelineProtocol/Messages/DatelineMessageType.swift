/// The 16-bit message type carried in every frame header.
///
/// The registry lives in `protocol/SPEC.md` § "Message types"; numbers are never reused.
public struct DatelineMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Connection-level messages: 0x0001-0x00FF.
    public static let hello = Self(rawValue: 0x0001)
    public static let welcome = Self(rawValue: 0x0002)
    public static let ping = Self(rawValue: 0x0003)
    public static let pong = Self(rawValue: 0x0004)
    public static let cancel = Self(rawValue: 0x0005)
    public static let goAway = Self(rawValue: 0x0006)
    public static let error = Self(rawValue: 0x0007)
    public static let healthRequest = Self(rawValue: 0x0008)
    public static let healthResponse = Self(rawValue: 0x0009)

    // dateline-ingest: 0x0100-0x01FF.
    public static let ingestRequest = Self(rawValue: 0x0100)
    public static let ingestResponse = Self(rawValue: 0x0101)
    public static let subscribeRequest = Self(rawValue: 0x0102)
    public static let logBatch = Self(rawValue: 0x0103)
    public static let ingestStatsRequest = Self(rawValue: 0x0104)
    public static let ingestStatsResponse = Self(rawValue: 0x0105)

    // dateline-query: 0x0200-0x02FF.
    public static let searchRequest = Self(rawValue: 0x0200)
    public static let searchResponse = Self(rawValue: 0x0201)
    public static let getArticleRequest = Self(rawValue: 0x0202)
    public static let getArticleResponse = Self(rawValue: 0x0203)
    public static let queryStatsRequest = Self(rawValue: 0x0204)
    public static let queryStatsResponse = Self(rawValue: 0x0205)
    public static let entitiesRequest = Self(rawValue: 0x0206)
    public static let entitiesResponse = Self(rawValue: 0x0207)
    public static let timelineRequest = Self(rawValue: 0x0208)
    public static let timelineResponse = Self(rawValue: 0x0209)
    public static let indexBackupRequest = Self(rawValue: 0x020A)
    public static let indexBackupChunk = Self(rawValue: 0x020B)

    /// Every type this build knows, with its name in `dateline.proto`.
    public static let known: [(type: DatelineMessageType, name: String)] = [
        (.hello, "Hello"), (.welcome, "Welcome"), (.ping, "Ping"), (.pong, "Pong"), (.cancel, "Cancel"),
        (.goAway, "GoAway"), (.error, "Error"), (.healthRequest, "HealthRequest"),
        (.healthResponse, "HealthResponse"), (.ingestRequest, "IngestRequest"),
        (.ingestResponse, "IngestResponse"), (.subscribeRequest, "SubscribeRequest"), (.logBatch, "LogBatch"),
        (.ingestStatsRequest, "IngestStatsRequest"), (.ingestStatsResponse, "IngestStatsResponse"), (.searchRequest, "SearchRequest"),
        (.searchResponse, "SearchResponse"), (.getArticleRequest, "GetArticleRequest"), (.getArticleResponse, "GetArticleResponse"),
        (.queryStatsRequest, "QueryStatsRequest"), (.queryStatsResponse, "QueryStatsResponse"),
        (.entitiesRequest, "EntitiesRequest"), (.entitiesResponse, "EntitiesResponse"),
        (.timelineRequest, "TimelineRequest"), (.timelineResponse, "TimelineResponse"),
        (.indexBackupRequest, "IndexBackupRequest"), (.indexBackupChunk, "IndexBackupChunk"),
    ]

    /// The message's name in `dateline.proto`, or its number in hex when unknown.
    public var name: String {
        Self.known.first { $0.type == self }?.name ?? Self.hex(self.rawValue)
    }

    public var description: String { self.name }

    private static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
