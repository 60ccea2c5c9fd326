import DatelineProtocol
import Testing

@testable import DatelineWire

@Suite("Captures: pcap and pcapng, link layers, TCP reassembly")
struct CaptureDecodingTests {
    /// The frames and problems decoding `file` finds, in capture order.
    static func decode(_ file: [UInt8]) throws -> (frames: [(context: DatelineCaptureDecoder.StreamContext, frame: DatelineInspectedFrame)], records: [DatelineCaptureDecoder.Record]) {
        let contents = try DatelineCaptureFile.read(file)
        #expect(contents.problem == nil)
        var decoder = DatelineCaptureDecoder()
        var records = contents.packets.flatMap { decoder.receive($0) }
        records += decoder.finish()
        let frames = records.compactMap { record -> (DatelineCaptureDecoder.StreamContext, DatelineInspectedFrame)? in
            guard case .wire(.frame(let frame)) = record.event, let context = record.stream else { return nil }
            return (context, frame)
        }
        return (frames, records)
    }

    static func expectScenario(_ file: [UInt8], _ label: String) throws {
        let (frames, records) = try self.decode(file)
        let problems = records.compactMap { record -> DatelineWireProblem? in
            if case .wire(let wire) = record.event { return wire.problem }
            return nil
        }
        #expect(problems.isEmpty, "\(label): \(problems)")
        #expect(frames.map(\.frame.header.messageType.name) == Scenario.expectedFrames.map(\.name), "\(label)")
        #expect(frames.map(\.context.isFromClient) == Scenario.expectedFrames.map(\.fromClient), "\(label)")
        #expect(frames.map(\.frame.offset) == Scenario.expectedFrames.map(\.offset), "\(label)")
        #expect(frames.allSatisfy { $0.frame.message != nil }, "\(label)")
        #expect(Set(frames.map(\.context.connection)) == [1], "\(label)")
        let prefaces = records.filter { if case .wire(.preface(0, 1)) = $0.event { true } else { false } }
        #expect(prefaces.count == 2, "\(label): both sides' prefaces")
        guard case .connection(1, let client, let server) = records.first?.event else {
            Issue.record("\(label): the first record is not the connection")
            return
        }
        #expect(client.port >= 50_000 && [7400, 7401].contains(server.port), "\(label)")
        // Frames come out when the packet completing them was captured: Ping with packet 8, not 7.
        let ping = records.first { if case .wire(.frame(let frame)) = $0.event { frame.header.messageType == .ping } else { false } }
        #expect(ping?.packetNumber == 8, "\(label)")
    }

    @Test func aHandshakeRequestAndResponseDecodeInBothDirectionsDespiteSplitReorderedAndRepeatedSegments() throws {
        try Self.expectScenario(Scenario.capture().pcap(), "Ethernet, IPv4, pcap")
    }

    @Test(arguments: [CaptureBuilder.Link.ethernet, .sll, .sll2, .rawIP, .loopback])
    func everyLinkTypeAndIPVersionDecodes(link: CaptureBuilder.Link) throws {
        for ipv6 in [false, true] {
            let capture = Scenario.capture(link: link, ipv6: ipv6)
            try Self.expectScenario(capture.pcap(), "\(link), \(ipv6 ? "IPv6" : "IPv4"), pcap")
            try Self.expectScenario(capture.pcapng(), "\(link), \(ipv6 ? "IPv6" : "IPv4"), pcapng")
        }
    }

    @Test func bothByteOrdersAndTimestampResolutionsOfPcapRead() throws {
        let capture = Scenario.capture()
        for bigEndian in [false, true] {
            for nanoseconds in [false, true] {
                let contents = try DatelineCaptureFile.read(capture.pcap(bigEndian: bigEndian, nanoseconds: nanoseconds))
                #expect(contents.packets.count == 12)
                #expect(contents.packets[3].timestamp == CaptureTimestamp(seconds: 1_754_300_000, nanoseconds: 3_000_000))
                #expect(contents.packets[3].linkType == 1)
                try Self.expectScenario(capture.pcap(bigEndian: bigEndian, nanoseconds: nanoseconds), "bigEndian \(bigEndian), ns \(nanoseconds)")
            }
        }
        let pcapng = try DatelineCaptureFile.read(capture.pcapng())
        #expect(pcapng.packets[3].timestamp == CaptureTimestamp(seconds: 1_754_300_000, nanoseconds: 3_000_000))
    }

    @Test func bytesNeverCapturedAreAGapThatStopsOnlyTheirDirection() throws {
        var conversation = TCPConversation()
        var capture = CaptureBuilder()
        for segment in conversation.handshake() { capture.append(segment) }
        capture.append(conversation.send(Scenario.preface + Vectors.frame("hello").bytes, fromClient: true))
        capture.append(conversation.send(Scenario.preface + Vectors.frame("welcome").bytes, fromClient: false))
        _ = conversation.send(Vectors.frame("ping").bytes, fromClient: true)  // lost
        capture.append(conversation.send(Vectors.frame("health-request").bytes, fromClient: true))
        capture.append(conversation.send(Vectors.frame("pong").bytes, fromClient: false))
        let (frames, records) = try Self.decode(capture.pcap())
        #expect(frames.map(\.frame.header.messageType.name) == ["Hello", "Welcome", "Pong"])
        let gaps = records.compactMap { record -> (DatelineCaptureDecoder.StreamContext?, DatelineWireProblem)? in
            guard case .wire(.problem(let problem)) = record.event else { return nil }
            return (record.stream, problem)
        }
        #expect(gaps.count == 1)
        #expect(gaps.first?.1.code == .captureGap)
        #expect(gaps.first?.1.offset == 8 + Vectors.frame("hello").bytes.count)
        #expect(gaps.first?.1.message.contains("\(Vectors.frame("ping").bytes.count) bytes") == true)
        #expect(gaps.first?.0?.isFromClient == true)
    }

