import DatelineProtocol
import Foundation
import NIOCore
import Testing

/// The connection rules SPEC section 7–8 states, each driven through a real server with raw bytes.
@Suite("Connection rules a peer cannot bend")
struct ConnectionRulesTests {
    static func handshake() throws -> [UInt8] {
        DatelinePreface.bytes() + (try rawFrame(Hello(clientName: "raw"), type: .hello, correlationID: 0))
    }

    /// What the server sent after its preface and Welcome: the frames, and whether it closed.
    static func afterHandshake(port: Int, _ bytes: [UInt8]) async throws -> (frames: [DatelineFrame], errors: [DatelineError], closed: Bool) {
        let (reply, closed) = try await RawConnection.exchange(port: port, bytes: try Self.handshake() + bytes, timeout: .seconds(20))
        let events = RawConnection.events(reply)
        let frames = events.compactMap { if case .frame(let frame) = $0, frame.messageType != .welcome { frame } else { nil } }
        return (frames, RawConnection.errors(events), closed)
    }

    @Test func framesOnIdZeroASecondHelloAndServerMessagesFromAClientAreFatal() async throws {
        try await withTestServer { port, _ in
            let cases: [(String, [UInt8])] = [
                ("a ping on id 0", try rawFrame(Ping(), type: .ping, correlationID: 0)),
                ("a request on id 0", try rawFrame(HealthRequest(), type: .healthRequest, correlationID: 0)),
                ("a second Hello", try rawFrame(Hello(clientName: "again"), type: .hello, correlationID: 0)),
                ("a Hello on another id", try rawFrame(Hello(clientName: "again"), type: .hello, correlationID: 7)),
                ("an Error frame from the client", try rawFrame(ErrorMessage(DatelineError(code: .internal, message: "x")), type: .error, correlationID: 3, flags: 0x06)),
                ("a Pong from the client", try rawFrame(Pong(), type: .pong, correlationID: 4)),
            ]
            for (name, bytes) in cases {
                let (frames, errors, closed) = try await Self.afterHandshake(port: port, bytes)
                #expect(closed, "\(name): the connection is closed")
                #expect(errors.map(\.code) == [.badFrame], "\(name): \(errors)")
                #expect(frames.allSatisfy { $0.correlationID == 0 }, "\(name): reported on id 0, not answered")
                #expect(!frames.contains { $0.messageType == .pong || $0.messageType == .healthResponse }, "\(name)")
            }
        }
    }

    @Test func aHelloWithATinyFrameLimitIsRefusedNotLeftHanging() async throws {
        try await withTestServer { port, _ in
            var hello = Hello(clientName: "tiny")
            hello.maximumFrameSize = 40
            let (reply, closed) = try await RawConnection.exchange(port: port, bytes: DatelinePreface.bytes() + (try rawFrame(hello, type: .hello, correlationID: 0)), timeout: .seconds(20))
            #expect(closed)
            let errors = RawConnection.errors(RawConnection.events(reply))
            #expect(errors.map(\.code) == [.invalidArgument])
            #expect(errors.first?.message.contains("4096") == true)
        }
    }

    @Test func aSilentPeerIsClosedWithoutAnErrorFrameItCouldNotRead() async throws {
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", handshakeTimeout: .milliseconds(200))
        try await withTestServer(configuration: configuration) { port, _ in
            let (reply, closed) = try await RawConnection.exchange(port: port, bytes: [], timeout: .seconds(20))
            #expect(closed)
            #expect(reply.readableBytes == 0, "nothing is sent to a peer that never sent a preface")
        }
    }

    @Test func everyErrorForARequestCarriesServerTime() async throws {
        var configuration = DatelineServerConfiguration(serviceName: "dateline-test")
        configuration.maximumInFlightPerConnection = 1
        try await withTestServer(configuration: configuration) { port, _ in
            // An unknown message type, then two echoes sent without waiting: one request may be in flight, and
            // the unknown type's error keeps its slot until it is on the socket, so both echoes are OVERLOADED.
            let unknown = try rawFrame(Ping(), type: DatelineMessageType(rawValue: 0x0FFF), correlationID: 1)
            let slow = try rawFrame(EchoRequest(text: "slow", delayMilliseconds: 300), type: EchoRequest.messageType, correlationID: 2)
            let refused = try rawFrame(EchoRequest(text: "refused"), type: EchoRequest.messageType, correlationID: 3)
            let (reply, _) = try await RawConnection.exchange(port: port, bytes: try Self.handshake() + unknown + slow + refused, timeout: .seconds(3))
            let frames = RawConnection.events(reply).compactMap { if case .frame(let frame) = $0, frame.correlationID != 0 { frame } else { nil } }
            let errors = frames.filter { $0.messageType == .error }
            #expect(errors.count == 3, "\(frames.map(\.messageType))")
            #expect(errors.allSatisfy { $0.serverTimeMicroseconds != nil }, "SERVER_TIME on UNKNOWN_MESSAGE_TYPE and OVERLOADED")
        }
    }

    @Test func garbageInAMessageWithoutFieldsIsADecodeFailure() async throws {
        try await withTestServer { port, _ in
            var garbage = ByteBuffer()
            garbage.writeInteger(UInt32(3))
            garbage.writeInteger(UInt8(0x02))
            garbage.writeInteger(DatelineMessageType.healthRequest.rawValue)
            garbage.writeInteger(UInt32(5))
            garbage.writeBytes([0xFF, 0xFF, 0xFF])  // an unterminated varint tag
            // Then a fatal frame, so that the server closes once it has answered the garbage.
            let end = try rawFrame(Ping(), type: .ping, correlationID: 0)
            let (frames, errors, _) = try await Self.afterHandshake(port: port, Array(garbage.readableBytesView) + end)
            #expect(errors.map(\.code) == [.decodeFailed, .badFrame], "\(frames.map(\.messageType))")
            #expect(frames.first?.correlationID == 5)
        }
        #expect(throws: DatelineError.self) { try DatelineBinaryDecoder().decode(HealthRequest.self, from: [0xFF, 0xFF, 0xFF]) }
        #expect(try DatelineBinaryDecoder().decode(HealthRequest.self, from: [0x08, 0x01]) == HealthRequest(), "unknown fields are skipped")
    }
}
