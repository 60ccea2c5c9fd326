/// The positions of one chunk of a term's postings (the documents between two checkpoints: up to
/// ``PostingsFormat/chunkSize``): per document its title positions then its body positions, each field's list as
/// gaps from the previous position, the first from 0.
///
/// A chunk of at most ``plainLimit`` values is those gaps as varints. A larger one starts with a head byte: its low
/// four bits the width of the lists' first values (one per non-empty list, in order), its high four bits the width
/// of the other gaps; the first values, then the other gaps, follow packed at those widths in one stream of bits,
/// least significant first, rounded up to a byte. A head of `0xFF` says varints follow instead (values of 2¹⁵ or
/// more, or packing that would not be smaller). A list's first value is a position in its field, the gaps after it
/// are mostly much smaller: packed apart, neither pays for the other's width. A reader knows each document's
/// frequencies from the postings, so it finds any document's values without decoding the others'.
enum PositionsChunk {
    /// Chunks of this many values or fewer are plain varints, without a head (most of a rare term's).
    static let plainLimit = 2
    /// The head of a chunk whose values are varints.
    static let varintHead: UInt8 = 0xFF
    /// The widest packed value, in bits.
    static let maximumWidth = 15

    /// Appends the chunk of documents with `titles[i]` and `bodies[i]` positions each, `positions` being every
    /// document's title then body positions (ascending within a field).
    static func encode(
        titles: ArraySlice<UInt32>, bodies: ArraySlice<UInt32>, positions: [UInt32], scratch: inout (firsts: [UInt32], rest: [UInt32]),
        into output: inout [UInt8]
    ) {
        if positions.count <= Self.plainLimit {
            Self.appendVarints(titles: titles, bodies: bodies, positions: positions, into: &output)
            return
        }
        scratch.firsts.removeAll(keepingCapacity: true)
        scratch.rest.removeAll(keepingCapacity: true)
        var varintBytes = 0
        Self.forEachGap(titles: titles, bodies: bodies, positions: positions) { gap, isFirst in
            if isFirst { scratch.firsts.append(gap) } else { scratch.rest.append(gap) }
            varintBytes += Self.varintSize(gap)
        }
        let firstWidth = scratch.firsts.withUnsafeBufferPointer(BitPacking.width)
        let restWidth = scratch.rest.withUnsafeBufferPointer(BitPacking.width)
        let packedBytes = (scratch.firsts.count * firstWidth + scratch.rest.count * restWidth + 7) / 8
        guard firstWidth <= Self.maximumWidth, restWidth <= Self.maximumWidth, firstWidth + restWidth < 2 * Self.maximumWidth,
            packedBytes < varintBytes
        else {
            output.append(Self.varintHead)
            Self.appendVarints(titles: titles, bodies: bodies, positions: positions, into: &output)
            return
        }
        output.append(UInt8(firstWidth | restWidth << 4))
        var bits = BitWriter()
        for value in scratch.firsts { bits.put(value, width: firstWidth, into: &output) }
        for value in scratch.rest { bits.put(value, width: restWidth, into: &output) }
        bits.flush(into: &output)
    }

    private static func appendVarints(titles: ArraySlice<UInt32>, bodies: ArraySlice<UInt32>, positions: [UInt32], into output: inout [UInt8]) {
        Self.forEachGap(titles: titles, bodies: bodies, positions: positions) { gap, _ in output.appendVarUInt(UInt64(gap)) }
    }

    /// Calls `body` with each gap of the chunk in order (each field's list from 0), and whether it is its list's first.
    @inline(__always)
    private static func forEachGap(titles: ArraySlice<UInt32>, bodies: ArraySlice<UInt32>, positions: [UInt32], _ body: (UInt32, Bool) -> Void) {
        var at = 0
        for (title, bodyCount) in zip(titles, bodies) {
            for field in 0..<2 {
                var previous: UInt32 = 0
                for index in 0..<Int(field == 0 ? title : bodyCount) {
                    body(positions[at] - previous, index == 0)
                    previous = positions[at]
                    at += 1
                }
            }
        }
    }

