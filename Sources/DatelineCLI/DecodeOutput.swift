import DatelineProtocol
import DatelineWire
import Foundation

/// Prints what `dateline decode` finds, as readable text or as JSON Lines, and counts the problems.
struct WireRecordPrinter {
    let output: OutputFormat
    /// Items printed (connections, prefaces, frames), problems aside.
    private(set) var recordCount = 0
    private var problemCount = 0
    private var firstProblem: String?
    /// The first packet's time: a capture's records show the seconds since.
    var captureStart: CaptureTimestamp?

    init(output: OutputFormat) {
        self.output = output
    }

    /// One line on stderr when something could not be decoded; nil when everything was.
    var problemSummary: String? {
        guard let firstProblem else { return nil }
        let count = self.problemCount == 1 ? "1 problem" : "\(self.problemCount) problems"
        return "the input is not all valid Dateline traffic: \(count), the first at \(firstProblem)"
    }

    /// Introduces one of several streams (the vectors of a JSON file) in text output.
    mutating func startStream(_ name: String?, byteCount: Int) {
        guard self.output == .table else { return }
        Swift.print("== \(name ?? "input") (\(byteCount) bytes)")
    }

    /// Prints an item of a stream read on its own (a hex dump, raw bytes, a vector).
    mutating func print(_ record: DatelineWireRecord, stream: String?) {
        self.emit(record, where: RecordLocation(stream: stream))
    }

    /// Prints an item of a capture.
    mutating func print(_ record: DatelineCaptureDecoder.Record) {
        var place = RecordLocation(capture: record.stream, packet: record.packetNumber)
        if let timestamp = record.timestamp {
            place.time = Self.iso8601(timestamp)
            place.secondsIntoCapture = self.captureStart.map { timestamp.seconds(since: $0) }
        }
        switch record.event {
        case .connection(let number, let client, let server):
            self.recordCount += 1
            if self.output == .json {
                var json = DecodedRecordJSON(kind: "connection", place: place)
                json.connection = number
                json.client = client.description
                json.server = server.description
                self.printLine(json)
            } else {
                let seen = record.packetNumber.map { " (first data in packet \($0)\(place.time.map { " at \($0)" } ?? ""))" } ?? ""
                Swift.print("connection \(number): client \(client), server \(server)\(seen)")
            }
        case .wire(let wire):
            self.emit(wire, where: place)
        }
    }

    private mutating func emit(_ record: DatelineWireRecord, where place: RecordLocation) {
        if let problem = record.problem {
            self.problemCount += 1
            if self.firstProblem == nil { self.firstProblem = place.described(offset: problem.offset) + ": \(problem.code): \(problem.message)" }
        }
        if case .problem = record {} else { self.recordCount += 1 }
        if self.output == .json {
            self.printLine(DecodedRecordJSON(record, place: place))
        } else {
            Swift.print(self.text(record, place: place))
        }
    }

    private func printLine(_ record: DecodedRecordJSON) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            Swift.print(String(decoding: try encoder.encode(record), as: UTF8.self))
        } catch {
            // A message's own encoding failed (a value JSON cannot hold, like a NaN score): say so on the line.
            var fallback = record
            fallback.message = nil
            fallback.messageError = "cannot write the message as JSON: \(error)"
            Swift.print(String(decoding: (try? encoder.encode(fallback)) ?? Data("{}".utf8), as: UTF8.self))
        }
    }

    /// The readable form of a record: a line, then the message or the payload indented.
    private func text(_ record: DatelineWireRecord, place: RecordLocation) -> String {
        let prefix = place.textPrefix
        switch record {
        case .preface(let offset, let version):
            return "\(prefix)offset \(offset)  preface  protocol version \(version)"
        case .problem(let problem):
            let stops = problem.stopsStream ? " — decoding of this stream stops here" : ""
            return "\(prefix)offset \(problem.offset)  error \(problem.code): \(problem.message)\(stops)"
        case .frame(let frame):
            var lines = ["\(prefix)offset \(frame.offset)  " + Self.headerText(frame)]
            if let message = frame.message {
                lines.append(Self.indented(Self.prettyJSON(message)))
            }
            if let problem = frame.problem {
                lines.append("    error \(problem.code): \(problem.message)")
                if let payload = frame.payload, !payload.isEmpty {
                    lines.append("    payload: " + stride(from: 0, to: payload.count, by: 32).map {
                        hexString(payload[$0..<min($0 + 32, payload.count)], groupSize: 4)
                    }.joined(separator: "\n             "))
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// `Ping (0x0003)  correlation id 1  flags 0x0a END_STREAM DEADLINE  timeout 1000 ms  payload 6 bytes`.
    static func headerText(_ frame: DatelineInspectedFrame) -> String {
        let header = frame.header
        let type = header.messageType.messageSwiftType == nil
            ? "unknown type \(header.messageType)"
            : "\(header.messageType) (0x\(hexString([UInt8(header.messageType.rawValue >> 8), UInt8(header.messageType.rawValue & 0xFF)])))"
        var parts = [type, "correlation id \(header.correlationID)", "flags 0x\(hexString([header.flags.rawValue]))" + header.flagNames.map { " " + $0 }.joined()]
        if let timeout = header.timeoutMilliseconds { parts.append("timeout \(timeout) ms") }
        if let serverTime = header.serverTimeMicroseconds { parts.append("server time \(serverTime) µs") }
        if let uncompressed = header.uncompressedLength {
            parts.append("payload \(header.length) bytes compressed, \(uncompressed) inflated")
        } else {
            parts.append("payload \(header.length) bytes")
        }
        return parts.joined(separator: "  ")
    }

    static func prettyJSON(_ message: any DatelineMessage) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(EncodableMessage(message)), as: UTF8.self)
        } catch {
            return "(cannot write the message as JSON: \(error))"
        }
    }

    static func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
    }

    /// `2025-08-04T09:30:00.000123456Z`: a capture timestamp to the nanosecond.
    static func iso8601(_ timestamp: CaptureTimestamp) -> String {
        let seconds = ISO8601DateFormatter.string(
            from: Date(timeIntervalSince1970: Double(timestamp.seconds)), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime]
        )
        return seconds.dropLast() + String(format: ".%09dZ", timestamp.nanoseconds)
    }
}

