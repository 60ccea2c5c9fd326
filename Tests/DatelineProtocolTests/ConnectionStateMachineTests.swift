import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import DatelineProtocol

/// The connection's rules, decided by the pure state machine: no sockets, no clocks.
@Suite("Server connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = DatelineServerConnectionStateMachine

    static func ready(maximumInFlight: Int = 8) -> Machine {
        var machine = Machine(maximumInFlight: maximumInFlight)
        #expect(machine.prefaceReceived(version: 1) == nil)
        let action = machine.helloReceived(.success(Hello(clientName: "test")), token: nil, rejectsSchemaMismatch: true, serverName: "s/1")
        #expect(action == .welcome(maximumInFlight: maximumInFlight, peerMaximumFrameSize: 16 << 20))
        #expect(machine.state == .ready)
        return machine
    }

    /// Dispatches and starts a unary request.
    static func start(_ machine: inout Machine, _ id: UInt32, kind: Machine.RequestKind = .unary, type: DatelineMessageType = .searchRequest) {
        #expect(machine.frameReceived(id: id, type: type, hasErrorFlag: false, serviceName: "s") == .dispatch)
        machine.requestStarted(id, kind: kind)
    }

    @Test func theHandshakeChecksInTheSpecifiedOrder() {
        var wrongVersion = Machine(maximumInFlight: 8)
        #expect(wrongVersion.prefaceReceived(version: 2)?.code == .unsupportedVersion)
        #expect(wrongVersion.state == .closed)

        func hello(_ hello: Hello, token: String? = nil) -> Machine.HelloAction {
            var machine = Machine(maximumInFlight: 8)
            _ = machine.prefaceReceived(version: 1)
            return machine.helloReceived(.success(hello), token: token, rejectsSchemaMismatch: true, serverName: "s/1")
        }
        var both = Hello(clientName: "c", schemaFingerprint: "0000000000000000", token: "wrong")
        // The token is checked before the schema.
        guard case .fail(let error) = hello(both, token: "secret") else { Issue.record("accepted"); return }
        #expect(error.code == .unauthorized)
        both.token = "secret"
        guard case .fail(let schema) = hello(both, token: "secret") else { Issue.record("accepted"); return }
        #expect(schema.code == .schemaMismatch)
        guard case .fail(let tiny) = hello(Hello(clientName: "c", maximumFrameSize: 100)) else { Issue.record("accepted"); return }
        #expect(tiny.code == .invalidArgument)
        // 0 means the default; the client's in-flight limit lowers the server's.
        #expect(hello(Hello(clientName: "c", maximumFrameSize: 0, maximumInFlight: 3)) == .welcome(maximumInFlight: 3, peerMaximumFrameSize: nil))
        #expect(hello(Hello(clientName: "c", maximumInFlight: 0)) == .welcome(maximumInFlight: 8, peerMaximumFrameSize: 16 << 20))
    }

    @Test func handshakeTimeoutsCloseSilentlyBeforeThePrefaceAndWithAnErrorAfterIt() {
        var silent = Machine(maximumInFlight: 8)
        #expect(silent.handshakeTimedOut() == .closeSilently)
        var halfway = Machine(maximumInFlight: 8)
        _ = halfway.prefaceReceived(version: 1)
        #expect(halfway.handshakeTimedOut() == .fail(DatelineError(code: .unauthorized, message: "handshake not completed in time")))
        var done = Self.ready()
        #expect(done.handshakeTimedOut() == .ignore)
        #expect(done.state == .ready)
    }

    @Test func fatalFramesAfterTheHandshake() {
        for (id, type, errorFlag) in [(UInt32(0), DatelineMessageType.ping, false), (0, .cancel, false), (0, .searchRequest, false), (5, .hello, false), (5, .pong, false), (5, .error, false), (5, .goAway, false), (5, .welcome, false), (5, .searchRequest, true)] {
            var machine = Self.ready()
            guard case .failConnection(let error) = machine.frameReceived(id: id, type: type, hasErrorFlag: errorFlag, serviceName: "s") else {
                Issue.record("\(type) on \(id) was not fatal")
                continue
            }
            #expect(error.code == .badFrame)
            #expect(machine.state == .closed)
        }
        var duplicate = Self.ready()
        Self.start(&duplicate, 7)
        #expect(duplicate.frameReceived(id: 7, type: .searchRequest, hasErrorFlag: false, serviceName: "s") == .failConnection(.badFrame("correlation id 7 is already in flight")))
    }

    @Test func aSlotIsHeldUntilTheReplyLeavesTheSocket() {
        var machine = Self.ready(maximumInFlight: 2)
        Self.start(&machine, 1)
        Self.start(&machine, 2)
        guard case .refuse(let overloaded) = machine.frameReceived(id: 3, type: .searchRequest, hasErrorFlag: false, serviceName: "s") else {
            Issue.record("a third request beyond the limit of 2 was taken")
            return
        }
        #expect(overloaded.code == .overloaded)
        #expect(machine.requestFinished(1) == .reply(closeAfter: false))
        machine.replyQueued()  // its reply is written, not yet on the socket: the slot stays taken
        #expect(machine.frameReceived(id: 3, type: .searchRequest, hasErrorFlag: false, serviceName: "s") == .refuse(overloaded))
        machine.repliesLeftTheSocket(1)
        #expect(machine.frameReceived(id: 3, type: .searchRequest, hasErrorFlag: false, serviceName: "s") == .dispatch)
        // Pings are answered inline but their replies hold slots too.
        #expect(machine.frameReceived(id: 9, type: .ping, hasErrorFlag: false, serviceName: "s") == .answerPing)
    }

    @Test func cancelAndDeadlineAnswerOnceAndTheLateResultIsDropped() {
        var machine = Self.ready()
        #expect(machine.frameReceived(id: 4, type: .cancel, hasErrorFlag: false, serviceName: "s") == .ignore, "cancelling an unknown id is ignored")
        Self.start(&machine, 4)
        #expect(machine.frameReceived(id: 4, type: .cancel, hasErrorFlag: false, serviceName: "s") == .cancel(4))
        #expect(machine.requestFinished(4) == .discard, "nothing is sent after a Cancel")
        Self.start(&machine, 5)
        #expect(machine.deadlinePassed(5) == .reply(closeAfter: false))
        #expect(machine.requestFinished(5) == .discard, "the handler's late result is dropped")
        #expect(machine.inFlightCount == 0)
    }

    @Test func drainingEndsStreamsAnswersHealthRefusesTheRestAndClosesWhenIdle() {
        var machine = Self.ready()
        Self.start(&machine, 1)
        Self.start(&machine, 2, kind: .stream, type: .subscribeRequest)
        #expect(machine.quiesce() == .goAway(lastCorrelationID: 2, cancelStreams: [2], closeNow: false))
        #expect(machine.quiesce() == .ignore)
        guard case .refuse(let refused) = machine.frameReceived(id: 3, type: .searchRequest, hasErrorFlag: false, serviceName: "s") else {
            Issue.record("a new request was taken while draining")
            return
        }
        #expect(refused.code == .unavailable && refused.isRetryable)
        #expect(machine.frameReceived(id: 4, type: .healthRequest, hasErrorFlag: false, serviceName: "s") == .dispatch, "health still answers")
        #expect(machine.requestFinished(2) == .reply(closeAfter: false))
        #expect(machine.requestFinished(1) == .reply(closeAfter: true), "the last reply closes the connection")
        #expect(machine.state == .closed)

        var idle = Self.ready()
        #expect(idle.quiesce() == .goAway(lastCorrelationID: 0, cancelStreams: [], closeNow: true))
        var early = Machine(maximumInFlight: 8)
        #expect(early.quiesce() == .close)
    }

    @Test func aClosedConnectionCancelsEverythingInFlight() {
        var machine = Self.ready()
        Self.start(&machine, 1)
        Self.start(&machine, 3, kind: .stream, type: .subscribeRequest)
        #expect(machine.closed() == [1, 3])
        #expect(machine.requestFinished(1) == .discard)
        #expect(machine.stalledReader() == nil)
    }
}

