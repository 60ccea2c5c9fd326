import Foundation
import NIOCore
import Testing

@testable import DatelineProtocol

/// A byte stream a client might send (starting at the connection's first byte) and the error it must cause.
struct MalformedFrame: Sendable, CustomTestStringConvertible {
    var name: String
    var description: String
    var streamHex: String
    var limits: DatelineFrameDecoder.Limits = .init()
    var expected: DatelineError.Code

    var testDescription: String { self.name }

    static let preface = DatelinePreface.bytes().map { String(format: "%02x", $0) }.joined()

    /// A frame header as hex: length, flags, type, correlation id, then `extra` header fields.
    static func header(length: UInt32, flags: UInt8, type: UInt16, id: UInt32 = 1, extra: [UInt32] = []) -> String {
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        buffer.writeInteger(flags)
        buffer.writeInteger(type)
        buffer.writeInteger(id)
        for field in extra { buffer.writeInteger(field) }
        return buffer.hex
    }

    static func zlib(_ text: String) -> String {
        var output = ByteBuffer()
        _ = try! Zlib.Compressor(level: 1).compress(ByteBuffer(string: text), into: &output, limit: 1 << 16)
        return output.hex
    }

    static let hundred = String(repeating: "rare earth ", count: 10)  // 110 bytes, compresses well

    static let all: [MalformedFrame] = {
        let z = zlib(hundred)
        let zLength = UInt32(z.count / 2)
        return [
            .init(name: "tls-client-hello", description: "a TLS ClientHello instead of the preface", streamHex: "16030102000100010003", expected: .badFrame),
            .init(name: "http-request", description: "an HTTP/1.1 request instead of the preface", streamHex: ByteBuffer(string: "GET / HTTP/1.1\r\n").hex, expected: .badFrame),
            .init(name: "truncated-preface", description: "the connection ends inside the preface", streamHex: "894454", expected: .badFrame),
            .init(name: "reserved-flag-bits", description: "flag bit 0x40 is reserved", streamHex: preface + header(length: 0, flags: 0x42, type: 3), expected: .badFrame),
            .init(name: "message-type-zero", description: "message type 0 is reserved", streamHex: preface + header(length: 0, flags: 0x02, type: 0), expected: .badFrame),
            .init(name: "error-flag-on-ping", description: "the ERROR flag on a frame whose type is not Error", streamHex: preface + header(length: 0, flags: 0x06, type: 3), expected: .badFrame),
            .init(name: "error-type-without-flag", description: "an Error frame without the ERROR flag", streamHex: preface + header(length: 0, flags: 0x02, type: 7), expected: .badFrame),
            .init(
                name: "frame-too-large",
                description: "a declared length one byte over the 16 MiB limit, rejected from the header alone",
                streamHex: preface + header(length: (16 << 20) + 1, flags: 0x02, type: 0x0100),
                expected: .frameTooLarge
            ),
            .init(
                name: "frame-too-large-custom-limit",
                description: "a 2 KiB frame where the receiver's limit is 1 KiB",
                streamHex: preface + header(length: 2048, flags: 0x02, type: 0x0100),
                limits: .init(maximumFrameSize: 1024, maximumDecompressedSize: 1024),
                expected: .frameTooLarge
            ),
            .init(
                name: "decompressed-too-large",
                description: "a compressed frame declaring 16 MiB + 1 decompressed",
                streamHex: preface + header(length: zLength, flags: 0x03, type: 0x0100, extra: [(16 << 20) + 1]) + z,
                expected: .frameTooLarge
            ),
            .init(
                name: "compressed-empty-payload",
                description: "the COMPRESSED flag on an empty payload",
                streamHex: preface + header(length: 0, flags: 0x03, type: 3, extra: [5]),
                expected: .badFrame
            ),
            .init(
                name: "compressed-zero-declared",
                description: "a compressed payload declaring 0 bytes uncompressed",
                streamHex: preface + header(length: 4, flags: 0x03, type: 3, extra: [0]) + "00000000",
                expected: .badFrame
            ),
            .init(
                name: "corrupt-zlib",
                description: "a compressed payload that is not a zlib stream",
                streamHex: preface + header(length: 8, flags: 0x03, type: 3, extra: [110]) + "0123456789abcdef",
                expected: .decompressionFailed
            ),
            .init(
                name: "inflates-past-declared-size",
                description: "a zlib stream of 110 bytes declared as 50",
                streamHex: preface + header(length: zLength, flags: 0x03, type: 3, extra: [50]) + z,
                expected: .decompressionFailed
            ),
            .init(
                name: "inflates-short-of-declared-size",
                description: "a zlib stream of 110 bytes declared as 200",
                streamHex: preface + header(length: zLength, flags: 0x03, type: 3, extra: [200]) + z,
                expected: .decompressionFailed
            ),
            .init(
                name: "bytes-after-zlib-stream",
                description: "two bytes follow the end of the zlib stream inside the payload",
                streamHex: preface + header(length: zLength + 2, flags: 0x03, type: 3, extra: [110]) + z + "abcd",
                expected: .decompressionFailed
            ),
            .init(
                name: "truncated-zlib-stream",
                description: "a zlib stream missing its last four bytes (the Adler-32 checksum)",
                streamHex: preface + header(length: zLength - 4, flags: 0x03, type: 3, extra: [110]) + String(z.dropLast(8)),
                expected: .decompressionFailed
            ),
            .init(
                name: "truncated-frame",
                description: "the connection ends three bytes into a ten-byte payload",
                streamHex: preface + header(length: 10, flags: 0x02, type: 3) + "010203",
                expected: .badFrame
            ),
            .init(
                name: "truncated-header",
                description: "the connection ends seven bytes into a frame header",
                streamHex: preface + String(header(length: 1, flags: 0x02, type: 3).prefix(14)),
                expected: .badFrame
            ),
        ]
    }()
}
