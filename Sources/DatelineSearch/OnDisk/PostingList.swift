/// One term's postings in a segment, decoded: the documents containing it (ascending), its frequency in each
/// field, and (when asked for) every position, per document the title's then the body's, ascending in each.
package struct PostingList: Sendable, Equatable {
    package var documents: [UInt32] = []
    package var titleFrequencies: [UInt32] = []
    package var bodyFrequencies: [UInt32] = []
    /// Flattened positions; document `i`'s start at `positionStarts[i]` (empty when positions were not read).
    package var positions: [UInt32] = []
    package var positionStarts: [Int] = []

    package init() {}

    package var count: Int { self.documents.count }

    /// Appends one document's occurrences.
    package mutating func append(document: UInt32, title: some Collection<UInt32>, body: some Collection<UInt32>) {
        self.documents.append(document)
        self.titleFrequencies.append(UInt32(title.count))
        self.bodyFrequencies.append(UInt32(body.count))
        self.positionStarts.append(self.positions.count)
        self.positions.append(contentsOf: title)
        self.positions.append(contentsOf: body)
    }

    /// Appends one document whose title positions then body positions are `positions`.
    package mutating func append(document: UInt32, titleCount: Int, bodyCount: Int, positions: some Collection<UInt32>) {
        self.documents.append(document)
        self.titleFrequencies.append(UInt32(titleCount))
        self.bodyFrequencies.append(UInt32(bodyCount))
        self.positionStarts.append(self.positions.count)
        self.positions.append(contentsOf: positions)
    }

    /// Calls `body` with each document, its title and body frequencies, and its positions (its title's, then its
    /// body's).
    func forEachDocument(_ body: (UInt32, UInt32, UInt32, UnsafeBufferPointer<UInt32>) throws -> Void) rethrows {
        try self.positions.withUnsafeBufferPointer { positions in
            for index in self.documents.indices {
                let start = self.positionStarts[index]
                let end = start + Int(self.titleFrequencies[index]) + Int(self.bodyFrequencies[index])
                try body(self.documents[index], self.titleFrequencies[index], self.bodyFrequencies[index], UnsafeBufferPointer(rebasing: positions[start..<end]))
            }
        }
    }

    /// Document `index`'s title and body positions (positions must have been read).
    package func positions(at index: Int) -> (title: ArraySlice<UInt32>, body: ArraySlice<UInt32>) {
        let start = self.positionStarts[index]
        let middle = start + Int(self.titleFrequencies[index])
        let end = middle + Int(self.bodyFrequencies[index])
        return (self.positions[start..<middle], self.positions[middle..<end])
    }
}

/// The on-disk encoding of postings and positions.
///
/// A term's postings (at the offset its dictionary entry gives, which also gives its document count and where
/// its positions start): a byte giving the size of its skip entries (12, or 16 when a block's positions start
/// 4 GB or more past the term's), one skip entry per block (u32 last document, u32 offset of the block's data
/// from the end of the skip entries, the offset of the block's first positions from the term's: u32, or u64 in
/// 16-byte entries), then the blocks. A term of one block (most terms: 128 documents or fewer) has neither, only
/// its block: its last document is read from the block's last chunk.
///
/// A block holds up to ``blockSize`` documents in chunks of ``chunkSize``: its head (``BlockHead``: the bit widths
/// of its document gaps and frequencies, and whether its checkpoints are narrow), then for each chunk after the
/// first a checkpoint (the previous chunk's last document and the offset of the chunk's first positions from the
/// block's: two u16, the document counted from the block's first possible one, when every checkpoint of the block
/// fits, else two u32), then the documents' gaps (the first from one past the previous block's last document, or
/// from 0; each next minus one), their title frequencies and their body frequencies, each a
/// ``PatchedPacking`` column at the head's width. A seek decodes only the chunk its document is in. Positions: a chunk's
/// together (``PositionsChunk``), any document's found from the chunk's frequencies without decoding the others'.
enum PostingsFormat {
    static let blockSize = 128
    /// Skip entries' sizes: with a u32 positions offset, and with a u64 one.
    static let skipEntrySize = 12
    static let wideSkipEntrySize = 16
    /// Documents per chunk of a block (a cursor decodes a block a chunk at a time).
    static let chunkSize = 32
    /// A checkpoint's positions offset when the chunk's positions start 4 GB or more past the block's (a block of
    /// 128 huge articles): a reader steps over the earlier chunks' positions instead.
    static let positionsPastCheckpoint = UInt32.max

    /// The chunks of a block of `entries` documents.
    @inline(__always)
    static func chunks(_ entries: Int) -> Int { (entries + self.chunkSize - 1) / self.chunkSize }

    struct SkipEntry {
        var lastDocument: UInt32
        var dataOffset: UInt32
        var positionsOffset: UInt64
    }

    /// A block's head: one byte (bits 0–5 the document gaps' width, bit 6 set when the checkpoints are narrow, bit
    /// 7 set when the head is long), then in a short head the title and body frequencies' widths in one byte (low
    /// and high four bits; no column patched), in a long one a byte for each (bits 0–5 the width, bit 6 set when
    /// the column is patched; bit 7 of the title's set when the document gaps are). Columns: ``PatchedPacking``.
    struct BlockHead {
        let documents: PatchedPacking.Layout
        let titles: PatchedPacking.Layout
        let bodies: PatchedPacking.Layout
        /// Whether the checkpoints are two u16 (rather than two u32).
        let narrow: Bool
        /// Where the checkpoints start.
        let checkpoints: Int

        var checkpointSize: Int { self.narrow ? 4 : 8 }

        /// The head of no block (a cursor's before it loads one).
        init() {
            (self.documents, self.titles, self.bodies) = (.init(width: 0), .init(width: 0), .init(width: 0))
            (self.narrow, self.checkpoints) = (true, 0)
        }