/// The handler itself on an `EmbeddedChannel`: handshake, pings, backpressure and timers, with virtual time.
@Suite("Server connection handler on an embedded channel")
struct ConnectionHandlerTests {
    /// Counts the reads that reach the channel (the head of the pipeline).
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            self.reads += 1
            context.read()
        }
    }

    static func channel(_ configuration: DatelineServerConfiguration = DatelineServerConfiguration(serviceName: "test")) throws -> (EmbeddedChannel, ReadCounter) {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(
            DatelineServerConnectionHandler(configuration: configuration, router: DatelineRouter(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), serverStartedAt: .now(), metrics: DatelineServerMetrics(service: "test", factory: configuration.resolvedMetricsFactory))
        )
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    static func frame(_ message: some Encodable, type: DatelineMessageType, id: UInt32) throws -> DatelineInboundEvent {
        .frame(DatelineFrame(messageType: type, correlationID: id, payload: try DatelineBinaryEncoder().encode(message)))
    }

    /// Every frame written so far, decoded (the server's preface first, skipped).
    static func written(_ channel: EmbeddedChannel) throws -> [DatelineFrame] {
        var bytes = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&chunk) }
        var decoder = DatelineFrameDecoder(expectsPreface: false)
        if bytes.readableBytes >= DatelinePreface.length, bytes.readableBytesView.starts(with: DatelinePreface.magic) { bytes.moveReaderIndex(forwardBy: DatelinePreface.length) }
        var frames: [DatelineFrame] = []
        while let event = try decoder.decode(buffer: &bytes) {
            if case .frame(let frame) = event { frames.append(frame) }
        }
        return frames
    }

    static func handshake(_ channel: EmbeddedChannel) throws {
        try channel.writeInbound(DatelineInboundEvent.preface(version: 1))
        try channel.writeInbound(try Self.frame(Hello(clientName: "embedded"), type: .hello, id: 0))
        channel.flush()
        #expect(try Self.written(channel).map(\.messageType) == [.welcome])
    }

    @Test func handshakeThenPingsAndBuiltInHealth() throws {
        let (channel, _) = try Self.channel()
        try Self.handshake(channel)
        try channel.writeInbound(try Self.frame(Ping(payload: Data([1, 2, 3])), type: .ping, id: 1))
        try channel.writeInbound(try Self.frame(HealthRequest(), type: .healthRequest, id: 2))
        channel.pipeline.fireChannelReadComplete()
        let frames = try Self.written(channel)
        #expect(frames.map(\.messageType) == [.pong, .healthResponse])
        #expect(frames.allSatisfy { $0.serverTimeMicroseconds != nil })
        #expect(try DatelineBinaryDecoder().decode(Pong.self, from: frames[0].payload).payload == Data([1, 2, 3]))
    }

    @Test func readsAreHeldBackWhileTheConnectionIsNotWritable() throws {
        let (channel, counter) = try Self.channel()
        try Self.handshake(channel)
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before + 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        #expect(counter.reads == before + 1, "no read while replies wait unsent")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == before + 2, "the held read goes through once it drains")
    }

    @Test func aReaderStalledPastTheTimeoutGetsGoAwayAndIsClosed() throws {
        let configuration = DatelineServerConfiguration(serviceName: "test", stalledReaderTimeout: .seconds(30))
        let (channel, _) = try Self.channel(configuration)
        try Self.handshake(channel)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try Self.written(channel).map(\.messageType) == [.goAway])
        #expect(!channel.isActive)
    }

    @Test func aReaderThatDrainsInTimeIsKept() throws {
        let (channel, _) = try Self.channel(DatelineServerConfiguration(serviceName: "test", stalledReaderTimeout: .seconds(30)))
        try Self.handshake(channel)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
    }

    @Test func theHandshakeTimerClosesASilentPeerWithoutAFrame() throws {
        let (channel, _) = try Self.channel(DatelineServerConfiguration(serviceName: "test", handshakeTimeout: .seconds(10)))
        channel.embeddedEventLoop.advanceTime(by: .seconds(11))
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test func aGracefulShutdownOfAnIdleConnectionSendsGoAwayAndCloses() throws {
        let (channel, _) = try Self.channel()
        try Self.handshake(channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel).map(\.messageType) == [.goAway])
        #expect(!channel.isActive)
    }
}
