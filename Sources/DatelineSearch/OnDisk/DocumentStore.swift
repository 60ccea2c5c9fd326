import CDatelineZlib
import DatelineStorage
import Synchronization

/// Stored documents, compressed with zlib in blocks of about ``DocumentStoreWriter/blockSize`` raw bytes, so that
/// reading one document inflates one small block.
///
/// Layout: blocks, each `u32 raw size, u32 compressed size, zlib data`, the raw data being `varint count, count
/// × varint length, the documents`; then per block a 16-byte index entry (u32 first document, u32 zero, u64
/// offset of the block); then u64 block count and u64 document count.
package final class DocumentStoreWriter {
    /// Raw bytes gathered before a block is compressed. Default: 4 KiB: a hit inflates about 4 KiB of zlib data
    /// (about 12 µs here) instead of 16 (measured with `DatelineBenchmarks --reply-path --on-disk`: a search 365 ->
    /// 313 µs for 12% more bytes on disk).
    package static let defaultBlockSize = 4 * 1024

    private let file: IndexFileWriter
    private let blockSize: Int
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0
    private var index: [(first: UInt32, offset: UInt64)] = []
    private(set) var count = 0

    init(path: String, blockSize: Int = DocumentStoreWriter.defaultBlockSize) throws(DatelineStorageError) {
        self.file = try IndexFileWriter(path: path, kind: .store)
        self.blockSize = blockSize
    }

    func add(_ document: [UInt8]) throws(DatelineStorageError) {
        self.pending.append(document)
        self.pendingBytes += document.count
        self.count += 1
        if self.pendingBytes >= self.blockSize { try self.flushBlock() }
    }

    /// Copies an already-compressed block whose first document becomes `first` in this store (merging).
    func addCompressedBlock(_ block: UnsafeRawBufferPointer, documents: Int) throws(DatelineStorageError) {
        try self.flushBlock()
        self.index.append((UInt32(self.count), UInt64(self.file.payloadPosition)))
        try self.file.append(block)
        self.count += documents
    }

    private func flushBlock() throws(DatelineStorageError) {
        guard !self.pending.isEmpty else { return }
        var raw: [UInt8] = []
        raw.reserveCapacity(self.pendingBytes + 8 + 3 * self.pending.count)
        raw.appendVarUInt(UInt64(self.pending.count))
        for document in self.pending { raw.appendVarUInt(UInt64(document.count)) }
        for document in self.pending { raw.append(contentsOf: document) }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compressed.withUnsafeMutableBytes { output in
            raw.withUnsafeBytes { input in
                compress2(
                    output.baseAddress!.assumingMemoryBound(to: Bytef.self), &compressedSize,
                    input.baseAddress!.assumingMemoryBound(to: Bytef.self), uLong(input.count), 6
                )
            }
        }
        precondition(status == Z_OK, "compress2 failed with \(status) on a buffer sized by compressBound")
        self.index.append((UInt32(self.count - self.pending.count), UInt64(self.file.payloadPosition)))
        var header: [UInt8] = []
        header.appendLittleEndian(UInt32(raw.count))
        header.appendLittleEndian(UInt32(compressedSize))
        try self.file.append(header)
        try self.file.append(compressed[0..<Int(compressedSize)])
        self.pending.removeAll(keepingCapacity: true)
        self.pendingBytes = 0
    }

    func finish() throws(DatelineStorageError) {
        try self.flushBlock()
        var trailer: [UInt8] = []
        for entry in self.index {
            trailer.appendLittleEndian(entry.first)
            trailer.appendLittleEndian(UInt32(0))
            trailer.appendLittleEndian(entry.offset)
        }
        trailer.appendLittleEndian(UInt64(self.index.count))
        trailer.appendLittleEndian(UInt64(self.count))
        try self.file.append(trailer)
        try self.file.finish()
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
    /// This reader's name in the block cache (never reused in the process).
    private let identity: UInt64
    private let cache: InflatedBlockCache
    private static let identities = Atomic<UInt64>(0)

    init(_ file: MappedIndexFile, cache: InflatedBlockCache = .shared) throws(IndexFormatError) {
        self.identity = Self.identities.add(1, ordering: .relaxed).newValue
        self.cache = cache
        let bytes = file.payload
        guard bytes.count >= 16 else { throw IndexFormatError("a document store of \(bytes.count) bytes") }
        let blocks = bytes.littleEndian(at: bytes.count - 16, as: UInt64.self)
        let documents = bytes.littleEndian(at: bytes.count - 8, as: UInt64.self)
        guard blocks <= UInt64(bytes.count / 16), documents >= blocks, documents <= UInt64(Int32.max) else {
            throw IndexFormatError("the document store's trailer is inconsistent (\(blocks) blocks, \(documents) documents)")
        }
        self.file = file
        self.blockCount = Int(blocks)
        self.count = Int(documents)
        self.indexStart = bytes.count - 16 - 16 * self.blockCount
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

    /// The compressed bytes of block `block` (header included) and its document count, for copying in a merge.
    func compressedBlock(_ block: Int) -> (bytes: UnsafeRawBufferPointer, documents: Int) {
        let start = self.blockOffset(block)
        let end = block + 1 < self.blockCount ? self.blockOffset(block + 1) : self.indexStart
        let next = block + 1 < self.blockCount ? self.firstDocument(ofBlock: block + 1) : self.count
        return (UnsafeRawBufferPointer(rebasing: self.file.payload[start..<end]), next - self.firstDocument(ofBlock: block))
    }

    private func inflate(_ block: Int) throws(IndexFormatError) -> [UInt8] {
        let key = InflatedBlockCache.Key(store: self.identity, block: block)
        if let cached = self.cache.block(key) { return cached }
        let start = self.blockOffset(block)
        let payload = self.file.payload
        guard start >= 0, start + 8 <= self.indexStart else { throw IndexFormatError("stored block \(block) starts outside the store") }
        let rawSize = Int(payload.littleEndian(at: start, as: UInt32.self))
        let compressedSize = Int(payload.littleEndian(at: start + 4, as: UInt32.self))
        guard start + 8 + compressedSize <= self.indexStart, rawSize <= 1 << 30 else { throw IndexFormatError("stored block \(block) runs past the store") }
        var raw = [UInt8](repeating: 0, count: rawSize)
        var produced = uLong(rawSize)
        let status = raw.withUnsafeMutableBytes { output in
            uncompress(output.baseAddress!.assumingMemoryBound(to: Bytef.self), &produced, payload.baseAddress!.advanced(by: start + 8).assumingMemoryBound(to: Bytef.self), uLong(compressedSize))
        }
        guard status == Z_OK, produced == uLong(rawSize) else { throw IndexFormatError("stored block \(block) does not inflate (zlib status \(status))") }
        self.cache.insert(raw, for: key)
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
