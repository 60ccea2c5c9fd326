import DatelineProtocol
import DatelineSearch
import DatelineStorage
import Foundation
import Logging
import NIOCore

/// dateline-query's articles and their postings: immutable segments on disk (mapped, so the page cache holds
/// them) followed by in-memory buffers, numbered together in the order articles were applied.
///
/// New articles go into the active buffer, searchable at once. A commit freezes it (still searchable, no longer
/// changed), writes it out as a segment outside any lock, swaps the segment in, and records the commit in the
/// manifest. Not synchronised itself: the query service reads it under its read lock and changes it under its
/// write lock; frozen buffers and segments are immutable and may be read by a commit or a merge meanwhile.
final class ArticleIndex {
    /// Articles not yet written to a segment.
    final class Buffer: @unchecked Sendable {  // changed only while active (under the service's write lock)
        let index: SearchIndex
        /// Each article as a segment's store keeps it (``StoredArticleCoding``), decoded when it is read: encoded,
        /// an article with its extraction takes a fifth of the memory it takes decoded.
        var stored: [[UInt8]] = []
        /// Each article's publication time as the segment's column holds it (``Column/noDate`` without one).
        var publishedAt: [UInt64] = []
        var offsets: [UInt64] = []
        var byID: [String: Int] = [:]
        var byExternalID: [String: Int] = [:]
        var textBytes = 0
        /// Bytes of its articles as stored (text, fields and extraction): what it holds in memory, roughly.
        var storedBytes = 0
        /// Its articles' entities, filter values and engagement reports.
        let entities: EntityPartBuilder

        init(parameters: BM25Parameters, stems: StemCache) {
            self.index = SearchIndex(parameters: parameters, stems: stems, keepsTokenRanges: false)
            self.entities = EntityPartBuilder()
        }

        /// A buffer holding `buffer`'s articles and entities as they are now (copied on write, so this costs little)
        /// but no postings: for reads of articles and entities only.
        init(articlesAndEntitiesOf buffer: Buffer, parameters: BM25Parameters) {
            self.index = SearchIndex(parameters: parameters, keepsTokenRanges: false)
            self.stored = buffer.stored
            self.publishedAt = buffer.publishedAt
            self.offsets = buffer.offsets
            self.entities = buffer.entities.snapshot()
        }

        var count: Int { self.stored.count }

        /// Article `local`'s publication time (seconds since 1970), if it has one.
        func publishedAt(_ local: Int) -> Double? {
            let bits = self.publishedAt[local]
            return bits == Column.noDate ? nil : Double(bitPattern: bits)
        }
    }

    /// A segment's numeric columns.
    enum Column: Int, CaseIterable {
        /// The article's log offset.
        case offset = 0
        /// The publication time's `Double` bit pattern, or ``noDate``.
        case publishedAt = 1

        /// No publication time: a NaN's bit pattern, so that no date comparison accepts it.
        static let noDate = UInt64.max
    }

    let directory: String?
    let parameters: BM25Parameters
    /// Stems shared by successive buffers.
    private let stems = StemCache()
    private(set) var segments: [IndexSegment] = [] {
        didSet { self.segmentEnds = Self.ends(of: self.segments) }
    }
    /// One past each segment's last global document (found by binary search for every document a search visits).
    private var segmentEnds: [Int] = []
    private(set) var frozen: [Buffer] = []
    private(set) var active: Buffer

    init(directory: String?, parameters: BM25Parameters, segments: [IndexSegment] = []) {
        self.directory = directory
        self.parameters = parameters
        self.segments = segments
        self.segmentEnds = Self.ends(of: segments)  // didSet does not run in an initialiser
        self.active = Buffer(parameters: parameters, stems: self.stems)
    }

    /// The index as it is now, for entity listings and timelines to read without the service's lock: segments and
    /// frozen buffers are immutable and shared; the active buffer's articles and entities are copied (on write).
    /// Its articles, publication times and entity parts are those of this index; it cannot be searched (the copy
    /// of the active buffer has no postings) and is never changed.
    func entitySnapshot() -> ArticleIndex {
        let snapshot = ArticleIndex(directory: nil, parameters: self.parameters, segments: self.segments)
        snapshot.frozen = self.frozen + [Buffer(articlesAndEntitiesOf: self.active, parameters: self.parameters)]
        return snapshot
    }

    /// Articles held.
    var count: Int { self.segmentDocuments + self.frozen.reduce(0) { $0 + $1.count } + self.active.count }

