import DatelineTestSupport
import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

/// One golden frame: a message, how it is framed, and the bytes that must result.
struct GoldenFrame: Sendable {
    var name: String
    var messageName: String
    var type: DatelineMessageType
    var correlationID: UInt32
    var flags: DatelineFrame.Flags
    var compressed: Bool
    var timeoutMilliseconds: UInt32?
    var serverTimeMicroseconds: UInt32?
    /// Encodes the message's payload.
    var encode: @Sendable () throws -> ByteBuffer
    /// Whether a decoded payload is the message.
    var matches: @Sendable (ByteBuffer) throws -> Bool
    /// The message as JSON (field names as in Swift, dates in ms since 1970, bytes in base64).
    var json: @Sendable () throws -> Any

    init<M: DatelineMessage & Equatable>(
        _ name: String,
        _ message: M,
        correlationID: UInt32 = 1,
        flags: DatelineFrame.Flags = [.endStream],
        compressed: Bool = false,
        timeoutMilliseconds: UInt32? = nil,
        serverTimeMicroseconds: UInt32? = nil
    ) {
        self.name = name
        self.messageName = M.messageType.name
        self.type = M.messageType
        self.correlationID = correlationID
        self.flags = flags
        self.compressed = compressed
        self.timeoutMilliseconds = timeoutMilliseconds
        self.serverTimeMicroseconds = serverTimeMicroseconds
        self.encode = { try DatelinePayload.encode(message) }
        self.matches = { try DatelineBinaryDecoder().decode(M.self, from: $0) == message }
        self.json = {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .millisecondsSince1970
            encoder.outputFormatting = [.sortedKeys]
            return try JSONSerialization.jsonObject(with: try encoder.encode(message))
        }
    }

    func frame() throws -> ByteBuffer {
        let writer = DatelineFrameWriter(configuration: self.compressed ? .init(mode: .always, level: 1) : .disabled)
        return try writer.frame(
            payload: try self.encode(),
            type: self.type,
            flags: self.flags,
            correlationID: self.correlationID,
            timeoutMilliseconds: self.timeoutMilliseconds,
            serverTimeMicroseconds: self.serverTimeMicroseconds
        )
    }

    static let all: [GoldenFrame] = {
        var frames: [GoldenFrame] = [
            .init("hello", Fixtures.hello, correlationID: 0),
            .init("welcome", Fixtures.welcome, correlationID: 0, serverTimeMicroseconds: 35),
            .init("ping", Fixtures.ping, correlationID: 1, timeoutMilliseconds: 1000),
            .init("pong", Fixtures.pong, correlationID: 1, serverTimeMicroseconds: 12),
            .init("cancel", Cancel(), correlationID: 5),
            .init("go-away", Fixtures.goAway, correlationID: 0),
            .init("error", Fixtures.error, correlationID: 3, flags: [.error, .endStream], serverTimeMicroseconds: 80),
            .init("health-request", Fixtures.healthRequest, correlationID: 2),
            .init("health-response", Fixtures.healthResponse, correlationID: 2, serverTimeMicroseconds: 9),
            .init("ingest-request", Fixtures.ingestRequest, correlationID: 10, timeoutMilliseconds: 30_000),
            .init("ingest-response", Fixtures.ingestResponse, correlationID: 10, serverTimeMicroseconds: 1_250),
            .init("subscribe-request", Fixtures.subscribeRequest, correlationID: 12),
            .init("log-batch", Fixtures.logBatch, correlationID: 12, flags: [], serverTimeMicroseconds: nil),
            .init("ingest-stats-request", Fixtures.ingestStatsRequest, correlationID: 13),
            .init("ingest-stats-response", Fixtures.ingestStatsResponse, correlationID: 13, serverTimeMicroseconds: 40),
            .init("search-request", Fixtures.searchRequest, correlationID: 11, timeoutMilliseconds: 2_000),
            .init("search-response", Fixtures.searchResponse, correlationID: 11, serverTimeMicroseconds: 310),
            .init("get-article-request", Fixtures.getArticleRequest, correlationID: 14, timeoutMilliseconds: 2_000),
            .init("get-article-response", Fixtures.getArticleResponse, correlationID: 14, serverTimeMicroseconds: 25),
            .init("query-stats-request", Fixtures.queryStatsRequest, correlationID: 15),
            .init("query-stats-response", Fixtures.queryStatsResponse, correlationID: 15, serverTimeMicroseconds: 18),
            .init("entities-request", Fixtures.entitiesRequest, correlationID: 16),
            .init("entities-response", Fixtures.entitiesResponse, correlationID: 16, serverTimeMicroseconds: 30),
            .init("timeline-request", Fixtures.timelineRequest, correlationID: 17, timeoutMilliseconds: 2_000),
            .init("timeline-response", Fixtures.timelineResponse, correlationID: 17, serverTimeMicroseconds: 95),
            .init("index-backup-request", Fixtures.indexBackupRequest, correlationID: 18),
            .init("index-backup-chunk", Fixtures.indexBackupChunk, correlationID: 18, flags: [], serverTimeMicroseconds: nil),
        ]
        // Compressed variants of every message with a non-empty payload.
        frames += frames.filter { (try? $0.encode().readableBytes) ?? 0 > 0 }.map {
            var compressed = $0
            compressed.name += "-compressed"
            compressed.compressed = true
            return compressed
        }
        return frames
    }()
}

