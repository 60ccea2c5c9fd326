import DatelineTestSupport
import Foundation
import Testing

@testable import DatelineWire

/// `dateline decode`, run as the built binary.
@Suite("dateline decode")
struct DecodeCommandTests {
    @Test func everyGoldenFrameDecodesFromHexOnStandardInput() throws {
        for vector in Vectors.file.frames {
            let hex = "# \(vector.name)\n" + stride(from: 0, to: vector.frameHex.count, by: 64).map {
                let start = vector.frameHex.index(vector.frameHex.startIndex, offsetBy: $0)
                return String(vector.frameHex[start..<(vector.frameHex.index(start, offsetBy: 64, limitedBy: vector.frameHex.endIndex) ?? vector.frameHex.endIndex)])
            }.joined(separator: "\n")
            let text = try DatelineCommand.run(["decode", "-"], input: Array(hex.utf8))
            #expect(text.status == 0, "\(vector.name): \(text.errors)")
            let type = "\(vector.messageName) (\(String(format: "0x%04x", vector.messageType)))  correlation id \(vector.correlationId)"
            #expect(text.output.hasPrefix("offset 0  \(type)"), "\(vector.name): \(text.output.prefix(200))")

            let json = try DatelineCommand.run(["decode", "-", "-o", "json"], input: Array(hex.utf8))
            #expect(json.status == 0, "\(vector.name): \(json.errors)")
            let lines = json.jsonLines
            #expect(lines.count == 1, "\(vector.name): \(json.output)")
            try Self.expect(lines.first ?? [:], matches: vector)
        }
    }

    /// A `-o json` frame line against its vector: header fields, and the message's fields as the vector has them.
    static func expect(_ line: [String: Any], matches vector: Vectors.Frame) throws {
        #expect(line["kind"] as? String == "frame", "\(vector.name)")
        #expect(line["messageName"] as? String == vector.messageName, "\(vector.name)")
        #expect(line["messageType"] as? Int == Int(vector.messageType), "\(vector.name)")
        #expect(line["correlationId"] as? Int == Int(vector.correlationId), "\(vector.name)")
        #expect(line["flags"] as? Int == Int(vector.flags), "\(vector.name)")
        #expect(line["compressed"] as? Bool == vector.compressed, "\(vector.name)")
        #expect(line["timeoutMilliseconds"] as? Int == vector.timeoutMilliseconds.map(Int.init), "\(vector.name)")
        #expect(line["serverTimeMicroseconds"] as? Int == vector.serverTimeMicroseconds.map(Int.init), "\(vector.name)")
        #expect(line["payloadLength"] as? Int == vector.payloadHex.count / 2, "\(vector.name)")
        #expect(line["error"] == nil, "\(vector.name): \(line["error"] ?? "")")
        let message = try #require(line["message"] as? [String: Any], "\(vector.name) has no message")
        let expected = try Vectors.message(vector.name)
        #expect(Set(message.keys) == Set(expected.keys), "\(vector.name)")
        // Strings, booleans and numbers as the vector has them (dates are ISO 8601 here, milliseconds there).
        for (key, value) in expected {
            switch value {
            case let text as String: #expect(message[key] as? String == text, "\(vector.name).\(key)")
            case let number as NSNumber where !(message[key] is String): #expect(message[key] as? NSNumber == number, "\(vector.name).\(key)")
            default: break
            }
        }
    }

    @Test func theVectorsFileDecodesVectorByVectorAndEveryMalformedOneFailsWithItsCode() throws {
        let result = try DatelineCommand.run(["decode", Repository.vectorsFile.path, "-o", "json"])
        #expect(result.status == 65)
        #expect(result.errors.contains("\(Vectors.file.malformed.count) problems, the first at tls-client-hello, offset 0: BAD_FRAME"), "\(result.errors)")
        let lines = result.jsonLines
        for vector in Vectors.file.frames {
            let frames = lines.filter { $0["stream"] as? String == vector.name }
            #expect(frames.count == 1, "\(vector.name)")
            try Self.expect(frames.first ?? [:], matches: vector)
        }
        for vector in Vectors.file.malformed {
            let errors = lines.filter { $0["stream"] as? String == vector.name }.compactMap { $0["error"] as? [String: Any] }
            #expect(errors.count == 1, "\(vector.name)")
            #expect(errors.first?["code"] as? String == vector.error, "\(vector.name): \(errors)")
            #expect(errors.first?["offset"] is Int, "\(vector.name)")
        }
    }

    @Test func everyMalformedVectorIsAnErrorNamingItsOffset() throws {
        for vector in Vectors.file.malformed {
            let offset = vector.streamHex.hasPrefix("8944544c0d0a0001") ? 8 : 0
            // Without the vector's own limits, and not knowing it is a connection's start, one vector reads
            // otherwise: a 2 KiB frame is within the default limit (and cut short). A TLS start is no preface
            // but a frame header, whose length is far above the limit; an HTTP one sets reserved flags.
            let code = switch vector.name {
            case "frame-too-large-custom-limit": "BAD_FRAME"
            case "tls-client-hello": "FRAME_TOO_LARGE"
            default: vector.error
            }
            for output in ["table", "json"] {
                let result = try DatelineCommand.run(["decode", "-", "-o", output], input: Array(vector.streamHex.utf8))
                #expect(result.status == 65, "\(vector.name): \(result.errors)")
                #expect(result.errors.hasPrefix("dateline: the input is not all valid Dateline traffic: 1 problem, the first at offset \(offset): \(code): "), "\(vector.name): \(result.errors)")
            }
        }
    }

