import DatelineProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Round trips over loopback: Dateline versus a bare SwiftNIO length-prefixed echo, measured in one run,
/// each with its server and its client on their own event-loop thread.
enum RoundTripBenchmark {
    // MARK: The baseline: a bare length-prefixed echo

    struct LengthPrefixedDecoder: NIOSingleStepByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                buffer.readableBytes >= 4 + Int(length)
            else { return nil }
            return buffer.readSlice(length: 4 + Int(length))
        }
        mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
            try self.decode(buffer: &buffer)
        }
    }

    final class EchoServerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.write(data, promise: nil) }
        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    }

    /// Drives `total` round trips with `window` in flight; records each round trip's latency.
    final class EchoClientHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let total: Int
        let window: Int
        let done: EventLoopPromise<[Double]>
        var sent = 0
        var received = 0
        var sendTimes = CircularBuffer<NIODeadline>()
        var latencies: [Double] = []
        let request: ByteBuffer

        init(total: Int, window: Int, done: EventLoopPromise<[Double]>) {
            self.total = total
            self.window = window
            self.done = done
            var request = ByteBuffer()
            request.writeInteger(UInt32(16))
            request.writeRepeatingByte(0x5A, count: 16)
            self.request = request
            self.latencies.reserveCapacity(total)
        }

        func channelActive(context: ChannelHandlerContext) {
            for _ in 0..<min(self.window, self.total) { self.send(context: context) }
            context.flush()
        }

        func send(context: ChannelHandlerContext) {
            self.sent += 1
            self.sendTimes.append(.now())
            context.write(self.wrapOutboundOut(self.request), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let start = self.sendTimes.removeFirst()
            self.latencies.append(Double((NIODeadline.now() - start).nanoseconds) / 1e9)
            self.received += 1
            if self.sent < self.total { self.send(context: context) }
            if self.received == self.total { self.done.succeed(self.latencies) }
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    }

    struct Result {
        var perSecond: Double
        var p50: Double
        var p99: Double
    }

    static func summarize(_ latencies: [Double], elapsed: Double) -> Result {
        let sorted = latencies.sorted()
        return Result(perSecond: Double(latencies.count) / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99))
    }

    static func echo(port: Int, connections: Int, window: Int, total: Int, group: any EventLoopGroup) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let perConnection = total / connections
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { tasks in
            for _ in 0..<connections {
                tasks.addTask {
                    let done = group.any().makePromise(of: [Double].self)
                    let channel = try await ClientBootstrap(group: group)
                        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedDecoder()))
                                try channel.pipeline.syncOperations.addHandler(EchoClientHandler(total: perConnection, window: window, done: done))
                            }
                        }
                        .connect(host: "127.0.0.1", port: port).get()
                    let latencies = try await done.futureResult.get()
                    try await channel.close()
                    return latencies
                }
            }
            return try await tasks.reduce(into: []) { $0 += $1 }
        }
        return self.summarize(latencies, elapsed: (clock.now - start).seconds)
    }

    // MARK: Dateline

    /// Keeps `window` requests in flight on `connection` until `total` are done, from the event loop.
    static func dateline<Request: DatelineRequest>(
        _ connection: DatelineClientConnection,
        request: Request,
        window: Int,
        total: Int
    ) async throws -> [Double] {
        let eventLoop = connection.eventLoop
        let done = eventLoop.makePromise(of: [Double].self)
        eventLoop.execute {
            var latencies: [Double] = []
            latencies.reserveCapacity(total)
            var sent = 0
            var received = 0
            func send() {
                sent += 1
                let start = NIODeadline.now()
                connection.sendRequest(request, timeout: nil).whenComplete { result in
                    if case .failure(let error) = result { done.fail(error); return }
                    latencies.append(Double((NIODeadline.now() - start).nanoseconds) / 1e9)
                    received += 1
                    if sent < total { send() }
                    if received == total { done.succeed(latencies) }
                }
            }
            for _ in 0..<min(window, total) { send() }
        }
        return try await done.futureResult.get()
    }

    static func dateline<Request: DatelineRequest>(
        port: Int,
        request: Request,
        connections: Int,
        window: Int,
        total: Int,
        group: any EventLoopGroup,
        configuration: DatelineClientConfiguration = .init(requestTimeout: nil)
    ) async throws -> Result {
        var opened: [DatelineClientConnection] = []
        for _ in 0..<connections {
            opened.append(try await DatelineClientConnection.connect(host: "127.0.0.1", port: port, configuration: configuration, eventLoopGroup: group))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { tasks in
            for connection in opened {
                tasks.addTask { try await self.dateline(connection, request: request, window: window, total: total / connections) }
            }
            return try await tasks.reduce(into: []) { $0 += $1 }
        }
        let result = self.summarize(latencies, elapsed: (clock.now - start).seconds)
        for connection in opened { try await connection.close() }
        return result
    }

    static func datelineAsync(port: Int, total: Int, group: any EventLoopGroup) async throws -> Result {
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port, configuration: .init(requestTimeout: nil), eventLoopGroup: group)
        let clock = ContinuousClock()
        var latencies: [Double] = []
        let start = clock.now
        for _ in 0..<total {
            let begin = clock.now
            _ = try await connection.send(SampleMessages.ping)
            latencies.append((clock.now - begin).seconds)
        }
        let result = self.summarize(latencies, elapsed: (clock.now - start).seconds)
        try await connection.close()
        return result
    }

    /// Pings with `window` in flight on one connection for about `seconds`, for a profiler to watch
    /// (`DatelineBenchmarks --profile-pings WINDOW`).
    static func profilePings(window: Int, seconds: Double) async throws {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = DatelineServer(
            configuration: .init(serviceName: "dateline-bench"),
            router: DatelineRouter(),
            eventLoopGroup: serverGroup,
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let serverTask = Task { try await server.run() }
        let port = try await server.listeningAddress().port!
        let clock = ContinuousClock()
        let start = clock.now
        while (clock.now - start).seconds < seconds {
            let result = try await self.dateline(port: port, request: SampleMessages.ping, connections: 1, window: window, total: 100_000, group: clientGroup)
            print("\(Int(result.perSecond)) pings/s, p50 \(micros(result.p50))")
        }
        serverTask.cancel()
        _ = await serverTask.result
        try await serverGroup.shutdownGracefully()
        try await clientGroup.shutdownGracefully()
    }

    // MARK: Report

    static func report(quick: Bool) async throws -> String {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echoChannel = try await ServerBootstrap(group: serverGroup)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedDecoder()))
                    try channel.pipeline.syncOperations.addHandler(EchoServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let echoPort = echoChannel.localAddress!.port!

        let searchResult = SampleMessages.searchResult()
        var router = DatelineRouter()
        router.onEventLoop(SearchRequest.self) { _, _ in searchResult }
        router.on(IngestRequest.self) { request, _ in
            IngestResponse(
                results: request.articles.indices.map { IngestResult(index: UInt32($0), status: .accepted, articleID: "a-\($0)", offset: UInt64($0)) },
                endOffset: UInt64(request.articles.count)
            )
        }
        let server = DatelineServer(
            configuration: .init(serviceName: "dateline-bench"),
            router: router,
            eventLoopGroup: serverGroup,
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let serverTask = Task { try await server.run() }
        let port = try await server.listeningAddress().port!

        let sequential = quick ? 5_000 : 20_000
        let pipelined = quick ? 50_000 : 200_000
        let runs = quick ? 1 : 3
        var rows: [(String, [Result], [Result])] = []
        func interleave(_ name: String, baseline: () async throws -> Result, ours: () async throws -> Result) async throws {
            var base: [Result] = []
            var mine: [Result] = []
            _ = try await baseline()  // warm-up
            _ = try await ours()
            for _ in 0..<runs {
                base.append(try await baseline())
                mine.append(try await ours())
            }
            rows.append((name, base, mine))
        }
        try await interleave("ping, 1 at a time, 1 connection") {
            try await self.echo(port: echoPort, connections: 1, window: 1, total: sequential, group: clientGroup)
        } ours: {
            try await self.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 1, total: sequential, group: clientGroup)
        }
        try await interleave("ping, 64 in flight, 1 connection") {
            try await self.echo(port: echoPort, connections: 1, window: 64, total: pipelined, group: clientGroup)
        } ours: {
            try await self.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 64, total: pipelined, group: clientGroup)
        }
        try await interleave("ping, 4 connections × 64 in flight") {
            try await self.echo(port: echoPort, connections: 4, window: 64, total: pipelined, group: clientGroup)
        } ours: {
            try await self.dateline(port: port, request: SampleMessages.ping, connections: 4, window: 64, total: pipelined, group: clientGroup)
        }
        try await interleave("ping, 1 at a time, async/await caller") {
            try await self.echo(port: echoPort, connections: 1, window: 1, total: sequential, group: clientGroup)
        } ours: {
            try await self.datelineAsync(port: port, total: sequential, group: clientGroup)
        }
        try await interleave("10-hit search reply (3.6 KB), 1 at a time") {
            try await self.echo(port: echoPort, connections: 1, window: 1, total: sequential / 2, group: clientGroup)
        } ours: {
            try await self.dateline(port: port, request: SearchRequest(query: "cocoa"), connections: 1, window: 1, total: sequential / 2, group: clientGroup)
        }
        try await interleave("100-article ingest batch (async handler), 1 at a time") {
            try await self.echo(port: echoPort, connections: 1, window: 1, total: sequential / 20, group: clientGroup)
        } ours: {
            try await self.dateline(port: port, request: SampleMessages.ingestBatch(), connections: 1, window: 1, total: sequential / 20, group: clientGroup)
        }

        // Bytes on the wire per round trip, one at a time (TCP/IP headers and ACKs included).
        let wireCount = 2_000
        let wirePing = try await loopbackBytesPerCall(wireCount) {
            _ = try await self.dateline(port: port, request: SampleMessages.ping, connections: 1, window: 1, total: wireCount, group: clientGroup)
        }
        let wireSearch = try await loopbackBytesPerCall(wireCount / 2) {
            _ = try await self.dateline(port: port, request: SearchRequest(query: "cocoa"), connections: 1, window: 1, total: wireCount / 2, group: clientGroup)
        }
        let wireIngest = try await loopbackBytesPerCall(wireCount / 20) {
            _ = try await self.dateline(port: port, request: SampleMessages.ingestBatch(), connections: 1, window: 1, total: wireCount / 20, group: clientGroup)
        }
        PeerFigures.record(["wirePing": wirePing ?? .nan, "wireSearch": wireSearch ?? .nan, "wireIngest": wireIngest ?? .nan])

        serverTask.cancel()
        _ = await serverTask.result
        try await echoChannel.close()
        try await serverGroup.shutdownGracefully()
        try await clientGroup.shutdownGracefully()

        func median(_ results: [Result], _ key: (Result) -> Double) -> Double { results.map(key).sorted()[results.count / 2] }
        // For the Redis comparison in Benchmarks/peers/peers.py.
        var figures: [String: Double] = [:]
        for (name, base, mine) in rows {
            if name == "ping, 1 at a time, 1 connection" { figures["pingSequential"] = median(mine, \.perSecond); figures["echoSequential"] = median(base, \.perSecond) }
            if name == "ping, 64 in flight, 1 connection" { figures["pingPipelined"] = median(mine, \.perSecond); figures["echoPipelined"] = median(base, \.perSecond) }
            if name.hasPrefix("10-hit search reply") { figures["searchSequential"] = median(mine, \.perSecond) }
            if name.hasPrefix("100-article ingest batch") { figures["ingestSequential"] = median(mine, \.perSecond) }
        }
        PeerFigures.record(figures)
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/peers")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]).write(to: directory.appendingPathComponent("roundtrips.json"))
        var text = """
            ### Round trips over loopback (server and client on one event-loop thread each; median of \(runs) interleaved runs)

            Baseline: a bare SwiftNIO echo of a 4-byte length prefix + 16-byte payload, the same client style.

            | shape | echo /s | Dateline /s | ratio | echo p50 | Dateline p50 | Dateline p99 |
            |---|---|---|---|---|---|---|

            """
        for (name, base, mine) in rows {
            let baseRate = median(base, \.perSecond)
            let mineRate = median(mine, \.perSecond)
            text += "| \(name) | \(Int(baseRate)) | \(Int(mineRate)) | **\(ratio(mineRate / baseRate))** | \(micros(median(base, \.p50))) | \(micros(median(mine, \.p50))) | \(micros(median(mine, \.p99))) |\n"
        }
        text += """

            Framing: 11-byte header per frame; +4 when compressed (uncompressed length), +4 on requests that carry a
            deadline, +4 on responses that report server time. A ping round trip costs 11 + 15 = 26 header bytes
            (13 per message); gRPC's HTTP/2 framing costs about 64.

            """
        return text
    }
}