@Suite("Golden vectors in protocol/vectors")
struct GoldenVectorTests {
    static let regenerate = ProcessInfo.processInfo.environment["DATELINE_WRITE_VECTORS"] == "1"

    /// Writes `protocol/vectors/frames.json` from the fixtures; run with DATELINE_WRITE_VECTORS=1.
    @Test(.enabled(if: regenerate)) func writeVectors() throws {
        var frames: [[String: Any]] = []
        for golden in GoldenFrame.all {
            var entry: [String: Any] = [
                "name": golden.name,
                "messageName": golden.messageName,
                "messageType": Int(golden.type.rawValue),
                "correlationId": Int(golden.correlationID),
                "compressed": golden.compressed,
                "payloadHex": try golden.encode().hex,
                "frameHex": try golden.frame().hex,
                "message": try golden.json(),
            ]
            entry["flags"] = Int(try golden.frame().flagsByte)
            if let timeout = golden.timeoutMilliseconds { entry["timeoutMilliseconds"] = Int(timeout) }
            if let time = golden.serverTimeMicroseconds { entry["serverTimeMicroseconds"] = Int(time) }
            frames.append(entry)
        }
        let malformed: [[String: Any]] = MalformedFrame.all.map { frame in
            [
                "name": frame.name,
                "description": frame.description,
                "streamHex": frame.streamHex,
                "maximumFrameSize": frame.limits.maximumFrameSize,
                "maximumDecompressedSize": frame.limits.maximumDecompressedSize,
                "error": frame.expected.name,
                "errorCode": Int(frame.expected.rawValue),
            ]
        }
        let document: [String: Any] = [
            "about": "Golden frames of the Dateline protocol v1 (see ../SPEC.md). frames: payloadHex is the uncompressed protobuf payload; frameHex is the complete frame (header + payload as sent); compressed frames use zlib level 1, reproducible byte for byte only with the same zlib version. malformed: streamHex is a whole inbound byte stream from the connection's first byte (preface included) and error is what a receiver with the given limits must report.",
            "zlibVersion": Zlib.libraryVersion,
            "frames": frames,
            "malformed": malformed,
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: Repository.vectorsFile)
    }

    static func load() throws -> GoldenVectorFile {
        try GoldenVectorFile.load()
    }

