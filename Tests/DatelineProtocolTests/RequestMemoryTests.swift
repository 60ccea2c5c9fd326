import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import DatelineProtocol

/// Records the frames and errors a frame handler passes on.
private final class FrameRecorder: ChannelInboundHandler {
    typealias InboundIn = DatelineInboundEvent
    var frames: [DatelineFrame] = []
    var errors: [DatelineError] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .frame(let frame) = Self.unwrapInboundIn(data) { self.frames.append(frame) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? DatelineError { self.errors.append(error) }
    }
}

/// A gate test handlers wait at until the test opens it.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>], arrived: Int)>((false, [], 0))

    var arrived: Int { self.state.withLock { $0.arrived } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = self.state.withLock { state in
                state.arrived += 1
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = self.state.withLock { state in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Waits for `condition`, checking every few milliseconds, for at most a minute (an event the test cannot be told of
/// otherwise; the minute only bounds a broken run).
private func eventually(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw DatelineError(code: .deadlineExceeded, message: "never happened: \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

@Suite("Request memory and connection limits: what many peers together can make a server hold")
struct RequestMemoryTests {
    // MARK: The budget

    @Test func theBudgetTakesWhatFitsAndAFrameLargerThanItAllOnlyWhenEmpty() {
        let budget = DatelineRequestMemoryBudget(capacity: 1_000_000)
        #expect(budget.reserve(600_000))
        #expect(!budget.reserve(500_000))
        #expect(budget.reserve(400_000))
        let full = budget.bytesInUse
        #expect(full == 1_000_000)
        budget.release(1_000_000)
        #expect(budget.reserve(5_000_000), "a request larger than the budget goes through an empty one")
        #expect(!budget.reserve(100_000))
        budget.release(5_000_000)
        let empty = budget.bytesInUse
        #expect(empty == 0)
    }

    /// Replies waiting for slow readers can fill the budget: small frames still go through, in an eighth more.
    @Test func smallFramesHaveAnEighthMoreSoThatHeldRepliesDoNotKeepThemOut() {
        let budget = DatelineRequestMemoryBudget(capacity: 8 << 20)
        budget.hold(8 << 20)
        #expect(!budget.reserve(100_000), "a large frame waits")
        #expect(budget.reserve(1_000), "a ping or a search does not")
        var small = 0
        while budget.reserve(60_000) { small += 1 }
        #expect(small == (1 << 20) / 60_000, "but only within the eighth")
    }

    /// A frame larger than what is left goes through while at most an eighth of the budget is held (a subscription
    /// holds a little for days: "only when empty" would block a frame larger than the budget for ever).
    @Test func aFrameLargerThanWhatIsLeftGoesThroughWhileAnEighthAtMostIsHeld() {
        let budget = DatelineRequestMemoryBudget(capacity: 1_000_000)
        budget.hold(100_000)
        #expect(budget.reserve(2_000_000))
        #expect(!budget.reserve(2_000_000), "not twice")
    }

    /// A release wakes only the waiters whose frames now fit; the others stay registered for a later one.
    @Test func aReleaseWakesOnlyTheWaitersThatNowFit() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1_000_000)
        let loop = EmbeddedEventLoop()
        let woken = NIOLockedValueBox<[String]>([])
        budget.hold(1_130_000)  // past the eighth more that small frames have
        _ = try #require(budget.waitForRoom(for: 500_000, on: loop) { woken.withLockedValue { $0.append("large") } })
        _ = try #require(budget.waitForRoom(for: 1_000, on: loop) { woken.withLockedValue { $0.append("small") } })
        budget.release(150_000)
        loop.run()
        #expect(woken.withLockedValue { $0 } == ["small"])
        let waiting = budget.waitingConnections
        #expect(waiting == 1)
        budget.release(480_000)
        loop.run()
        #expect(woken.withLockedValue { $0 } == ["small", "large"])
        try loop.syncShutdownGracefully()
    }

    @Test func aWaiterIsWokenByTheNextReleaseAndNotRegisteredWhenThereIsRoom() async {
        let budget = DatelineRequestMemoryBudget(capacity: 100)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        #expect(budget.waitForRoom(for: 50, on: loop) {} == nil, "room now: no wait")
        #expect(budget.reserve(80))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let token = budget.waitForRoom(for: 50, on: loop) { continuation.resume() }
            #expect(token != nil)
            let waiting = budget.waitingConnections
            #expect(waiting == 1)
            budget.release(80)
        }
        let waiting = budget.waitingConnections
        #expect(waiting == 0)
    }

    // MARK: The frame handler

    private func channel(budget: DatelineRequestMemoryBudget, timeout: TimeAmount? = nil) throws -> (EmbeddedChannel, FrameRecorder) {
        let channel = EmbeddedChannel()
        let recorder = FrameRecorder()
        let decoder = DatelineFrameDecoder(expectsPreface: false, budget: budget)
        try channel.pipeline.syncOperations.addHandler(DatelineFrameHandler(decoder, budget: budget, frameReceiveTimeout: timeout))
        try channel.pipeline.syncOperations.addHandler(recorder)
        return (channel, recorder)
    }

    @Test func aFrameThatDoesNotFitWaitsForRoomThenArrivesHoldingItsPayload() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 10_000)
        let (channel, recorder) = try self.channel(budget: budget)
        #expect(budget.reserve(8_000), "other requests hold most of the budget")
        let frame = try makeFrame(EchoRequest(text: String(repeating: "a", count: 4_000)), type: EchoRequest.messageType)
        try channel.writeInbound(frame)
        #expect(recorder.frames.isEmpty, "it waits")
        let waiting = budget.waitingConnections
        #expect(waiting == 1)
        budget.release(8_000)
        channel.embeddedEventLoop.run()
        try #require(recorder.frames.count == 1)
        let payload = recorder.frames[0].payload.readableBytes
        let held = budget.bytesInUse
        #expect(held == payload, "the frame arrives holding exactly its payload, for its receiver to give back")
        #expect(try DatelineBinaryDecoder().decode(EchoRequest.self, from: recorder.frames[0].payload).text.count == 4_000)
        _ = try channel.finish()
    }

    @Test func aCompressedFrameKeepsOnlyItsInflatedSize() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1 << 20)
        let (channel, recorder) = try self.channel(budget: budget)
        let frame = try makeFrame(
            EchoRequest(text: String(repeating: "compressible ", count: 2_000)),
            type: EchoRequest.messageType,
            compression: .init(mode: .always)
        )
        try channel.writeInbound(frame)
        try #require(recorder.frames.count == 1)
        #expect(recorder.frames[0].wasCompressed)
        let held = budget.bytesInUse
        #expect(held == recorder.frames[0].payload.readableBytes)
        _ = try channel.finish()
    }

    @Test func aConnectionThatEndsInTheMiddleOfAFrameGivesItsReservationBack() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1 << 20)
        let (channel, recorder) = try self.channel(budget: budget)
        var frame = try makeFrame(EchoRequest(text: String(repeating: "b", count: 100_000)), type: EchoRequest.messageType)
        try channel.writeInbound(frame.readSlice(length: 30_000)!)
        let reserved = budget.bytesInUse
        #expect(reserved > 100_000, "reserved from the header on")
        _ = try? channel.finish()
        let after = budget.bytesInUse
        #expect(after == 0)
        #expect(recorder.errors.map(\.code) == [.badFrame], "cut short")
    }

    @Test func aLargeFrameThatTakesTooLongFailsTheConnectionAndFreesItsBytes() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1 << 20)
        let (channel, recorder) = try self.channel(budget: budget, timeout: .seconds(60))
        var frame = try makeFrame(EchoRequest(text: String(repeating: "c", count: 100_000)), type: EchoRequest.messageType)
        try channel.writeInbound(frame.readSlice(length: 10_000)!)
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        try channel.writeInbound(frame.readSlice(length: 10_000)!)
        #expect(recorder.errors.isEmpty, "still within the minute")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(recorder.errors.map(\.code) == [.deadlineExceeded])
        let after = budget.bytesInUse
        #expect(after == 0)
        _ = try? channel.finish()
    }

    /// While the server holds reads back (the peer's replies pile up unsent), a frame's slowness is the server's
    /// doing: the timer waits for the connection to be writable again.
    @Test func aFrameIsNotTimedOutWhileTheServerHoldsReadsBack() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1 << 20)
        let (channel, recorder) = try self.channel(budget: budget, timeout: .seconds(60))
        var frame = try makeFrame(EchoRequest(text: String(repeating: "c", count: 100_000)), type: EchoRequest.messageType)
        try channel.writeInbound(frame.readSlice(length: 10_000)!)
        channel.isWritable = false
        channel.embeddedEventLoop.advanceTime(by: .seconds(180))
        #expect(recorder.errors.isEmpty)
        channel.isWritable = true
        channel.embeddedEventLoop.advanceTime(by: .seconds(61))
        #expect(recorder.errors.map(\.code) == [.deadlineExceeded])
        _ = try? channel.finish()
    }

    @Test func eachLargeFrameHasItsOwnTimeAndSmallFramesAreNotTimed() throws {
        let budget = DatelineRequestMemoryBudget(capacity: 1 << 20)
        let (channel, recorder) = try self.channel(budget: budget, timeout: .seconds(60))
        var first = try makeFrame(EchoRequest(text: String(repeating: "d", count: 100_000)), type: EchoRequest.messageType)
        let second = try makeFrame(EchoRequest(text: String(repeating: "e", count: 100_000)), type: EchoRequest.messageType)
        try channel.writeInbound(first.readSlice(length: 50_000)!)
        channel.embeddedEventLoop.advanceTime(by: .seconds(50))
        var rest = first
        rest.writeImmutableBuffer(second.getSlice(at: second.readerIndex, length: 1_000)!)
        try channel.writeInbound(rest)
        channel.embeddedEventLoop.advanceTime(by: .seconds(50))
        #expect(recorder.errors.isEmpty, "the second frame began 50 s ago")
        #expect(recorder.frames.count == 1)
        var small = try makeFrame(EchoRequest(text: "small"), type: EchoRequest.messageType)
        let (smallChannel, smallRecorder) = try self.channel(budget: budget, timeout: .seconds(60))
        try smallChannel.writeInbound(small.readSlice(length: 5)!)
        smallChannel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(smallRecorder.errors.isEmpty, "a small frame holds too little to be timed")
        _ = try? channel.finish()
        _ = try? smallChannel.finish()
    }

    // MARK: A real server

    private static func server(
        maximumConnections: Int = 1_024,
        maximumRequestMemory: Int = 256 << 20,
        gate: Gate = Gate()
    ) -> DatelineServer {
        var router = DatelineRouter()
        router.on(EchoRequest.self) { request, _ in
            if request.text.hasPrefix("hold") { await gate.wait() }
            return EchoResponse(text: String(request.text.prefix(16)))
        }
        let configuration = DatelineServerConfiguration(
            serviceName: "dateline-test",
            maximumConnections: maximumConnections,
            maximumRequestMemory: maximumRequestMemory
        )
        return DatelineServer(configuration: configuration, router: router, logger: quietLogger)
    }

    private static func connect(_ port: Int) async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
    }

    private static func running<T: Sendable>(_ server: DatelineServer, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                defer { trigger.triggerGracefulShutdown() }
                let port = try await server.listeningAddress().port!
                return try await body(port)
            }
        }
    }

    @Test func connectionsOverTheLimitAreToldTheServiceIsOverloadedAndOneMayConnectOnceAnotherCloses() async throws {
        let server = Self.server(maximumConnections: 2)
        try await Self.running(server) { port in
            let first = try await Self.connect(port)
            let second = try await Self.connect(port)
            let refusal = await #expect(throws: DatelineError.self) {
                _ = try await Self.connect(port)
            }
            #expect(refusal?.code == .overloaded)
            #expect(refusal?.message.contains("2 connections") == true)
            #expect(try await second.send(EchoRequest(text: "still served")).text == "still served")
            try await first.close()
            // The server forgets the closed connection once its own side has closed: then another may take its place.
            var third: DatelineClientConnection?
            let deadline = ContinuousClock.now + .seconds(60)
            while third == nil, ContinuousClock.now < deadline {
                do {
                    third = try await Self.connect(port)
                } catch let error as DatelineError where error.code == .overloaded {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            let admitted = try #require(third)
            #expect(try await admitted.send(EchoRequest(text: "admitted")).text == "admitted")
            try await admitted.close()
            try await second.close()
        }
    }

    @Test func aRequestThatDoesNotFitWaitsUnreadWhileSmallOnesAreServedAndGoesThroughWhenRoomIsFreed() async throws {
        let gate = Gate()
        let server = Self.server(maximumRequestMemory: 100_000, gate: gate)
        try await Self.running(server) { port in
            let holder = try await Self.connect(port)
            let waiter = try await Self.connect(port)
            let other = try await Self.connect(port)
            let held = Task { try await holder.send(EchoRequest(text: "hold" + String(repeating: "h", count: 70_000))) }
            try await eventually("the first request is being handled") { gate.arrived == 1 }
            let inUse = server.requestMemoryInUse
            #expect(inUse > 70_000 && inUse < 100_000)
            let waited = Task { try await waiter.send(EchoRequest(text: "wait" + String(repeating: "w", count: 70_000))) }
            try await eventually("the second request waits for room") { server.connectionsWaitingForRequestMemory == 1 }
            #expect(try await other.send(EchoRequest(text: "small")).text == "small", "small requests still fit")
            #expect(gate.arrived == 1, "the waiting request has not reached its handler")
            gate.open()
            #expect(try await held.value.text.hasPrefix("hold"))
            #expect(try await waited.value.text.hasPrefix("wait"))
            try await eventually("every request has given its bytes back") { server.requestMemoryInUse == 0 }
            for connection in [holder, waiter, other] { try await connection.close() }
        }
    }

    /// Replies nobody reads count too: many connections each leaving a 16 MiB reply unread would otherwise hold
    /// 16 MiB each, whatever the budget. A request that meets them waits until they are gone (here: the reader
    /// closes; in service, the stalled-reader timeout closes it).
    @Test(.timeLimit(.minutes(2)))
    func repliesNobodyReadsHoldTheBudgetUntilTheyLeave() async throws {
        let server = Self.server(maximumRequestMemory: 24 << 20)
        try await Self.running(server) { port in
            let reader = try BlockingSocket(port: port)
            try reader.handshake()
            let payload = Data(repeating: 0x5A, count: (16 << 20) - 64)
            reader.send(try rawFrame(Ping(payload: payload), type: .ping, correlationID: 1))
            try await eventually("the unread pong is held") { server.requestMemoryInUse >= 15 << 20 }
            let client = try await Self.connect(port)
            let request = Task { try await client.send(EchoRequest(text: String(repeating: "q", count: 12 << 20))) }
            try await eventually("the large request waits for room") { server.connectionsWaitingForRequestMemory == 1 }
            shutdown(reader.descriptor, Int32(SHUT_RDWR))
            #expect(try await request.value.text == String(repeating: "q", count: 16))
            try await eventually("everything is given back") { server.requestMemoryInUse == 0 }
            try await client.close()
        }
    }

    /// A client whose server frees no slot does not keep the payloads of requests that timed out while they
    /// waited to go out: the queue is compacted once they are half of it.
    @Test func requestsThatEndWhileQueuedDoNotStayInTheClientsQueue() async throws {
        let gate = Gate()
        var router = DatelineRouter()
        router.on(EchoRequest.self) { request, _ in
            await gate.wait()
            return EchoResponse(text: request.text)
        }
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", maximumInFlightPerConnection: 1)
        let server = DatelineServer(configuration: configuration, router: router, logger: quietLogger)
        try await Self.running(server) { port in
            let connection = try await Self.connect(port)
            let holding = Task { try await connection.send(EchoRequest(text: "holds the only slot")) }
            try await eventually("the first request holds the slot") { gate.arrived == 1 }
            let payload = String(repeating: "p", count: 100_000)
            for _ in 0..<200 {
                await #expect(throws: DatelineError.self) { _ = try await connection.send(EchoRequest(text: payload), timeout: .milliseconds(1)) }
            }
            let queued = try await connection.queuedRequests
            #expect(queued <= 100, "\(queued) requests (and their 100 KB payloads) still queued after all 200 timed out")
            gate.open()
            #expect(try await holding.value.text == "holds the only slot")
            #expect(try await connection.send(EchoRequest(text: "after")).text == "after")
            try await connection.close()
        }
    }

    /// A small request that waited for room is answered as soon as it is handled: the frames decoded when room
    /// came were read by no read, and their replies (a pong, written on the event loop) wait for a flush that
    /// only the end of a read used to give.
    @Test(.timeLimit(.minutes(1)))
    func aPingThatWaitedForRoomIsAnsweredWhenRoomIsFreed() async throws {
        let gate = Gate()
        let server = Self.server(maximumRequestMemory: 100_000, gate: gate)
        try await Self.running(server) { port in
            let first = try await Self.connect(port)
            let second = try await Self.connect(port)
            let pinger = try await Self.connect(port)
            let large = Task { try await first.send(EchoRequest(text: "hold" + String(repeating: "l", count: 70_000))) }
            try await eventually("the large request is handled") { gate.arrived == 1 }
            let small = Task { try await second.send(EchoRequest(text: "hold" + String(repeating: "s", count: 40_000))) }
            try await eventually("the small one too, in the eighth more") { gate.arrived == 2 }
            let ping = Task { try await pinger.send(Ping(payload: Data(repeating: 1, count: 5_000)), timeout: .seconds(30)) }
            try await eventually("the ping waits") { server.connectionsWaitingForRequestMemory == 1 }
            gate.open()
            #expect(try await ping.value.payload.count == 5_000)
            _ = try await (large.value, small.value)
            for connection in [first, second, pinger] { try await connection.close() }
        }
    }

    /// Streams build their next element whether or not the client reads the last: past the server's stream limit a
    /// new one is refused with OVERLOADED, and one may start again once another has ended.
    @Test(.timeLimit(.minutes(1)))
    func streamsPastTheLimitAreRefusedUntilOneEnds() async throws {
        let gate = Gate()
        var router = DatelineRouter()
        router.onStream(CountRequest.self) { request, writer, _ in
            try await writer.write(CountElement(value: 0, padding: ""))
            if request.count > 1 { await gate.wait() }
        }
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", maximumStreams: 1)
        let server = DatelineServer(configuration: configuration, router: router, logger: quietLogger)
        try await Self.running(server) { port in
            let connection = try await Self.connect(port)
            let first = Task {
                var count = 0
                for try await _ in try connection.stream(CountRequest(count: 2)) { count += 1 }
                return count
            }
            try await eventually("the first stream runs") { gate.arrived == 1 }
            let refusal = await #expect(throws: DatelineError.self) {
                for try await _ in try connection.stream(CountRequest(count: 1)) {}
            }
            #expect(refusal?.code == .overloaded)
            #expect(refusal?.message.contains("serving 1 streams") == true, "\(String(describing: refusal))")
            gate.open()
            #expect(try await first.value == 1)
            try await eventually("the stream has ended") { server.runningStreams == 0 }
            var again = 0
            for try await _ in try connection.stream(CountRequest(count: 1)) { again += 1 }
            #expect(again == 1)
            try await connection.close()
        }
    }
}
