import DatelineProtocol
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking POSIX socket, so that a test can be the client that never reads.
final class BlockingSocket: @unchecked Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        self.descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw DatelineError(code: .unavailable, message: "connect failed: \(errno)") }
    }

    deinit { close(self.descriptor) }

    /// Sends all of `bytes`; false if the connection failed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if sent < 0 { if errno == EINTR { continue }; return false }
            done += sent
        }
        return true
    }

    /// Whether `bytes` more can be sent within `timeout` (false: the peer has stopped reading).
    func canSend(within timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: self.descriptor, events: Int16(POLLOUT), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return poll(&descriptor, 1, milliseconds) == 1 && descriptor.revents & Int16(POLLOUT) != 0
    }

    /// Waits, without reading, until the peer resets or closes the connection (0x2000 is Linux's POLLRDHUP).
    func waitForHangUp(within timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: self.descriptor, events: Int16(0x2000), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return poll(&descriptor, 1, milliseconds) == 1 && descriptor.revents & Int16(POLLHUP | POLLERR | 0x2000) != 0
    }

    /// Reads frames until `count` have arrived (or the connection ends), returning them.
    func readFrames(_ count: Int) -> [DatelineFrame] {
        var decoder = DatelineFrameDecoder()
        var buffer = ByteBuffer()
        var frames: [DatelineFrame] = []
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        while frames.count < count {
            let received = chunk.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress!, $0.count, 0) }
            if received <= 0 { break }
            buffer.writeBytes(chunk[0..<received])
            while let event = try? decoder.decode(buffer: &buffer) {
                if case .frame(let frame) = event { frames.append(frame) }
            }
        }
        return frames
    }

    /// Preface and Hello, asking for no compression unless told otherwise.
    func handshake(compression: DatelineCompressionMode = .none) throws {
        self.send(DatelinePreface.bytes() + (try rawFrame(Hello(clientName: "never-reads", compression: compression), type: .hello, correlationID: 0)))
    }
}

@Suite("Backpressure: a peer cannot make a service buffer without bound")
struct BackpressureTests {
    static let megabyte = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })

    @Test(.timeLimit(.minutes(2)))
    func aClientThatReadsNothingIsStoppedThenClosed() async throws {
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", maximumOutboundBytes: 1 << 20, stalledReaderTimeout: .seconds(1))
        try await withTestServer(configuration: configuration) { port, _ in
            let socket = try BlockingSocket(port: port)
            try socket.handshake()
            // 1 MiB pings, never reading a reply: the server must stop taking them long before 256 MiB.
            var sent = 0
            for id in 1...256 {
                // Either the socket stops taking bytes (the server stopped reading) or the server has
                // already closed the stalled connection; both mean it stopped.
                guard socket.canSend(within: .seconds(2)),
                    socket.send(try rawFrame(Ping(payload: Self.megabyte), type: .ping, correlationID: UInt32(id)))
                else { break }
                sent += 1
            }
            #expect(sent < 96, "the server kept reading \(sent) MiB of pings whose replies nobody read")
            // Reading nothing for the stall timeout: GoAway and close (a reset, since our pings lie unread).
            #expect(socket.waitForHangUp(within: .seconds(60)), "the server closes a connection that reads nothing")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aSlowReaderGetsEveryReplyOnceItReads() async throws {
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", maximumOutboundBytes: 256 << 10)
        try await withTestServer(configuration: configuration) { port, _ in
            let socket = try BlockingSocket(port: port)
            try socket.handshake()
            let count = 48
            let frames = try (1...count).map { try rawFrame(Ping(payload: Self.megabyte), type: .ping, correlationID: UInt32($0)) }
            // Send on another thread (it blocks while the server holds back), read here.
            let sender = Thread { for frame in frames { socket.send(frame) } }
            sender.start()
            let replies = socket.readFrames(count + 1)  // Welcome, then the pongs
            #expect(replies.first?.messageType == .welcome)
            let pongs = replies.dropFirst()
            #expect(pongs.count == count)
            #expect(pongs.allSatisfy { $0.messageType == .pong }, "no OVERLOADED: a slot is freed once its reply is sent")
            #expect(pongs.map(\.correlationID).sorted() == (1...count).map(UInt32.init))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func overLoopbackAutoCompressionSendsRepliesAsTheyAreUnlessConfigured() async throws {
        let text = Data(String(repeating: "Talks on trade resumed in Geneva on Monday. ", count: 400).utf8)
        for compressesForLocalPeers in [false, true] {
            let configuration = DatelineServerConfiguration(
                serviceName: "dateline-test", compression: .init(compressesForLocalPeers: compressesForLocalPeers)
            )
            try await withTestServer(configuration: configuration) { port, _ in
                let socket = try BlockingSocket(port: port)
                try socket.handshake(compression: .auto)
                socket.send(try rawFrame(Ping(payload: text), type: .ping, correlationID: 1))
                let replies = socket.readFrames(2)  // Welcome, then the pong
                let pong = try #require(replies.last)
                #expect(pong.messageType == .pong)
                #expect(pong.wasCompressed == compressesForLocalPeers)
                #expect(try DatelineBinaryDecoder().decode(Ping.self, from: pong.payload).payload == text)
            }
        }
    }
}