    @Test func anUnknownMessageTypeShowsItsPayloadAndDecodingGoesOn() throws {
        let unknown: [UInt8] = [0, 0, 0, 3, 0x02, 0x03, 0x00, 0, 0, 0, 9, 0xAA, 0xBB, 0xCC]
        let input = Scenario.preface + unknown + Vectors.frame("ping").bytes
        let text = try DatelineCommand.run(["decode", "-"], input: input)
        #expect(text.status == 65)
        #expect(text.output.contains("offset 8  unknown type 0x0300  correlation id 9"), "\(text.output)")
        #expect(text.output.contains("payload: aabbcc"), "\(text.output)")
        #expect(text.output.contains("offset 22  Ping (0x0003)  correlation id 1  flags 0x0a END_STREAM DEADLINE  timeout 1000 ms  payload 6 bytes"), "\(text.output)")
        #expect(text.errors.contains("offset 8: UNKNOWN_MESSAGE_TYPE"), "\(text.errors)")

        let json = try DatelineCommand.run(["decode", "-", "--format", "raw", "-o", "json"], input: input).jsonLines
        #expect(json.map { $0["kind"] as? String } == ["preface", "frame", "frame"])
        #expect(json[1]["payloadHex"] as? String == "aabbcc")
        #expect((json[1]["error"] as? [String: Any])?["code"] as? String == "UNKNOWN_MESSAGE_TYPE")
        #expect((json[2]["message"] as? [String: Any])?["payload"] as? String == "AQIDBA==")
    }

    @Test func corruptZlibIsReportedAndTheNextFrameStillDecodes() throws {
        let corrupt = Vectors.file.malformed.first { $0.name == "corrupt-zlib" }!
        let input = corrupt.streamHex + "\n# and then a good frame\n" + Vectors.frame("pong-compressed").frameHex
        let result = try DatelineCommand.run(["decode", "-", "-o", "json"], input: Array(input.utf8))
        #expect(result.status == 65)
        let lines = result.jsonLines
        #expect(lines.count == 3)
        #expect((lines[1]["error"] as? [String: Any])?["code"] as? String == "DECOMPRESSION_FAILED")
        #expect(lines[1]["correlationId"] as? Int == 1)
        #expect(lines[2]["messageName"] as? String == "Pong")
        #expect(lines[2]["compressed"] as? Bool == true)
    }

    @Test func aCaptureFileDecodesBothDirectionsInCaptureOrder() throws {
        for (file, suffix) in [(Scenario.capture().pcap(), "pcap"), (Scenario.capture(link: .sll, ipv6: true).pcapng(), "pcapng")] {
            try DatelineCommand.withFile(file, suffix: suffix) { path in
                let json = try DatelineCommand.run(["decode", path, "-o", "json"])
                #expect(json.status == 0, "\(json.errors)")
                let lines = json.jsonLines
                #expect(lines.first?["kind"] as? String == "connection")
                let frames = lines.filter { $0["kind"] as? String == "frame" }
                #expect(frames.map { $0["messageName"] as? String } == Scenario.expectedFrames.map(\.name))
                #expect(frames.map { $0["direction"] as? String } == Scenario.expectedFrames.map { $0.fromClient ? "client-to-server" : "server-to-client" })
                #expect(frames.map { $0["offset"] as? Int } == Scenario.expectedFrames.map(\.offset))
                #expect(frames.map { $0["packet"] as? Int } == [5, 6, 8, 10, 12])
                #expect(frames.first?["time"] as? String == "2025-08-04T09:33:20.004000000Z")

                let text = try DatelineCommand.run(["decode", path, "--format", "pcap"])
                #expect(text.status == 0)
                #expect(text.output.contains("#1 client→server  packet 8 +0.007000 s  offset "), "\(text.output)")
                #expect(text.output.contains("\"clientName\" : \"dateline-cli/0.1.0\""), "\(text.output)")
            }
        }
    }

    @Test func unreadableInputsAreClearErrors() throws {
        let notHex = try DatelineCommand.run(["decode", "-", "--format", "hex"], input: Array("89 44 5g".utf8))
        #expect(notHex.status == 65)
        #expect(notHex.errors.contains("hex input line 1, column 8: 'g' is not a hex digit"), "\(notHex.errors)")
        let notPcap = try DatelineCommand.run(["decode", "-", "--format", "pcap"], input: [1, 2, 3, 4, 5])
        #expect(notPcap.status == 65)
        #expect(notPcap.errors.contains("not a pcap or pcapng file"), "\(notPcap.errors)")
        let missing = try DatelineCommand.run(["decode", "/nonexistent/capture.pcap"])
        #expect(missing.status == 64)
        let http = try DatelineCommand.run(["decode", "-"], input: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(http.status == 65)
        #expect(http.errors.contains("offset 0: BAD_FRAME: frame sets reserved flag bits"), "\(http.errors)")
        #expect(http.errors.contains("look like HTTP"), "\(http.errors)")
    }
}
