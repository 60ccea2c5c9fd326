import CDatelineZlib
import DatelineStorage
import Synchronization

/// Stored documents, compressed with zlib in blocks of about ``DocumentStoreWriter/blockSize`` raw bytes, so that
/// reading one document inflates one small block. A block is compressed with a preset dictionary (zlib's
/// `deflateSetDictionary`): the first ``DocumentStoreWriter/dictionarySize`` bytes of the documents its writer was
/// given, so that the phrases news repeats (agency lines, titles, "said on Tuesday") cost little even in a block
/// of 4 KiB — about 11% fewer bytes for Reuters-21578 (Lucene's stored fields do the same with a dictionary per
/// run of blocks). A merge copies compressed blocks with their dictionaries.
///
/// Layout: blocks, each `u32 raw size, u32 compressed size, zlib data`, the raw data being `varint count, count
/// × varint length, the documents`; then the dictionaries, each `u32 length, bytes`; then per block a 16-byte
/// index entry (u32 first document, u32 its dictionary: 0 for none, else its number from 1, u64 offset of the
/// block); then per dictionary its u64 offset; then u64 dictionary count, u64 block count and u64 document count.
package final class DocumentStoreWriter {
    /// Raw bytes gathered before a block is compressed. Default: 4 KiB: a hit inflates about 4 KiB of zlib data
    /// (about 12 µs here) instead of 16 (measured with `DatelineBenchmarks --reply-path --on-disk`: a search 365 ->
    /// 313 µs for 12% more bytes on disk).
    package static let defaultBlockSize = 4 * 1024
    /// The preset dictionary's size: the first documents' bytes (16 KiB: 12% smaller blocks than none, 32 KiB 17%,
    /// but every inflate copies the dictionary into zlib's window first).
    static let dictionarySize = 16 * 1024
    /// A store given fewer raw bytes than this compresses without a dictionary (it would cost more than it saves).
    static let dictionaryThreshold = 64 * 1024

    private let file: IndexFileWriter
    private let blockSize: Int
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0
    private var index: [(first: UInt32, dictionary: UInt32, offset: UInt64)] = []
    private var dictionaries: [[UInt8]] = []
    /// Each dictionary's number (from 1), by content, so that a merge writes a dictionary its inputs share once.
    private var dictionaryNumbers: [[UInt8]: UInt32] = [:]
    /// Until the store's own dictionary is decided: the blocks gathered (raw) and the bytes seen.
    private var heldBlocks: [(first: Int, raw: [UInt8])] = []
    private var sample: [UInt8] = []
    private var ownDictionary: UInt32?
    /// Deflates the store's own blocks, its dictionary primed once.
    private var compressor: BlockCompressor?
    private(set) var count = 0

    init(path: String, blockSize: Int = DocumentStoreWriter.defaultBlockSize) throws(DatelineStorageError) {
        self.file = try IndexFileWriter(path: path, kind: .store)
        self.blockSize = blockSize
    }

    func add(_ document: [UInt8]) throws(DatelineStorageError) {
        self.pending.append(document)
        self.pendingBytes += document.count
        self.count += 1
        if self.ownDictionary == nil, self.sample.count < Self.dictionaryThreshold {
            self.sample.append(contentsOf: document.prefix(Self.dictionaryThreshold - self.sample.count))
        }
        if self.pendingBytes >= self.blockSize { try self.flushBlock() }
    }

    /// Copies an already-compressed block whose first document becomes `first` in this store (merging), with the
    /// dictionary it was compressed with (empty for none).
    func addCompressedBlock(_ block: UnsafeRawBufferPointer, documents: Int, dictionary: UnsafeRawBufferPointer) throws(DatelineStorageError) {
        try self.flushBlock()
        try self.releaseHeldBlocks()
        self.index.append((UInt32(self.count), self.number(ofDictionary: Array(dictionary)), UInt64(self.file.payloadPosition)))
        try self.file.append(block)
        self.count += documents
    }

    /// The number of `dictionary` in this store (0 for none), adding it if new.
    private func number(ofDictionary dictionary: [UInt8]) -> UInt32 {
        guard !dictionary.isEmpty else { return 0 }
        if let number = self.dictionaryNumbers[dictionary] { return number }
        self.dictionaries.append(dictionary)
        let number = UInt32(self.dictionaries.count)
        self.dictionaryNumbers[dictionary] = number
        return number
    }

    /// The store's own dictionary once enough bytes were seen (or the store is finishing): its number, 0 for none.
    private func decidedDictionary() -> UInt32 {
        if let ownDictionary { return ownDictionary }
        let number = self.sample.count >= Self.dictionaryThreshold ? self.number(ofDictionary: Array(self.sample.prefix(Self.dictionarySize))) : 0
        self.ownDictionary = number
        self.sample = []
        return number
    }

    private func flushBlock() throws(DatelineStorageError) {
        guard !self.pending.isEmpty else { return }
        var raw: [UInt8] = []
        raw.reserveCapacity(self.pendingBytes + 8 + 3 * self.pending.count)
        raw.appendVarUInt(UInt64(self.pending.count))
        for document in self.pending { raw.appendVarUInt(UInt64(document.count)) }
        for document in self.pending { raw.append(contentsOf: document) }
        self.heldBlocks.append((self.count - self.pending.count, raw))
        self.pending.removeAll(keepingCapacity: true)
        self.pendingBytes = 0
        // Blocks wait (64 KiB at most) until the dictionary is known, then are written in order.
        if self.ownDictionary != nil || self.sample.count >= Self.dictionaryThreshold {
            try self.releaseHeldBlocks()
        }
    }

    /// Compresses and writes the held blocks with the store's own dictionary (deciding it now if it is not yet).
    private func releaseHeldBlocks() throws(DatelineStorageError) {
        let dictionary = self.decidedDictionary()
        if self.compressor == nil, !self.heldBlocks.isEmpty {
            self.compressor = BlockCompressor(dictionary: dictionary == 0 ? [] : self.dictionaries[Int(dictionary) - 1])
        }
        for (first, raw) in self.heldBlocks {
            let compressed = self.compressor!.compress(raw)
            self.index.append((UInt32(first), dictionary, UInt64(self.file.payloadPosition)))
            var header: [UInt8] = []
            header.appendLittleEndian(UInt32(raw.count))
            header.appendLittleEndian(UInt32(compressed.count))
            try self.file.append(header)
            try self.file.append(compressed)
        }
        self.heldBlocks.removeAll()
    }

    /// `raw` deflated as a zlib stream, with `dictionary` preset when not empty.
    static func compress(_ raw: [UInt8], dictionary: [UInt8]) -> [UInt8] {
        BlockCompressor(dictionary: dictionary).compress(raw)
    }

    func finish() throws(DatelineStorageError) {
        try self.flushBlock()
        try self.releaseHeldBlocks()
        var dictionaryOffsets: [UInt64] = []
        for dictionary in self.dictionaries {
            dictionaryOffsets.append(UInt64(self.file.payloadPosition))
            var bytes: [UInt8] = []
            bytes.appendLittleEndian(UInt32(dictionary.count))
            try self.file.append(bytes)
            try self.file.append(dictionary)
        }
        var trailer: [UInt8] = []
        for entry in self.index {
            trailer.appendLittleEndian(entry.first)
            trailer.appendLittleEndian(entry.dictionary)
            trailer.appendLittleEndian(entry.offset)
        }
        for offset in dictionaryOffsets { trailer.appendLittleEndian(offset) }
        trailer.appendLittleEndian(UInt64(self.dictionaries.count))
        trailer.appendLittleEndian(UInt64(self.index.count))
        trailer.appendLittleEndian(UInt64(self.count))
        try self.file.append(trailer)
        try self.file.finish()
    }
}