    /// Articles in segments.
    var segmentDocuments: Int { self.segmentEnds.last ?? 0 }

    /// Every part's entities, filters and reports, in document order (valid while the caller holds the service's
    /// lock: the active buffer's part changes under the write lock).
    func entityParts() -> [any EntityPart] {
        self.segments.map { SegmentEntityPart(segment: $0) } + (self.frozen + [self.active]).map(\.entities)
    }

    /// Article `document`'s publication time (seconds since 1970), from the segment's column or the buffer.
    func publishedAt(_ document: Int) -> Double? {
        switch self.locate(document) {
        case .segment(let segment, let local):
            let bits = segment.column(Column.publishedAt.rawValue, local)
            return bits == Column.noDate ? nil : Double(bitPattern: bits)
        case .buffer(let buffer, let local): return buffer.publishedAt(local)
        case nil: return nil
        }
    }

    /// A point-in-time view for searching (valid while the caller holds the service's lock).
    func reader() -> IndexReader {
        IndexReader(parts: self.segments.map { .segment($0) } + (self.frozen + [self.active]).map { .buffer($0.index) }, parameters: self.parameters)
    }

    /// Publication times of documents asked for in increasing order, as a search's date filter asks: the part
    /// that held the last document is kept (a segment's column as mapped bytes), so that most look-ups are one
    /// load, without finding the part or touching a reference count. Valid while the index's parts are (under the
    /// service's read lock).
    final class PublicationTimes {
        private let index: ArticleIndex
        private var start = 0
        private var end = 0
        private var column: PackedColumn.Reader?
        private var buffer: Buffer?

        init(_ index: ArticleIndex) { self.index = index }

        /// Document `document`'s publication time (seconds since 1970), if it has one.
        func callAsFunction(_ document: Int) -> Double? {
            if document < self.start || document >= self.end {
                switch self.index.locate(document) {
                case .segment(let segment, let local):
                    (self.start, self.end) = (document - local, document - local + segment.documentCount)
                    (self.column, self.buffer) = (segment.columnValues(Column.publishedAt.rawValue), nil)
                case .buffer(let buffer, let local):
                    (self.start, self.end, self.column, self.buffer) = (document - local, document - local + buffer.count, nil, buffer)
                case nil:
                    return nil
                }
            }
            if let column = self.column {
                let bits = column[document - self.start]
                return bits == Column.noDate ? nil : Double(bitPattern: bits)
            }
            return self.buffer?.publishedAt(document - self.start)
        }
    }

    /// The documents of `documents` (ascending) published within `from...to` (a missing bound is open; an
    /// article without a date is outside any range with a bound), that `allowed` holds when given: one pass, a
    /// segment's run of documents read from its column's mapped bytes in a tight loop without a branch per
    /// document (a range keeps an unpredictable share of them).
    func filter(_ documents: [UInt32], from: Double?, to: Double?, allowed: DocumentBits?) -> [UInt32] {
        let lower = from ?? -.infinity
        let upper = to ?? .infinity
        let dated = from != nil || to != nil
        return [UInt32](unsafeUninitializedCapacity: documents.count) { kept, keptCount in
            var count = 0
            var index = 0
            while index < documents.count {
                let first = Int(documents[index])
                guard dated, case .segment(let segment, let local)? = self.locate(first) else {
                    // A buffer's article (or none): the general path, one document.
                    if allowed?.contains(first) ?? true, !dated || Self.within(self.publishedAt(first), lower, upper) {
                        kept[count] = documents[index]
                        count += 1
                    }
                    index += 1
                    continue
                }
                let start = first - local
                let end = UInt32(start + segment.documentCount)
                let column = segment.columnValues(Column.publishedAt.rawValue)
                let run = index
                while index < documents.count, documents[index] < end { index += 1 }
                guard let allowed else {
                    documents.withUnsafeBufferPointer { documents in
                        column.keepTimes(documents[run..<index], base: start, from: lower, to: upper, into: kept, count: &count)
                    }
                    continue
                }
                for document in documents[run..<index] where allowed.contains(Int(document)) {
                    // No date is a NaN (``Column/noDate``), which no comparison accepts.
                    let time = Double(bitPattern: column[Int(document) - start])
                    kept[count] = document
                    count += (time >= lower ? 1 : 0) & (time <= upper ? 1 : 0)
                }
            }
            keptCount = count
        }
    }

    @inline(__always)
    private static func within(_ time: Double?, _ lower: Double, _ upper: Double) -> Bool {
        guard let time else { return false }
        return time >= lower && time <= upper
    }

