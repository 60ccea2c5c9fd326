import DatelineProtocol
import Testing

@testable import DatelineWire

@Suite("Hex dumps and input detection")
struct HexInputTests {
    @Test func hexTakesSpacesLinesPrefixesAndComments() throws {
        let text = "# a ping\r\n0x89 0x44, 544c:0d0a\n  0001 # preface ends here\n\n000000060a00030000000100 0003e8\n0a04 0102 0304"
        #expect(try DatelineHexDump.parse(text) == [0x89, 0x44, 0x54, 0x4C, 0x0D, 0x0A, 0x00, 0x01] + Vectors.frame("ping").bytes)
    }

    @Test func notHexNamesTheLineAndColumn() {
        #expect(throws: DatelineHexDump.ParseError(line: 2, column: 5, message: "'z' is not a hex digit")) {
            try DatelineHexDump.parse("8944\n89 4z")
        }
        #expect(throws: DatelineHexDump.ParseError(line: 1, column: 6, message: "'abc' is not a whole number of bytes (two hex digits each)")) {
            try DatelineHexDump.parse("0x89 abc")
        }
    }

    @Test func formatsAreToldApartByContent() {
        #expect(DatelineWireInput.detectFormat(of: Scenario.capture().pcap()) == .pcap)
        #expect(DatelineWireInput.detectFormat(of: Scenario.capture().pcapng()) == .pcap)
        #expect(DatelineWireInput.detectFormat(of: Scenario.preface) == .raw)
        #expect(DatelineWireInput.detectFormat(of: Vectors.frame("hello").bytes) == .raw)
        #expect(DatelineWireInput.detectFormat(of: Array("8944544c0d0a0001\n".utf8)) == .hex)
        #expect(DatelineWireInput.detectFormat(of: Array(" {\"frameHex\": \"00\"}".utf8)) == .hex)
    }

    @Test func jsonInputsGiveOneStreamPerVectorWithItsLimits() throws {
        let json = #"{"frames": [{"name": "a", "frameHex": "0000"}], "malformed": [{"name": "b", "streamHex": "8944", "maximumFrameSize": 1024}]}"#
        let streams = try DatelineWireInput.hexStreams(Array(json.utf8))
        #expect(streams.map(\.name) == ["a", "b"])
        #expect(streams.map(\.bytes) == [[0, 0], [0x89, 0x44]])
        #expect(streams[1].limits.maximumFrameSize == 1024)
        #expect(throws: DatelineWireInput.TextError.self) { try DatelineWireInput.hexStreams(Array(#"{"frames": []}"#.utf8)) }
    }
}
