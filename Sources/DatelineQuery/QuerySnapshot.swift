import DatelineProtocol
import DatelineSearch
import DatelineStorage
import Foundation
import NIOCore

/// The query service's state on disk, so that a restart does not replay the whole ingest log:
/// `DTLNQSN3`, the applied offset, the log epoch those offsets belong to (length-prefixed, empty if none), every article (its log offset, its encoded `StoredArticle` without the
/// extraction, and the encoded `ArticleExtraction`, empty when there is none), the index's postings, then an
/// FNV-1a 64 checksum of everything before it. Keeping the extraction apart lets a restart decode only what
/// the entity index needs (entities, topics, events) and leave mentions and times encoded until an article
/// is asked for. Written to a temporary file, fsynced and
/// renamed into place, so a crash leaves the previous snapshot intact.
enum QuerySnapshot {
    static let magic = Array("DTLNQSN3".utf8)
    static let fileName = "index.snapshot"

    struct Contents {
        var appliedOffset: UInt64
        var epoch: String?
        var offsets: [UInt64]
        /// Articles without their extraction (see `extractions` and `extractionBytes`).
        var articles: [StoredArticle]
        /// Each article's whole encoded extraction, or nil.
        var extractionBytes: [[UInt8]?]
        var index: SearchIndex
    }

    /// The part of an `ArticleExtraction` the entity index needs; the other fields are skipped undecoded.
    struct IndexedExtraction: Decodable {
        var version: UInt32
        var entities: [ExtractedEntity]
        var topics: [String]
        var events: [ExtractedEvent]

        enum CodingKeys: Int, CodingKey { case version = 1, entities = 2, topics = 5, events = 7 }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.version = try container.decodeIfPresent(UInt32.self, forKey: .version) ?? 0
            self.entities = try container.decodeIfPresent([ExtractedEntity].self, forKey: .entities) ?? []
            self.topics = try container.decodeIfPresent([String].self, forKey: .topics) ?? []
            self.events = try container.decodeIfPresent([ExtractedEvent].self, forKey: .events) ?? []
        }

        var extraction: ArticleExtraction {
            ArticleExtraction(version: self.version, entities: self.entities, topics: self.topics, events: self.events)
        }
    }

    static func encode(appliedOffset: UInt64, epoch: String?, offsets: [UInt64], articles: [StoredArticle], extractionBytes: [[UInt8]?], index: SearchIndex) throws -> [UInt8] {
        var bytes = self.magic
        bytes.appendVarint(appliedOffset)
        let epochBytes = Array((epoch ?? "").utf8)
        bytes.appendVarint(UInt64(epochBytes.count))
        bytes.append(contentsOf: epochBytes)
        bytes.appendVarint(UInt64(articles.count))
        let encoder = DatelineBinaryEncoder()
        for (position, (offset, article)) in zip(offsets, articles).enumerated() {
            var bare = article
            bare.extraction = nil
            let encoded = try encoder.encode(bare)
            bytes.appendVarint(offset)
            bytes.appendVarint(UInt64(encoded.readableBytes))
            bytes.append(contentsOf: encoded.readableBytesView)
            if let raw = position < extractionBytes.count ? extractionBytes[position] : nil {
                bytes.appendVarint(UInt64(raw.count))
                bytes.append(contentsOf: raw)
            } else if let extraction = article.extraction {
                let encodedExtraction = try encoder.encode(extraction)
                bytes.appendVarint(UInt64(encodedExtraction.readableBytes))
                bytes.append(contentsOf: encodedExtraction.readableBytesView)
            } else {
                bytes.appendVarint(0)
            }
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
        let epochLength = Int(try reader.varint())
        guard epochLength <= 64 else { throw SnapshotError("the log epoch is \(epochLength) bytes long") }
        let epoch = String(decoding: try reader.bytes(epochLength), as: UTF8.self)
        let count = Int(try reader.varint())
        guard count <= reader.remaining else { throw SnapshotError("truncated article list") }
        var offsets: [UInt64] = []
        var slices: [ArraySlice<UInt8>] = []
        var extractionSlices: [ArraySlice<UInt8>] = []
        offsets.reserveCapacity(count)
        slices.reserveCapacity(count)
        extractionSlices.reserveCapacity(count)
        for _ in 0..<count {
            offsets.append(try reader.varint())
            slices.append(try reader.bytes(Int(try reader.varint())))
            extractionSlices.append(try reader.bytes(Int(try reader.varint())))
        }
        // Decode the articles (two halves) and read the postings at the same time.
        let indexReader = reader
        let articleBytes = slices
        let extractionBytes = extractionSlices
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
                        let article = try decoder.decode(StoredArticle.self, from: Array(articleBytes[position]))
                        // The extraction stays encoded: the entity index is built from it after the service is ready.
                        let raw: [UInt8]? = extractionBytes[position].isEmpty ? nil : Array(extractionBytes[position])
                        results.setArticle(article, extraction: nil, bytes: raw, at: position)
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
        return Contents(
            appliedOffset: applied, epoch: epoch.isEmpty ? nil : epoch, offsets: offsets, articles: articles, extractionBytes: results.extractionBytes, index: index
        )
    }

    /// Slots filled by the parallel decoding (each slot by one worker).
    private final class Results: @unchecked Sendable {
        var articles: [StoredArticle?]
        var extractions: [ArticleExtraction?]
        var extractionBytes: [[UInt8]?]
        var index: SearchIndex?
        private let lock = NSLock()
        init(count: Int) {
            self.articles = Array(repeating: nil, count: count)
            self.extractions = Array(repeating: nil, count: count)
            self.extractionBytes = Array(repeating: nil, count: count)
        }
        func setArticle(_ article: StoredArticle, extraction: ArticleExtraction?, bytes: [UInt8]?, at position: Int) {
            self.lock.withLock {
                self.articles[position] = article
                self.extractions[position] = extraction
                self.extractionBytes[position] = bytes
            }
        }
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

    /// Writes atomically: temporary file, fsync, `rename(2)` over the snapshot, directory fsync; a crash at any
    /// moment leaves the previous snapshot or the new one, never neither.
    static func write(_ bytes: [UInt8], directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(bytes, to: directory + "/" + self.fileName)
    }

    /// Deletes what interrupted writes left: our temporaries and those of earlier versions (which wrote through
    /// Foundation: `index.snapshot.tmp`, `.dat.nosync*`). Returns how many.
    static func removeTemporaries(directory: String) -> Int {
        var removed = AtomicFile.removeTemporaries(of: directory + "/" + self.fileName)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name == self.fileName + ".tmp" || name.hasPrefix(".dat.nosync") {
            if (try? FileManager.default.removeItem(atPath: directory + "/" + name)) != nil { removed += 1 }
        }
        return removed
    }
}