/// Deflates blocks with one preset dictionary: zlib hashes a dictionary into its window as it is set, which costs
/// about as much as compressing a block; here it is set once, into a primed stream every block's stream is copied
/// from (`deflateCopy`). Level 4, not 6: with a dictionary, level 6 searches the longer hash chains twice as long
/// for 3% fewer bytes; level 4 costs what level 6 did without one (measured with Python's zlib on Reuters' 4 KiB
/// blocks: 100 µs a block, 0.481 of the text at level 6 without a dictionary; 195 µs, 0.418 with one; 105 µs, 0.430
/// at level 4 with one, primed once). Streams live on the heap: zlib keeps a pointer back to each.
final class BlockCompressor {
    private let primed: UnsafeMutablePointer<z_stream>

    init(dictionary: [UInt8]) {
        self.primed = .allocate(capacity: 1)
        self.primed.initialize(to: z_stream())
        var status = CDatelineZlib_deflateInit(self.primed, 4)
        precondition(status == Z_OK, "deflateInit failed with \(status)")
        if !dictionary.isEmpty {
            status = dictionary.withUnsafeBytes { deflateSetDictionary(self.primed, $0.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt($0.count)) }
            precondition(status == Z_OK, "deflateSetDictionary failed with \(status)")
        }
    }