    @Test(.disabled(if: regenerate)) func everyFrameVectorDecodesToItsMessageAndEncodesToItsBytes() throws {
        let file = try Self.load()
        #expect(file.frames.count == GoldenFrame.all.count, "regenerate the vectors: DATELINE_WRITE_VECTORS=1 swift test --filter GoldenVector")
        let sameZlib = file.zlibVersion == Zlib.libraryVersion
        for golden in GoldenFrame.all {
            let vector = try #require(file.frames.first { $0.name == golden.name }, "no vector named \(golden.name)")
            // Bytes → message.
            var decoder = DatelineFrameDecoder(expectsPreface: false)
            var bytes = ByteBuffer(hex: vector.frameHex)
            guard case .frame(let frame) = try #require(try decoder.decode(buffer: &bytes)) else {
                Issue.record("\(vector.name) did not decode to a frame")
                continue
            }
            #expect(bytes.readableBytes == 0, "\(vector.name) has trailing bytes")
            #expect(frame.messageType.rawValue == vector.messageType)
            #expect(frame.correlationID == vector.correlationId)
            #expect(frame.wasCompressed == vector.compressed)
            #expect(frame.timeoutMilliseconds == vector.timeoutMilliseconds)
            #expect(frame.serverTimeMicroseconds == vector.serverTimeMicroseconds)
            #expect(frame.payload.hex == vector.payloadHex, "\(vector.name)")
            #expect(try golden.matches(frame.payload), "\(vector.name) decodes to a different message")
            // Message → bytes.
            #expect(try golden.encode().hex == vector.payloadHex, "\(vector.name) payload encoding changed")
            if !vector.compressed || sameZlib {
                #expect(try golden.frame().hex == vector.frameHex, "\(vector.name) frame encoding changed")
            }
        }
    }

    @Test(.disabled(if: regenerate)) func everyMalformedVectorFailsWithItsError() throws {
        let file = try Self.load()
        #expect(file.malformed.count == MalformedFrame.all.count)
        for vector in file.malformed {
            let limits = DatelineFrameDecoder.Limits(maximumFrameSize: vector.maximumFrameSize, maximumDecompressedSize: vector.maximumDecompressedSize)
            let (_, error) = decodeStream(ByteBuffer(hex: vector.streamHex), limits: limits)
            let datelineError = try #require(error as? DatelineError, "\(vector.name) was accepted")
            #expect(datelineError.code.rawValue == vector.errorCode, "\(vector.name): \(datelineError)")
            #expect(datelineError.code.name == vector.error)
        }
    }

    @Test func theSchemaFingerprintMatchesDatelineProto() throws {
        let source = try String(contentsOf: Repository.protoFile, encoding: .utf8)
        #expect(
            DatelineSchema.fingerprint == DatelineSchema.fingerprint(ofProtoSource: source),
            "protocol/dateline.proto changed: set DatelineSchema.fingerprint to the computed value"
        )
        // Comments and spacing do not count; tokens do.
        #expect(DatelineSchema.fingerprint(ofProtoSource: "message A {\n  uint32 x = 1; // note\n}") == DatelineSchema.fingerprint(ofProtoSource: "message   A {  uint32 x = 1;\n}"))
        #expect(DatelineSchema.fingerprint(ofProtoSource: "message A { uint32 x = 1; }") != DatelineSchema.fingerprint(ofProtoSource: "message A { uint32 x = 2; }"))
    }

    @Test func everyRegisteredMessageTypeHasAVectorAndAProtoMessage() throws {
        let source = try String(contentsOf: Repository.protoFile, encoding: .utf8)
        for (type, name) in DatelineMessageType.known {
            #expect(source.contains("message \(name) {"), "dateline.proto lacks message \(name)")
            #expect(source.contains(String(format: "// 0x%04X", type.rawValue)), "dateline.proto does not name type 0x\(String(type.rawValue, radix: 16)) for \(name)")
            #expect(GoldenFrame.all.contains { $0.type == type }, "no golden frame for \(name)")
        }
    }

    /// `protoc --decode` must read every vector's payload with dateline.proto (runs where protoc is installed).
    @Test(.enabled(if: Self.protoc != nil), .disabled(if: regenerate))
    func protocDecodesEveryPayload() throws {
        let file = try Self.load()
        for vector in file.frames {
            let output = try Self.runProtoc(["--decode=dateline.v1.\(vector.messageName)"], input: Data(ByteBuffer(hex: vector.payloadHex).readableBytesView))
            let text = String(decoding: output, as: UTF8.self)
            // Unknown fields print as bare numbers ("12: ..."): there must be none.
            #expect(!text.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).first?.isNumber == true }, "\(vector.name) has fields dateline.proto does not declare:\n\(text)")
        }
    }

    /// A standard protobuf implementation (protoc's) must re-encode every payload it decoded to the same bytes
    /// (packed repeated numbers and enums, defaults omitted), and to the same message where field order in maps
    /// is its own choice.
    @Test(.enabled(if: Self.protoc != nil), .disabled(if: regenerate))
    func protocReEncodesEveryPayloadToTheSameBytes() throws {
        let file = try Self.load()
        for golden in GoldenFrame.all {
            let vector = try #require(file.frames.first { $0.name == golden.name })
            let text = try Self.runProtoc(["--decode=dateline.v1.\(vector.messageName)"], input: Data(ByteBuffer(hex: vector.payloadHex).readableBytesView))
            let encoded = try Self.runProtoc(["--encode=dateline.v1.\(vector.messageName)"], input: text)
            let bytes = ByteBuffer(bytes: encoded)
            #expect(try golden.matches(bytes), "\(vector.name): protoc's encoding decodes to another message")
            let hasMap = String(decoding: text, as: UTF8.self).split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("key:") }
            if !hasMap {
                #expect(bytes.hex == vector.payloadHex, "\(vector.name): protoc encodes \(bytes.hex), we encode \(vector.payloadHex)")
            }
        }
    }

    static func runProtoc(_ arguments: [String], input: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.protoc!)
        process.arguments = ["--proto_path=\(Repository.protocolDirectory.path)"] + arguments + ["dateline.proto"]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "protoc \(arguments): \(problems)")
        return output
    }

    static let protoc: String? = ["/usr/bin/protoc", "/usr/local/bin/protoc"].first { FileManager.default.isExecutableFile(atPath: $0) }
}
