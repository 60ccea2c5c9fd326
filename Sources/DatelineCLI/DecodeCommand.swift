import ArgumentParser
import DatelineProtocol
import DatelineWire
import Foundation

extension Dateline {
    /// `dateline decode`: what captured Dateline bytes say, frame by frame, without any service.
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode Dateline frames from a hex dump, a raw byte stream or a pcap/pcapng capture, and print every header and message.",
            discussion: """
                Input: a hex dump (whitespace, 0x prefixes and # comments allowed; JSON with frameHex or streamHex \
                strings, like protocol/vectors/frames.json, decodes every vector), the raw bytes of one direction of a \
                connection (with or without the preface), or a pcap or pcapng capture (Ethernet, Linux cooked SLL/SLL2, \
                raw IP or loopback; IPv4 and IPv6): every TCP connection that starts with the preface or uses a \
                Dateline port is reassembled and both directions decoded, in capture order. Offsets count bytes from \
                the start of the input, or of the TCP direction in a capture. \
                Exit status: 0 everything decoded, 65 something could not be (each problem is printed with its \
                offset: a bad or truncated frame, corrupt zlib, an unknown message type, bytes missing from the \
                capture), 64 the input cannot be read. \
                Example: dateline decode capture.pcap -o json | jq .messageName
                """
        )

        @Argument(help: "The input file, or - for standard input.")
        var path: String

        @Option(help: "The input format; auto decides by content (capture magic number, Dateline preface, hex text).")
        var format: WireFormat = .auto

        @Option(name: [.short, .long], help: "table (readable text) or json (JSON Lines: one object per connection, preface, frame or problem).")
        var output: OutputFormat = .table

        @Option(name: .customLong("port"), help: "With a capture: also decode TCP connections on this port that show no preface (repeatable; 7400 and 7401 always are).")
        var ports: [UInt16] = []

        func run() throws {
            let bytes = try self.readInput()
            var printer = WireRecordPrinter(output: self.output)
            switch self.format.forced ?? DatelineWireInput.detectFormat(of: bytes) {
            case .pcap: try self.decodeCapture(bytes, printer: &printer)
            case .hex: try self.decodeHex(bytes, printer: &printer)
            case .raw: Self.decode(DatelineWireInput.Stream(name: nil, bytes: bytes), printer: &printer)
            }
            if let summary = printer.problemSummary {
                printError(summary)
                throw ExitStatus.undecodable
            }
        }

        private func readInput() throws -> [UInt8] {
            do {
                let data = self.path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: self.path))
                return [UInt8](data)
            } catch {
                printError("cannot read \(self.path): \(error.localizedDescription)")
                throw ExitStatus.usage
            }
        }

        private func decodeHex(_ bytes: [UInt8], printer: inout WireRecordPrinter) throws {
            let streams: [DatelineWireInput.Stream]
            do {
                streams = try DatelineWireInput.hexStreams(bytes)
            } catch {
                printError("\(self.path == "-" ? "standard input" : self.path) is not a hex dump: \(error)")
                throw ExitStatus.undecodable
            }
            for stream in streams { Self.decode(stream, printer: &printer) }
        }

        private static func decode(_ stream: DatelineWireInput.Stream, printer: inout WireRecordPrinter) {
            var inspector = DatelineStreamInspector(limits: stream.limits, expectsPreface: stream.expectsPreface)
            if stream.name != nil || stream.bytes.isEmpty { printer.startStream(stream.name, byteCount: stream.bytes.count) }
            for record in inspector.receive(stream.bytes) + inspector.finish() {
                printer.print(record, stream: stream.name)
            }
        }

        private func decodeCapture(_ bytes: [UInt8], printer: inout WireRecordPrinter) throws {
            let contents: DatelineCaptureFile.Contents
            do {
                contents = try DatelineCaptureFile.read(bytes)
            } catch {
                printError("\(self.path) is not a capture file: \(error)")
                throw ExitStatus.undecodable
            }
            printer.captureStart = contents.packets.first?.timestamp
            var decoder = DatelineCaptureDecoder(ports: DatelineCaptureDecoder.defaultPorts.union(self.ports))
            for packet in contents.packets {
                for record in decoder.receive(packet) { printer.print(record) }
            }
            if let problem = contents.problem {
                printer.print(DatelineCaptureDecoder.Record(
                    stream: nil, packetNumber: nil, timestamp: nil,
                    event: .wire(.problem(DatelineWireProblem(code: .unreadableCapture, offset: problem.offset, message: problem.message, stopsStream: true)))
                ))
            }
            for record in decoder.finish() { printer.print(record) }
            if decoder.ignoredConnectionCount > 0 {
                printError("note: \(decoder.ignoredConnectionCount) TCP connection(s) passed over: no Dateline preface and no Dateline port (add one with --port)")
            }
            if printer.recordCount == 0, printer.problemSummary == nil {
                printError("note: the capture holds no Dateline traffic (\(contents.packets.count) packets)")
            }
        }
    }
}

/// The `--format` values of `decode`.
enum WireFormat: String, ExpressibleByArgument, CaseIterable {
    case auto, hex, raw, pcap

    /// The format the user forced; nil for auto.
    var forced: DatelineWireInput.Format? { DatelineWireInput.Format(rawValue: self.rawValue) }
}

extension ExitStatus {
    /// `decode`: part of the input is not valid Dateline traffic (EX_DATAERR).
    static let undecodable = ExitCode(65)
}