        /// Reads the head of a block of `entries` documents at `cursor` and moves past its checkpoints.
        init(_ cursor: inout ByteCursor, entries: Int) throws(IndexFormatError) {
            let first = try cursor.fixed(UInt8.self)
            self.narrow = first & 0x40 != 0
            if first & 0x80 != 0 {
                let titles = try cursor.fixed(UInt8.self)
                let bodies = try cursor.fixed(UInt8.self)
                self.documents = .init(width: Int(first & 0x3F), patched: titles & 0x80 != 0)
                self.titles = .init(width: Int(titles & 0x3F), patched: titles & 0x40 != 0)
                self.bodies = .init(width: Int(bodies & 0x3F), patched: bodies & 0x40 != 0)
            } else {
                let widths = try cursor.fixed(UInt8.self)
                self.documents = .init(width: Int(first & 0x3F))
                (self.titles, self.bodies) = (.init(width: Int(widths & 0x0F)), .init(width: Int(widths >> 4)))
            }
            guard self.documents.isValid, self.titles.isValid, self.bodies.isValid else {
                throw IndexFormatError("a block claims columns of \(self.documents.width)-, \(self.titles.width)- and \(self.bodies.width)-bit values")
            }
            self.checkpoints = cursor.position
            _ = try cursor.bytes((PostingsFormat.chunks(entries) - 1) * self.checkpointSize)
        }

        /// Appends a block's head.
        static func write(documents: PatchedPacking.Plan, titles: PatchedPacking.Plan, bodies: PatchedPacking.Plan, narrow: Bool, into output: inout [UInt8]) {
            let long = documents.isPatched || titles.isPatched || bodies.isPatched || titles.width > 15 || bodies.width > 15
            output.append(UInt8(documents.width) | (narrow ? 0x40 : 0) | (long ? 0x80 : 0))
            if long {
                output.append(UInt8(titles.width) | (titles.isPatched ? 0x40 : 0) | (documents.isPatched ? 0x80 : 0))
                output.append(UInt8(bodies.width) | (bodies.isPatched ? 0x40 : 0))
            } else {
                output.append(UInt8(titles.width) | UInt8(bodies.width) << 4)
            }
        }

        /// Checkpoint `index` (before chunk `index + 1`) of a block whose documents start at `base`: the last
        /// document before its chunk, and where the chunk's positions start from the block's (or
        /// ``PostingsFormat/positionsPastCheckpoint``). Within the checkpoints the head bounded.
        @inline(__always)
        func checkpoint(_ index: Int, in postings: UnsafeRawBufferPointer, base: UInt32) -> (lastDocument: UInt32, positions: UInt32) {
            if self.narrow {
                let at = self.checkpoints + 4 * index
                return (base &+ UInt32(postings.littleEndian(at: at, as: UInt16.self)), UInt32(postings.littleEndian(at: at + 2, as: UInt16.self)))
            }
            let at = self.checkpoints + 8 * index
            return (postings.littleEndian(at: at, as: UInt32.self), postings.littleEndian(at: at + 4, as: UInt32.self))
        }
    }

    /// Where a term's blocks are: its skip entries, or a one-block term's last document (decoded from the
    /// block's last chunk) and positions offset (the dictionary's).
    struct Layout {
        let blockCount: Int
        let skipStart: Int
        let skipEntrySize: Int
        /// Where the term's positions start (block positions offsets count from here).
        let termPositions: UInt64
        /// Where the blocks' data starts (block offsets count from here).
        let dataStart: Int
        /// A one-block term's last document and positions offset (it has no skip entry).
        private let single: (lastDocument: UInt32, positionsOffset: UInt64)?

        /// The head of the postings of a term of `count` documents at `offset` whose positions start at
        /// `positionsOffset`.
        init(_ postings: UnsafeRawBufferPointer, offset: Int, count: Int, positionsOffset: UInt64) throws(IndexFormatError) {
            guard count > 0, offset >= 0, offset <= postings.count else { throw IndexFormatError("a term of \(count) documents at \(offset)") }
            let blockCount = (count + PostingsFormat.blockSize - 1) / PostingsFormat.blockSize
            self.blockCount = blockCount
            self.termPositions = positionsOffset
            if blockCount == 1 {
                (self.skipStart, self.skipEntrySize, self.dataStart) = (offset, 0, offset)
                self.single = (try Self.lastDocument(ofOnlyBlockAt: offset, in: postings, count: count), positionsOffset)
            } else {
                guard offset < postings.count else { throw IndexFormatError("a term's postings start past their file") }
                let entrySize = Int(postings[offset])
                guard entrySize == PostingsFormat.skipEntrySize || entrySize == PostingsFormat.wideSkipEntrySize else {
                    throw IndexFormatError("skip entries of \(entrySize) bytes")
                }
                guard blockCount <= (postings.count - offset - 1) / entrySize else { throw IndexFormatError("skip entries run past the postings") }
                self.single = nil
                (self.skipStart, self.skipEntrySize) = (offset + 1, entrySize)
                self.dataStart = offset + 1 + blockCount * entrySize
                guard self.relativePositions(0, in: postings) == 0 else {
                    throw IndexFormatError("a term's first block's positions are not where its dictionary entry says")
                }
            }
        }

        /// The last document of a term's only block (`count` documents): its last chunk's gaps summed from the
        /// checkpoint before it.
        private static func lastDocument(ofOnlyBlockAt offset: Int, in postings: UnsafeRawBufferPointer, count: Int) throws(IndexFormatError) -> UInt32 {
            var cursor = ByteCursor(postings, at: offset)
            let head = try BlockHead(&cursor, entries: count)
            let chunks = PostingsFormat.chunks(count)
            let base = chunks > 1 ? head.checkpoint(chunks - 2, in: postings, base: 0).lastDocument &+ 1 : 0
            let packed = try head.documents.column(&cursor, count: count)
            let first = (chunks - 1) * PostingsFormat.chunkSize
            let next = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: PostingsFormat.blockSize) { scratch in
                packed.decodeAscending(first..<count, from: base, into: scratch.baseAddress!)
            }
            guard next > base else { throw IndexFormatError("a block's documents pass 2³²") }
            return next &- 1
        }

