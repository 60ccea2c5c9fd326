import NIOCore
import NIOEmbedded
import Testing

@testable import DatelineProtocol

/// Records what the frame handler passes on: events, errors, the ends of reads and inactivity, in order; on
/// request it sends more bytes back into the pipeline from inside a read, as a handler further on may.
private final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = DatelineInboundEvent

    enum Entry: Equatable {
        case event(DatelineInboundEvent)
        case error(DatelineError.Code)
        case readComplete
        case inactive
    }

    var entries: [Entry] = []
    /// Bytes fired into the pipeline from within the first event's read.
    var reentrant: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.entries.append(.event(Self.unwrapInboundIn(data)))
        if let bytes = self.reentrant.take() { context.pipeline.fireChannelRead(bytes) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.entries.append(.readComplete) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.entries.append(.error((error as? DatelineError)?.code ?? .internal))
    }

    func channelInactive(context: ChannelHandlerContext) { self.entries.append(.inactive) }

    var events: [DatelineInboundEvent] {
        self.entries.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }
}

@Suite("Frame handler")
struct FrameHandlerTests {
    private func channel(_ recorder: EventRecorder, limits: DatelineFrameDecoder.Limits = .init()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(DatelineFrameHandler(DatelineFrameDecoder(limits: limits)))
        try channel.pipeline.syncOperations.addHandler(recorder)
        return channel
    }

    private func frames(_ ids: ClosedRange<UInt32>) throws -> [ByteBuffer] {
        try ids.map { try makeFrame(Fixtures.ping, type: .ping, correlationID: $0) }
    }

    private func expected(_ ids: ClosedRange<UInt32>) throws -> [DatelineInboundEvent] {
        try ids.map { .frame(DatelineFrame(messageType: .ping, correlationID: $0, payload: try DatelinePayload.encode(Fixtures.ping))) }
    }

    @Test func passesOnThePrefaceAndEveryFrameHoweverTheBytesArrive() throws {
        var stream = ByteBuffer(bytes: DatelinePreface.bytes())
        for var frame in try self.frames(1...5) { stream.writeBuffer(&frame) }
        let all = stream
        // One read holding everything; then byte by byte; then in uneven pieces that cut headers and payloads.
        for pieces in [[all.readableBytes], [Int](repeating: 1, count: all.readableBytes), [3, 9, 14, 2, 30, 1, 17]] {
            let recorder = EventRecorder()
            let channel = try self.channel(recorder)
            var rest = all
            for size in pieces where rest.readableBytes > 0 {
                try channel.writeInbound(rest.readSlice(length: min(size, rest.readableBytes))!)
            }
            if rest.readableBytes > 0 { try channel.writeInbound(rest) }
            #expect(recorder.events == [.preface(version: 1)] + (try self.expected(1...5)), "pieces \(pieces.prefix(3))")
            #expect(!recorder.entries.contains { if case .error = $0 { true } else { false } })
            _ = try channel.finish()
        }
    }

    @Test func aReadArrivingWhileFramesArePassedOnIsDecodedAfterThemInOrder() throws {
        let recorder = EventRecorder()
        let channel = try self.channel(recorder)
        var first = ByteBuffer(bytes: DatelinePreface.bytes())
        for var frame in try self.frames(1...2) { first.writeBuffer(&frame) }
        var second = ByteBuffer()
        for var frame in try self.frames(3...4) { second.writeBuffer(&frame) }
        recorder.reentrant = second  // fired from within the preface's read, before frames 1 and 2 are passed on
        try channel.writeInbound(first)
        #expect(recorder.events == [.preface(version: 1)] + (try self.expected(1...4)))
        _ = try channel.finish()
    }

    @Test func aDecodingErrorIsReportedOnceAndNothingIsReadAfterIt() throws {
        let recorder = EventRecorder()
        let channel = try self.channel(recorder, limits: .init(maximumFrameSize: 64))
        var stream = ByteBuffer(bytes: DatelinePreface.bytes())
        var good = try makeFrame(Fixtures.ping, type: .ping, correlationID: 1)
        stream.writeBuffer(&good)
        stream.writeInteger(UInt32(1_000))  // a frame of 1,000 bytes, over the limit: refused from its first five bytes
        stream.writeInteger(DatelineFrame.Flags.endStream.rawValue)
        try channel.writeInbound(stream)
        try channel.writeInbound(try self.frames(2...2)[0])  // after the error: dropped
        channel.pipeline.fireChannelInactive()
        #expect(recorder.entries.filter { $0 != .readComplete } == [.event(.preface(version: 1))] + (try self.expected(1...1)).map { .event($0) } + [.error(.frameTooLarge), .inactive])
        _ = try? channel.finish()
    }

    @Test func aFrameCutShortByTheCloseIsReportedBeforeTheCloseItself() throws {
        let recorder = EventRecorder()
        let channel = try self.channel(recorder)
        var stream = ByteBuffer(bytes: DatelinePreface.bytes())
        var frame = try self.frames(1...1)[0]
        stream.writeBuffer(&frame)
        var cut = try self.frames(2...2)[0]
        var head = cut.readSlice(length: cut.readableBytes - 2)!
        stream.writeBuffer(&head)
        try channel.writeInbound(stream)
        channel.pipeline.fireChannelInactive()
        #expect(recorder.entries.filter { $0 != .readComplete } == [.event(.preface(version: 1))] + (try self.expected(1...1)).map { .event($0) } + [.error(.badFrame), .inactive])
        // A preface cut short likewise.
        let other = EventRecorder()
        let second = try self.channel(other)
        try second.writeInbound(ByteBuffer(bytes: DatelinePreface.bytes().prefix(5)))
        second.pipeline.fireChannelInactive()
        #expect(other.entries.filter { $0 != .readComplete } == [.error(.badFrame), .inactive])
        _ = try? channel.finish()
        _ = try? second.finish()
    }
}