    enum Location {
        case segment(IndexSegment, Int)
        case buffer(Buffer, Int)
    }

    /// Where article `document` is held.
    func locate(_ document: Int) -> Location? {
        guard document >= 0 else { return nil }
        if let last = self.segmentEnds.last, document < last {
            var low = 0
            var high = self.segmentEnds.count - 1
            while low < high {  // the first segment ending past the document
                let middle = (low + high) / 2
                if self.segmentEnds[middle] > document { high = middle } else { low = middle + 1 }
            }
            return .segment(self.segments[low], document - (low == 0 ? 0 : self.segmentEnds[low - 1]))
        }
        var base = self.segmentEnds.last ?? 0
        for buffer in self.frozen {
            if document < base + buffer.count { return .buffer(buffer, document - base) }
            base += buffer.count
        }
        return document < base + self.active.count ? .buffer(self.active, document - base) : nil
    }

    private static func ends(of segments: [IndexSegment]) -> [Int] {
        var ends: [Int] = []
        ends.reserveCapacity(segments.count)
        var end = 0
        for segment in segments {
            end += segment.documentCount
            ends.append(end)
        }
        return ends
    }

    /// Article `document` as stored; without its extraction (not decoded, for a search hit's or a timeline
    /// report's header) when `extraction` is false.
    func article(_ document: Int, extraction: Bool = true) throws -> StoredArticle {
        let stored: [UInt8]
        switch self.locate(document) {
        case .segment(let segment, let local): stored = try segment.storedDocument(local)
        case .buffer(let buffer, let local): stored = buffer.stored[local]
        case nil: throw DatelineError(code: .internal, message: "no article \(document) in an index of \(self.count)")
        }
        return extraction ? try StoredArticleCoding.decode(stored) : try StoredArticleCoding.split(stored).article
    }

    /// The log offset of article `document`.
    func offset(_ document: Int) -> UInt64 {
        switch self.locate(document) {
        case .segment(let segment, let local): segment.column(Column.offset.rawValue, local)
        case .buffer(let buffer, let local): buffer.offsets[local]
        case nil: 0
        }
    }

    /// The article with this id, or else with this external id.
    func document(forID id: String) throws -> Int? {
        var base = 0
        var external: Int?
        for segment in self.segments {
            if let local = try segment.document(forKey: id) { return base + local }
            if external == nil, let local = try segment.document(forKey: id, external: true) { external = base + local }
            base += segment.documentCount
        }
        for buffer in self.frozen + [self.active] {
            if let local = buffer.byID[id] { return base + local }
            if external == nil, let local = buffer.byExternalID[id] { external = base + local }
            base += buffer.count
        }
        return external
    }

    /// Adds an article to the active buffer; `stored` is the article encoded as a segment stores it
    /// (``StoredArticleCoding/encode(_:)``, which the caller may run before taking the service's lock).
    func add(_ article: StoredArticle, stored: [UInt8], offset: UInt64) {
        let buffer = self.active
        let local = buffer.count
        buffer.index.add(IndexedDocument(id: article.id, title: article.title ?? "", body: article.body))
        buffer.byID[article.id] = local
        if let externalID = article.externalID { buffer.byExternalID[externalID] = local }
        buffer.stored.append(stored)
        buffer.publishedAt.append(article.publishedAt.map { $0.timeIntervalSince1970.bitPattern } ?? Column.noDate)
        buffer.entities.add(article)
        buffer.offsets.append(offset)
        buffer.textBytes += article.paragraphs.reduce(0) { $0 + $1.utf8.count } + (article.title?.utf8.count ?? 0)
        buffer.storedBytes += stored.count
    }

    /// Adds an article to the active buffer, encoding it first.
    func add(_ article: StoredArticle, offset: UInt64) throws {
        self.add(article, stored: try StoredArticleCoding.encode(article), offset: offset)
    }

    /// Freezes the active buffer (when it holds anything) and returns every frozen buffer, oldest first: what a
    /// commit must write.
    func freeze() -> [Buffer] {
        if self.active.count > 0 {
            self.frozen.append(self.active)
            self.active = Buffer(parameters: self.parameters, stems: self.stems)
        }
        return self.frozen
    }

    /// Replaces the oldest frozen buffer, `buffer`, by the segment written from it.
    func install(_ segment: IndexSegment, for buffer: Buffer) {
        precondition(self.frozen.first === buffer && segment.documentCount == buffer.count, "segments are installed in order")
        self.frozen.removeFirst()
        self.segments.append(segment)
    }

