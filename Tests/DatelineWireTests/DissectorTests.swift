import DatelineTestSupport
import Foundation
import Testing

@testable import DatelineWire

/// `protocol/dateline.lua` run by tshark over captures of the golden frames.
@Suite("The Wireshark dissector protocol/dateline.lua")
struct DissectorTests {
    /// tshark on the PATH, if installed.
    static let tshark: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { "\($0)/tshark" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Every golden frame in one connection on `port`: prefaces first, requests from the client and the rest from
    /// the server, each frame in a segment of its own except the largest, split across two.
    static func goldenCapture(port: UInt16) -> (capture: CaptureBuilder, frames: [Vectors.Frame]) {
        var conversation = TCPConversation(server: .init(address: [10, 0, 0, 2], port: port))
        var capture = CaptureBuilder()
        for segment in conversation.handshake() { capture.append(segment) }
        capture.append(conversation.send(Scenario.preface, fromClient: true))
        capture.append(conversation.send(Scenario.preface, fromClient: false))
        let largest = Vectors.file.frames.max { $0.bytes.count < $1.bytes.count }!.name
        for vector in Vectors.file.frames {
            let fromClient = ["Hello", "Ping", "Cancel"].contains(vector.messageName) || vector.messageName.hasSuffix("Request")
            let bytes = vector.bytes
            if vector.name == largest {
                capture.append(conversation.send(Array(bytes[..<(bytes.count / 2)]), fromClient: fromClient))
                capture.append(conversation.send(Array(bytes[(bytes.count / 2)...]), fromClient: fromClient))
            } else {
                capture.append(conversation.send(bytes, fromClient: fromClient))
            }
        }
        return (capture, Vectors.file.frames)
    }

    /// Runs tshark with the dissector and dateline.proto on `capture`, printing every packet's details.
    static func dissect(_ capture: CaptureBuilder) throws -> String {
        try DatelineCommand.withFile(capture.pcap(), suffix: "pcap") { path in
            let result = try DatelineCommand.runProgram(self.tshark!, [
                "-X", "lua_script:\(Repository.dissector.path)",
                "-o", "uat:protobuf_search_paths:\"\(Repository.protocolDirectory.path)\",\"TRUE\"",
                "-r", path, "-V",
            ])
            #expect(result.status == 0, "tshark: \(result.errors)")
            #expect(!result.output.contains("Lua Error"), "\(result.output)")
            return result.output
        }
    }

    @Test(.enabled(if: tshark != nil, "tshark is not installed (apt-get install tshark): the dissector is not tested"))
    func everyGoldenFrameIsNamedWithItsHeaderAndProtobufFields() throws {
        let (capture, frames) = Self.goldenCapture(port: 7401)
        let output = try Self.dissect(capture)
        // Every frame, in order, by type name and correlation id.
        let named = output.split(separator: "\n").filter { $0.hasPrefix("Dateline ") && $0.contains(", correlation id ") }
        #expect(named.map(String.init) == frames.map { "Dateline \($0.messageName), correlation id \($0.correlationId)" })
        #expect(output.components(separatedBy: "Dateline connection preface").count - 1 == 2)
        #expect(output.contains("Protocol version: 1"))
        // Each non-empty payload handed to the protobuf dissector as its message (compressed ones inflated).
        for vector in frames where !vector.payloadHex.isEmpty {
            #expect(output.contains("Protocol Buffers: dateline.v1.\(vector.messageName)\n"), "\(vector.name)")
        }
        let payloads = output.components(separatedBy: "Protocol Buffers: dateline.v1.").count - 1
        #expect(payloads == frames.filter { !$0.payloadHex.isEmpty }.count)
        #expect(output.contains("bytes inflated"))
        // Header fields and flags by name; message fields by their dateline.proto names.
        for expected in [
            "Flags: 0x0a (END_STREAM, DEADLINE)", "Flags: 0x0b (COMPRESSED, END_STREAM, DEADLINE)",
            "Flags: 0x16 (END_STREAM, ERROR, SERVER_TIME)", ".... ..1. = END_STREAM: True", "Message type: SearchRequest (0x0200)",
            "Timeout (ms): 1000", "Server time (µs): 12", "Uncompressed length: ", "Length (payload bytes on the wire): 57",
            "Field(2): client_name = dateline-cli/0.1.0 (string)", "message = unbalanced quote at position 7", #"query = "rare earth" Rubio -telephone"#,
            "title = Rubio, Ishaq Dar Hold Talks in Washington",
        ] {
            #expect(output.contains(expected), "tshark's output lacks \(expected)")
        }
    }

    @Test(.enabled(if: tshark != nil, "tshark is not installed (apt-get install tshark): the dissector is not tested"))
    func onAnyOtherPortTheConnectionIsRecognisedByItsPreface() throws {
        let output = try Self.dissect(Self.goldenCapture(port: 9_999).capture)
        #expect(output.contains("Dateline Hello, correlation id 0"))
        #expect(output.contains("Dateline TimelineResponse, correlation id 17"))
        #expect(output.contains("client_name = dateline-cli/0.1.0"))
    }
}
