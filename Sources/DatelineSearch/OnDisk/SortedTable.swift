#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A sorted map from byte strings to small byte values, written once and read in place: the term dictionary
/// and the document-key tables of a segment.
///
/// Layout (offsets relative to the table's start): blocks of up to ``blockSize`` entries, each entry
/// `varint shared-prefix length, varint suffix length, suffix, value` (the first entry of a block shares nothing,
/// so a block can be read on its own); then one u64 offset per block; then the value coding (u64: 0 for
/// ``ValueCoding/bytes``, else the varint count plus the ascending mask shifted left 8), the block count (u64)
/// and the entry count (u64). A value is `varint length, bytes` or its varints (see ``ValueCoding``). A look-up
/// binary-searches the blocks by their first keys and scans one. Keys compare as unsigned bytes (UTF-8 order),
/// never as Swift strings.
package enum SortedTable {
    static let blockSize = 32
    static let trailerSize = 24

    /// A value of ``ValueCoding/varints(count:ascending:)``: its varints in order (the unused lanes zero). Four
    /// scalars rather than a vector: a look-up updates one lane at a time, which a vector would pay for with a
    /// store and a wider reload on every entry it passes.
    package struct Varints: Hashable, Sendable {
        fileprivate var lane0: UInt64 = 0
        fileprivate var lane1: UInt64 = 0
        fileprivate var lane2: UInt64 = 0
        fileprivate var lane3: UInt64 = 0

        package init() {}

        package init(_ lane0: UInt64, _ lane1: UInt64 = 0, _ lane2: UInt64 = 0, _ lane3: UInt64 = 0) {
            (self.lane0, self.lane1, self.lane2, self.lane3) = (lane0, lane1, lane2, lane3)
        }

        package subscript(_ lane: Int) -> UInt64 {
            @inline(__always) get {
                switch lane {
                case 0: self.lane0
                case 1: self.lane1
                case 2: self.lane2
                default: self.lane3
                }
            }
            @inline(__always) set {
                switch lane {
                case 0: self.lane0 = newValue
                case 1: self.lane1 = newValue
                case 2: self.lane2 = newValue
                default: self.lane3 = newValue
                }
            }
        }
    }

    /// How a table stores its values.
    package enum ValueCoding: Sendable, Equatable {
        /// Bytes of any length, each behind its length.
        case bytes
        /// `count` (1–4) varints and no length; those whose bit is set in `ascending` never decrease from entry
        /// to entry and are stored as the difference from the previous entry's (a block's first entry's whole):
        /// a term's postings offset takes a byte or two instead of three or four.
        case varints(count: Int, ascending: UInt8)

        var word: UInt64 {
            switch self {
            case .bytes: 0
            case .varints(let count, let ascending): UInt64(count) | UInt64(ascending) << 8
            }
        }

        init(word: UInt64) throws(IndexFormatError) {
            guard word != 0 else {
                self = .bytes
                return
            }
            let count = Int(word & 0xFF)
            guard (1...4).contains(count), word >> 16 == 0, (word >> 8) >> UInt64(count) == 0 else {
                throw IndexFormatError("a sorted table's value coding \(word) is not one this version reads")
            }
            self = .varints(count: count, ascending: UInt8(word >> 8))
        }
    }

    /// One stored value, read: its bytes (a ``ValueCoding/bytes`` table's) or its varints.
    struct StoredValue {
        var bytes: UnsafeRawBufferPointer
        var varints: Varints
    }

    /// Reads one entry's value at `cursor` and returns its stored bytes; a table of varints also turns `varints`
    /// from the previous entry's (zero at a block's start) into this one's. A look-up calls it for every entry it
    /// passes, so it builds nothing.
    @inline(__always)
    static func readValue(_ cursor: inout ByteCursor, coding: ValueCoding, varints: inout Varints) throws(IndexFormatError) -> UnsafeRawBufferPointer {
        switch coding {
        case .bytes:
            return try cursor.bytes(try cursor.int())
        case .varints(let count, let ascending):
            let start = cursor.position
            try Self.readVarints(&cursor, count: count, ascending: ascending, into: &varints)
            return UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<cursor.position])
        }
    }

    /// Reads `count` varints into `varints`, adding those of `ascending` lanes to the previous entry's (a damaged
    /// file's sum wraps: the offsets it gives are then checked against their files). Unrolled, each lane a field.
    @inline(__always)
    private static func readVarints(_ cursor: inout ByteCursor, count: Int, ascending: UInt8, into varints: inout Varints) throws(IndexFormatError) {
        let first = try cursor.varint()
        varints.lane0 = ascending & 1 != 0 ? varints.lane0 &+ first : first
        guard count > 1 else { return }
        let second = try cursor.varint()
        varints.lane1 = ascending & 2 != 0 ? varints.lane1 &+ second : second
        guard count > 2 else { return }
        let third = try cursor.varint()
        varints.lane2 = ascending & 4 != 0 ? varints.lane2 &+ third : third
        guard count > 3 else { return }
        let fourth = try cursor.varint()
        varints.lane3 = ascending & 8 != 0 ? varints.lane3 &+ fourth : fourth
    }

    /// Orders byte strings as unsigned bytes: negative, zero or positive as `a` is below, equal to or above `b`.
    package static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0, let x = a.baseAddress, let y = b.baseAddress {
            let order = memcmp(x, y, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }

    /// A key's first eight bytes as a big-endian integer, zero-padded: where two keys' prefixes differ they order
    /// the keys as ``compare(_:_:)`` does (the first differing byte decides, and a key that ends there is padded
    /// with a zero no byte is below); equal prefixes leave the order open.
    @inline(__always)
    static func prefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value = value << 8 | (index < key.count ? UInt64(key[index]) : 0) }
        return value
    }

    /// Builds a table from entries added in strictly increasing key order.
    package struct Builder {
        private(set) var bytes: [UInt8] = []
        private var blockOffsets: [UInt64] = []
        private var previous: [UInt8] = []
        private var previousVarints = Varints()
        private var inBlock = 0
        package private(set) var count = 0
        package let coding: ValueCoding

        package init(values coding: ValueCoding = .bytes) {
            if case .varints(let count, let ascending) = coding {
                precondition((1...4).contains(count) && ascending >> UInt8(count) == 0, "1 to 4 varints, the ascending ones among them")
            }
            self.coding = coding
        }

        /// Adds an entry to a table of ``ValueCoding/bytes``.
        package mutating func add(key: [UInt8], value: [UInt8]) {
            precondition(self.coding == .bytes, "a table of varints is given varints")
            self.addKey(key)
            self.bytes.appendVarUInt(UInt64(value.count))
            self.bytes.append(contentsOf: value)
        }

        /// Adds an entry to a table of ``ValueCoding/varints(count:ascending:)`` (lanes past the count are ignored;
        /// ascending lanes must not decrease).
        package mutating func add(key: [UInt8], varints: Varints) {
            guard case .varints(let count, let ascending) = self.coding else { preconditionFailure("a table of bytes is given bytes") }
            let blockStart = self.inBlock == Self.blockSize || self.count == 0
            self.addKey(key)
            for lane in 0..<count {
                if ascending >> UInt8(lane) & 1 == 1, !blockStart {
                    precondition(varints[lane] >= self.previousVarints[lane], "an ascending value decreased")
                    self.bytes.appendVarUInt(varints[lane] - self.previousVarints[lane])
                } else {
                    self.bytes.appendVarUInt(varints[lane])
                }
            }
            self.previousVarints = varints
        }

        private mutating func addKey(_ key: [UInt8]) {
            precondition(self.count == 0 || self.previous.lexicographicallyPrecedes(key), "sorted table keys must increase")
            var shared = 0
            if self.inBlock == Self.blockSize || self.count == 0 {
                self.blockOffsets.append(UInt64(self.bytes.count))
                self.inBlock = 0
            } else {
                let limit = min(self.previous.count, key.count)
                while shared < limit, self.previous[shared] == key[shared] { shared += 1 }
            }
            self.bytes.appendVarUInt(UInt64(shared))
            self.bytes.appendVarUInt(UInt64(key.count - shared))
            self.bytes.append(contentsOf: key[shared...])
            self.previous = key
            self.inBlock += 1
            self.count += 1
        }

        private static var blockSize: Int { SortedTable.blockSize }

        /// The finished table.
        package mutating func finish() -> [UInt8] {
            var output = self.bytes
            for offset in self.blockOffsets { output.appendLittleEndian(offset) }
            output.appendLittleEndian(self.coding.word)
            output.appendLittleEndian(UInt64(self.blockOffsets.count))
            output.appendLittleEndian(UInt64(self.count))
            return output
        }
    }

    /// A table read in place from mapped bytes.
    package struct Reader {
        let bytes: UnsafeRawBufferPointer
        let blockCount: Int
        package let count: Int
        package let coding: ValueCoding
        private let blockIndex: Int
        var blockIndexOffset: Int { self.blockIndex }
        /// Each block's first key as an integer (see ``SortedTable/prefix(_:)``), read once when the table is
        /// opened: a look-up's binary search compares these, in one small array, and reads a first key from the
        /// table only where one equals the wanted key's, instead of a key scattered over the mapped file at
        /// every step (Lucene and Tantivy likewise keep their term index in memory).
        private let blockPrefixes: [UInt64]

        init(_ bytes: UnsafeRawBufferPointer) throws(IndexFormatError) {
            guard bytes.count >= SortedTable.trailerSize else { throw IndexFormatError("a sorted table of \(bytes.count) bytes") }
            let coding = try ValueCoding(word: bytes.littleEndian(at: bytes.count - 24, as: UInt64.self))
            let blocks = bytes.littleEndian(at: bytes.count - 16, as: UInt64.self)
            let entries = bytes.littleEndian(at: bytes.count - 8, as: UInt64.self)
            guard blocks <= UInt64(bytes.count / 8), entries <= UInt64(bytes.count), blocks * UInt64(SortedTable.blockSize) >= entries,
                (entries + UInt64(SortedTable.blockSize) - 1) / UInt64(SortedTable.blockSize) == blocks
            else { throw IndexFormatError("a sorted table's trailer is inconsistent (\(blocks) blocks, \(entries) entries)") }
            self.bytes = bytes
            self.coding = coding
            self.blockCount = Int(blocks)
            self.count = Int(entries)
            let blockIndex = bytes.count - SortedTable.trailerSize - 8 * Int(blocks)
            guard blockIndex >= 0 else { throw IndexFormatError("a sorted table's block index runs past its start") }
            self.blockIndex = blockIndex
            var prefixes: [UInt64] = []
            prefixes.reserveCapacity(Int(blocks))
            for block in 0..<Int(blocks) {
                prefixes.append(SortedTable.prefix(try Self.firstKey(block, of: bytes, blockIndex: blockIndex)))
            }
            self.blockPrefixes = prefixes
        }

        private func blockOffset(_ block: Int) -> Int { Int(truncatingIfNeeded: self.bytes.littleEndian(at: self.blockIndex + 8 * block, as: UInt64.self)) }

        /// The entries of one block, in order.
        private func forEachStoredEntry(inBlock block: Int, _ body: (UnsafeRawBufferPointer, StoredValue) throws -> Bool) throws -> Bool {
            let start = self.blockOffset(block)
            guard start >= 0, start <= self.blockIndex else { throw IndexFormatError("block \(block) starts outside the table") }
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: self.bytes[..<self.blockIndex]), at: start)
            let entries = block == self.blockCount - 1 ? self.count - block * SortedTable.blockSize : SortedTable.blockSize
            var key: [UInt8] = []
            var varints = Varints()
            for _ in 0..<entries {
                let shared = try cursor.int()
                let suffix = try cursor.bytes(try cursor.int())
                guard shared <= key.count else { throw IndexFormatError("an entry shares \(shared) bytes of a \(key.count)-byte key") }
                key.removeSubrange(shared...)
                key.append(contentsOf: suffix)
                let bytes = try SortedTable.readValue(&cursor, coding: self.coding, varints: &varints)
                let keepGoing = try key.withUnsafeBytes { try body($0, StoredValue(bytes: bytes, varints: varints)) }
                if !keepGoing { return false }
            }
            return true
        }

        /// The first key of a block (stored whole).
        private func firstKey(_ block: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
            try Self.firstKey(block, of: self.bytes, blockIndex: self.blockIndex)
        }

        private static func firstKey(_ block: Int, of bytes: UnsafeRawBufferPointer, blockIndex: Int) throws(IndexFormatError) -> UnsafeRawBufferPointer {
            let start = Int(truncatingIfNeeded: bytes.littleEndian(at: blockIndex + 8 * block, as: UInt64.self))
            guard start >= 0, start <= blockIndex else { throw IndexFormatError("block \(block) starts outside the table") }
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: bytes[..<blockIndex]), at: start)
            guard try cursor.int() == 0 else { throw IndexFormatError("block \(block)'s first key is front-coded") }
            return try cursor.bytes(try cursor.int())
        }

        /// The last block whose first key is ≤ `key` (0 when `key` precedes them all).
        private func block(for key: UnsafeRawBufferPointer) throws(IndexFormatError) -> Int {
            let wanted = SortedTable.prefix(key)
            var low = 0
            var high = self.blockCount - 1
            while low < high {
                let middle = (low + high + 1) / 2
                let first = self.blockPrefixes[middle]
                // Unequal prefixes order their keys; equal ones say nothing (a shorter key is padded with zeros).
                let atOrBelow = first != wanted ? first < wanted : SortedTable.compare(key, try self.firstKey(middle)) >= 0
                if atOrBelow { low = middle } else { high = middle - 1 }
            }
            return low
        }

        /// The value stored under `key` in a table of ``ValueCoding/bytes`` (pointing into the table), or nil.
        package func find(_ key: UnsafeRawBufferPointer) throws(IndexFormatError) -> UnsafeRawBufferPointer? {
            precondition(self.coding == .bytes, "a table of varints is read by findVarints")
            return try self.locate(key)?.bytes
        }

        /// The varints stored under `key` in a table of ``ValueCoding/varints(count:ascending:)``, or nil.
        package func findVarints(_ key: UnsafeRawBufferPointer) throws(IndexFormatError) -> Varints? {
            precondition(self.coding != .bytes, "a table of bytes is read by find")
            return try self.locate(key)?.varints
        }

        /// The value stored under `key`, or nil. Reads the one block the key can be in without rebuilding its
        /// keys: front coding says how much each entry shares with the one before, so only the part of an entry
        /// past what the wanted key already matched is compared.
        private func locate(_ key: UnsafeRawBufferPointer) throws(IndexFormatError) -> StoredValue? {
            guard self.count > 0 else { return nil }
            let block = try self.block(for: key)
            let start = self.blockOffset(block)
            guard start >= 0, start <= self.blockIndex else { throw IndexFormatError("block \(block) starts outside the table") }
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: self.bytes[..<self.blockIndex]), at: start)
            let entries = block == self.blockCount - 1 ? self.count - block * SortedTable.blockSize : SortedTable.blockSize
            var matched = 0  // bytes of `key` the previous entry's key matched (it was below `key`)
            var previousLength = 0
            var varints = Varints()
            for _ in 0..<entries {
                let shared = try cursor.int()
                let suffix = try cursor.bytes(try cursor.int())
                let bytes = try SortedTable.readValue(&cursor, coding: self.coding, varints: &varints)
                guard shared <= previousLength else { throw IndexFormatError("an entry shares \(shared) bytes of a \(previousLength)-byte key") }
                previousLength = shared + suffix.count
                // This entry equals the previous one up to `shared`, the previous one equalled `key` up to `matched`
                // and was below it: sharing more means still below; sharing less means past it.
                if shared > matched { continue }
                if shared < matched { return nil }
                var common = 0
                while common < suffix.count, matched + common < key.count, suffix[common] == key[matched + common] { common += 1 }
                if common == suffix.count {
                    if matched + common == key.count { return StoredValue(bytes: bytes, varints: varints) }
                    matched += common  // a prefix of `key`: below it
                    continue
                }
                if matched + common == key.count || suffix[common] > key[matched + common] { return nil }  // past it
                matched += common
            }
            return nil
        }

        /// The value stored under `key` in a table of ``ValueCoding/bytes``, copied out, or nil.
        package func value(for key: [UInt8]) throws -> [UInt8]? {
            try key.withUnsafeBytes { key throws(IndexFormatError) in try self.find(key).map { Array($0) } }
        }

        /// Every entry whose key starts with `prefix`, in order, until `body` returns false (a table of bytes).
        package func forEachEntry(withPrefix prefix: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
            precondition(self.coding == .bytes, "a table of varints is read by forEachVarintEntry")
            try self.forEachStoredEntry(withPrefix: prefix) { try body($0, $1.bytes) }
        }

        /// Every entry whose key starts with `prefix`, in order, until `body` returns false (a table of varints).
        package func forEachVarintEntry(withPrefix prefix: [UInt8], _ body: (UnsafeRawBufferPointer, Varints) throws -> Bool) throws {
            precondition(self.coding != .bytes, "a table of bytes is read by forEachEntry")
            try self.forEachStoredEntry(withPrefix: prefix) { try body($0, $1.varints) }
        }

        private func forEachStoredEntry(withPrefix prefix: [UInt8], _ body: (UnsafeRawBufferPointer, StoredValue) throws -> Bool) throws {
            guard self.count > 0 else { return }
            try prefix.withUnsafeBytes { prefix in
                var block = try self.block(for: prefix)
                var done = false
                while !done, block < self.blockCount {
                    let finished = try self.forEachStoredEntry(inBlock: block) { key, value in
                        if key.starts(with: prefix) { return try body(key, value) }
                        if prefix.lexicographicallyPrecedes(key) { done = true; return false }  // past the prefix's range
                        return true
                    }
                    if !finished { return }
                    block += 1
                }
            }
        }

        /// Every entry, in order (a table of bytes).
        package func forEachEntry(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
            precondition(self.coding == .bytes, "a table of varints is read by a cursor")
            for block in 0..<self.blockCount {
                guard try self.forEachStoredEntry(inBlock: block, { try body($0, $1.bytes) }) else { return }
            }
        }

        /// A cursor before the first entry.
        package func cursor() -> Cursor { Cursor(self) }
    }

    /// Steps through a table's entries in order, one at a time (a merge walks several tables side by side).
    package struct Cursor {
        private let reader: Reader
        private var block = -1
        private var entriesLeftInBlock = 0
        private var position = 0
        /// The current entry's key (valid after ``next()`` returned true).
        package private(set) var key: [UInt8] = []
        /// The current entry's value, in the mapped table (a table of bytes).
        package private(set) var value = UnsafeRawBufferPointer(start: nil, count: 0)
        /// The current entry's varints (a table of varints).
        package private(set) var varints = Varints()
        private var consumed = 0

        init(_ reader: Reader) { self.reader = reader }

        /// Moves to the next entry; false past the last one.
        package mutating func next() throws(IndexFormatError) -> Bool {
            guard self.consumed < self.reader.count else { return false }
            if self.entriesLeftInBlock == 0 {
                self.block += 1
                self.position = Int(truncatingIfNeeded: self.reader.bytes.littleEndian(at: self.reader.blockIndexOffset + 8 * self.block, as: UInt64.self))
                guard self.position >= 0, self.position <= self.reader.blockIndexOffset else { throw IndexFormatError("block \(self.block) starts outside the table") }
                self.entriesLeftInBlock = min(SortedTable.blockSize, self.reader.count - self.block * SortedTable.blockSize)
                self.varints = Varints()  // a block's first entry's ascending values are whole
            }
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: self.reader.bytes[..<self.reader.blockIndexOffset]), at: self.position)
            let shared = try cursor.int()
            let suffix = try cursor.bytes(try cursor.int())
            guard shared <= self.key.count else { throw IndexFormatError("an entry shares \(shared) bytes of a \(self.key.count)-byte key") }
            self.key.removeSubrange(shared...)
            self.key.append(contentsOf: suffix)
            self.value = try SortedTable.readValue(&cursor, coding: self.reader.coding, varints: &self.varints)
            self.position = cursor.position
            self.entriesLeftInBlock -= 1
            self.consumed += 1
            return true
        }
    }
}
