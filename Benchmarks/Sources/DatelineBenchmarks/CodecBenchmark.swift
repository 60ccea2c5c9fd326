import DatelineProtocol
import Foundation
import NIOCore

/// Encode + decode time and size: our protobuf-wire codec versus Foundation's JSONEncoder/JSONDecoder,
/// each with and without zlib (level 1, through the same frame writer and decoder).
enum CodecBenchmark {
    struct Row {
        var message: String
        var oursTime: Measurement
        var jsonTime: Measurement
        var oursSize: Int
        var jsonSize: Int
        var oursZlibTime: Measurement
        var jsonZlibTime: Measurement
        var oursZlibSize: Int
        var jsonZlibSize: Int
    }

    static func run<M: DatelineMessage & Equatable>(_ name: String, _ message: M, iterations: Int) throws -> Row {
        let ours = DatelineBinaryEncoder()
        let oursDecoder = DatelineBinaryDecoder()
        let json = JSONEncoder()
        json.dateEncodingStrategy = .millisecondsSince1970
        let jsonDecoder = JSONDecoder()
        jsonDecoder.dateDecodingStrategy = .millisecondsSince1970

        // Sanity: both round-trip.
        let oursRoundTrip = try oursDecoder.decode(M.self, from: try ours.encode(message))
        let jsonRoundTrip = try jsonDecoder.decode(M.self, from: try json.encode(message))
        precondition(oursRoundTrip == message && jsonRoundTrip == message)

        let oursSize = try ours.encode(message).readableBytes
        let jsonSize = try json.encode(message).count
        let oursTime = try Measurement.time(iterations: iterations) {
            let bytes = try ours.encode(message)
            blackHole(try oursDecoder.decode(M.self, from: bytes))
        }
        let jsonTime = try Measurement.time(iterations: iterations) {
            let bytes = try json.encode(message)
            blackHole(try jsonDecoder.decode(M.self, from: bytes))
        }

        let writer = DatelineFrameWriter(configuration: .init(mode: .always, level: 1))
        func framed(_ payload: ByteBuffer) throws -> ByteBuffer {
            try writer.frame(payload: payload, type: M.messageType, flags: [.endStream], correlationID: 1)
        }
        func unframed(_ frame: ByteBuffer) throws -> ByteBuffer {
            var decoder = DatelineFrameDecoder(expectsPreface: false)
            var frame = frame
            guard case .frame(let decoded) = try decoder.decode(buffer: &frame) else { fatalError("no frame") }
            return decoded.payload
        }
        let oursZlibSize = try framed(DatelinePayload.encode(message)).readableBytes - 15
        let jsonZlibSize = try framed(ByteBuffer(bytes: json.encode(message))).readableBytes - 15
        let oursZlibTime = try Measurement.time(iterations: max(1, iterations / 4)) {
            let frame = try framed(DatelinePayload.encode(message))
            blackHole(try oursDecoder.decode(M.self, from: unframed(frame)))
        }
        let jsonZlibTime = try Measurement.time(iterations: max(1, iterations / 4)) {
            let frame = try framed(ByteBuffer(bytes: json.encode(message)))
            let payload = try unframed(frame)
            blackHole(try jsonDecoder.decode(M.self, from: Data(payload.readableBytesView)))
        }
        return Row(
            message: name,
            oursTime: oursTime,
            jsonTime: jsonTime,
            oursSize: oursSize,
            jsonSize: jsonSize,
            oursZlibTime: oursZlibTime,
            jsonZlibTime: jsonZlibTime,
            oursZlibSize: oursZlibSize,
            jsonZlibSize: jsonZlibSize
        )
    }

    static func report(quick: Bool) throws -> String {
        let scale = quick ? 1 : 4
        let rows = [
            try run("ingest batch, 100 articles", SampleMessages.ingestBatch(), iterations: 25 * scale),
            try run("search result, 10 hits", SampleMessages.searchResult(), iterations: 500 * scale),
            try run("ping, 16 bytes", SampleMessages.ping, iterations: 20_000 * scale),
        ]
        var text = """
            ### Codec: encode + decode per message (median of 5 runs; min–max)

            | message | ours | JSONEncoder+JSONDecoder | speed-up | ours bytes | JSON bytes | size ratio |
            |---|---|---|---|---|---|---|

            """
        PeerFigures.record([
            "codecIngest": rows[0].oursTime.median, "codecSearch": rows[1].oursTime.median, "codecPing": rows[2].oursTime.median,
            "codecIngestZlib": rows[0].oursZlibTime.median, "codecSearchZlib": rows[1].oursZlibTime.median, "codecPingZlib": rows[2].oursZlibTime.median,
            "sizeIngestZlib": Double(rows[0].oursZlibSize), "sizeSearchZlib": Double(rows[1].oursZlibSize), "sizePingZlib": Double(rows[2].oursZlibSize),
            "sizeIngest": Double(rows[0].oursSize), "sizeSearch": Double(rows[1].oursSize), "sizePing": Double(rows[2].oursSize),
        ])
        for row in rows {
            text += "| \(row.message) | \(micros(row.oursTime.median)) (\(micros(row.oursTime.minimum))–\(micros(row.oursTime.maximum))) | \(micros(row.jsonTime.median)) (\(micros(row.jsonTime.minimum))–\(micros(row.jsonTime.maximum))) | **\(ratio(row.jsonTime.median / row.oursTime.median))** | \(row.oursSize) | \(row.jsonSize) | **\(ratio(Double(row.oursSize) / Double(row.jsonSize)))** |\n"
        }
        text += """

            ### Codec with zlib level 1 (frame + compress + inflate + decode)

            | message | ours+zlib | JSON+zlib | speed-up | ours+zlib bytes | JSON+zlib bytes | size ratio |
            |---|---|---|---|---|---|---|

            """
        for row in rows {
            text += "| \(row.message) | \(micros(row.oursZlibTime.median)) | \(micros(row.jsonZlibTime.median)) | **\(ratio(row.jsonZlibTime.median / row.oursZlibTime.median))** | \(row.oursZlibSize) | \(row.jsonZlibSize) | \(ratio(Double(row.oursZlibSize) / Double(row.jsonZlibSize))) |\n"
        }
        return text
    }
}

/// Keeps a value alive so the optimizer cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