    @inline(__always)
    static func varintSize(_ value: UInt32) -> Int {
        value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5
    }

    /// Values appended a few bits at a time, least significant first.
    private struct BitWriter {
        var pending: UInt64 = 0
        var count = 0

        @inline(__always)
        mutating func put(_ value: UInt32, width: Int, into output: inout [UInt8]) {
            self.pending |= UInt64(value) << UInt64(self.count)
            self.count += width
            while self.count >= 8 {
                output.append(UInt8(truncatingIfNeeded: self.pending))
                self.pending >>= 8
                self.count -= 8
            }
        }

        mutating func flush(into output: inout [UInt8]) {
            if self.count > 0 { output.append(UInt8(truncatingIfNeeded: self.pending)) }
            (self.pending, self.count) = (0, 0)
        }
    }

    // MARK: Reading

    /// A chunk at a place in the positions file, its documents' frequencies known: where its values are and how.
    struct Layout {
        /// Where the values start (past the head, if any).
        let start: Int
        /// One past the chunk's last byte (nil for varints when not asked for: finding it reads them all).
        let end: Int?
        /// Nil when the values are varints; else the two streams' widths and where the second starts, in bits.
        let packed: (firstWidth: Int, restWidth: Int, restStart: Int)?

        /// The chunk at `offset` whose documents have `titles[i]` and `bodies[i]` positions (`count` documents);
        /// `needsEnd` finds where varints end too.
        init(
            _ bytes: UnsafeRawBufferPointer, at offset: Int, titles: UnsafePointer<UInt32>, bodies: UnsafePointer<UInt32>, count: Int,
            needsEnd: Bool = false
        ) throws(IndexFormatError) {
            var values = 0
            var lists = 0
            for index in 0..<count {
                values &+= Int(titles[index]) &+ Int(bodies[index])  // each below 2³²: no overflow
                lists &+= (titles[index] > 0 ? 1 : 0) &+ (bodies[index] > 0 ? 1 : 0)
            }
            guard offset < bytes.count || (offset == bytes.count && values == 0) else {
                throw IndexFormatError("positions start past the positions file at byte \(offset)")
            }
            if values <= PositionsChunk.plainLimit || bytes[offset] == PositionsChunk.varintHead {
                let start = values <= PositionsChunk.plainLimit ? offset : offset + 1
                var end: Int?
                if needsEnd {
                    var cursor = ByteCursor(bytes, at: start)
                    try cursor.skipVarints(values)
                    end = cursor.position
                }
                (self.start, self.end, self.packed) = (start, end, nil)
                return
            }
            let head = bytes[offset]
            let (firstWidth, restWidth) = (Int(head & 0x0F), Int(head >> 4))
            let restStart = lists * firstWidth
            let bits = restStart + (values - lists) * restWidth
            let end = offset + 1 + (bits + 7) / 8
            guard end <= bytes.count else { throw IndexFormatError("a chunk's \(values) packed positions run past the positions file") }
            (self.start, self.end, self.packed) = (offset + 1, end, (firstWidth, restWidth, restStart))
        }

        /// Where a reader is in the chunk: before document `entry`, whose first list is the chunk's `first`-th, whose
        /// first gap after a list's first value is the `rest`-th, and (varints) whose first value starts at `byte`.
        struct ReadPosition {
            var entry = 0
            var first = 0
            var rest = 0
            var byte: Int
        }

        /// The position before the chunk's first document.
        var startPosition: ReadPosition { ReadPosition(byte: self.start) }