    /// Replaces `merged` (adjacent segments, in order) by `segment`, which holds their documents.
    func replace(_ merged: [IndexSegment], with segment: IndexSegment) -> Bool {
        guard let start = self.segments.firstIndex(where: { $0 === merged[0] }), start + merged.count <= self.segments.count,
            zip(self.segments[start...], merged).allSatisfy({ $0 === $1 })
        else { return false }
        self.segments.replaceSubrange(start..<(start + merged.count), with: [segment])
        return true
    }

    /// Distinct terms of the buffers (segments' terms are not counted: their dictionaries stay on disk).
    var bufferedTermCount: Int { (self.frozen + [self.active]).reduce(0) { $0 + $1.index.termCount } }

    /// Terms of every segment's dictionary and every buffer, added up (a term in two parts counts twice).
    var termCount: Int { self.segments.reduce(self.bufferedTermCount) { $0 + $1.termCount } }

    /// A rough size of the buffers' postings in memory.
    var bufferedPostingBytes: Int { (self.frozen + [self.active]).reduce(0) { $0 + $1.index.estimatedBytes } }

    /// Bytes of text held in memory by the buffers.
    var bufferedTextBytes: Int { (self.frozen + [self.active]).reduce(0) { $0 + $1.textBytes } }

    /// Bytes of the buffered articles as stored (text, fields and extraction): what is not committed yet.
    var bufferedStoredBytes: Int { (self.frozen + [self.active]).reduce(0) { $0 + $1.storedBytes } }

    /// Writes `buffer` as segment `name` in the index directory; on failure no file of it is left.
    static func write(_ buffer: Buffer, name: String, directory: String, faults: IndexWriteFaults? = nil) throws -> IndexSegment {
        do {
            let writer = try SegmentWriter(directory: directory, name: name, columnCount: Column.allCases.count)
            try buffer.index.write(to: writer) { local in
                try faults?.inject(.flushDocument)
                let stored = buffer.stored[local]
                let article = try StoredArticleCoding.split(stored).article
                return SearchIndex.StoredFields(
                    columns: [buffer.offsets[local], buffer.publishedAt[local]], key: article.id, externalKey: article.externalID,
                    stored: stored, annex: try EntityCoding.encode(buffer.entities.records[local])
                )
            }
            for (name, table) in buffer.entities.tables() { writer.setAnnexTable(name, table) }
            _ = try writer.finish()
            return try IndexSegment(directory: directory, name: name)
        } catch {
            IndexSegment.remove(directory: directory, name: name)
            throw error
        }
    }
}

