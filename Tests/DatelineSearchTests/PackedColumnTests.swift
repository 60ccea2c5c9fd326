import Foundation
import Testing

@testable import DatelineSearch

@Suite struct PackedColumnTests {
    /// Encodes `values`, reads every one back, and returns the encoding's size.
    @discardableResult
    private func roundTrip(_ values: [UInt64], sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let bytes = PackedColumn.encode(values)
        try bytes.withUnsafeBytes { raw in
            #expect(try PackedColumn.size(of: raw, at: 0, count: values.count) == raw.count, sourceLocation: sourceLocation)
            let reader = try PackedColumn.Reader(raw, at: 0, count: values.count)
            for (index, value) in values.enumerated() where reader[index] != value {
                Issue.record("value \(index): \(reader[index]) instead of \(value)", sourceLocation: sourceLocation)
                return
            }
        }
        return bytes.count
    }

    @Test func everyWidthShiftAndAbsentValueRoundTrips() throws {
        var random = SeededGenerator(state: 11)
        for width in 0...64 {
            for shift in [0, 3, 23] where width + shift <= 64 {
                for count in [1, 2, 7, 64, 129] {
                    let base = UInt64.random(in: 0...1_000_000, using: &random)
                    let maximum: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
                    var values = (0..<count).map { _ in
                        let code = UInt64.random(in: 0...maximum, using: &random)
                        return base &+ (code << UInt64(shift))
                    }
                    try self.roundTrip(values)
                    values[count / 2] = PackedColumn.absent
                    try self.roundTrip(values)
                }
            }
        }
    }

    @Test func edgeColumnsRoundTrip() throws {
        try self.roundTrip([])
        try self.roundTrip([5])
        try self.roundTrip([PackedColumn.absent])
        try self.roundTrip([PackedColumn.absent, PackedColumn.absent])
        try self.roundTrip([0, .max - 1, PackedColumn.absent])
        try self.roundTrip([.max - 1, .max - 1])
        try self.roundTrip(Array(repeating: 42, count: 1_000))
    }

    @Test func publicationTimesAndLengthsTakeAFewBitsEach() throws {
        // Whole seconds over a year as `Double` bit patterns, one in ten without a date.
        var random = SeededGenerator(state: 3)
        let times = (0..<10_000).map { index -> UInt64 in
            index % 10 == 0 ? PackedColumn.absent : Double(537_000_000 + Int.random(in: 0..<31_536_000, using: &random)).bitPattern
        }
        let size = try self.roundTrip(times)
        #expect(size < 10_000 * 4, "\(size) bytes for 10,000 times")  // 26 bits each instead of 64
        let lengths = (0..<10_000).map { _ in UInt64.random(in: 0..<2_000, using: &random) }
        #expect(try self.roundTrip(lengths) < 10_000 * 2)
    }

    @Test func aDamagedHeaderIsAnError() throws {
        var bytes = PackedColumn.encode([1, 2, 3])
        bytes[8] = 65  // width
        bytes.withUnsafeBytes { raw in
            _ = #expect(throws: IndexFormatError.self) { try PackedColumn.Reader(raw, at: 0, count: 3) }
        }
        bytes = PackedColumn.encode([1, 2, 3])
        #expect(throws: IndexFormatError.self) {
            try bytes.withUnsafeBytes { raw in try PackedColumn.Reader(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)]), at: 0, count: 3) }
        }
        bytes[10] = 2  // flags
        bytes.withUnsafeBytes { raw in
            _ = #expect(throws: IndexFormatError.self) { try PackedColumn.Reader(raw, at: 0, count: 3) }
        }
    }
}
