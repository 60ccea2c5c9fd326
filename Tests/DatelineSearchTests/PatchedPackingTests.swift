import Testing

@testable import DatelineSearch

/// A postings block's columns packed with patches (``PatchedPacking``): the plan is the smallest form, every run of
/// values reads back alone, and a damaged patch section is refused.
@Suite("Patched packing")
struct PatchedPackingTests {
    static func write(_ values: [UInt32]) -> (bytes: [UInt8], plan: PatchedPacking.Plan) {
        let plan = values.withUnsafeBufferPointer(PatchedPacking.plan)
        var bytes: [UInt8] = [5]  // a byte before the column, as a block's head is
        values.withUnsafeBufferPointer { PatchedPacking.write($0, plan: plan, into: &bytes) }
        return (bytes, plan)
    }

    /// Reads `values` back from `bytes` whole, in chunks of 32, one at a time, and as ascending document gaps.
    static func readBack(_ values: [UInt32], from bytes: [UInt8], plan: PatchedPacking.Plan) throws {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw, at: 1)
            let column = try PatchedPacking.Layout(width: plan.width, patched: plan.isPatched).column(&cursor, count: values.count)
            #expect(cursor.remaining == 0, "the column is \(plan.byteCount(count: values.count)) bytes")
            var output = [UInt32](repeating: 0xDEAD, count: values.count)
            for step in [values.count, 32, 1] {
                output.withUnsafeMutableBufferPointer { output in
                    for start in stride(from: 0, to: values.count, by: step) {
                        column.decode(start..<min(values.count, start + step), into: output.baseAddress!)
                    }
                }
                #expect(output == values, "in runs of \(step)")
            }
            var expected: [UInt32] = []
            var document: UInt32 = 10
            for gap in values {
                document &+= gap
                expected.append(document)
                document &+= 1
            }
            let end = output.withUnsafeMutableBufferPointer { output in
                var next: UInt32 = 10
                for start in stride(from: 0, to: values.count, by: 32) {
                    next = column.decodeAscending(start..<min(values.count, start + 32), from: next, into: output.baseAddress!)
                }
                return next
            }
            #expect(output == expected && end == document)
        }
    }

    @Test func aFewWideValuesArePatchedAndTheRestPackNarrow() throws {
        // A title column: mostly zero, a few titled documents.
        var titles = [UInt32](repeating: 0, count: 128)
        for index in [3, 40, 41, 127] { titles[index] = 1 }
        titles[90] = 3
        let (titleBytes, titlePlan) = Self.write(titles)
        #expect(titlePlan == PatchedPacking.Plan(width: 0, patchWidth: 2, patches: 5))
        #expect(titleBytes.count - 1 == 2 + 5 + 2, "no packed bits; five 7-bit indices and five 2-bit patches")
        try Self.readBack(titles, from: titleBytes, plan: titlePlan)

        // Body frequencies: ones and twos, and one long article's 900.
        var bodies = (0..<128).map { UInt32(1 + $0 % 2) }
        bodies[77] = 900
        let (bodyBytes, bodyPlan) = Self.write(bodies)
        #expect(bodyPlan.width == 2 && bodyPlan.patches == 1 && bodyPlan.patchWidth == 8)
        #expect(bodyBytes.count - 1 < BitPacking.byteCount(count: 128, width: 10))
        try Self.readBack(bodies, from: bodyBytes, plan: bodyPlan)
    }

    @Test func valuesOfOneWidthAreNotPatched() throws {
        for values in [[UInt32](repeating: 0, count: 128), (0..<128).map { UInt32($0 % 8) }, [UInt32.max, UInt32.max - 5, 1 << 31], [7]] {
            let (bytes, plan) = Self.write(values)
            #expect(!plan.isPatched, "\(values.prefix(4))")
            #expect(bytes.count - 1 == BitPacking.byteCount(count: values.count, width: plan.width))
            try Self.readBack(values, from: bytes, plan: plan)
        }
    }

    /// Random columns with outliers of every width: the plan is the smallest of all base widths, and reads back.
    @Test func randomColumnsTakeTheSmallestFormAndReadBack() throws {
        var random = SeededGenerator(state: 0x9A7C)
        for round in 0..<400 {
            let count = round % 4 == 0 ? Int.random(in: 1...128, using: &random) : 128
            let common = UInt32.random(in: 0...6, using: &random)
            let outlierWidth = UInt32.random(in: 1...32, using: &random)
            let values = (0..<count).map { _ -> UInt32 in
                if Int.random(in: 0..<100, using: &random) < 4 { return UInt32.random(in: 0...UInt32.max, using: &random) >> (32 - outlierWidth) }
                return common == 0 ? 0 : UInt32.random(in: 0..<(1 << common), using: &random)
            }
            let (bytes, plan) = Self.write(values)
            #expect(bytes.count - 1 == plan.byteCount(count: count))
            let widest = values.withUnsafeBufferPointer(BitPacking.width)
            for width in 0..<widest {
                let wider = values.filter { $0 >> UInt32(width) != 0 }.count
                let other = PatchedPacking.Plan(width: width, patchWidth: widest - width, patches: wider)
                #expect(plan.byteCount(count: count) <= other.byteCount(count: count), "round \(round): width \(width) is smaller")
            }
            #expect(plan.byteCount(count: count) <= BitPacking.byteCount(count: count, width: widest))
            try Self.readBack(values, from: bytes, plan: plan)
        }
    }

    @Test func aDamagedPatchSectionIsRefused() throws {
        var values = [UInt32](repeating: 1, count: 128)
        values[5] = 1_000
        let (bytes, plan) = Self.write(values)
        #expect(plan.isPatched)
        let patchHead = 1 + BitPacking.byteCount(count: 128, width: plan.width)
        for (offset, value, why) in [(0, UInt8(200), "more patches than values"), (1, 0, "patches of no bits"), (1, 32, "wider than 32 bits in all")] {
            var damaged = bytes
            damaged[patchHead + offset] = value
            damaged.withUnsafeBytes { raw in
                var cursor = ByteCursor(raw, at: 1)
                #expect(throws: IndexFormatError.self, "\(why)") { _ = try PatchedPacking.Layout(width: plan.width, patched: true).column(&cursor, count: 128) }
            }
        }
        bytes.dropLast().withUnsafeBytes { raw in
            var cursor = ByteCursor(raw, at: 1)
            #expect(throws: IndexFormatError.self, "cut short") { _ = try PatchedPacking.Layout(width: plan.width, patched: true).column(&cursor, count: 128) }
        }
    }
}