/// How an article is kept in a segment's store: the length (u32, big-endian) of the article encoded without its
/// extraction, that article, then the encoded extraction (nothing when there is none).
enum StoredArticleCoding {
    static func encode(_ article: StoredArticle) throws -> [UInt8] {
        let encoder = DatelineBinaryEncoder()
        var bare = article
        bare.extraction = nil
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0))
        try encoder.encode(bare, into: &buffer)
        buffer.setInteger(UInt32(buffer.readableBytes - 4), at: 0)
        if let extraction = article.extraction { try encoder.encode(extraction, into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    /// A log entry's article as a segment stores it: from the bytes it arrived in when it came from the wire (the
    /// same bytes `encode` writes, rearranged, without encoding the article again), else encoded.
    static func encode(_ entry: LogEntry) throws -> [UInt8] {
        guard let encoded = entry.encodedArticle else { return try self.encode(entry.article) }
        let (article, extraction) = try StoredArticle.separatingExtraction(encoded)
        var stored: [UInt8] = []
        stored.reserveCapacity(4 + article.count + extraction.count)
        withUnsafeBytes(of: UInt32(article.count).bigEndian) { stored.append(contentsOf: $0) }
        stored.append(contentsOf: article)
        stored.append(contentsOf: extraction)
        return stored
    }

    /// The article without its extraction, and the extraction's bytes.
    static func split(_ bytes: [UInt8]) throws -> (article: StoredArticle, extraction: ArraySlice<UInt8>) {
        var buffer = ByteBuffer(bytes: bytes)
        guard let length = buffer.readInteger(as: UInt32.self), Int(length) <= buffer.readableBytes else {
            throw DatelineError(code: .dataLoss, message: "a stored article's length is damaged")
        }
        let end = 4 + Int(length)
        let article = try DatelineBinaryDecoder().decode(StoredArticle.self, from: Array(bytes[4..<end]))
        return (article, bytes[end...])
    }

    static func decode(_ bytes: [UInt8]) throws -> StoredArticle {
        var (article, extraction) = try self.split(bytes)
        if !extraction.isEmpty { article.extraction = try DatelineBinaryDecoder().decode(ArticleExtraction.self, from: Array(extraction)) }
        return article
    }
}

extension ArticleIndex {
    /// What opening the index directory found.
    struct Opened {
        var index: ArticleIndex
        var manifest: IndexManifest
        /// Why the index on disk was not used (it is rebuilt from the log), when it was not.
        var problem: String?
        /// Files deleted because no commit named them.
        var removed: [String]
    }

    /// Opens the committed index in `directory`: reads the manifest and maps every segment it names, checking
    /// their envelopes and structure (their checksums are left to ``IndexSegment/verifyChecksums()``). A damaged or missing file
    /// makes it start empty, saying why, so that the log rebuilds it.
    static func open(directory: String, parameters: BM25Parameters, logger: Logger) -> Opened {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard let manifest = try IndexManifest.read(directory: directory) else {
                let empty = IndexManifest()
                return Opened(index: ArticleIndex(directory: directory, parameters: parameters), manifest: empty, removed: empty.removeUnreferencedFiles(directory: directory))
            }
            if !manifest.segments.isEmpty, manifest.data[Self.formatKey] != Self.format {
                // Written by another version: not damaged, but not readable as it is. The log rebuilds it.
                let found = manifest.data[Self.formatKey] ?? "1"
                logger.notice("the index on disk has another format; rebuilding it from the ingest log", metadata: [
                    "dateline.index": "\(directory)", "dateline.format": "\(found)", "dateline.expected": "\(Self.format)",
                ])
                let empty = IndexManifest(nextSegment: manifest.nextSegment)
                try empty.write(directory: directory)
                return Opened(
                    index: ArticleIndex(directory: directory, parameters: parameters), manifest: empty,
                    problem: "rebuilding: the index on disk has format \(found), this version reads format \(Self.format)",
                    removed: empty.removeUnreferencedFiles(directory: directory)
                )
            }
            let removed = manifest.removeUnreferencedFiles(directory: directory)
            let segments = try manifest.segments.map { info throws(DatelineStorageError) in
                // Envelopes and structure now; the checksums of the whole files in the background (QueryService).
                try IndexSegment(directory: directory, name: info.name, verify: false)
            }
            return Opened(index: ArticleIndex(directory: directory, parameters: parameters, segments: segments), manifest: manifest, removed: removed)
        } catch {
            let reason = (error as? DatelineStorageError).map { $0.message } ?? "\(error)"
            logger.error("the index on disk is damaged; rebuilding it from the ingest log", metadata: [
                "dateline.index": "\(directory)", "dateline.file": "\((error as? DatelineStorageError)?.segment ?? "")", "dateline.error": "\(reason)",
            ])
            let empty = IndexManifest()
            try? empty.write(directory: directory)
            let removed = empty.removeUnreferencedFiles(directory: directory)
            return Opened(
                index: ArticleIndex(directory: directory, parameters: parameters), manifest: empty,
                problem: "rebuilding: the index on disk was damaged (\((error as? DatelineStorageError)?.segment ?? "manifest")): \(reason)", removed: removed
            )
        }
    }

    /// The manifest entry naming the segments' format, and the format this version writes and reads (6: postings
    /// columns patched where a few values are wider; 5: positions packed a chunk at a time; 4: packed columns,
    /// compact dictionary entries and keys; 3: postings blocks with chunk checkpoints; 2: with the entity annex).
    static let formatKey = "format"
    static let format = "6"

    /// Adjacent segments a merge should combine now, oldest first, or nil (see ``MergePolicy``).
    func mergeCandidates(factor: Int, minimumDocuments: Int) -> [IndexSegment]? {
        let policy = MergePolicy(factor: factor, minimumDocuments: minimumDocuments)
        return policy.run(self.segments.map(\.documentCount)).map { Array(self.segments[$0]) }
    }

    /// The newest segments a quiet index merges into one, oldest first, or nil (see ``MergePolicy/quietRun(_:maximumDocuments:)``).
    func quietMergeCandidates(maximumDocuments: Int) -> [IndexSegment]? {
        MergePolicy.quietRun(self.segments.map(\.documentCount), maximumDocuments: maximumDocuments).map { Array(self.segments[$0]) }
    }
}