    deinit {
        deflateEnd(self.primed)
        self.primed.deinitialize(count: 1)
        self.primed.deallocate()
    }

    /// `raw` deflated as a zlib stream.
    func compress(_ raw: [UInt8]) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        let status = deflateCopy(stream, self.primed)
        precondition(status == Z_OK, "deflateCopy failed with \(status)")
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(raw.count))))
        var raw = raw
        let produced = raw.withUnsafeMutableBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(input.count)
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(out.count)
                let status = deflate(stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate into a buffer sized by deflateBound returned \(status)")
                return out.count - Int(stream.pointee.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }
}

/// Inflated blocks of every segment's stored documents, most recently used kept, bounded in bytes for the whole
/// process (as Tantivy's store keeps a cache of blocks): a page of hits, the next page and the same search again
/// read their articles without inflating their blocks again, and the cache does not grow with the number of
/// segments.
final class InflatedBlockCache: Sendable {
    struct Key: Hashable {
        var store: UInt64
        var block: Int
    }

    private struct State {
        var entries: [Key: (raw: [UInt8], lastUse: UInt64)] = [:]
        /// Uses in order, oldest first, from `head` on: a key's entry is evicted when its oldest use here is
        /// still its last use (later uses left stale records behind, skipped and compacted away).
        var uses: [(key: Key, use: UInt64)] = []
        var head = 0
        var bytes = 0
        var clock: UInt64 = 0

        mutating func touch(_ key: Key) -> UInt64 {
            self.clock += 1
            self.uses.append((key, self.clock))
            return self.clock
        }

        /// Evicts least recently used blocks until `capacity` holds; O(1) amortised per use.
        mutating func evict(toFit capacity: Int) {
            while self.bytes > capacity, self.head < self.uses.count {
                let (key, use) = self.uses[self.head]
                self.head += 1
                if let entry = self.entries[key], entry.lastUse == use {
                    self.entries.removeValue(forKey: key)
                    self.bytes -= entry.raw.count
                }
            }
            if self.head > 1024 && self.head * 2 > self.uses.count {
                self.uses.removeFirst(self.head)
                self.head = 0
            }
            if self.uses.count - self.head > 4 * self.entries.count + 1024 {
                // Mostly stale records (the same blocks used over and over): keep each entry's last use only.
                self.uses = self.uses[self.head...].filter { self.entries[$0.key]?.lastUse == $0.use }
                self.head = 0
            }
        }
    }

    /// The process's cache: 4 MiB (1,024 blocks of 4 KiB).
    static let shared = InflatedBlockCache(capacity: 4 << 20)

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func block(_ key: Key) -> [UInt8]? {
        self.state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            state.entries[key] = (entry.raw, state.touch(key))
            state.evict(toFit: self.capacity)
            return entry.raw
        }
    }

    func insert(_ raw: [UInt8], for key: Key) {
        guard raw.count <= self.capacity else { return }
        self.state.withLock { state in
            let use = state.touch(key)
            if let old = state.entries.updateValue((raw, use), forKey: key) { state.bytes -= old.raw.count }
            state.bytes += raw.count
            state.evict(toFit: self.capacity)
        }
    }

    /// Forgets a store's blocks (its segment is closed).
    func remove(store: UInt64) {
        self.state.withLock { state in
            for (key, entry) in state.entries where key.store == store {
                state.entries.removeValue(forKey: key)
                state.bytes -= entry.raw.count
            }
        }
    }

    var byteCount: Int { self.state.withLock { $0.bytes } }
}

