import DatelineProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycleTestKit
import Synchronization

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// What the test services observed, for assertions about server-side behaviour.
final class ServerObservations: Sendable {
    let startedTexts = Mutex<[String]>([])
    let cancelledTexts = Mutex<[String]>([])
    let completedTexts = Mutex<[String]>([])
    let streamFinishedAfterConsumed = Mutex<Int?>(nil)
    let consumedByClient = Atomic<Int>(0)
}

/// A router with the test-only Echo (async, optional delay) and Count (stream) handlers.
func testRouter(_ observations: ServerObservations) -> DatelineRouter {
    var router = DatelineRouter()
    router.on(EchoRequest.self) { request, _ in
        observations.startedTexts.withLock { $0.append(request.text) }
        if request.delayMilliseconds > 0 {
            do {
                try await Task.sleep(for: .milliseconds(Int(request.delayMilliseconds)))
            } catch {
                observations.cancelledTexts.withLock { $0.append(request.text) }
                throw error
            }
        }
        observations.completedTexts.withLock { $0.append(request.text) }
        if request.text == "fail" { throw DatelineError(code: .notFound, message: "no such thing") }
        if request.text == "crash" { throw CocoaError(.fileNoSuchFile) }
        return EchoResponse(text: request.text)
    }
    router.onStream(CountRequest.self) { request, writer, _ in
        let padding = String(repeating: "x", count: Int(request.delayMilliseconds))
        for value in 0..<request.count {
            try await writer.write(CountElement(value: value, padding: padding))
        }
        observations.streamFinishedAfterConsumed.withLock { $0 = observations.consumedByClient.load(ordering: .relaxed) }
    }
    return router
}

/// Runs a real server on an ephemeral port for the duration of `body`, then shuts it down gracefully,
/// also when `body` throws.
func withTestServer<T: Sendable>(
    configuration: DatelineServerConfiguration = DatelineServerConfiguration(serviceName: "dateline-test"),
    observations: ServerObservations = ServerObservations(),
    _ body: @Sendable (_ port: Int, _ shutdown: @Sendable () -> Void) async throws -> T
) async throws -> T {
    try await testGracefulShutdown { trigger in
        let server = DatelineServer(configuration: configuration, router: testRouter(observations), logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningAddress().port!
            do {
                let result = try await body(port, { trigger.triggerGracefulShutdown() })
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                trigger.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}

/// A raw TCP connection for sending arbitrary bytes and reading whatever comes back until the server closes.
enum RawConnection {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex(ByteBuffer())
        let closed: EventLoopPromise<Void>
        init(closed: EventLoopPromise<Void>) { self.closed = closed }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = self.unwrapInboundIn(data)
            _ = self.received.withLock { $0.writeBuffer(&buffer) }
        }
        func channelInactive(context: ChannelHandlerContext) { self.closed.succeed() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    /// Sends `bytes`, then waits (up to `timeout`) for the server to close; returns what it sent back and
    /// whether it closed.
    static func exchange(
        port: Int,
        bytes: [UInt8],
        later: [UInt8]? = nil,
        after delay: Duration = .zero,
        waitForGoAway: Bool = false,
        timeout: Duration = .seconds(5)
    ) async throws -> (ByteBuffer, closed: Bool) {
        let group = MultiThreadedEventLoopGroup.singleton
        let closed = group.any().makePromise(of: Void.self)
        let collector = Collector(closed: closed)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        // The server may already have closed (a test of a handshake timeout, say): what it sent still counts.
        try? await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        if let later {
            if waitForGoAway {
                // Send the rest only once the server has said it is draining.
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    let received = collector.received.withLock { $0 }
                    if Self.events(received).contains(where: { if case .frame(let frame) = $0 { frame.messageType == .goAway } else { false } }) { break }
                    try await Task.sleep(for: .milliseconds(5))
                }
            } else {
                try await Task.sleep(for: delay)
            }
            try? await channel.writeAndFlush(ByteBuffer(bytes: later))
        }
        let closedByUs = AtomicFlag()
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            closedByUs.set()
            channel.close(promise: nil)
        }
        try await closed.futureResult.get()
        timer.cancel()
        let didClose = !closedByUs.isSet
        return (collector.received.withLock { $0 }, didClose)
    }

    /// Decodes what a server sent: its preface, then frames; stops at the first error.
    static func events(_ buffer: ByteBuffer) -> [DatelineInboundEvent] {
        var decoder = DatelineFrameDecoder()
        var buffer = buffer
        var events: [DatelineInboundEvent] = []
        while let event = try? decoder.decode(buffer: &buffer) { events.append(event) }
        return events
    }

    /// The error frames among `events`, decoded.
    static func errors(_ events: [DatelineInboundEvent]) -> [DatelineError] {
        events.compactMap {
            guard case .frame(let frame) = $0, frame.messageType == .error else { return nil }
            return try? DatelineBinaryDecoder().decode(ErrorMessage.self, from: frame.payload).error
        }
    }
}

/// Builds raw frames for tests that must send what a well-behaved client never would.
func rawFrame(_ message: some Encodable, type: DatelineMessageType, correlationID: UInt32, flags: UInt8 = 0x02) throws -> [UInt8] {
    let payload = try DatelineBinaryEncoder().encode(message)
    var frame = ByteBuffer()
    frame.writeInteger(UInt32(payload.readableBytes))
    frame.writeInteger(flags)
    frame.writeInteger(type.rawValue)
    frame.writeInteger(correlationID)
    frame.writeImmutableBuffer(payload)
    return Array(frame.readableBytesView)
}

final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { self.value.store(true, ordering: .relaxed) }
    var isSet: Bool { self.value.load(ordering: .relaxed) }
}

/// A TCP server that answers every connection with fixed bytes (or nothing), to play a wrong peer.
struct RawServer {
    let channel: any Channel
    var port: Int { self.channel.localAddress!.port! }

    private final class Replier: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let reply: [UInt8]?
        init(reply: [UInt8]?) { self.reply = reply }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let reply = self.reply else { return }
            context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil)
        }
    }

    static func start(reply: [UInt8]?) async throws -> RawServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Replier(reply: reply)) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawServer(channel: channel)
    }

    func stop() async throws { try await self.channel.close() }
}