        /// Writes the positions of the chunk's document `entry` (its title's, then its body's) into
        /// `output[offset...]`, reading on from `position` (at or before `entry`; documents read in order step over
        /// only the ones between), which it leaves after `entry`.
        func decode(
            _ bytes: UnsafeRawBufferPointer, entry: Int, titles: UnsafePointer<UInt32>, bodies: UnsafePointer<UInt32>,
            from position: inout ReadPosition, into output: UnsafeMutableBufferPointer<UInt32>, at offset: Int
        ) throws(IndexFormatError) {
            if position.entry > entry { position = self.startPosition }
            guard let packed = self.packed else {
                var cursor = ByteCursor(bytes, at: position.byte)
                var earlier = 0
                for index in position.entry..<entry { earlier &+= Int(titles[index]) &+ Int(bodies[index]) }  // each below 2³²
                try cursor.skipVarints(earlier)
                var at = offset
                for field in 0..<2 {
                    let count = field == 0 ? titles[entry] : bodies[entry]
                    var value: UInt64 = 0
                    for _ in 0..<count {
                        value = try Self.adding(try cursor.varint(), to: value)
                        output[at] = UInt32(truncatingIfNeeded: value)
                        at += 1
                    }
                }
                position = ReadPosition(entry: entry + 1, byte: cursor.position)
                return
            }
            var (first, rest) = (position.first, position.rest)
            for index in position.entry..<entry {  // each below 2³²: no overflow
                let (title, body) = (Int(titles[index]), Int(bodies[index]))
                first &+= (title > 0 ? 1 : 0) &+ (body > 0 ? 1 : 0)
                rest &+= max(title &- 1, 0) &+ max(body &- 1, 0)
            }
            var at = offset
            for field in 0..<2 {
                let count = field == 0 ? titles[entry] : bodies[entry]
                guard count > 0 else { continue }
                var value = UInt64(Self.value(bytes, bit: first * packed.firstWidth, width: packed.firstWidth, from: self.start))
                output[at] = UInt32(truncatingIfNeeded: value)
                at += 1
                first += 1
                for _ in 1..<Int(count) {
                    value &+= UInt64(Self.value(bytes, bit: packed.restStart + rest * packed.restWidth, width: packed.restWidth, from: self.start))
                    guard value <= UInt64(UInt32.max) else { throw IndexFormatError("a position past 2³²") }
                    output[at] = UInt32(truncatingIfNeeded: value)
                    at += 1
                    rest += 1
                }
            }
            position = ReadPosition(entry: entry + 1, first: first, rest: rest, byte: self.start)
        }

        /// Appends the positions of the chunk's `count` documents (each one's title's, then its body's) to `output`,
        /// reading each on from the last.
        func decodeAll(
            _ bytes: UnsafeRawBufferPointer, titles: UnsafePointer<UInt32>, bodies: UnsafePointer<UInt32>, count: Int, into output: inout [UInt32]
        ) throws(IndexFormatError) {
            var total = 0
            for index in 0..<count { total &+= Int(titles[index]) &+ Int(bodies[index]) }  // each below 2³²
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: total))
            var position = self.startPosition
            var at = start
            try output.withUnsafeMutableBufferPointer { output throws(IndexFormatError) in
                for entry in 0..<count {
                    try self.decode(bytes, entry: entry, titles: titles, bodies: bodies, from: &position, into: output, at: at)
                    at += Int(titles[entry]) + Int(bodies[entry])
                }
            }
        }

        /// `position` plus a varint gap, checked to stay below 2³².
        @inline(__always)
        private static func adding(_ gap: UInt64, to position: UInt64) throws(IndexFormatError) -> UInt64 {
            guard gap >> 32 == 0, position &+ gap <= UInt64(UInt32.max) else { throw IndexFormatError("a position past 2³²") }
            return position &+ gap
        }

        /// The `width`-bit value at bit `bit` of the stream starting at byte `start` (which the layout bounded).
        @inline(__always)
        private static func value(_ bytes: UnsafeRawBufferPointer, bit: Int, width: Int, from start: Int) -> UInt32 {
            guard width > 0 else { return 0 }
            let byte = start + bit >> 3
            let shift = bit & 7
            var word = UInt32(bytes[byte])
            if shift + width > 8 { word |= UInt32(bytes[byte + 1]) << 8 }
            if shift + width > 16 { word |= UInt32(bytes[byte + 2]) << 16 }
            return (word >> UInt32(shift)) & (1 << UInt32(width) - 1)
        }
    }
}
