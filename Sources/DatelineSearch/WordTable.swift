#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The term id of each distinct word an index has met, keyed by the word's folded UTF-8 bytes: the analyzer's
/// bytes are looked up as they are, so that indexing makes no `String` and hashes no `String` per word.
///
/// Open addressing with linear probing over a power-of-two slot array; the keys live back to back in one byte
/// arena. Not thread-safe (the index's writer owns it).
struct WordTable {
    /// Per slot: 1 + the entry's index, or 0 when empty.
    private var slots: [Int32] = Array(repeating: 0, count: 1 << 12)
    private var hashes: [UInt64] = []
    private var keyStarts: [Int] = []
    private var arena: [UInt8] = []
    private var ids: [UInt32] = []
    private var abbreviations: [Bool] = []
    /// Bits of the hash kept: all, unless a test forces collisions to exercise probing and key comparison.
    private let hashMask: UInt64

    init(hashMask: UInt64 = .max) {
        self.hashMask = hashMask
    }

    /// How many words the table holds.
    var count: Int { self.ids.count }

    /// Bytes the table holds, roughly.
    var estimatedBytes: Int { self.slots.count * 4 + self.ids.count * 29 + self.arena.count }

    /// The id stored for `word` (with its abbreviation flag), if any.
    func id(of word: UnsafeBufferPointer<UInt8>, abbreviation: Bool) -> UInt32? {
        let hash = Self.hash(word, abbreviation) & self.hashMask
        let mask = self.slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(self.slots[slot]) - 1
            if entry < 0 { return nil }
            if self.hashes[entry] == hash, self.abbreviations[entry] == abbreviation, self.keyEquals(entry, word) { return self.ids[entry] }
            slot = (slot + 1) & mask
        }
    }

    /// Stores `id` for `word`, which must not be in the table yet.
    mutating func insert(_ word: UnsafeBufferPointer<UInt8>, abbreviation: Bool, id: UInt32) {
        if (self.ids.count + 1) * 4 > self.slots.count * 3 { self.grow() }
        let hash = Self.hash(word, abbreviation) & self.hashMask
        self.hashes.append(hash)
        self.keyStarts.append(self.arena.count)
        self.arena.append(contentsOf: word)
        self.ids.append(id)
        self.abbreviations.append(abbreviation)
        self.place(entry: self.ids.count - 1, hash: hash)
    }

    private mutating func place(entry: Int, hash: UInt64) {
        let mask = self.slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while self.slots[slot] != 0 { slot = (slot + 1) & mask }
        self.slots[slot] = Int32(entry + 1)
    }

    private mutating func grow() {
        self.slots = Array(repeating: 0, count: self.slots.count * 2)
        for entry in self.ids.indices { self.place(entry: entry, hash: self.hashes[entry]) }
    }

    private func keyEquals(_ entry: Int, _ word: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = self.keyStarts[entry]
        let end = entry + 1 < self.keyStarts.count ? self.keyStarts[entry + 1] : self.arena.count
        guard end - start == word.count else { return false }
        return self.arena.withUnsafeBufferPointer { arena in
            word.isEmpty || memcmp(arena.baseAddress! + start, word.baseAddress!, word.count) == 0
        }
    }

    /// FNV-1a over the bytes, the abbreviation flag folded in, then mixed so that the low bits spread.
    @inline(__always)
    private static func hash(_ word: UnsafeBufferPointer<UInt8>, _ abbreviation: Bool) -> UInt64 {
        var hash: UInt64 = abbreviation ? 0x84222325CBF29CE4 : 0xCBF2_9CE4_8422_2325
        for byte in word {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        hash ^= hash >> 29
        hash &*= 0xBF58_476D_1CE4_E5B9
        return hash ^ (hash >> 32)
    }
}
