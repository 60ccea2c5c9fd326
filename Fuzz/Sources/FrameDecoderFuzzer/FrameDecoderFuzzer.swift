// Fuzzes DatelineFrameDecoder with a whole inbound byte stream, from the connection's first byte (the preface).
//
// Each input is decoded three times: all at once with the default limits; one byte at a time with the default
// limits (the outcome must be the same: decoding cannot depend on how the bytes arrive); and all at once with
// small limits (64-byte frames, 128 bytes decompressed), so the limit paths are taken, and no frame may come
// out larger than them. Payloads of frames of known types are then decoded as their message (see
// FuzzSupport.checkPayload).
import DatelineProtocol
import FuzzSupport
import NIOCore

struct Outcome: Equatable {
    var events: [DatelineInboundEvent] = []
    var error: DatelineError.Code?
}

func decode(_ bytes: [UInt8], limits: DatelineFrameDecoder.Limits, chunkSize: Int?) -> Outcome {
    var decoder = DatelineFrameDecoder(limits: limits)
    var outcome = Outcome()
    do {
        var buffer: ByteBuffer
        if let chunkSize {
            buffer = ByteBuffer()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunkSize)
                buffer.writeBytes(bytes[start..<end])
                start = end
                while let event = try decoder.decode(buffer: &buffer) { outcome.events.append(event) }
            }
        } else {
            buffer = ByteBuffer(bytes: bytes)
            while let event = try decoder.decode(buffer: &buffer) { outcome.events.append(event) }
        }
        while let event = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { outcome.events.append(event) }
    } catch let error as DatelineError {
        outcome.error = error.code
    } catch {
        fuzzFailure("the frame decoder threw \(type(of: error)), not a DatelineError: \(error)")
    }
    return outcome
}

let smallLimits = DatelineFrameDecoder.Limits(maximumFrameSize: 64, maximumDecompressedSize: 128)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(data, count)
    let whole = decode(bytes, limits: .init(), chunkSize: nil)
    let dripped = decode(bytes, limits: .init(), chunkSize: 1)
    guard whole == dripped else {
        fuzzFailure("decoding all at once gives \(whole), one byte at a time \(dripped); input \(hex(bytes))")
    }
    let small = decode(bytes, limits: smallLimits, chunkSize: nil)
    for case .frame(let frame) in small.events {
        let limit = frame.wasCompressed ? smallLimits.maximumDecompressedSize : smallLimits.maximumFrameSize
        guard frame.payload.readableBytes <= limit else {
            fuzzFailure("a \(frame.payload.readableBytes)-byte payload (compressed: \(frame.wasCompressed)) passed the limit of \(limit); input \(hex(bytes))")
        }
    }
    for case .frame(let frame) in whole.events {
        if let type = messageType(for: frame.messageType) {
            checkPayload(type, Array(frame.payload.readableBytesView))
        }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing ``fuzz(_:_:)``.
@_cdecl("FrameDecoderFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
