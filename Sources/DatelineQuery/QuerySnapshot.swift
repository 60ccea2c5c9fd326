import DatelineProtocol
import DatelineSearch
import Foundation
import NIOCore

/// The query service's state on disk, so that a restart does not replay the whole ingest log:
/// `DTLNQSN1`, the applied offset, every article (its log offset and encoded `StoredArticle`), the index's
/// postings, then an FNV-1a 64 checksum of everything before it. Written to a temporary file, fsynced and
/// renamed into place, so a crash leaves the previous snapshot intact.
enum QuerySnapshot {
    static let magic = Array("DTLNQSN1".utf8)
    static let fileName = "index.snapshot"

    struct Contents {
        var appliedOffset: UInt64
        var offsets: [UInt64]
        var articles: [StoredArticle]
        var index: SearchIndex
    }

    static func encode(appliedOffset: UInt64, offsets: [UInt64], articles: [StoredArticle], index: SearchIndex) throws -> [UInt8] {
        var bytes = self.magic
        bytes.appendVarint(appliedOffset)
        bytes.appendVarint(UInt64(articles.count))
        let encoder = DatelineBinaryEncoder()
        for (offset, article) in zip(offsets, articles) {
            let encoded = try encoder.encode(article)
            bytes.appendVarint(offset)
            bytes.appendVarint(UInt64(encoded.readableBytes))
            bytes.append(contentsOf: encoded.readableBytesView)
        }
        index.writeSnapshot(into: &bytes)
        let checksum = self.checksum(bytes[...])
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: checksum >> UInt64(shift))) }
        return bytes
    }

    static func decode(_ bytes: [UInt8], analyzer: Analyzer, parameters: BM25Parameters) throws -> Contents {
        guard bytes.count > self.magic.count + 8, bytes.starts(with: self.magic) else {
            throw SnapshotError("not a Dateline query snapshot (or another version)")
        }
        let body = bytes[..<(bytes.count - 8)]
        let stored = bytes.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard self.checksum(body) == stored else { throw SnapshotError("checksum mismatch: the file is damaged") }
        var reader = SnapshotReader(Array(body), position: self.magic.count)
        let applied = try reader.varint()
        let count = Int(try reader.varint())
        guard count <= reader.remaining else { throw SnapshotError("truncated article list") }
        var offsets: [UInt64] = []
        var slices: [ArraySlice<UInt8>] = []
        offsets.reserveCapacity(count)
        slices.reserveCapacity(count)
        for _ in 0..<count {
            offsets.append(try reader.varint())
            slices.append(try reader.bytes(Int(try reader.varint())))
        }
        // Decode the articles (two halves) and read the postings at the same time.
        let indexReader = reader
        let articleBytes = slices
        let results = Results(count: count)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 3) { part in
            do {
                if part == 2 {
                    var reader = indexReader
                    let index = try SearchIndex.readSnapshot(&reader, documentCount: count, analyzer: analyzer, parameters: parameters)
                    guard reader.remaining == 0 else { throw SnapshotError("\(reader.remaining) unexpected bytes after the index") }
                    results.setIndex(index)
                } else {
                    let decoder = DatelineBinaryDecoder()
                    let range = part == 0 ? 0..<(count / 2) : (count / 2)..<count
                    for position in range {
                        results.setArticle(try decoder.decode(StoredArticle.self, from: Array(articleBytes[position])), at: position)
                    }
                }
            } catch {
                failures.record(error)
            }
        }
        if let failure = failures.first { throw failure }
        let articles = results.articles.map { $0! }
        let index = results.index!
        index.attach(articles.map { IndexedDocument(id: $0.id, title: $0.title ?? "", body: $0.body) })
        return Contents(appliedOffset: applied, offsets: offsets, articles: articles, index: index)
    }

    /// Slots filled by the parallel decoding (each slot by one worker).
    private final class Results: @unchecked Sendable {
        var articles: [StoredArticle?]
        var index: SearchIndex?
        private let lock = NSLock()
        init(count: Int) { self.articles = Array(repeating: nil, count: count) }
        func setArticle(_ article: StoredArticle, at position: Int) { self.lock.withLock { self.articles[position] = article } }
        func setIndex(_ index: SearchIndex) { self.lock.withLock { self.index = index } }
    }

    private final class Failures: @unchecked Sendable {
        private var errors: [any Error] = []
        private let lock = NSLock()
        func record(_ error: any Error) { self.lock.withLock { self.errors.append(error) } }
        var first: (any Error)? { self.lock.withLock { self.errors.first } }
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// Writes atomically: temporary file, fsync, rename, directory fsync.
    static func write(_ bytes: [UInt8], directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + self.fileName
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw SnapshotError("cannot write \(temporary)")
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: path), withItemAt: URL(fileURLWithPath: temporary)) } else {
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        }
        if let directoryHandle = FileHandle(forReadingAtPath: directory) {
            try? directoryHandle.synchronize()
            try? directoryHandle.close()
        }
    }
}
