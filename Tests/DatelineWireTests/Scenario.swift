@testable import DatelineWire

/// A capture of one Dateline connection with what makes reassembly work for its living: handshake, prefaces,
/// Hello and Welcome, a Ping whose two segments arrive in the wrong order (then one again), a Pong
/// retransmitted, and an Error frame in a segment overlapping the Pong's last bytes.
enum Scenario {
    static let preface: [UInt8] = [0x89, 0x44, 0x54, 0x4C, 0x0D, 0x0A, 0x00, 0x01]

    /// What the scenario's decoding must find, in capture order: (from client, message name, stream offset).
    static let expectedFrames: [(fromClient: Bool, name: String, offset: Int)] = {
        let hello = Vectors.frame("hello").bytes.count
        let welcome = Vectors.frame("welcome").bytes.count
        let pong = Vectors.frame("pong").bytes.count
        return [(true, "Hello", 8), (false, "Welcome", 8), (true, "Ping", 8 + hello), (false, "Pong", 8 + welcome), (false, "Error", 8 + welcome + pong)]
    }()

    /// The capture, with IPv6 addresses when `ipv6`.
    static func capture(link: CaptureBuilder.Link = .ethernet, ipv6: Bool = false) -> CaptureBuilder {
        var conversation = ipv6
            ? TCPConversation(client: .init(address: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1], port: 50_001),
                              server: .init(address: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2], port: 7401),
                              clientSequence: 0xFFFF_FFF0)  // and the client's sequence numbers wrap around
            : TCPConversation()
        var capture = CaptureBuilder(link: link)
        for segment in conversation.handshake() { capture.append(segment) }
        let hello = self.preface + Vectors.frame("hello").bytes
        capture.append(conversation.send(Array(hello[..<18]), fromClient: true))  // packet 4: preface + 10 bytes
        capture.append(conversation.send(Array(hello[18...]), fromClient: true))  // packet 5: the rest of Hello
        capture.append(conversation.send(self.preface + Vectors.frame("welcome").bytes, fromClient: false))  // packet 6
        let ping = Vectors.frame("ping").bytes
        let pingStart = conversation.send(Array(ping[..<5]), fromClient: true)
        let pingRest = conversation.send(Array(ping[5...]), fromClient: true)
        capture.append(pingRest)  // packet 7: ahead of its turn
        capture.append(pingStart)  // packet 8: completes the Ping
        capture.append(pingStart)  // packet 9: retransmitted
        let pong = conversation.send(Vectors.frame("pong").bytes, fromClient: false)
        capture.append(pong)  // packet 10
        capture.append(pong)  // packet 11: retransmitted
        // Packet 12: the Error frame, in a segment that repeats the Pong's last 4 bytes first.
        var error = conversation.send(Vectors.frame("error").bytes, fromClient: false)
        error.sequenceNumber &-= 4
        error.payload = Array(pong.payload.suffix(4)) + error.payload
        capture.append(error)
        return capture
    }
}
