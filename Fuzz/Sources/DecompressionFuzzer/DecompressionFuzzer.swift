// Fuzzes the zlib decompression of frame payloads (Zlib.Decompressor, reached through DatelineFrameDecoder,
// which owns one per connection and reuses its z_stream from frame to frame) under a 4 KiB decompressed limit.
//
// The input is a sequence of records, each made into one COMPRESSED frame on the same decoder:
//   declared uncompressed size (UInt32, big-endian) | length (UInt16, big-endian) | that many bytes of zlib data
// A payload that inflates must have exactly its declared size. Then the raw input is compressed by a
// DatelineFrameWriter (mode always) and decoded back: it must come out unchanged.
import DatelineProtocol
import FuzzSupport
import NIOCore

let limits = DatelineFrameDecoder.Limits(maximumFrameSize: 1 << 16, maximumDecompressedSize: 4096)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    var stream = ByteBuffer()
    var declaredSizes: [UInt32] = []
    var index = 0
    while index + 6 <= bytes.count {
        let declared = bytes[index..<(index + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let length = min(Int(bytes[index + 4]) << 8 | Int(bytes[index + 5]), bytes.count - index - 6)
        index += 6
        stream.writeInteger(UInt32(length))
        stream.writeInteger(UInt8(0x03))  // COMPRESSED | END_STREAM
        stream.writeInteger(DatelineMessageType.ping.rawValue)
        stream.writeInteger(UInt32(declaredSizes.count + 1))
        stream.writeInteger(declared)
        stream.writeBytes(bytes[index..<(index + length)])
        declaredSizes.append(declared)
        index += length
    }
    var decoder = DatelineFrameDecoder(limits: limits, expectsPreface: false)
    var frames = 0
    do {
        while let event = try decoder.decode(buffer: &stream) {
            guard case .frame(let frame) = event else { fuzzFailure("a preface from a decoder that expects none") }
            guard frame.wasCompressed, frame.payload.readableBytes == Int(declaredSizes[frames]) else {
                fuzzFailure("frame \(frames) declared \(declaredSizes[frames]) bytes but inflated to \(frame.payload.readableBytes); input \(hex(bytes))")
            }
            guard frame.payload.readableBytes <= limits.maximumDecompressedSize else {
                fuzzFailure("a payload inflated to \(frame.payload.readableBytes) bytes, over the limit; input \(hex(bytes))")
            }
            frames += 1
        }
        _ = try decoder.decodeLast(buffer: &stream, seenEOF: true)
    } catch let error as DatelineError {
        guard [.decompressionFailed, .frameTooLarge, .badFrame].contains(error.code) else {
            fuzzFailure("decompression failed with \(error), an unexpected code; input \(hex(bytes))")
        }
    } catch {
        fuzzFailure("the frame decoder threw \(type(of: error)), not a DatelineError: \(error)")
    }

    // Compression round trip of the raw input.
    let writer = DatelineFrameWriter(configuration: .init(mode: .always, level: Int(bytes.first ?? 1) % 10))
    do {
        var frame = try writer.frame(payload: ByteBuffer(bytes: bytes), type: .ping, flags: [.endStream], correlationID: 1)
        var reader = DatelineFrameDecoder(limits: .init(), expectsPreface: false)
        guard case .frame(let decoded)? = try reader.decode(buffer: &frame) else {
            fuzzFailure("a frame the writer made did not decode; input \(hex(bytes))")
        }
        guard Array(decoded.payload.readableBytesView) == bytes, frame.readableBytes == 0 else {
            fuzzFailure("compressing and decompressing changed the payload; input \(hex(bytes))")
        }
    } catch {
        fuzzFailure("a frame the writer made failed to decode: \(error); input \(hex(bytes))")
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("DecompressionFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