    @Test func aCaptureCutShortKeepsItsPacketsAndSaysWhere() throws {
        let file = Scenario.capture().pcap()
        let contents = try DatelineCaptureFile.read(Array(file.dropLast(10)))
        #expect(contents.packets.count == 11)
        #expect(contents.problem?.message.contains("packet 12") == true)
        #expect(throws: DatelineCaptureFile.ReadError.self) { try DatelineCaptureFile.read([1, 2, 3, 4, 5]) }
    }

    @Test func otherTCPTrafficIsPassedOverAndMidStreamCapturesUseThePorts() throws {
        var capture = CaptureBuilder()
        var http = TCPConversation(server: .init(address: [10, 0, 0, 3], port: 80))
        for segment in http.handshake() { capture.append(segment) }
        capture.append(http.send(Array("GET / HTTP/1.1\r\n\r\n".utf8), fromClient: true))
        // A Dateline connection whose start was not captured: no SYN, no preface; port 7401 tells.
        var dateline = TCPConversation(server: .init(address: [10, 0, 0, 2], port: 7401))
        capture.append(dateline.send(Vectors.frame("search-response").bytes, fromClient: false))
        capture.append(dateline.send(Vectors.frame("search-request").bytes, fromClient: true))
        var decoder = DatelineCaptureDecoder()
        let records = try DatelineCaptureFile.read(capture.pcap()).packets.flatMap { decoder.receive($0) } + decoder.finish()
        #expect(decoder.ignoredConnectionCount == 1)
        let frames = records.compactMap { record -> (Bool, String)? in
            guard case .wire(.frame(let frame)) = record.event else { return nil }
            return (record.stream!.isFromClient, frame.header.messageType.name)
        }
        #expect(frames.map(\.0) == [false, true])
        #expect(frames.map(\.1) == ["SearchResponse", "SearchRequest"])
    }

    @Test func unsupportedLinkTypesAreReportedOnce() throws {
        var capture = CaptureBuilder()
        capture.appendRaw([1, 2, 3])
        capture.appendRaw([1, 2, 3])
        var file = capture.pcap()
        file[20] = 105  // IEEE 802.11
        var decoder = DatelineCaptureDecoder()
        let records = try DatelineCaptureFile.read(file).packets.flatMap { decoder.receive($0) }
        #expect(records.count == 1)
        guard case .wire(.problem(let problem)) = records.first?.event else {
            Issue.record("no problem reported")
            return
        }
        #expect(problem.code == .unreadablePacket)
        #expect(problem.message.contains("link type 105 is not supported"))
        #expect(problem.offset == 24)
    }
}

@Suite("TCP reassembly")
struct TCPStreamReassemblerTests {
    @Test func segmentsOutOfOrderRepeatedAndOverlappingComeOutOnceInOrder() {
        var stream = TCPStreamReassembler()
        stream.synchronize(initialSequenceNumber: 99)
        #expect(stream.receive(sequenceNumber: 105, payload: [5, 6, 7]) == [])
        #expect(stream.gap == .init(offset: 0, missingByteCount: 5, heldByteCount: 3))
        #expect(stream.receive(sequenceNumber: 100, payload: [0, 1, 2]) == [0, 1, 2])
        #expect(stream.receive(sequenceNumber: 100, payload: [0, 1, 2]) == [])
        #expect(stream.receive(sequenceNumber: 102, payload: [2, 3, 4, 5]) == [3, 4, 5, 6, 7])
        #expect(stream.gap == nil)
        #expect(stream.receive(sequenceNumber: 106, payload: [6, 7, 8, 9]) == [8, 9])
        #expect(stream.deliveredByteCount == 10)
        #expect(stream.duplicateByteCount > 0)
    }

    @Test func sequenceNumbersWrapAround() {
        var stream = TCPStreamReassembler()
        stream.synchronize(initialSequenceNumber: UInt32.max - 2)
        #expect(stream.receive(sequenceNumber: UInt32.max - 1, payload: [0, 1, 2, 3]) == [0, 1, 2, 3])
        #expect(stream.receive(sequenceNumber: 4, payload: [6, 7]) == [])
        #expect(stream.receive(sequenceNumber: 2, payload: [4, 5]) == [4, 5, 6, 7])
    }

    @Test func withoutASynTheFirstSegmentStartsTheStream() {
        var stream = TCPStreamReassembler()
        #expect(stream.receive(sequenceNumber: 7_000, payload: [1, 2]) == [1, 2])
        #expect(stream.receive(sequenceNumber: 7_002, payload: [3]) == [3])
    }
}
