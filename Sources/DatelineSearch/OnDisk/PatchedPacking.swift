/// A postings block's column (document gaps, title or body frequencies) bit-packed at a width chosen for most of
/// its values, the few wider ones patched in afterwards ("patched frame of reference", as Lucene's and others'
/// postings do): one long article's body frequency no longer widens all 128 of its block's, and a title column
/// that is mostly zero packs at width 0 with its few titled documents as the patches.
///
/// Layout: the values' low `width` bits, packed (``BitPacking``); then, when the column is patched (its block's
/// head says so), a byte giving the patch count minus one (1–128), a byte giving the patches' width (the bits above
/// `width` of the widest value, 1–32 together with `width`), the patched values' indices in the column, ascending, packed
/// at 7 bits, and their high bits packed at the patches' width.
enum PatchedPacking {
    /// Bits a patch's index takes (a column has at most ``PostingsFormat/blockSize`` values).
    static let indexWidth = 7

    /// How a column is written: its base width and, when some values are wider, the patches' width and count.
    struct Plan: Equatable {
        var width: Int
        var patchWidth = 0
        var patches = 0

        var isPatched: Bool { self.patches > 0 }

        /// The bytes the column takes with `count` values.
        func byteCount(count: Int) -> Int {
            let base = BitPacking.byteCount(count: count, width: self.width)
            guard self.isPatched else { return base }
            return base + 2 + BitPacking.byteCount(count: self.patches, width: PatchedPacking.indexWidth)
                + BitPacking.byteCount(count: self.patches, width: self.patchWidth)
        }
    }

