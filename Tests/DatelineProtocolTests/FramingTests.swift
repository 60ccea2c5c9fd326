import Foundation
import NIOCore
import NIOTestUtils
import Testing

@testable import DatelineProtocol

/// Builds frames the way a connection does.
func makeFrame(
    _ message: some Encodable,
    type: DatelineMessageType,
    correlationID: UInt32 = 1,
    flags: DatelineFrame.Flags = [.endStream],
    compression: DatelineCompressionConfiguration = .disabled,
    timeoutMilliseconds: UInt32? = nil,
    serverTimeMicroseconds: UInt32? = nil
) throws -> ByteBuffer {
    let writer = DatelineFrameWriter(configuration: compression)
    return try writer.frame(
        payload: try DatelinePayload.encode(message),
        type: type,
        flags: flags,
        correlationID: correlationID,
        timeoutMilliseconds: timeoutMilliseconds,
        serverTimeMicroseconds: serverTimeMicroseconds
    )
}

/// Runs the decoder over `bytes` as one connection would, returning its events or the error it stopped with.
func decodeStream(_ bytes: ByteBuffer, limits: DatelineFrameDecoder.Limits = .init()) -> (events: [DatelineInboundEvent], error: (any Error)?) {
    var decoder = DatelineFrameDecoder(limits: limits)
    var buffer = bytes
    var events: [DatelineInboundEvent] = []
    do {
        while let event = try decoder.decode(buffer: &buffer) { events.append(event) }
        if let event = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { events.append(event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

@Suite("Frame decoder, writer and compression")
struct FramingTests {
    @Test func decodesPrefaceAndFramesHoweverTheBytesArrive() throws {
        let ping = try makeFrame(Fixtures.ping, type: .ping, correlationID: 7, timeoutMilliseconds: 250)
        let big = try makeFrame(Fixtures.ingestRequest, type: .ingestRequest, correlationID: 8, compression: .init(mode: .always))
        let error = try makeFrame(Fixtures.error, type: .error, correlationID: 9, flags: [.error, .endStream], serverTimeMicroseconds: 42)
        let decodedPayload = try DatelinePayload.encode(Fixtures.ingestRequest)
        // The preface arrives once per connection: drip-feed it byte by byte, then a frame.
        var decoder = DatelineFrameDecoder()
        var buffer = ByteBuffer()
        var events: [DatelineInboundEvent] = []
        for byte in DatelinePreface.bytes() + Array(ping.readableBytesView) {
            buffer.writeInteger(byte)
            while let event = try decoder.decode(buffer: &buffer) { events.append(event) }
        }
        #expect(events.count == 2)
        #expect(events.first == .preface(version: 1))
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (ping, [.frame(DatelineFrame(messageType: .ping, correlationID: 7, timeoutMilliseconds: 250, payload: try DatelinePayload.encode(Fixtures.ping)))]),
                (big, [.frame(DatelineFrame(messageType: .ingestRequest, correlationID: 8, payload: decodedPayload, wasCompressed: true))]),
                (error, [.frame(DatelineFrame(messageType: .error, flags: [.error, .endStream], correlationID: 9, serverTimeMicroseconds: 42, payload: try DatelinePayload.encode(Fixtures.error)))]),
            ],
            decoderFactory: { DatelineFrameDecoder(expectsPreface: false) }
        )
    }

    @Test func frameHeaderIsElevenBytesPlusOptionalFields() throws {
        let payloadSize = try DatelinePayload.encode(Fixtures.ping).readableBytes
        #expect(try makeFrame(Fixtures.ping, type: .ping).readableBytes == 11 + payloadSize)
        #expect(try makeFrame(Fixtures.ping, type: .ping, timeoutMilliseconds: 5).readableBytes == 15 + payloadSize)
        #expect(try makeFrame(Fixtures.pong, type: .pong, serverTimeMicroseconds: 5).readableBytes == 15 + payloadSize)
        let frame = try makeFrame(Fixtures.ping, type: .ping, correlationID: 0x0102_0304)
        // length 6 | flags END_STREAM | type 0x0003 | correlation id, all big-endian.
        #expect(frame.hex.hasPrefix("00000006" + "02" + "0003" + "01020304"))
    }

    @Test func rejectsAnOversizedFrameFromItsFirstFiveBytes() throws {
        var decoder = DatelineFrameDecoder(limits: .init(maximumFrameSize: 1024), expectsPreface: false)
        var buffer = ByteBuffer(bytes: [0x00, 0x00, 0x04, 0x01, 0x02])  // 1025 bytes declared; nothing else sent
        let error = #expect(throws: DatelineError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message == "frame of 1025 bytes exceeds the limit of 1024 bytes")
    }

    /// Until the handshake's frame (Hello, Welcome) is in, a peer that has not identified itself may send at most
    /// 64 KiB, on the wire or decompressed; after it the usual limits apply.
    @Test func theFirstFrameAfterThePrefaceIsHeldToTheHandshakeLimit() throws {
        var decoder = DatelineFrameDecoder()
        var buffer = ByteBuffer(bytes: DatelinePreface.bytes() + [0x00, 0x01, 0x00, 0x01, 0x02])  // 65,537 bytes declared
        #expect(try decoder.decode(buffer: &buffer) == .preface(version: 1))
        let error = #expect(throws: DatelineError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message == "the first frame, of 65537 bytes, exceeds the handshake's limit of 65536 bytes")
        // Compressed, 10 bytes on the wire, 65,537 declared: refused too.
        var compressedDecoder = DatelineFrameDecoder()
        var compressed = ByteBuffer(bytes: DatelinePreface.bytes() + [0, 0, 0, 10, 0x03, 0x01, 0x00, 0, 0, 0, 1, 0x00, 0x01, 0x00, 0x01])
        _ = try compressedDecoder.decode(buffer: &compressed)
        #expect(throws: DatelineError.self) { try compressedDecoder.decode(buffer: &compressed) }

        // After a small first frame, a batch far above 64 KiB is a frame like any other.
        let hello = try makeFrame(Fixtures.hello, type: .hello, correlationID: 0)
        let articles = (0..<20).map { ArticleSubmission(body: "Story \($0): " + String(repeating: "trade talks ", count: 500)) }
        let batch = try makeFrame(IngestRequest(articles: articles), type: .ingestRequest, correlationID: 1)
        #expect(batch.readableBytes > 64 << 10)
        var stream = ByteBuffer(bytes: DatelinePreface.bytes())
        stream.writeImmutableBuffer(hello)
        stream.writeImmutableBuffer(batch)
        let (events, failure) = decodeStream(stream)
        #expect(failure == nil && events.count == 3)
        // A big first frame is refused the same way.
        var bigFirst = ByteBuffer(bytes: DatelinePreface.bytes())
        bigFirst.writeImmutableBuffer(batch)
        #expect((decodeStream(bigFirst).error as? DatelineError)?.code == .frameTooLarge)
    }

    @Test func rejectsAnOversizedDecompressedSizeBeforeInflatingAnything() throws {
        var decoder = DatelineFrameDecoder(limits: .init(maximumFrameSize: 1024, maximumDecompressedSize: 4096), expectsPreface: false)
        // Compressed, 10 bytes on the wire, 1 GiB declared.
        var buffer = ByteBuffer(bytes: [0, 0, 0, 10, 0x03, 0x01, 0x00, 0, 0, 0, 1, 0x40, 0, 0, 0])
        let error = #expect(throws: DatelineError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("1073741824 bytes decompressed") == true)
    }

    @Test func aDecompressionBombInflatesNoFurtherThanItsDeclaredSize() throws {
        // 16 MiB of zeros deflate to ~16 KiB; the frame honestly fits the wire limit but lies about its size.
        let zeros = ByteBuffer(bytes: [UInt8](repeating: 0, count: 16 << 20))
        var compressed = ByteBuffer()
        let length = try #require(try Zlib.Compressor(level: 9).compress(zeros, into: &compressed, limit: 1 << 20))
        var frame = ByteBuffer()
        frame.writeInteger(UInt32(length))
        frame.writeInteger(UInt8(0x03))
        frame.writeInteger(DatelineMessageType.ping.rawValue)
        frame.writeInteger(UInt32(1))
        frame.writeInteger(UInt32(1024))  // declared: 1 KiB
        frame.writeBuffer(&compressed)
        var decoder = DatelineFrameDecoder(expectsPreface: false)
        let error = #expect(throws: DatelineError.self) { try decoder.decode(buffer: &frame) }
        #expect(error?.code == .decompressionFailed)
        #expect(error?.message.contains("more than the 1024 bytes") == true)
    }

    @Test(arguments: MalformedFrame.all)
    func rejectsMalformedFramesWithTheRightCode(_ malformed: MalformedFrame) throws {
        let (_, error) = decodeStream(ByteBuffer(hex: malformed.streamHex), limits: malformed.limits)
        let datelineError = try #require(error as? DatelineError, "\(malformed.name) was accepted")
        #expect(datelineError.code == malformed.expected, "\(malformed.name): \(datelineError)")
    }

    // MARK: Compression decisions

    @Test func neverCompressesAnEmptyPayloadEvenInAlwaysMode() throws {
        let frame = try makeFrame(Ping(), type: .ping, compression: .init(mode: .always))
        #expect(frame.flagsByte & 0x01 == 0)
        #expect(frame.readableBytes == 11)
    }

    @Test func autoModeCompressesOnlyAtTheThresholdAndOnlyWhenItShrinks() throws {
        let text = String(repeating: "Pakistan and the United States discussed counterterrorism and trade. ", count: 40)
        let small = EchoResponse(text: String(text.prefix(500)))
        let large = EchoResponse(text: text)
        let random = Ping(payload: Data((0..<4096).map { _ in UInt8.random(in: 0...255) }))
        let auto = DatelineCompressionConfiguration(mode: .auto, level: 1, threshold: 1024)
        #expect(try makeFrame(small, type: EchoResponse.messageType, compression: auto).flagsByte & 0x01 == 0)
        let compressed = try makeFrame(large, type: EchoResponse.messageType, compression: auto)
        #expect(compressed.flagsByte & 0x01 == 1)
        #expect(compressed.readableBytes < text.utf8.count / 5)
        #expect(try makeFrame(random, type: .ping, compression: auto).flagsByte & 0x01 == 0)
        // In always mode even small payloads are compressed.
        #expect(try makeFrame(small, type: EchoResponse.messageType, compression: .init(mode: .always)).flagsByte & 0x01 == 1)
    }

    @Test func aPeerOnTheSameHostIsRecognisedFromTheSocketAddresses() throws {
        let elsewhere = try SocketAddress(ipAddress: "192.0.2.7", port: 40_000)
        let ownAddress = try SocketAddress(ipAddress: "10.1.2.3", port: 7_700)
        for local in ["127.0.0.1", "127.45.6.7", "::1", "::ffff:127.0.0.1", "::FFFF:127.1.1.1"] {
            #expect(PeerLocality.isLocal(remote: try SocketAddress(ipAddress: local, port: 1), local: ownAddress), "\(local)")
        }
        #expect(PeerLocality.isLocal(remote: try SocketAddress(unixDomainSocketPath: "/tmp/dateline.sock"), local: nil))
        #expect(PeerLocality.isLocal(remote: try SocketAddress(ipAddress: "10.1.2.3", port: 51_000), local: ownAddress))
        #expect(!PeerLocality.isLocal(remote: elsewhere, local: ownAddress))
        #expect(!PeerLocality.isLocal(remote: try SocketAddress(ipAddress: "128.0.0.1", port: 1), local: ownAddress))
        #expect(!PeerLocality.isLocal(remote: try SocketAddress(ipAddress: "::2", port: 1), local: ownAddress))
        #expect(!PeerLocality.isLocal(remote: nil, local: ownAddress))
    }

    @Test func autoModeLeavesAPeerOnTheSameHostUncompressedUnlessConfigured() throws {
        let large = EchoResponse(text: String(repeating: "Talks on trade resumed in Geneva on Monday. ", count: 100))
        let payload = try DatelinePayload.encode(large)
        let writer = DatelineFrameWriter(configuration: .init())
        writer.peerIsLocal = true
        #expect(try writer.frame(payload: payload, type: EchoResponse.messageType, flags: [], correlationID: 1).flagsByte & 0x01 == 0)
        let always = DatelineFrameWriter(configuration: .init(mode: .always))
        always.peerIsLocal = true
        #expect(try always.frame(payload: payload, type: EchoResponse.messageType, flags: [], correlationID: 1).flagsByte & 0x01 == 1)
        let configured = DatelineFrameWriter(configuration: .init(compressesForLocalPeers: true))
        configured.peerIsLocal = true
        #expect(try configured.frame(payload: payload, type: EchoResponse.messageType, flags: [], correlationID: 1).flagsByte & 0x01 == 1)
    }

    @Test func theReceiversPreferenceWins() {
        #expect(DatelineCompressionMode.effective(sender: .always, receiver: .none) == .none)
        #expect(DatelineCompressionMode.effective(sender: .none, receiver: .always) == .always)
        #expect(DatelineCompressionMode.effective(sender: .none, receiver: .auto) == .none)
        #expect(DatelineCompressionMode.effective(sender: .unspecified, receiver: .unspecified) == .auto)
    }

    @Test func oneZlibStreamServesManyMessages() throws {
        let compressor = Zlib.Compressor(level: 1)
        let decompressor = Zlib.Decompressor()
        for index in 0..<200 {
            let text = ByteBuffer(string: String(repeating: "message \(index) about rare earth minerals; ", count: 50))
            var compressed = ByteBuffer()
            _ = try #require(try compressor.compress(text, into: &compressed, limit: text.readableBytes))
            let restored = try decompressor.decompress(compressed, expectedSize: text.readableBytes, allocator: .init())
            #expect(restored == text)
        }
    }

    @Test func refusesAFrameLargerThanThePeerAccepts() throws {
        let writer = DatelineFrameWriter(configuration: .disabled, peerMaximumFrameSize: 100)
        let error = #expect(throws: DatelineError.self) {
            try writer.frame(payload: try DatelinePayload.encode(Fixtures.ingestRequest), type: .ingestRequest, flags: [.endStream], correlationID: 1)
        }
        #expect(error?.code == .frameTooLarge)
    }

    // MARK: Randomized

    @Test func thousandsOfMutatedFramesOnlyEverYieldFramesOrTypedErrors() throws {
        var valid = ByteBuffer(bytes: DatelinePreface.bytes())
        valid.writeImmutableBuffer(try makeFrame(Fixtures.hello, type: .hello, correlationID: 0))
        valid.writeImmutableBuffer(try makeFrame(Fixtures.ingestRequest, type: .ingestRequest, correlationID: 2, compression: .init(mode: .always)))
        valid.writeImmutableBuffer(try makeFrame(Fixtures.searchResponse, type: .searchResponse, correlationID: 3, serverTimeMicroseconds: 9))
        valid.writeImmutableBuffer(try makeFrame(Fixtures.error, type: .error, correlationID: 4, flags: [.error, .endStream]))
        let original = Array(valid.readableBytesView)
        var random = SplitMix64(seed: 0xDA7E_11E5)
        var outcomes = (frames: 0, errors: 0)
        for _ in 0..<5_000 {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 6 {
                case 0: bytes[position] ^= UInt8(1 << (random.next() % 8))
                case 1: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 2: bytes.removeSubrange(position...)
                case 3: bytes.insert(contentsOf: (0..<Int(random.next() % 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position)
                case 4: bytes.removeSubrange(position..<min(bytes.count, position + Int(random.next() % 32)))
                default:
                    // Overwrite a 32-bit field with an extreme value.
                    let value = [UInt32.max, 0, 0x7FFF_FFFF, 1 << 24][Int(random.next() % 4)]
                    for offset in 0..<4 where position + offset < bytes.count {
                        bytes[position + offset] = UInt8(truncatingIfNeeded: value >> (24 - 8 * offset))
                    }
                }
                if bytes.isEmpty { bytes = [0x89] }
            }
            let (events, error) = decodeStream(ByteBuffer(bytes: bytes), limits: .init(maximumFrameSize: 1 << 20, maximumDecompressedSize: 1 << 20))
            outcomes.frames += events.count
            if let error {
                #expect(error is DatelineError, "untyped error \(error)")
                outcomes.errors += 1
            }
            // Whatever decoded must also survive payload decoding without crashing.
            for case .frame(let frame) in events {
                _ = try? DatelineBinaryDecoder().decode(IngestRequest.self, from: frame.payload)
                _ = try? DatelineBinaryDecoder().decode(SearchResponse.self, from: frame.payload)
                _ = try? DatelineBinaryDecoder().decode(Hello.self, from: frame.payload)
            }
        }
        #expect(outcomes.frames > 1_000)
        #expect(outcomes.errors > 1_000)
    }
}

/// A small, fast, seeded generator, so that the randomized test is repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    /// The flags byte of the frame starting at the reader index.
    var flagsByte: UInt8 { self.getInteger(at: self.readerIndex + 4, as: UInt8.self)! }
}

@Suite("zlib payloads")
struct ZlibTests {
    static func deflated(_ bytes: [UInt8]) throws -> [UInt8] {
        var output = ByteBuffer()
        let size = try Zlib.Compressor(level: 1).compress(ByteBuffer(bytes: bytes), into: &output, limit: bytes.count + 64)
        #expect(size != nil)
        return Array(output.readableBytesView)
    }

    @Test func aStreamMissingOnlyItsChecksumIsTruncatedNotTooLarge() throws {
        let text = Array(String(repeating: "Ministers met in Washington to discuss trade. ", count: 40).utf8)
        let stream = try Self.deflated(text)
        let decompressor = Zlib.Decompressor()
        #expect(try decompressor.decompress(ByteBuffer(bytes: stream), expectedSize: text.count, allocator: .init()).readableBytesView.elementsEqual(text))
        let withoutChecksum = Array(stream.dropLast(4))
        let error = #expect(throws: DatelineError.self) {
            try decompressor.decompress(ByteBuffer(bytes: withoutChecksum), expectedSize: text.count, allocator: .init())
        }
        #expect(error?.code == .decompressionFailed)
        #expect(error?.message.contains("truncated") == true, "\(error?.message ?? "")")
        // A stream that really holds more than declared is said to.
        let bomb = #expect(throws: DatelineError.self) {
            try decompressor.decompress(ByteBuffer(bytes: stream), expectedSize: text.count - 10, allocator: .init())
        }
        #expect(bomb?.message.contains("more than") == true, "\(bomb?.message ?? "")")
        // And the stream object is still usable after failures.
        #expect(try decompressor.decompress(ByteBuffer(bytes: stream), expectedSize: text.count, allocator: .init()).readableBytes == text.count)
    }
}
