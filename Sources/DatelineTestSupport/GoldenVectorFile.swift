public import Foundation

/// `protocol/vectors/frames.json` as the tests read it: golden frames and malformed byte streams.
public struct GoldenVectorFile: Decodable, Sendable {
    /// A golden frame: a message, its payload and its whole frame.
    public struct Frame: Decodable, Sendable {
        public var name: String
        public var messageName: String
        public var messageType: UInt16
        public var correlationId: UInt32
        public var flags: UInt8
        public var compressed: Bool
        public var timeoutMilliseconds: UInt32?
        public var serverTimeMicroseconds: UInt32?
        public var payloadHex: String
        public var frameHex: String
    }

    /// A byte stream a decoder must reject, with the limits it runs under and the error it must give.
    public struct Malformed: Decodable, Sendable {
        public var name: String
        public var description: String
        public var streamHex: String
        public var maximumFrameSize: Int
        public var maximumDecompressedSize: Int
        public var error: String
        public var errorCode: UInt32
    }

    public var zlibVersion: String
    public var frames: [Frame]
    public var malformed: [Malformed]

    /// `protocol/` in the checkout.
    public static let protocolDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol")
    /// `protocol/vectors/frames.json`.
    public static let path = protocolDirectory.appendingPathComponent("vectors/frames.json")

    /// Reads the file.
    public static func load() throws -> GoldenVectorFile {
        try JSONDecoder().decode(GoldenVectorFile.self, from: Data(contentsOf: self.path))
    }
}