    /// The smallest way to write `values` (at most ``PostingsFormat/blockSize`` of them): packed at the widest's width,
    /// or narrower with the rest patched when that takes fewer bytes (ties go to no patches, which decode faster).
    static func plan(_ values: UnsafeBufferPointer<UInt32>) -> Plan {
        precondition(values.count <= 1 << self.indexWidth, "a patched column holds at most \(1 << self.indexWidth) values")
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 33) { needing in
            // How many values need each bit width (0–32): the patches at any base width are a suffix sum.
            needing.initialize(repeating: 0)
            for value in values { needing[value == 0 ? 0 : 32 - value.leadingZeroBitCount] += 1 }
            var widest = 32
            while widest > 0, needing[widest] == 0 { widest -= 1 }
            var best = Plan(width: widest)
            var bestBytes = best.byteCount(count: values.count)
            var wider = 0  // values wider than `width`
            var width = widest - 1
            while width >= 0 {
                wider += needing[width + 1]
                let plan = Plan(width: width, patchWidth: widest - width, patches: wider)
                let bytes = plan.byteCount(count: values.count)
                if bytes < bestBytes { (best, bestBytes) = (plan, bytes) }
                width -= 1
            }
            return best
        }
    }

    /// Appends `values` as `plan` says (the patch section only when it has patches).
    static func write(_ values: UnsafeBufferPointer<UInt32>, plan: Plan, into output: inout [UInt8]) {
        guard plan.isPatched else {
            BitPacking.pack(values, width: plan.width, into: &output)
            return
        }
        let mask: UInt32 = plan.width == 32 ? .max : (1 << UInt32(plan.width)) - 1
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 3 * values.count) { scratch in
            let low = UnsafeMutableBufferPointer(rebasing: scratch[0..<values.count])
            let indices = UnsafeMutableBufferPointer(rebasing: scratch[values.count..<(values.count + plan.patches)])
            let high = UnsafeMutableBufferPointer(rebasing: scratch[(2 * values.count)..<(2 * values.count + plan.patches)])
            var patch = 0
            for (index, value) in values.enumerated() {
                low[index] = value & mask
                guard value > mask else { continue }
                indices[patch] = UInt32(index)
                high[patch] = value >> UInt32(plan.width)
                patch += 1
            }
            precondition(patch == plan.patches, "a plan of \(plan.patches) patches for \(patch) wider values")
            BitPacking.pack(UnsafeBufferPointer(low), width: plan.width, into: &output)
            output.append(UInt8(plan.patches - 1))
            output.append(UInt8(plan.patchWidth))
            BitPacking.pack(UnsafeBufferPointer(indices), width: self.indexWidth, into: &output)
            BitPacking.pack(UnsafeBufferPointer(high), width: plan.patchWidth, into: &output)
        }
    }

    /// A column as its block's head describes it: its base width and whether patches follow its packed bits.
    struct Layout {
        let width: Int
        let patched: Bool

        init(width: Int, patched: Bool = false) {
            (self.width, self.patched) = (width, patched)
        }

        /// Whether a column can be so: 32 bits at most, and below that when patches add bits above.
        var isValid: Bool { self.patched ? self.width < 32 : self.width <= 32 }

        /// The column of `count` values at `cursor`; the cursor moves past it.
        @inline(__always)
        func column(_ cursor: inout ByteCursor, count: Int) throws(IndexFormatError) -> Column {
            try Column(&cursor, count: count, width: self.width, patched: self.patched)
        }
    }

    /// A column read in place: any run of its values decodes without the ones before it (the patches in that run
    /// are found by a binary search over their ascending indices and applied after the packed bits).
    struct Column {
        let base: BitPacking.Packed
        /// The patches' indices and high bits (none when the column has no patches).
        let patchIndices: BitPacking.Packed
        let patchBits: BitPacking.Packed

        /// A column of no values (a cursor's before it loads a block).
        init() {
            (self.base, self.patchIndices, self.patchBits) = (.empty, .empty, .empty)
        }

        /// The column of `count` values at `cursor`, packed at `width`, with its patches when `patched`; the cursor
        /// moves past it.
        init(_ cursor: inout ByteCursor, count: Int, width: Int, patched: Bool) throws(IndexFormatError) {
            self.base = try BitPacking.Packed(&cursor, count: count, width: width)
            guard patched else {
                (self.patchIndices, self.patchBits) = (.empty, .empty)
                return
            }
            let patches = Int(try cursor.fixed(UInt8.self)) + 1
            let patchWidth = Int(try cursor.fixed(UInt8.self))
            guard patches <= count, patchWidth >= 1, width + patchWidth <= 32 else {
                throw IndexFormatError("a column of \(count) \(width)-bit values claims \(patches) patches of \(patchWidth) bits")
            }
            self.patchIndices = try BitPacking.Packed(&cursor, count: patches, width: PatchedPacking.indexWidth)
            self.patchBits = try BitPacking.Packed(&cursor, count: patches, width: patchWidth)
        }

        /// The column's values.
        var count: Int { self.base.count }

        /// Whether some values are patched.
        var isPatched: Bool { self.patchIndices.count > 0 }

        /// Decodes values `range` (within `0..<count`) into `output[range]`, applying `patches` (this column's,
        /// decoded by ``decodePatches(indices:highs:)``) or, when nil, the patches decoded for this call.
        @inline(__always)
        func decode(_ range: Range<Int>, into output: UnsafeMutablePointer<UInt32>, patches: Patches? = nil) {
            self.base.decode(range, into: output)
            guard self.isPatched else { return }
            if let patches {
                patches.apply(range, into: output)
            } else {
                self.withPatches { $0.apply(range, into: output) }
            }
        }

        /// Decodes values `range` as document gaps (see ``BitPacking/Packed/decodeAscending(_:from:into:)``) into
        /// `output[range]`, with `patches` as ``decode(_:into:patches:)`` takes them; returns one past the last document.
        @inline(__always)
        func decodeAscending(_ range: Range<Int>, from base: UInt32, into output: UnsafeMutablePointer<UInt32>, patches: Patches? = nil) -> UInt32 {
            guard self.isPatched else { return self.base.decodeAscending(range, from: base, into: output) }
            self.decode(range, into: output, patches: patches)
            var document = base
            for index in range {
                document &+= output[index]
                output[index] = document
                document &+= 1
            }
            return document
        }

        /// Decodes the column's patches: their indices into `indices` and their high bits into `highs` (room for
        /// ``PostingsFormat/blockSize`` each), for ``Patches`` to apply to any run later.
        func decodePatches(indices: UnsafeMutablePointer<UInt32>, highs: UnsafeMutablePointer<UInt32>) -> Patches {
            self.patchIndices.decode(0..<self.patchIndices.count, into: indices)
            self.patchBits.decode(0..<self.patchBits.count, into: highs)
            return Patches(indices: indices, highs: highs, count: self.patchIndices.count, shift: UInt32(self.base.width))
        }

        /// Calls `body` with the column's patches decoded into scratch space.
        private func withPatches(_ body: (Patches) -> Void) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * PostingsFormat.blockSize) { scratch in
                body(self.decodePatches(indices: scratch.baseAddress!, highs: scratch.baseAddress! + PostingsFormat.blockSize))
            }
        }
    }

    /// A column's patches decoded (``Column/decodePatches(indices:highs:)``): a block cursor decodes them once per
    /// block and applies those of each run of values it decodes.
    struct Patches {
        let indices: UnsafeMutablePointer<UInt32>
        let highs: UnsafeMutablePointer<UInt32>
        let count: Int
        let shift: UInt32

        /// Adds the high bits of the patches within `range` to the low bits decoded into `output[range]`. Indices out
        /// of the column or out of order (a damaged file the checksum missed) patch nothing outside `range`.
        @inline(__always)
        func apply(_ range: Range<Int>, into output: UnsafeMutablePointer<UInt32>) {
            var (low, high) = (0, self.count)
            while low < high {
                let middle = (low + high) / 2
                if Int(self.indices[middle]) < range.lowerBound { low = middle + 1 } else { high = middle }
            }
            while low < self.count, Int(self.indices[low]) < range.upperBound {
                output[Int(self.indices[low])] |= self.highs[low] << self.shift
                low += 1
            }
        }
    }
}
