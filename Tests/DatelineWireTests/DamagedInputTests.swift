import DatelineProtocol
import DatelineTestSupport
import Testing

@testable import DatelineWire

/// Whatever the bytes, decoding reports problems and never traps.
@Suite("Damaged input")
struct DamagedInputTests {
    /// `bytes` with a few bytes changed and, now and then, its end cut off.
    static func damaged(_ bytes: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        var copy = bytes
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            copy[Int.random(in: 0..<copy.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
        }
        return Bool.random(using: &random) ? Array(copy.prefix(Int.random(in: 0...copy.count, using: &random))) : copy
    }

    @Test func damagedCapturesAreReportedNotTrapped() {
        var random = SeededGenerator(seed: 18_05)
        let captures = [Scenario.capture().pcap(), Scenario.capture(link: .sll2, ipv6: true).pcapng(), Scenario.capture(link: .loopback).pcap(bigEndian: true)]
        for round in 0..<600 {
            let file = Self.damaged(captures[round % captures.count], using: &random)
            guard let contents = try? DatelineCaptureFile.read(file) else { continue }
            var decoder = DatelineCaptureDecoder()
            _ = contents.packets.flatMap { decoder.receive($0) } + decoder.finish()
        }
    }

    @Test func damagedStreamsAreReportedNotTrapped() {
        var random = SeededGenerator(seed: 7_400)
        let stream = Scenario.preface + Vectors.file.frames.flatMap(\.bytes)
        for _ in 0..<600 {
            var inspector = DatelineStreamInspector()
            let records = inspector.receive(Self.damaged(stream, using: &random)) + inspector.finish()
            // Every problem names an offset inside the stream.
            for problem in records.compactMap(\.problem) { #expect((0...stream.count).contains(problem.offset)) }
        }
    }

    @Test func everyKnownMessageTypeHasASwiftTypeThatSaysSo() {
        for (type, name) in DatelineMessageType.known {
            #expect(type.messageSwiftType?.messageType == type, "\(name)")
        }
        #expect(DatelineMessageType(rawValue: 0x7777).messageSwiftType == nil)
    }
}
