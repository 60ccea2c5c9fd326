import Foundation
import NIOCore
import Synchronization
import Testing

@testable import DatelineProtocol

@Suite("Real server and client over loopback")
struct LoopbackTests {
    func connect(_ port: Int, _ configuration: DatelineClientConfiguration = .init()) async throws -> DatelineClientConnection {
        try await DatelineClientConnection.connect(host: "127.0.0.1", port: port, configuration: configuration)
    }

    @Test func handshakePingAndBuiltInHealth() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            #expect(connection.welcome.serverName == "dateline-test/0.1.0")
            #expect(connection.welcome.schemaFingerprint == DatelineSchema.fingerprint)
            let rtt = try await connection.ping(payload: Data("hello".utf8))
            #expect(rtt > .zero)
            let timed = try await connection.sendTimed(HealthRequest())
            #expect(timed.message.status == .serving)
            #expect(timed.message.service == "dateline-test")
            #expect(timed.serverTime != nil)
            try await connection.close()
        }
    }

    @Test func pipelinedRequestsGetTheirOwnRepliesInAnyOrder() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            let completionOrder = LockedList()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        // Early requests sleep longest, so replies come back in reverse.
                        let request = EchoRequest(text: "request-\(index)", delayMilliseconds: UInt32(5 * (40 - index)))
                        let response = try await connection.send(request)
                        #expect(response.text == "request-\(index)")
                        completionOrder.append(index)
                    }
                }
                try await group.waitForAll()
            }
            let order = completionOrder.values
            #expect(order.count == 40)
            #expect(order != order.sorted(), "replies should arrive out of order")
            try await connection.close()
        }
    }

    @Test func manyConcurrentRequestsThroughTheEventLoopAPI() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            let futures = (0..<2_000).map { connection.sendRequest(EchoRequest(text: "n\($0)")) }
            for (index, future) in futures.enumerated() {
                #expect(try await future.get().message.text == "n\(index)")
            }
            try await connection.close()
        }
    }

    @Test func deadlineExceededFailsTheRequestAndStopsTheServerWork() async throws {
        let observations = ServerObservations()
        try await withTestServer(observations: observations) { port, _ in
            let connection = try await self.connect(port)
            let error = await #expect(throws: DatelineError.self) {
                try await connection.send(EchoRequest(text: "slow", delayMilliseconds: 5_000), timeout: .milliseconds(100))
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(error?.isRetryable == true)
            try await waitUntil { observations.cancelledTexts.withLock { $0 } == ["slow"] }
            // The connection is still usable.
            #expect(try await connection.send(EchoRequest(text: "after")).text == "after")
            try await connection.close()
        }
    }

    @Test func cancellingTheCallingTaskCancelsTheRequestOnTheServer() async throws {
        let observations = ServerObservations()
        try await withTestServer(observations: observations) { port, _ in
            let connection = try await self.connect(port)
            let task = Task { try await connection.send(EchoRequest(text: "cancel-me", delayMilliseconds: 10_000)) }
            try await waitUntil { observations.startedTexts.withLock { $0.contains("cancel-me") } }
            task.cancel()
            let result = await task.result
            #expect(throws: DatelineError.self) { try result.get() }
            try await waitUntil { observations.cancelledTexts.withLock { $0 } == ["cancel-me"] }
            #expect(try await connection.send(EchoRequest(text: "still-ok")).text == "still-ok")
            try await connection.close()
        }
    }

    @Test func unknownMessageTypeGetsAnErrorAndTheConnectionStaysUsable() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            let error = await #expect(throws: DatelineError.self) { try await connection.send(UnknownRequest()) }
            #expect(error?.code == .unknownMessageType)
            #expect(error?.message.contains("0x7777") == true)
            #expect(try await connection.send(EchoRequest(text: "ok")).text == "ok")
            try await connection.close()
        }
    }

    @Test func handlerErrorsReachTheClientWithTheirCodes() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            let notFound = await #expect(throws: DatelineError.self) { try await connection.send(EchoRequest(text: "fail")) }
            #expect(notFound?.code == .notFound)
            #expect(notFound?.message == "no such thing")
            let internalError = await #expect(throws: DatelineError.self) { try await connection.send(EchoRequest(text: "crash")) }
            #expect(internalError?.code == .internal)
            #expect(internalError?.message.contains("see its log") == true)
            try await connection.close()
        }
    }

    @Test func streamsDeliverEveryElementInOrder() async throws {
        try await withTestServer { port, _ in
            let connection = try await self.connect(port)
            var values: [UInt32] = []
            for try await element in try connection.stream(CountRequest(count: 1_000)) {
                values.append(element.value)
            }
            #expect(values == Array(0..<1_000))
            // An empty stream ends at once.
            var none = 0
            for try await _ in try connection.stream(CountRequest(count: 0)) { none += 1 }
            #expect(none == 0)
            try await connection.close()
        }
    }

    @Test func aSlowStreamConsumerHoldsTheServerBack() async throws {
        let observations = ServerObservations()
        try await withTestServer(observations: observations) { port, _ in
            let connection = try await self.connect(port, .init(compression: .disabled))
            // 2,000 elements of 32 KiB (64 MiB): far more than the server's 1 MiB high-water mark plus what the
            // kernel's loopback socket buffers can hold (they autotune to several MiB each way, up to ~10 MiB in
            // all), so the margin does not depend on how busy the machine is.
            let count = 2_000
            var received = 0
            for try await element in try connection.stream(CountRequest(count: UInt32(count), delayMilliseconds: 32 << 10)) {
                #expect(element.value == UInt32(received))
                received += 1
                observations.consumedByClient.store(received, ordering: .relaxed)
                if received % 10 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(received == count)
            let consumedWhenServerFinished = try #require(observations.streamFinishedAfterConsumed.withLock { $0 })
            // Without backpressure the server would finish while the client had consumed almost nothing; with it,
            // it can run ahead only by the high-water mark and the socket buffers (~350 elements at most).
            #expect(consumedWhenServerFinished > count / 2, "server finished writing when the client had read only \(consumedWhenServerFinished)")
            try await connection.close()
        }
    }

    @Test func aServerWithATokenRefusesClientsWithoutIt() async throws {
        let configuration = DatelineServerConfiguration(serviceName: "dateline-test", token: "open-sesame")
        try await withTestServer(configuration: configuration) { port, _ in
            for token in [nil, "wrong", "open-sesame-but-longer"] {
                let error = await #expect(throws: DatelineError.self) {
                    try await self.connect(port, .init(token: token))
                }
                #expect(error?.code == .unauthorized)
            }
            let connection = try await self.connect(port, .init(token: "open-sesame"))
            #expect(try await connection.send(EchoRequest(text: "in")).text == "in")
            try await connection.close()
            // Frames before Hello are refused too.
            let (reply, closed) = try await RawConnection.exchange(
                port: port,
                bytes: DatelinePreface.bytes() + (try rawFrame(EchoRequest(text: "sneak"), type: EchoRequest.messageType, correlationID: 1))
            )
            #expect(closed)
            #expect(RawConnection.errors(RawConnection.events(reply)).map(\.code) == [.unauthorized])
        }
    }

    @Test func wrongPeersAreTurnedAwayWithinTheFirstBytes() async throws {
        try await withTestServer { port, _ in
            // HTTP and TLS: closed without a reply.
            for bytes in [Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]] {
                let (reply, closed) = try await RawConnection.exchange(port: port, bytes: bytes)
                #expect(closed)
                #expect(reply.readableBytes == 0)
            }
            // A future protocol version: the server's preface, then UNSUPPORTED_VERSION.
            let (reply, closed) = try await RawConnection.exchange(port: port, bytes: DatelinePreface.bytes(version: 2))
            #expect(closed)
            let events = RawConnection.events(reply)
            #expect(events.first == .preface(version: 1))
            #expect(RawConnection.errors(events).map(\.code) == [.unsupportedVersion])
        }
    }

    @Test func aClientBuiltFromAnotherSchemaIsRefusedAtHello() async throws {
        try await withTestServer { port, _ in
            var hello = Hello(clientName: "old-build/0.0.1")
            hello.schemaFingerprint = "0123456789abcdef"
            let (reply, closed) = try await RawConnection.exchange(
                port: port,
                bytes: DatelinePreface.bytes() + (try rawFrame(hello, type: .hello, correlationID: 0))
            )
            #expect(closed)
            let errors = RawConnection.errors(RawConnection.events(reply))
            #expect(errors.map(\.code) == [.schemaMismatch])
            #expect(errors.first?.message.contains("0123456789abcdef") == true)
        }
    }

    @Test func anOversizedFrameClosesOnlyThatConnection() async throws {
        var configuration = DatelineServerConfiguration(serviceName: "dateline-test")
        configuration.limits = .init(maximumFrameSize: 1 << 20, maximumDecompressedSize: 1 << 20)
        try await withTestServer(configuration: configuration) { port, _ in
            let hello = try rawFrame(Hello(clientName: "raw"), type: .hello, correlationID: 0)
            // A header declaring 100 MB, and nothing after it: rejected from the header alone.
            let header: [UInt8] = [0x05, 0xF5, 0xE1, 0x00, 0x02, 0x7F, 0x01, 0x00, 0x00, 0x00, 0x01]
            let (reply, closed) = try await RawConnection.exchange(port: port, bytes: DatelinePreface.bytes() + hello + header)
            #expect(closed)
            let errors = RawConnection.errors(RawConnection.events(reply))
            #expect(errors.map(\.code) == [.frameTooLarge])
            // Others are unaffected.
            let connection = try await self.connect(port)
            #expect(try await connection.send(EchoRequest(text: "fine")).text == "fine")
            try await connection.close()
        }
    }

    @Test func theClientRespectsTheGrantedInFlightLimitAndTheServerEnforcesIt() async throws {
        var configuration = DatelineServerConfiguration(serviceName: "dateline-test")
        configuration.maximumInFlightPerConnection = 2
        try await withTestServer(configuration: configuration) { port, _ in
            let connection = try await self.connect(port)
            #expect(connection.welcome.maximumInFlight == 2)
            let codes = try await withThrowingTaskGroup(of: DatelineError.Code?.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        do {
                            _ = try await connection.send(EchoRequest(text: "\(index)", delayMilliseconds: 300))
                            return nil
                        } catch let error as DatelineError {
                            return error.code
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // The client keeps only two on the wire and queues the rest, so all succeed.
            #expect(codes.allSatisfy { $0 == nil })
            try await connection.close()
            // A client that ignores the limit is refused with OVERLOADED.
            let requests = try (1...4).flatMap {
                try rawFrame(EchoRequest(text: "\($0)", delayMilliseconds: 300), type: EchoRequest.messageType, correlationID: UInt32($0))
            }
            let (reply, _) = try await RawConnection.exchange(
                port: port,
                bytes: DatelinePreface.bytes() + (try rawFrame(Hello(clientName: "greedy"), type: .hello, correlationID: 0)) + requests,
                timeout: .seconds(3)
            )
            #expect(RawConnection.errors(RawConnection.events(reply)).map(\.code) == [.overloaded, .overloaded])
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequestsAndRefusesNewOnes() async throws {
        let observations = ServerObservations()
        try await withTestServer(observations: observations) { port, shutdown in
            let connection = try await self.connect(port)
            let slow = Task { try await connection.send(EchoRequest(text: "in-flight", delayMilliseconds: 3_000)) }
            // Shut down once the slow request is being handled (an event, not a guess at how long that takes).
            while !observations.startedTexts.withLock({ $0.contains("in-flight") }) { try await Task.sleep(for: .milliseconds(2)) }
            shutdown()
            // Once the GoAway has arrived, new requests are refused (retryable) while the slow one goes on.
            var refused: DatelineError?
            // Generous: under load the shutdown may take a while to reach the connection; if it only arrives after the
            // slow request, the refusal is the closed connection, which is UNAVAILABLE too.
            let deadline = ContinuousClock.now + .seconds(20)
            while refused == nil, ContinuousClock.now < deadline {
                do {
                    _ = try await connection.send(EchoRequest(text: "late"))
                    try await Task.sleep(for: .milliseconds(20))
                } catch let error as DatelineError {
                    refused = error
                }
            }
            #expect(refused?.code == .unavailable)
            #expect(refused?.isRetryable == true)
            #expect(try await slow.value.text == "in-flight")
            #expect(observations.cancelledTexts.withLock { $0 }.isEmpty)
        }
    }

    @Test func healthSaysDrainingDuringShutdownWhileOtherRequestsAreRefused() async throws {
        let observations = ServerObservations()
        try await withTestServer(observations: observations) { port, shutdown in
            let hello = try rawFrame(Hello(clientName: "raw"), type: .hello, correlationID: 0)
            let slow = try rawFrame(EchoRequest(text: "slow", delayMilliseconds: 5_000), type: EchoRequest.messageType, correlationID: 1)
            let health = try rawFrame(HealthRequest(), type: .healthRequest, correlationID: 2)
            let echo = try rawFrame(EchoRequest(text: "late"), type: EchoRequest.messageType, correlationID: 3)
            async let exchange = RawConnection.exchange(
                port: port,
                bytes: DatelinePreface.bytes() + hello + slow,
                later: health + echo,
                waitForGoAway: true,
                timeout: .seconds(30)
            )
            // Shut down once the slow request is being handled (an event, not a guess at how long that takes).
            while !observations.startedTexts.withLock({ $0.contains("slow") }) { try await Task.sleep(for: .milliseconds(2)) }
            shutdown()
            let (reply, closed) = try await exchange
            #expect(closed, "the server closes the connection once the slow request is done")
            var frames: [UInt32: DatelineFrame] = [:]
            var sawGoAway = false
            for case .frame(let frame) in RawConnection.events(reply) {
                if frame.messageType == .goAway { sawGoAway = true } else { frames[frame.correlationID] = frame }
            }
            #expect(sawGoAway)
            let healthReply = try #require(frames[2])
            #expect(try DatelineBinaryDecoder().decode(HealthResponse.self, from: healthReply.payload).status == .draining)
            let lateReply = try #require(frames[3])
            #expect(try DatelineBinaryDecoder().decode(ErrorMessage.self, from: lateReply.payload).error.code == .unavailable)
            let slowReply = try #require(frames[1])
            #expect(try DatelineBinaryDecoder().decode(EchoResponse.self, from: slowReply.payload).text == "slow")
        }
    }

    @Test func aClientTalkingToTheWrongServerFailsClearly() async throws {
        // An HTTP server answering our preface with an HTTP error.
        let http = try await RawServer.start(reply: Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
        let httpError = await #expect(throws: DatelineError.self) { try await self.connect(http.port) }
        #expect(httpError?.code == .badFrame)
        #expect(httpError?.message.contains("look like HTTP") == true)
        try await http.stop()
        // A server that accepts and says nothing: the handshake times out.
        let silent = try await RawServer.start(reply: nil)
        let clock = ContinuousClock()
        let start = clock.now
        let silentError = await #expect(throws: DatelineError.self) {
            try await self.connect(silent.port, .init(connectTimeout: .milliseconds(300)))
        }
        #expect(silentError?.code == .unavailable)
        #expect(silentError?.message.contains("did not complete the handshake") == true)
        #expect(clock.now - start < .seconds(5))
        try await silent.stop()
    }

    @Test func connectingToNothingSaysSo() async throws {
        // Bind and release a port so that nothing listens on it.
        let port = try await withTestServer { port, _ in port }
        let error = await #expect(throws: DatelineError.self) { try await self.connect(port) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("cannot reach 127.0.0.1:\(port)") == true)
    }
}

/// Polls `condition` for up to twenty seconds (a bound on hanging, not a performance assertion).
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("condition not met within 20 s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

final class LockedList: Sendable {
    private let storage = Mutex<[Int]>([])
    func append(_ value: Int) { self.storage.withLock { $0.append(value) } }
    var values: [Int] { self.storage.withLock { $0 } }
}