/// Reads a segment's stored documents in place; inflated blocks are kept in the process's
/// ``InflatedBlockCache`` for the next reads (a page of hits usually reads neighbours).
package final class DocumentStoreReader: Sendable {
    private let file: MappedIndexFile
    let blockCount: Int
    let count: Int
    private let indexStart: Int
    /// Where the dictionaries are (each `u32 length, bytes`), and where the blocks end.
    private let dictionaryOffsets: [Int]
    private let blocksEnd: Int
    /// This reader's name in the block cache (never reused in the process).
    private let identity: UInt64
    private let cache: InflatedBlockCache
    private static let identities = Atomic<UInt64>(0)

    init(_ file: MappedIndexFile, cache: InflatedBlockCache = .shared) throws(IndexFormatError) {
        self.identity = Self.identities.add(1, ordering: .relaxed).newValue
        self.cache = cache
        let bytes = file.payload
        guard bytes.count >= 24 else { throw IndexFormatError("a document store of \(bytes.count) bytes") }
        let dictionaries = bytes.littleEndian(at: bytes.count - 24, as: UInt64.self)
        let blocks = bytes.littleEndian(at: bytes.count - 16, as: UInt64.self)
        let documents = bytes.littleEndian(at: bytes.count - 8, as: UInt64.self)
        guard blocks <= UInt64(bytes.count / 16), dictionaries <= blocks, documents >= blocks, documents <= UInt64(Int32.max) else {
            throw IndexFormatError("the document store's trailer is inconsistent (\(blocks) blocks, \(dictionaries) dictionaries, \(documents) documents)")
        }
        self.file = file
        self.blockCount = Int(blocks)
        self.count = Int(documents)
        let dictionaryTable = bytes.count - 24 - 8 * Int(dictionaries)
        self.indexStart = dictionaryTable - 16 * self.blockCount
        guard self.indexStart >= 0 else { throw IndexFormatError("the document store's index runs past its start") }
        var offsets: [Int] = []
        var blocksEnd = self.indexStart
        for number in 0..<Int(dictionaries) {
            let offset = Int(truncatingIfNeeded: bytes.littleEndian(at: dictionaryTable + 8 * number, as: UInt64.self))
            guard offset >= 0, offset + 4 <= self.indexStart,
                offset + 4 + Int(bytes.littleEndian(at: offset, as: UInt32.self)) <= self.indexStart
            else { throw IndexFormatError("dictionary \(number + 1) of the document store lies outside it") }
            offsets.append(offset)
            blocksEnd = min(blocksEnd, offset)
        }
        self.dictionaryOffsets = offsets
        self.blocksEnd = blocksEnd
    }

    /// The dictionaries the store's blocks were compressed with.
    var dictionaryCount: Int { self.dictionaryOffsets.count }

    /// Dictionary `number` (from 1; empty for 0).
    private func dictionary(_ number: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
        guard number > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard number <= self.dictionaryOffsets.count else { throw IndexFormatError("a stored block names dictionary \(number) of \(self.dictionaryOffsets.count)") }
        let offset = self.dictionaryOffsets[number - 1]
        let length = Int(self.file.payload.littleEndian(at: offset, as: UInt32.self))
        return UnsafeRawBufferPointer(rebasing: self.file.payload[(offset + 4)..<(offset + 4 + length)])
    }

    private func dictionaryNumber(ofBlock block: Int) -> Int {
        Int(self.file.payload.littleEndian(at: self.indexStart + 16 * block + 4, as: UInt32.self))
    }

    deinit { self.cache.remove(store: self.identity) }

    private func firstDocument(ofBlock block: Int) -> Int {
        Int(self.file.payload.littleEndian(at: self.indexStart + 16 * block, as: UInt32.self))
    }

    private func blockOffset(_ block: Int) -> Int {
        Int(truncatingIfNeeded: self.file.payload.littleEndian(at: self.indexStart + 16 * block + 8, as: UInt64.self))
    }

    /// The block holding `document`.
    private func block(of document: Int) -> Int {
        var low = 0
        var high = self.blockCount - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if self.firstDocument(ofBlock: middle) <= document { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The compressed bytes of block `block` (header included), its document count and the dictionary it was
    /// compressed with (empty for none), for copying in a merge.
    func compressedBlock(_ block: Int) throws(IndexFormatError) -> (bytes: UnsafeRawBufferPointer, documents: Int, dictionary: UnsafeRawBufferPointer) {
        let start = self.blockOffset(block)
        guard start >= 0, start + 8 <= self.blocksEnd else { throw IndexFormatError("stored block \(block) starts outside the store") }
        let end = start + 8 + Int(self.file.payload.littleEndian(at: start + 4, as: UInt32.self))
        guard end <= self.blocksEnd else { throw IndexFormatError("stored block \(block) runs past the store") }
        let next = block + 1 < self.blockCount ? self.firstDocument(ofBlock: block + 1) : self.count
        return (UnsafeRawBufferPointer(rebasing: self.file.payload[start..<end]), next - self.firstDocument(ofBlock: block), try self.dictionary(self.dictionaryNumber(ofBlock: block)))
    }

    private func inflate(_ block: Int) throws(IndexFormatError) -> [UInt8] {
        let key = InflatedBlockCache.Key(store: self.identity, block: block)
        if let cached = self.cache.block(key) { return cached }
        let start = self.blockOffset(block)
        let payload = self.file.payload
        guard start >= 0, start + 8 <= self.blocksEnd else { throw IndexFormatError("stored block \(block) starts outside the store") }
        let rawSize = Int(payload.littleEndian(at: start, as: UInt32.self))
        let compressedSize = Int(payload.littleEndian(at: start + 4, as: UInt32.self))
        guard start + 8 + compressedSize <= self.blocksEnd, rawSize <= 1 << 30 else { throw IndexFormatError("stored block \(block) runs past the store") }
        let raw = try Self.inflate(
            UnsafeRawBufferPointer(rebasing: payload[(start + 8)..<(start + 8 + compressedSize)]), rawSize: rawSize,
            dictionary: try self.dictionary(self.dictionaryNumber(ofBlock: block)), block: block)
        self.cache.insert(raw, for: key)
        return raw
    }

    /// Inflates a zlib stream of `rawSize` bytes, with `dictionary` preset when the stream asks for one.
    static func inflate(_ compressed: UnsafeRawBufferPointer, rawSize: Int, dictionary: UnsafeRawBufferPointer, block: Int) throws(IndexFormatError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        guard CDatelineZlib_inflateInit(stream) == Z_OK else { throw IndexFormatError("zlib's inflateInit failed") }
        defer { inflateEnd(stream) }
        var raw = [UInt8](repeating: 0, count: rawSize)
        let status = raw.withUnsafeMutableBytes { output in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(compressed.count)
            stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            var status = CDatelineZlib.inflate(stream, Z_FINISH)
            if status == Z_NEED_DICT, let base = dictionary.baseAddress {
                status = inflateSetDictionary(stream, base.assumingMemoryBound(to: Bytef.self), uInt(dictionary.count))
                if status == Z_OK { status = CDatelineZlib.inflate(stream, Z_FINISH) }
            }
            return status
        }
        guard status == Z_STREAM_END, stream.pointee.total_out == uLong(rawSize), stream.pointee.avail_in == 0 else {
            throw IndexFormatError("stored block \(block) does not inflate to \(rawSize) bytes (zlib status \(status))")
        }
        return raw
    }

    /// Stored document `document`'s bytes.
    func document(_ document: Int) throws(IndexFormatError) -> [UInt8] {
        guard document >= 0, document < self.count else { throw IndexFormatError("no stored document \(document) of \(self.count)") }
        let block = self.block(of: document)
        let raw = try self.inflate(block)
        let found: Result<[UInt8], IndexFormatError> = raw.withUnsafeBytes { bytes in
            Result { () throws(IndexFormatError) in try Self.document(at: document - self.firstDocument(ofBlock: block), inBlock: block, bytes) }
        }
        return try found.get()
    }

    private static func document(at wanted: Int, inBlock block: Int, _ bytes: UnsafeRawBufferPointer) throws(IndexFormatError) -> [UInt8] {
        do {
            var cursor = ByteCursor(bytes)
            let count = try cursor.int()
            guard wanted < count else { throw IndexFormatError("stored block \(block) holds \(count) documents, not \(wanted + 1)") }
            var skip = 0
            var length = 0
            for index in 0..<count {
                let size = try cursor.int()
                if index < wanted { skip += size } else if index == wanted { length = size }
            }
            cursor.position += skip
            return Array(try cursor.bytes(length))
        }
    }
}