        /// Block `block`'s last document.
        @inline(__always)
        func lastDocument(_ block: Int, in postings: UnsafeRawBufferPointer) -> UInt32 {
            if let single { return single.lastDocument }
            return postings.littleEndian(at: self.skipStart + block * self.skipEntrySize, as: UInt32.self)
        }

        /// Where block `block`'s data starts in the postings.
        func dataPosition(_ block: Int, in postings: UnsafeRawBufferPointer) -> Int {
            guard self.single == nil else { return self.dataStart }
            return self.dataStart + Int(postings.littleEndian(at: self.skipStart + block * self.skipEntrySize + 4, as: UInt32.self))
        }

        /// Where block `block`'s positions start in the positions file.
        func positionsOffset(_ block: Int, in postings: UnsafeRawBufferPointer) -> UInt64 {
            if let single { return single.positionsOffset }
            return self.termPositions &+ self.relativePositions(block, in: postings)
        }

        /// Where block `block`'s positions start from the term's.
        private func relativePositions(_ block: Int, in postings: UnsafeRawBufferPointer) -> UInt64 {
            let at = self.skipStart + block * self.skipEntrySize + 8
            return self.skipEntrySize == PostingsFormat.skipEntrySize ? UInt64(postings.littleEndian(at: at, as: UInt32.self)) : postings.littleEndian(at: at, as: UInt64.self)
        }
    }

    /// Encodes `list` (positions included), appending positions to `positions` (whose current size is where
    /// this term's start), and returns the postings bytes.
    ///
    /// - Parameters:
    ///   - checkpointLimit: Chunks whose positions start this far or further past their block's get no positions
    ///     checkpoint (4 GB; tests lower it).
    ///   - skipEntryLimit: Blocks whose positions start further than this past the term's make its skip entries
    ///     wide (4 GB; tests lower it).
    static func encode(
        _ list: PostingList, positionsBase: UInt64, positions: inout [UInt8], checkpointLimit: UInt64 = UInt64(PostingsFormat.positionsPastCheckpoint),
        skipEntryLimit: UInt64 = UInt64(UInt32.max)
    ) -> [UInt8] {
        var encoder = Encoder(positionsBase: positionsBase, checkpointLimit: checkpointLimit, skipEntryLimit: skipEntryLimit)
        list.forEachDocument { document, title, body, documentPositions in
            encoder.add(document: document, titleFrequency: title, bodyFrequency: body, positions: documentPositions)
        }
        let postings = encoder.finish()
        positions.append(contentsOf: encoder.takePositions())
        return postings
    }

    /// Encodes one term's postings a document at a time. The postings are kept until ``finish()`` (a few bytes a
    /// document: the skip entries come first); the positions are handed out a chunk at a time as they come
    /// (``takePositions()``; the last after ``finish()``), so that a term of any size is encoded in bounded memory.
    struct Encoder {
        private let positionsBase: UInt64
        /// Positions offsets from here on are not written into checkpoints (see ``PostingsFormat/positionsPastCheckpoint``).
        private let checkpointLimit: UInt64
        /// Block positions offsets past this (from the term's) make the skip entries wide.
        private let skipEntryLimit: UInt64
        /// Positions bytes produced so far, handed out or not.
        private var positionsProduced: UInt64 = 0
        private var pendingPositions: [UInt8] = []
        private var skips: [SkipEntry] = []
        private var data: [UInt8] = []
        private var documents: [UInt32] = []
        private var titles: [UInt32] = []
        private var bodies: [UInt32] = []
        /// The positions of the chunk being filled (``PositionsChunk``): its documents are the block's last ones,
        /// after the chunks closed (`chunkOffsets`).
        private var chunkPositions: [UInt32] = []
        private var chunkScratch: (firsts: [UInt32], rest: [UInt32]) = ([], [])
        /// Each of the block's chunks' first positions byte, from the block's.
        private var chunkOffsets: [UInt64] = []
        private var blockPositionsStart: UInt64 = 0
        private var previousEnd: UInt32 = 0  // one past the previous block's last document
        private var lastDocument: UInt32?
        /// Documents added.
        private(set) var count = 0

        /// An encoder whose positions start at `positionsBase` in the positions file.
        init(positionsBase: UInt64, checkpointLimit: UInt64 = UInt64(PostingsFormat.positionsPastCheckpoint), skipEntryLimit: UInt64 = UInt64(UInt32.max)) {
            self.positionsBase = positionsBase
            self.skipEntryLimit = min(skipEntryLimit, UInt64(UInt32.max))
            self.checkpointLimit = min(checkpointLimit, UInt64(PostingsFormat.positionsPastCheckpoint))
            self.documents.reserveCapacity(PostingsFormat.blockSize)
            self.titles.reserveCapacity(PostingsFormat.blockSize)
            self.bodies.reserveCapacity(PostingsFormat.blockSize)
        }

        /// Positions bytes not handed out yet.
        var pendingPositionBytes: Int { self.pendingPositions.count }

        /// Adds the next document (documents must increase) with its title and body frequencies and its positions
        /// (the title's, then the body's, ascending in each).
        mutating func add(document: UInt32, titleFrequency: UInt32, bodyFrequency: UInt32, positions: UnsafeBufferPointer<UInt32>) {
            precondition(self.lastDocument.map { $0 < document } ?? true, "a term's documents must increase")
            precondition(positions.count == Int(titleFrequency) + Int(bodyFrequency), "a document's positions are its frequencies' sum")
            if self.documents.isEmpty { self.blockPositionsStart = self.positionsProduced }
            self.lastDocument = document
            self.documents.append(document)
            self.titles.append(titleFrequency)
            self.bodies.append(bodyFrequency)
            self.chunkPositions.append(contentsOf: positions)
            self.count += 1
            if self.documents.count == (self.chunkOffsets.count + 1) * PostingsFormat.chunkSize { self.closeChunk() }
            if self.documents.count == PostingsFormat.blockSize { self.closeBlock() }
        }

        /// Encodes the chunk being filled into the pending positions.
        private mutating func closeChunk() {
            let first = self.chunkOffsets.count * PostingsFormat.chunkSize
            guard first < self.documents.count else { return }
            self.chunkOffsets.append(self.positionsProduced - self.blockPositionsStart)
            let before = self.pendingPositions.count
            PositionsChunk.encode(
                titles: self.titles[first...], bodies: self.bodies[first...], positions: self.chunkPositions, scratch: &self.chunkScratch,
                into: &self.pendingPositions
            )
            self.positionsProduced += UInt64(self.pendingPositions.count - before)
            self.chunkPositions.removeAll(keepingCapacity: true)
        }

        /// The positions bytes produced since the last call, for the caller to write in order.
        mutating func takePositions() -> [UInt8] {
            defer { self.pendingPositions.removeAll(keepingCapacity: true) }
            return self.pendingPositions
        }

        /// Packs the block being filled.
        private mutating func closeBlock() {
            self.closeChunk()
            guard let last = self.documents.last else { return }
            self.skips.append(SkipEntry(
                lastDocument: last, dataOffset: UInt32(self.data.count), positionsOffset: self.positionsBase + self.blockPositionsStart
            ))
            // Checkpoints: narrow (u16 pairs) when every one fits, the document counted from the block's base.
            let base = self.previousEnd
            var checkpoints: [(document: UInt32, positions: UInt32)] = []
            var narrow = true
            for chunk in 1..<max(1, PostingsFormat.chunks(self.documents.count)) {
                let first = chunk * PostingsFormat.chunkSize
                let offset = self.chunkOffsets[chunk] < self.checkpointLimit ? UInt32(self.chunkOffsets[chunk]) : PostingsFormat.positionsPastCheckpoint
                checkpoints.append((self.documents[first - 1], offset))
                narrow = narrow && self.documents[first - 1] - base <= UInt32(UInt16.max) && offset <= UInt32(UInt16.max)
            }
            var expected = base
            for index in self.documents.indices {
                let document = self.documents[index]
                self.documents[index] = document - expected
                expected = document + 1
            }
            self.previousEnd = expected
            let plans = (
                self.documents.withUnsafeBufferPointer(PatchedPacking.plan), self.titles.withUnsafeBufferPointer(PatchedPacking.plan),
                self.bodies.withUnsafeBufferPointer(PatchedPacking.plan)
            )
            BlockHead.write(documents: plans.0, titles: plans.1, bodies: plans.2, narrow: narrow, into: &self.data)
            for checkpoint in checkpoints {
                if narrow {
                    self.data.appendLittleEndian(UInt16(checkpoint.document - base))
                    self.data.appendLittleEndian(UInt16(checkpoint.positions))
                } else {
                    self.data.appendLittleEndian(checkpoint.document)
                    self.data.appendLittleEndian(checkpoint.positions)
                }
            }
            self.documents.withUnsafeBufferPointer { PatchedPacking.write($0, plan: plans.0, into: &self.data) }
            self.titles.withUnsafeBufferPointer { PatchedPacking.write($0, plan: plans.1, into: &self.data) }
            self.bodies.withUnsafeBufferPointer { PatchedPacking.write($0, plan: plans.2, into: &self.data) }
            self.documents.removeAll(keepingCapacity: true)
            self.titles.removeAll(keepingCapacity: true)
            self.bodies.removeAll(keepingCapacity: true)
            self.chunkOffsets.removeAll(keepingCapacity: true)
        }

        /// The term's postings bytes (then take the last positions).
        mutating func finish() -> [UInt8] {
            self.closeBlock()
            var output: [UInt8] = []
            output.reserveCapacity(1 + self.skips.count * PostingsFormat.wideSkipEntrySize + self.data.count)
            if self.skips.count > 1 {
                let wide = self.skips.contains { $0.positionsOffset - self.positionsBase > self.skipEntryLimit }
                output.append(UInt8(wide ? PostingsFormat.wideSkipEntrySize : PostingsFormat.skipEntrySize))
                for skip in self.skips {
                    output.appendLittleEndian(skip.lastDocument)
                    output.appendLittleEndian(skip.dataOffset)
                    if wide {
                        output.appendLittleEndian(skip.positionsOffset - self.positionsBase)
                    } else {
                        output.appendLittleEndian(UInt32(skip.positionsOffset - self.positionsBase))
                    }
                }
            }
            output.append(contentsOf: self.data)
            return output
        }
    }

    /// Walks a term's postings a block at a time, reading a block only when a document asked for may be in it
    /// (its skip entry's last document is at or past it), so an intersection led by a rarer term reads only the
    /// blocks it lands in; within a block, only the chunks a search lands in are decoded (a chunk's checkpoint
    /// says where it ends), frequencies only once a found document's are asked for; reads the positions of the
    /// documents it finds alone (a packed chunk's are found from its frequencies; varints after those of the chunk's
    /// earlier documents). Documents at or past `limit` are not there.
    struct BlockCursor {
        private let postings: UnsafeRawBufferPointer
        private let positions: UnsafeRawBufferPointer
        private let count: Int
        private let limit: UInt32
        private let layout: Layout
        private var blockCount: Int { self.layout.blockCount }
        private var block = -1
        private var entries = 0
        private var entry = 0  // the entry of the block sought last
        /// The loaded block's chunks (``PostingsFormat/chunkSize`` documents each), and its head (widths, checkpoints).
        private var chunks = 0
        private var head = BlockHead()
        /// The last document of each of the loaded block's chunks (at most four: its checkpoints, then its skip entry's, read once
        /// when it loads: a seek compares these).
        private var chunkEnds = SIMD4<UInt32>()
        /// One past the previous block's last document (the block's first gap counts from it).
        private var blockBase: UInt32 = 0
        /// The loaded block's packed document gaps, title and body frequencies.
        private var packedDocuments = PatchedPacking.Column()
        private var packedTitles = PatchedPacking.Column()
        private var packedBodies = PatchedPacking.Column()
        /// Which of the block's chunks have their documents (as document numbers), and their frequencies, decoded:
        /// bit `c` for chunk `c`.
        private var decodedDocuments: UInt32 = 0
        private var decodedFrequencies: UInt32 = 0
        /// Which of the loaded block's patched columns have their patches decoded (bit 0 the documents, 1 the
        /// titles, 2 the bodies).
        private var decodedPatches: UInt8 = 0
        /// The loaded block's documents, title and body frequencies: one allocation per cursor, not three
        /// arrays (a query makes a cursor per term and segment), copied before a write when a copy of the
        /// cursor shares it, so cursors keep value semantics.
        private var buffer = BlockBuffer.make()
        private var documents: UnsafeMutablePointer<UInt32> { self.buffer.elements }
        private var titles: UnsafeMutablePointer<UInt32> { self.buffer.elements + PostingsFormat.blockSize }
        private var bodies: UnsafeMutablePointer<UInt32> { self.buffer.elements + 2 * PostingsFormat.blockSize }
        /// The block's positions start in the positions file.
        private var blockPositions = 0
        /// A chunk of the loaded block whose positions are known to start at `positionChunkStart`.
        private var positionChunk = 0
        private var positionChunkStart = 0
        /// The layout of the positions of the chunk last read from (`positionChunk`), and where that read left off.
        private var chunkLayout: PositionsChunk.Layout?
        private var chunkReadPosition = PositionsChunk.Layout.ReadPosition(byte: 0)
        /// Whether the last call was a ``seek(_:)`` that found its document (frequencies and positions are then
        /// those of `entry`).
        private var found = false

        init(
            _ postings: UnsafeRawBufferPointer, offset: Int, count: Int, positionsOffset: UInt64, limit: UInt32, positions: UnsafeRawBufferPointer
        ) throws(IndexFormatError) {
            self.layout = try Layout(postings, offset: offset, count: count, positionsOffset: positionsOffset)
            self.postings = postings
            self.positions = positions
            self.count = count
            self.limit = limit
        }

        /// Whether no document at or after the last one sought is left.
        var isExhausted: Bool { self.block >= self.blockCount }

        @inline(__always)
        private func lastDocument(_ block: Int) -> UInt32 {
            self.layout.lastDocument(block, in: self.postings)
        }

        /// The last document of the loaded block's chunk `chunk`.
        @inline(__always)
        private func lastDocument(chunk: Int) -> UInt32 { self.chunkEnds[chunk] }

        /// Moves to `block`: bounds its checkpoints and packed values, decodes none.
        private mutating func load(_ block: Int) throws(IndexFormatError) {
            let entries = min(PostingsFormat.blockSize, self.count - block * PostingsFormat.blockSize)
            guard entries > 0 else { throw IndexFormatError("block \(block) of a term of \(self.count) documents is empty") }
            var cursor = ByteCursor(self.postings, at: self.layout.dataPosition(block, in: self.postings))
            self.chunks = PostingsFormat.chunks(entries)
            let head = try BlockHead(&cursor, entries: entries)
            self.head = head
            self.packedDocuments = try head.documents.column(&cursor, count: entries)
            self.packedTitles = try head.titles.column(&cursor, count: entries)
            self.packedBodies = try head.bodies.column(&cursor, count: entries)
            self.blockBase = block == 0 ? 0 : self.lastDocument(block - 1) &+ 1
            var ends = SIMD4<UInt32>(repeating: self.lastDocument(block))
            for chunk in 0..<(self.chunks - 1) { ends[chunk] = head.checkpoint(chunk, in: self.postings, base: self.blockBase).lastDocument }
            self.chunkEnds = ends
            self.decodedDocuments = 0
            self.decodedFrequencies = 0
            self.decodedPatches = 0
            self.block = block
            self.entries = entries
            self.entry = 0
            let blockPositions = self.layout.positionsOffset(block, in: self.postings)
            guard blockPositions <= UInt64(self.positions.count) else { throw IndexFormatError("block \(block)'s positions start past the positions file") }
            self.blockPositions = Int(blockPositions)
            (self.positionChunk, self.positionChunkStart, self.chunkLayout) = (0, self.blockPositions, nil)
        }

        /// Decodes the documents of the loaded block's chunk `chunk` (unless they are) and checks the last against
        /// the chunk's checkpoint.
        @inline(__always)
        private mutating func decodeDocuments(chunk: Int) throws(IndexFormatError) {
            guard self.decodedDocuments & (1 << UInt32(chunk)) == 0 else { return }
            if !isKnownUniquelyReferenced(&self.buffer) { self.buffer = self.buffer.copy() }
            let first = chunk * PostingsFormat.chunkSize
            let range = first..<min(self.entries, first + PostingsFormat.chunkSize)
            let base = chunk == 0 ? self.blockBase : self.lastDocument(chunk: chunk - 1) &+ 1
            let patches = self.patches(0, of: self.packedDocuments)
            let next = self.packedDocuments.decodeAscending(range, from: base, into: self.documents, patches: patches)
            self.decodedDocuments |= 1 << UInt32(chunk)
            guard next &- 1 == self.lastDocument(chunk: chunk) else {
                throw IndexFormatError("block \(self.block) chunk \(chunk) ends at document \(next &- 1), its checkpoint says \(self.lastDocument(chunk: chunk))")
            }
        }

        /// Decodes the title and body frequencies of the loaded block's chunk `chunk` (unless they are).
        @inline(__always)
        private mutating func decodeFrequencies(chunk: Int) {
            guard self.decodedFrequencies & (1 << UInt32(chunk)) == 0 else { return }
            if !isKnownUniquelyReferenced(&self.buffer) { self.buffer = self.buffer.copy() }
            let first = chunk * PostingsFormat.chunkSize
            let range = first..<min(self.entries, first + PostingsFormat.chunkSize)
            self.packedTitles.decode(range, into: self.titles, patches: self.patches(1, of: self.packedTitles))
            self.packedBodies.decode(range, into: self.bodies, patches: self.patches(2, of: self.packedBodies))
            self.decodedFrequencies |= 1 << UInt32(chunk)
        }

        /// The loaded block's patches of column `column` (0 the document gaps, 1 the title frequencies, 2 the body
        /// frequencies), decoded into the buffer the first time a chunk needs them (the buffer is this cursor's own);
        /// nil when the column has none.
        @inline(__always)
        private mutating func patches(_ column: Int, of packed: PatchedPacking.Column) -> PatchedPacking.Patches? {
            guard packed.isPatched else { return nil }
            let indices = self.buffer.elements + (3 + 2 * column) * PostingsFormat.blockSize
            let highs = indices + PostingsFormat.blockSize
            if self.decodedPatches & (1 << UInt8(column)) == 0 {
                self.decodedPatches |= 1 << UInt8(column)
                return packed.decodePatches(indices: indices, highs: highs)
            }
            return PatchedPacking.Patches(indices: indices, highs: highs, count: packed.patchIndices.count, shift: UInt32(packed.base.width))
        }

        /// Moves to `target`, or past it to the next document, and says whether the term holds `target`.
        /// Targets must not decrease.
        @inline(__always)
        mutating func seek(_ target: UInt32) throws(IndexFormatError) -> Bool {
            self.found = false
            guard target < self.limit, self.block < self.blockCount else { return false }
            if self.block < 0 || self.lastDocument(self.block) < target {
                var next = max(self.block, 0)
                while next < self.blockCount, self.lastDocument(next) < target { next += 1 }
                guard next < self.blockCount else {
                    self.block = self.blockCount
                    return false
                }
                if next != self.block { try self.load(next) }
            }
            // The block's last document is at or past the target: so is the last of the chunk found here, and the
            // scan stops within that chunk.
            var chunk = self.entry / PostingsFormat.chunkSize
            while chunk + 1 < self.chunks, self.lastDocument(chunk: chunk) < target { chunk += 1 }
            try self.decodeDocuments(chunk: chunk)
            let end = min(self.entries, (chunk + 1) * PostingsFormat.chunkSize)
            var entry = max(self.entry, chunk * PostingsFormat.chunkSize)
            let documents = self.documents
            while entry < end, documents[entry] < target { entry += 1 }
            self.entry = min(entry, self.entries - 1)
            self.found = entry < end && documents[entry] == target
            return self.found
        }

        /// Moves to the next document (the first, at the start) and returns it; nil past the last one below the
        /// limit. Only the documents are decoded (see ``seek(_:)`` for a document's frequencies and positions).
        mutating func next() throws(IndexFormatError) -> UInt32? {
            self.found = false
            if self.block < 0 {
                guard self.blockCount > 0 else { return nil }
                try self.load(0)
            } else if self.block >= self.blockCount {
                return nil
            } else if self.entry + 1 < self.entries {
                self.entry += 1
            } else {
                guard self.block + 1 < self.blockCount else {
                    self.block = self.blockCount
                    return nil
                }
                try self.load(self.block + 1)
            }
            try self.decodeDocuments(chunk: self.entry / PostingsFormat.chunkSize)
            let document = self.documents[self.entry]
            guard document < self.limit else {
                self.block = self.blockCount
                return nil
            }
            return document
        }

        /// Moves to the next block (the first, at the start), decodes all its documents, appends those below the
        /// limit to `documents` and stays before the block's first: seeking them next decodes nothing more (a
        /// filtered walk reads a block's documents, keeps some, then seeks those). False past the last block.
        mutating func nextBlock(into documents: inout [UInt32]) throws(IndexFormatError) -> Bool {
            self.found = false
            let block = self.block + 1
            guard block < self.blockCount else {
                self.block = self.blockCount
                return false
            }
            try self.load(block)
            guard self.blockBase < self.limit else {
                self.block = self.blockCount
                return false
            }
            for chunk in 0..<self.chunks { try self.decodeDocuments(chunk: chunk) }
            let decoded = UnsafeBufferPointer(start: self.documents, count: self.entries)
            if self.lastDocument(block) < self.limit {
                documents.append(contentsOf: decoded)
            } else {
                for document in decoded where document < self.limit { documents.append(document) }
            }
            return true
        }

        /// The title and body frequencies of the document the last successful ``seek(_:)`` found (its chunk's
        /// are decoded on the first call: a seek alone decodes none, as an intersection that finds a document in
        /// one term but not the next needs none).
        mutating func frequencies() throws(IndexFormatError) -> (title: UInt32, body: UInt32) {
            guard self.found else { throw IndexFormatError("frequencies asked for before their document was found") }
            self.decodeFrequencies(chunk: self.entry / PostingsFormat.chunkSize)
            return (self.titles[self.entry], self.bodies[self.entry])
        }

        /// Writes the title then the body positions of the document the last successful ``seek(_:)`` found into
        /// `buffer` from `offset` (growing it as needed: a caller reuses one buffer for every document) and says
        /// where each field's are.
        mutating func positions(into buffer: inout [UInt32], at offset: Int) throws(IndexFormatError) -> (title: Range<Int>, body: Range<Int>) {
            guard self.found, offset >= 0, offset <= buffer.count else {
                throw IndexFormatError("positions asked for before their document was found")
            }
            let chunk = self.entry / PostingsFormat.chunkSize
            self.decodeFrequencies(chunk: chunk)
            let chunkStart = chunk * PostingsFormat.chunkSize
            if chunk != self.positionChunk || self.chunkLayout == nil {
                try self.findPositions(ofChunk: chunk)
                let layout = try PositionsChunk.Layout(
                    self.positions, at: self.positionChunkStart, titles: self.titles + chunkStart, bodies: self.bodies + chunkStart,
                    count: min(self.entries, chunkStart + PostingsFormat.chunkSize) - chunkStart
                )
                (self.chunkLayout, self.chunkReadPosition) = (layout, layout.startPosition)
            }
            let middle = offset + Int(self.titles[self.entry])
            let end = middle + Int(self.bodies[self.entry])
            if buffer.count < end { buffer.append(contentsOf: repeatElement(0, count: end - buffer.count)) }
            let (positions, titles, bodies, entry) = (self.positions, self.titles + chunkStart, self.bodies + chunkStart, self.entry - chunkStart)
            let layout = self.chunkLayout!
            var readPosition = self.chunkReadPosition
            try buffer.withUnsafeMutableBufferPointer { buffer throws(IndexFormatError) in
                try layout.decode(positions, entry: entry, titles: titles, bodies: bodies, from: &readPosition, into: buffer, at: offset)
            }
            self.chunkReadPosition = readPosition
            return (offset..<middle, middle..<end)
        }

        /// Finds where the positions of the loaded block's chunk `chunk` start: from its checkpoint, else (a chunk
        /// too far past its block's start for one) stepping over the chunks before it.
        private mutating func findPositions(ofChunk chunk: Int) throws(IndexFormatError) {
            guard chunk != self.positionChunk else { return }
            self.chunkLayout = nil
            if chunk > 0 {
                let checkpoint = self.head.checkpoint(chunk - 1, in: self.postings, base: self.blockBase).positions
                if checkpoint != PostingsFormat.positionsPastCheckpoint {
                    guard Int(checkpoint) <= self.positions.count - self.blockPositions else {
                        throw IndexFormatError("block \(self.block) chunk \(chunk)'s positions start past the positions file")
                    }
                    (self.positionChunk, self.positionChunkStart) = (chunk, self.blockPositions + Int(checkpoint))
                    return
                }
            }
            var (known, start) = self.positionChunk < chunk ? (self.positionChunk, self.positionChunkStart) : (0, self.blockPositions)
            while known < chunk {
                self.decodeFrequencies(chunk: known)
                let first = known * PostingsFormat.chunkSize
                start = try PositionsChunk.Layout(
                    self.positions, at: start, titles: self.titles + first, bodies: self.bodies + first,
                    count: min(self.entries, first + PostingsFormat.chunkSize) - first, needsEnd: true
                ).end!
                known += 1
            }
            (self.positionChunk, self.positionChunkStart) = (chunk, start)
        }
    }

    /// A block cursor's decoded block: room for ``blockSize`` documents, then as many title frequencies, then
    /// as many body frequencies, then for each of the three columns room for its patches' indices and high bits
    /// (``blockSize`` each), in the object itself (a non-generic class: no generic metadata looked up at
    /// run time per cursor, as an `Array<UInt32>` of this module's makes).
    final class BlockBuffer: ManagedBuffer<Void, UInt32> {
        /// Values, three columns' worth, and two patch lists for each column.
        static let capacity = 9 * PostingsFormat.blockSize

        static func make() -> BlockBuffer {
            let buffer = unsafeDowncast(self.create(minimumCapacity: Self.capacity) { _ in }, to: BlockBuffer.self)
            buffer.withUnsafeMutablePointerToElements { $0.initialize(repeating: 0, count: Self.capacity) }
            return buffer
        }

        /// The elements' storage, at a fixed place for the object's lifetime (its owner keeps it alive).
        var elements: UnsafeMutablePointer<UInt32> { self.withUnsafeMutablePointerToElements { $0 } }

        func copy() -> BlockBuffer {
            let copy = BlockBuffer.make()
            copy.elements.update(from: self.elements, count: Self.capacity)
            return copy
        }
    }

    /// Unpacks block `block` of a term of `count` documents laid out as `layout` says: its document gaps, title
    /// and body frequencies into the first entries of the three buffers; returns how many entries it has.
    static func unpack(
        _ postings: UnsafeRawBufferPointer, block: Int, count: Int, layout: Layout,
        into documents: UnsafeMutableBufferPointer<UInt32>, _ titles: UnsafeMutableBufferPointer<UInt32>, _ bodies: UnsafeMutableBufferPointer<UInt32>
    ) throws(IndexFormatError) -> (entries: Int, head: BlockHead) {
        let entries = min(self.blockSize, count - block * self.blockSize)
        var cursor = ByteCursor(postings, at: layout.dataPosition(block, in: postings))
        let head = try BlockHead(&cursor, entries: entries)  // a walk through every document needs no checkpoint
        try head.documents.column(&cursor, count: entries).decode(0..<entries, into: documents.baseAddress!)
        try head.titles.column(&cursor, count: entries).decode(0..<entries, into: titles.baseAddress!)
        try head.bodies.column(&cursor, count: entries).decode(0..<entries, into: bodies.baseAddress!)
        return (entries, head)
    }

    /// Appends the postings of a term with `count` documents at `offset` that are below `limit` to `key`
    /// (without positions), each document number plus `base`: the scoring path, with no intermediate list.
    static func append(
        _ postings: UnsafeRawBufferPointer, offset: Int, count: Int, positionsOffset: UInt64, limit: UInt32, base: UInt32, to key: inout ScoredKey
    ) throws(IndexFormatError) {
        let layout = try Layout(postings, offset: offset, count: count, positionsOffset: positionsOffset)
        // Grown geometrically: a key gathers many segments' postings, and reserving each one's exact count
        // would copy everything gathered so far once per segment.
        let needed = key.documents.count + count
        if key.documents.capacity < needed {
            let capacity = max(needed, 2 * key.documents.capacity)
            key.documents.reserveCapacity(capacity)
            key.title.reserveCapacity(capacity)
            key.body.reserveCapacity(capacity)
        }
        try withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 3 * self.blockSize) { scratch throws(IndexFormatError) in
            let documents = UnsafeMutableBufferPointer(rebasing: scratch[0..<self.blockSize])
            let titles = UnsafeMutableBufferPointer(rebasing: scratch[self.blockSize..<(2 * self.blockSize)])
            let bodies = UnsafeMutableBufferPointer(rebasing: scratch[(2 * self.blockSize)...])
            var previousEnd: UInt32 = 0
            for block in 0..<layout.blockCount {
                let firstDocumentBound = previousEnd
                previousEnd = layout.lastDocument(block, in: postings) &+ 1
                guard firstDocumentBound < limit else { return }  // every document of this block is at or past the limit
                let entries = try self.unpack(postings, block: block, count: count, layout: layout, into: documents, titles, bodies).entries
                var document = firstDocumentBound
                var kept = entries
                for index in 0..<entries {
                    document = document &+ documents[index]
                    if document >= limit { kept = index; break }
                    documents[index] = base &+ document
                    document &+= 1
                }
                key.documents.append(contentsOf: documents[0..<kept])
                key.title.append(contentsOf: titles[0..<kept])
                key.body.append(contentsOf: bodies[0..<kept])
                guard kept == entries else { return }
                guard document &- 1 == previousEnd &- 1 else {
                    throw IndexFormatError("block \(block) ends at document \(document &- 1), its skip entry says \(previousEnd &- 1)")
                }
            }
        }
    }

    /// Calls `body` with each document below `limit` of the term of `count` documents at `offset`: its number,
    /// its title and body frequencies, and its positions (its title's, then its body's), a chunk's decoded at once.
    /// Checks the checkpoints a seek trusts on the way (a merge walks every term so).
    static func forEachDocument(
        _ postings: UnsafeRawBufferPointer, offset: Int, count: Int, positionsOffset: UInt64, limit: UInt32 = .max, positions: UnsafeRawBufferPointer,
        _ body: (UInt32, UInt32, UInt32, UnsafeBufferPointer<UInt32>) throws -> Void
    ) throws {
        let layout = try Layout(postings, offset: offset, count: count, positionsOffset: positionsOffset)
        let scratch = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 3 * self.blockSize)
        defer { scratch.deallocate() }
        let documents = UnsafeMutableBufferPointer(rebasing: scratch[0..<self.blockSize])
        let titles = UnsafeMutableBufferPointer(rebasing: scratch[self.blockSize..<(2 * self.blockSize)])
        let bodies = UnsafeMutableBufferPointer(rebasing: scratch[(2 * self.blockSize)...])
        var chunkPositions: [UInt32] = []
        var previousEnd: UInt32 = 0
        for block in 0..<layout.blockCount {
            var document = previousEnd
            previousEnd = layout.lastDocument(block, in: postings) &+ 1
            guard document < limit else { return }  // every document of this block is at or past the limit
            let blockBase = document
            let (entries, head) = try self.unpack(postings, block: block, count: count, layout: layout, into: documents, titles, bodies)
            let blockPositions = layout.positionsOffset(block, in: postings)
            guard blockPositions <= UInt64(positions.count) else { throw IndexFormatError("block \(block)'s positions start past the positions file") }
            var chunkStart = Int(blockPositions)
            for first in stride(from: 0, to: entries, by: self.chunkSize) {
                if first > 0 {  // the checkpoints a seek trusts
                    let (last, offset) = head.checkpoint(first / self.chunkSize - 1, in: postings, base: blockBase)
                    let offsetAgrees = offset == self.positionsPastCheckpoint || UInt64(offset) == UInt64(chunkStart) - blockPositions
                    guard last == document &- 1, offsetAgrees else {
                        throw IndexFormatError("block \(block)'s checkpoint before document \(first) says \(last) at \(offset)")
                    }
                }
                let end = min(entries, first + self.chunkSize)
                let chunk = try PositionsChunk.Layout(
                    positions, at: chunkStart, titles: titles.baseAddress! + first, bodies: bodies.baseAddress! + first, count: end - first, needsEnd: true
                )
                chunkPositions.removeAll(keepingCapacity: true)
                try chunk.decodeAll(positions, titles: titles.baseAddress! + first, bodies: bodies.baseAddress! + first, count: end - first, into: &chunkPositions)
                chunkStart = chunk.end!
                var at = 0
                for index in first..<end {
                    document = document &+ documents[index]
                    guard document < limit else { return }
                    let next = at + Int(titles[index]) + Int(bodies[index])
                    try chunkPositions.withUnsafeBufferPointer { all in
                        try body(document, titles[index], bodies[index], UnsafeBufferPointer(rebasing: all[at..<next]))
                    }
                    at = next
                    document &+= 1
                }
            }
            guard document &- 1 == previousEnd &- 1 else {
                throw IndexFormatError("block \(block) ends at document \(document &- 1), its skip entry says \(previousEnd &- 1)")
            }
        }
    }

    /// Decodes the postings of a term with `count` documents at `offset`, keeping only documents below
    /// `limit`, with their positions when `positions` is given (without them, through ``append(_:offset:count:limit:base:to:)``).
    static func decode(
        _ postings: UnsafeRawBufferPointer, offset: Int, count: Int, positionsOffset: UInt64, limit: UInt32, positions: UnsafeRawBufferPointer?
    ) throws(IndexFormatError) -> PostingList {
        guard let positions else {
            // Without positions, as the scoring path reads them.
            var key = ScoredKey()
            try self.append(postings, offset: offset, count: count, positionsOffset: positionsOffset, limit: limit, base: 0, to: &key)
            var list = PostingList()
            (list.documents, list.titleFrequencies, list.bodyFrequencies) = (key.documents, key.title, key.body)
            return list
        }
        var list = PostingList()
        list.documents.reserveCapacity(count)
        list.titleFrequencies.reserveCapacity(count)
        list.bodyFrequencies.reserveCapacity(count)
        do {
            try self.forEachDocument(postings, offset: offset, count: count, positionsOffset: positionsOffset, limit: limit, positions: positions) { document, title, body, documentPositions in
                list.append(document: document, titleCount: Int(title), bodyCount: Int(body), positions: documentPositions[...])
            }
        } catch let error as IndexFormatError {
            throw error
        } catch {
            throw IndexFormatError("\(error)")
        }
        return list
    }
}