/// RecordLocation a record was found: a named stream, or a connection's direction and a packet of a capture.
struct RecordLocation {
    var stream: String?
    var connection: Int?
    var isFromClient: Bool?
    var source: String?
    var destination: String?
    var packet: Int?
    var time: String?
    var secondsIntoCapture: Double?
    /// Whether offsets are in the capture file (problems with the file or a packet), not in a stream.
    var isCaptureFile = false

    init(stream: String?) {
        self.stream = stream
    }

    init(capture context: DatelineCaptureDecoder.StreamContext?, packet: Int?) {
        self.connection = context?.connection
        self.isFromClient = context?.isFromClient
        self.source = context?.source.description
        self.destination = context?.destination.description
        self.packet = packet
        self.isCaptureFile = context == nil
    }

    /// `client-to-server` or `server-to-client`.
    var direction: String? { self.isFromClient.map { $0 ? "client-to-server" : "server-to-client" } }

    /// What starts a text line: `#1 client→server  packet 4 +0.000120 s  `.
    var textPrefix: String {
        var parts: [String] = []
        if let connection, let isFromClient { parts.append("#\(connection) \(isFromClient ? "client→server" : "server→client")") }
        if let packet {
            parts.append("packet \(packet)" + (self.secondsIntoCapture.map { String(format: " +%.6f s", $0) } ?? ""))
        } else if self.connection != nil {
            parts.append("end of capture")
        }
        return parts.isEmpty ? "" : parts.joined(separator: "  ") + "  "
    }

    /// `corrupt-zlib, offset 19`, `connection 1 client-to-server, offset 8`, `capture file offset 24`.
    func described(offset: Int) -> String {
        if let stream { return "\(stream), offset \(offset)" }
        if let connection, let direction { return "connection \(connection) \(direction), offset \(offset)" }
        return self.isCaptureFile ? "capture file offset \(offset)" : "offset \(offset)"
    }
}

/// A message as JSON through its own `Encodable` conformance (field names as in Swift: the proto's, in
/// lowerCamelCase, as protobuf's JSON mapping writes them).
struct EncodableMessage: Encodable {
    let message: any DatelineMessage
    init(_ message: any DatelineMessage) { self.message = message }
    func encode(to encoder: any Encoder) throws { try self.message.encode(to: encoder) }
}

/// One line of `decode -o json`. Frame fields are named as in `protocol/vectors/frames.json`.
struct DecodedRecordJSON: Encodable {
    /// `connection`, `preface`, `frame` or `error`.
    var kind: String
    /// The vector's name, for JSON inputs.
    var stream: String?
    var connection: Int?
    var direction: String?
    var source: String?
    var destination: String?
    var client: String?
    var server: String?
    var packet: Int?
    var time: String?
    var offset: Int?
    var version: UInt16?
    var correlationId: UInt32?
    var messageType: UInt16?
    var messageName: String?
    var flags: UInt8?
    var flagNames: [String]?
    var compressed: Bool?
    /// Payload bytes on the wire.
    var length: UInt32?
    var uncompressedLength: UInt32?
    var timeoutMilliseconds: UInt32?
    var serverTimeMicroseconds: UInt32?
    /// Payload bytes once inflated.
    var payloadLength: Int?
    /// The payload, when it could not be decoded into a message.
    var payloadHex: String?
    var message: EncodableMessage?
    var messageError: String?
    var error: Problem?

    struct Problem: Encodable {
        var code: String
        var message: String
        var offset: Int
        var stopsDecoding: Bool
    }

    init(kind: String, place: RecordLocation) {
        self.kind = kind
        self.stream = place.stream
        self.connection = place.connection
        self.direction = place.direction
        self.source = place.source
        self.destination = place.destination
        self.packet = place.packet
        self.time = place.time
    }

    init(_ record: DatelineWireRecord, place: RecordLocation) {
        switch record {
        case .preface(let offset, let version):
            self.init(kind: "preface", place: place)
            self.offset = offset
            self.version = version
        case .problem(let problem):
            self.init(kind: "error", place: place)
            self.offset = problem.offset
        case .frame(let frame):
            self.init(kind: "frame", place: place)
            self.offset = frame.offset
            let header = frame.header
            self.correlationId = header.correlationID
            self.messageType = header.messageType.rawValue
            self.messageName = header.messageType.messageSwiftType == nil ? nil : header.messageType.name
            self.flags = header.flags.rawValue
            self.flagNames = header.flagNames
            self.compressed = header.uncompressedLength != nil
            self.length = header.length
            self.uncompressedLength = header.uncompressedLength
            self.timeoutMilliseconds = header.timeoutMilliseconds
            self.serverTimeMicroseconds = header.serverTimeMicroseconds
            self.payloadLength = frame.payload?.count
            self.message = frame.message.map(EncodableMessage.init)
            if frame.message == nil, let payload = frame.payload { self.payloadHex = hexString(payload) }
        }
        if let problem = record.problem {
            self.error = Problem(code: problem.code.name, message: problem.message, offset: problem.offset, stopsDecoding: problem.stopsStream)
        }
    }
}
