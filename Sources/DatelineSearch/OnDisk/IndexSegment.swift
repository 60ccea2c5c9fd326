package import DatelineStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a segment holds, as its manifest entry records it.
package struct SegmentInfo: Sendable, Hashable, Codable {
    /// The files' common name (`<name>.dict`, `<name>.post`, ...).
    package var name: String
    package var documentCount: Int
    package var totalTitleLength: Int
    package var totalBodyLength: Int
    /// Bytes on disk: everything, and the stored documents alone.
    package var bytes: Int
    package var storeBytes: Int

    package init(name: String, documentCount: Int, totalTitleLength: Int, totalBodyLength: Int, bytes: Int, storeBytes: Int) {
        self.name = name
        self.documentCount = documentCount
        self.totalTitleLength = totalTitleLength
        self.totalBodyLength = totalBodyLength
        self.bytes = bytes
        self.storeBytes = storeBytes
    }
}

/// A term's entry in a segment's dictionary: where its postings and positions start and how many documents hold
/// it (score bounds come from the postings a query reads). Stored as three varints, the offsets as differences
/// from the previous term's (``SortedTable/ValueCoding/varints(count:ascending:)``).
package struct TermInfo: Sendable, Hashable {
    package var postingsOffset: Int
    package var documentFrequency: Int
    /// Where the term's first positions are in the positions file.
    package var positionsOffset: UInt64

    /// The dictionary's value coding.
    static let coding = SortedTable.ValueCoding.varints(count: 3, ascending: 0b101)

    var varints: SortedTable.Varints {
        SortedTable.Varints(UInt64(self.postingsOffset), UInt64(self.documentFrequency), self.positionsOffset, 0)
    }

    init(postingsOffset: Int, documentFrequency: Int, positionsOffset: UInt64) {
        self.postingsOffset = postingsOffset
        self.documentFrequency = documentFrequency
        self.positionsOffset = positionsOffset
    }

    init(_ varints: SortedTable.Varints) throws(IndexFormatError) {
        guard varints[0] <= UInt64(Int.max), varints[1] <= UInt64(Int32.max), varints[1] > 0 else {
            throw IndexFormatError("a dictionary entry of \(varints[1]) documents at \(varints[0])")
        }
        self.init(postingsOffset: Int(varints[0]), documentFrequency: Int(varints[1]), positionsOffset: varints[2])
    }
}

/// Writes one immutable segment: terms in increasing byte order with their postings, and documents in order
/// (their field lengths, numeric columns, keys and stored bytes). ``finish()`` writes the dictionary, the
/// document columns and the keys, and fsyncs every file and the directory; nothing is visible to readers until
/// a manifest names the segment.
package final class SegmentWriter {
    package let directory: String
    package let name: String
    private let columnCount: Int
    private let postings: IndexFileWriter
    private let positions: IndexFileWriter
    private let store: DocumentStoreWriter
    private let annex: SegmentAnnex.Writer
    private var dictionary = SortedTable.Builder(values: TermInfo.coding)
    private var lastTerm: [UInt8]?
    private var titleLengths: [UInt32] = []
    private var bodyLengths: [UInt32] = []
    private var columns: [[UInt64]]
    private var keys: [(key: [UInt8], document: UInt32)] = []
    private var externalKeys: [(key: [UInt8], document: UInt32)] = []
    private var keyTables: (keys: [UInt8], external: [UInt8])?

    /// Paths of a segment's files.
    package static func path(directory: String, name: String, kind: IndexFile.Kind) -> String {
        directory + "/" + name + kind.suffix
    }

    package init(directory: String, name: String, columnCount: Int, storeBlockSize: Int = DocumentStoreWriter.defaultBlockSize) throws(DatelineStorageError) {
        self.directory = directory
        self.name = name
        self.columnCount = columnCount
        self.columns = Array(repeating: [], count: columnCount)
        self.postings = try IndexFileWriter(path: Self.path(directory: directory, name: name, kind: .postings), kind: .postings)
        self.positions = try IndexFileWriter(path: Self.path(directory: directory, name: name, kind: .positions), kind: .positions)
        self.store = try DocumentStoreWriter(path: Self.path(directory: directory, name: name, kind: .store), blockSize: storeBlockSize)
        self.annex = try SegmentAnnex.Writer(path: Self.path(directory: directory, name: name, kind: .annex))
    }

    /// Sets the annex table `name` (a finished ``SortedTable``), replacing one set before.
    package func setAnnexTable(_ name: String, _ table: [UInt8]) {
        self.annex.setTable(name, table)
    }

    package var documentCount: Int { self.titleLengths.count }

    /// Adds a term's postings (with positions); terms must come in strictly increasing UTF-8 byte order.
    package func addTerm(_ term: [UInt8], postings list: PostingList) throws {
        try self.addTerm(term) { encoding in
            try list.forEachDocument { try encoding.add(document: $0, titleFrequency: $1, bodyFrequency: $2, positions: $3) }
        }
    }

    /// Adds a term whose postings `fill` gives a document at a time, in memory bounded whatever the term's size:
    /// positions go to their file as they come.
    func addTerm(_ term: [UInt8], _ fill: (inout TermEncoding) throws -> Void) throws {
        let positionsOffset = UInt64(self.positions.payloadPosition)
        var encoding = TermEncoding(encoder: PostingsFormat.Encoder(positionsBase: positionsOffset), positions: self.positions)
        try fill(&encoding)
        guard encoding.encoder.count > 0 else { return }
        precondition(self.lastTerm.map { $0.lexicographicallyPrecedes(term) } ?? true, "segment terms must increase")
        self.lastTerm = term
        let postings = encoding.encoder.finish()
        try self.positions.append(encoding.encoder.takePositions())
        let info = TermInfo(postingsOffset: self.postings.payloadPosition, documentFrequency: encoding.encoder.count, positionsOffset: positionsOffset)
        try self.postings.append(postings)
        self.dictionary.add(key: term, varints: info.varints)
    }

    /// A term being added by ``addTerm(_:_:)``.
    struct TermEncoding {
        fileprivate var encoder: PostingsFormat.Encoder
        fileprivate let positions: IndexFileWriter

        /// Adds the term's next document (documents must increase) and its positions (the title's, then the body's).
        mutating func add(document: UInt32, titleFrequency: UInt32, bodyFrequency: UInt32, positions: UnsafeBufferPointer<UInt32>) throws {
            self.encoder.add(document: document, titleFrequency: titleFrequency, bodyFrequency: bodyFrequency, positions: positions)
            if self.encoder.pendingPositionBytes >= 1 << 16 { try self.positions.append(self.encoder.takePositions()) }
        }
    }

    /// Adds the next document (numbered from 0 in the order added).
    package func addDocument(
        titleLength: UInt32, bodyLength: UInt32, columns: [UInt64], key: String, externalKey: String?, stored: [UInt8], annex: [UInt8] = []
    ) throws(DatelineStorageError) {
        precondition(columns.count == self.columnCount, "a segment's documents all have the same columns")
        let document = UInt32(self.titleLengths.count)
        self.titleLengths.append(titleLength)
        self.bodyLengths.append(bodyLength)
        for (index, value) in columns.enumerated() { self.columns[index].append(value) }
        self.keys.append((Self.storedKey(key), document))
        if let externalKey { self.externalKeys.append((Self.storedKey(externalKey), document)) }
        try self.store.add(stored)
        try self.annex.addRecord(annex)
    }

    /// Adds documents whose stored bytes are an existing compressed block (a merge copying another segment's
    /// store): `documents` gives each one's lengths and columns; their keys come whole through ``setKeyTables(keys:external:)``.
    package func addDocuments(
        compressedBlock: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer,
        _ documents: [(titleLength: UInt32, bodyLength: UInt32, columns: [UInt64], annex: UnsafeRawBufferPointer)]
    ) throws(DatelineStorageError) {
        try self.store.addCompressedBlock(compressedBlock, documents: documents.count, dictionary: dictionary)
        for document in documents {
            self.titleLengths.append(document.titleLength)
            self.bodyLengths.append(document.bodyLength)
            for (index, value) in document.columns.enumerated() { self.columns[index].append(value) }
            try self.annex.addRecord(document.annex)
        }
    }

    /// Sets the key and external-key tables whole (``SortedTable``s of key → varint document, as a merge combines its
    /// inputs'), instead of building them from the keys ``addDocument(titleLength:bodyLength:columns:key:externalKey:stored:annex:)`` was given.
    package func setKeyTables(keys: [UInt8], external: [UInt8]) {
        self.keyTables = (keys, external)
    }

    /// Writes the remaining files, fsyncs everything, and describes the segment.
    package func finish() throws(DatelineStorageError) -> SegmentInfo {
        try self.postings.finish()
        try self.positions.finish()
        try self.store.finish()
        try self.annex.finish()
        let dictionary = try IndexFileWriter(path: Self.path(directory: self.directory, name: self.name, kind: .dictionary), kind: .dictionary)
        try dictionary.append(self.dictionary.finish())
        try dictionary.finish()
        try self.writeDocuments()
        try self.writeKeys()
        try FileDescriptor.syncDirectory(self.directory)
        var bytes = 0
        for kind in IndexFile.Kind.segmentFiles {
            let descriptor = try FileDescriptor(path: Self.path(directory: self.directory, name: self.name, kind: kind), mode: .readOnly)
            bytes += try descriptor.size()
        }
        let storePath = Self.path(directory: self.directory, name: self.name, kind: .store)
        return SegmentInfo(
            name: self.name, documentCount: self.documentCount,
            totalTitleLength: self.titleLengths.reduce(0) { $0 + Int($1) }, totalBodyLength: self.bodyLengths.reduce(0) { $0 + Int($1) },
            bytes: bytes, storeBytes: try FileDescriptor(path: storePath, mode: .readOnly).size()
        )
    }

    /// `DOCS`: u64 document count, u64 column count, u64 total title length, u64 total body length, then the title
    /// lengths, the body lengths and each column, each a ``PackedColumn``.
    private func writeDocuments() throws(DatelineStorageError) {
        let file = try IndexFileWriter(path: Self.path(directory: self.directory, name: self.name, kind: .documents), kind: .documents)
        var header: [UInt8] = []
        header.appendLittleEndian(UInt64(self.documentCount))
        header.appendLittleEndian(UInt64(self.columnCount))
        header.appendLittleEndian(UInt64(self.titleLengths.reduce(0) { $0 + Int($1) }))
        header.appendLittleEndian(UInt64(self.bodyLengths.reduce(0) { $0 + Int($1) }))
        try file.append(header)
        try file.append(PackedColumn.encode(self.titleLengths.map(UInt64.init)))
        try file.append(PackedColumn.encode(self.bodyLengths.map(UInt64.init)))
        for column in self.columns { try file.append(PackedColumn.encode(column)) }
        try file.finish()
    }

    /// The key tables' value coding: a document number.
    static let keyCoding = SortedTable.ValueCoding.varints(count: 1, ascending: 0)

    /// A key as the key tables store it: one that starts with 16 lowercase hexadecimal digits (an article id, a
    /// 64-bit fingerprint) as `0x01`, their 8 bytes and the rest of the key; any other as `0x02` and its UTF-8.
    package static func storedKey(_ key: String) -> [UInt8] {
        let utf8 = Array(key.utf8)
        var value: UInt64 = 0
        var digits = 0
        while digits < 16, digits < utf8.count {
            let byte = utf8[digits]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return [0x02] + utf8
            }
            value = value << 4 | UInt64(digit)
            digits += 1
        }
        guard digits == 16 else { return [0x02] + utf8 }
        var stored: [UInt8] = [0x01]
        stored.reserveCapacity(9 + utf8.count - 16)
        withUnsafeBytes(of: value.bigEndian) { stored.append(contentsOf: $0) }
        stored.append(contentsOf: utf8[16...])
        return stored
    }

    /// `KEYS`: the key table, the external-key table (``SortedTable``s of key → varint document), then the first
    /// table's length (u64).
    private func writeKeys() throws(DatelineStorageError) {
        func table(_ entries: [(key: [UInt8], document: UInt32)]) -> [UInt8] {
            var builder = SortedTable.Builder(values: SegmentWriter.keyCoding)
            var previous: [UInt8]?
            for entry in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                if let previous, previous == entry.key { continue }  // the first holder of a key wins
                builder.add(key: entry.key, varints: SortedTable.Varints(UInt64(entry.document), 0, 0, 0))
                previous = entry.key
            }
            return builder.finish()
        }
        let file = try IndexFileWriter(path: Self.path(directory: self.directory, name: self.name, kind: .keys), kind: .keys)
        let keys = self.keyTables?.keys ?? table(self.keys)
        try file.append(keys)
        try file.append(self.keyTables?.external ?? table(self.externalKeys))
        var trailer: [UInt8] = []
        trailer.appendLittleEndian(UInt64(keys.count))
        try file.append(trailer)
        try file.finish()
    }
}

/// One immutable segment, its files mapped read-only: look-ups read the page cache, not the heap.
package final class IndexSegment: Sendable {
    package let info: SegmentInfo
    package let columnCount: Int
    private let dictionaryFile: MappedIndexFile
    private let postingsFile: MappedIndexFile
    fileprivate let positionsFile: MappedIndexFile
    private let documentsFile: MappedIndexFile
    private let keysFile: MappedIndexFile
    private let annexFile: MappedIndexFile
    private let store: DocumentStoreReader
    private nonisolated(unsafe) let annex: SegmentAnnex.Reader  // reads immutable mapped bytes only
    private nonisolated(unsafe) let dictionary: SortedTable.Reader  // reads immutable mapped bytes only
    private nonisolated(unsafe) let keys: SortedTable.Reader
    private nonisolated(unsafe) let externalKeys: SortedTable.Reader
    private let titleLengths: PackedColumn.Reader
    private let bodyLengths: PackedColumn.Reader
    private let columns: [PackedColumn.Reader]
    private let storeFile: MappedIndexFile
    /// Whether every file's checksum has been computed and found right.
    private let checksumsVerified: Atomic<Bool>

    package var name: String { self.info.name }
    /// Distinct terms in the segment's dictionary.
    package var termCount: Int { self.dictionary.count }
    package var documentCount: Int { self.info.documentCount }

    /// Maps the segment `name` in `directory` and checks every file's envelope (magic, kind, footer, length) and
    /// structure, and, when `verify`, every file's checksum. Without `verify` opening costs the same whatever the
    /// segment's size; ``verifyChecksums()`` reads the files whole later (a restart does so in the background).
    /// - Throws: ``DatelineStorageError`` naming the damaged or missing file.
    package init(directory: String, name: String, verify: Bool = true) throws(DatelineStorageError) {
        func open(_ kind: IndexFile.Kind) throws(DatelineStorageError) -> MappedIndexFile {
            try MappedIndexFile(path: SegmentWriter.path(directory: directory, name: name, kind: kind), kind: kind, verify: verify)
        }
        self.checksumsVerified = Atomic(verify)
        self.dictionaryFile = try open(.dictionary)
        self.postingsFile = try open(.postings)
        self.positionsFile = try open(.positions)
        self.documentsFile = try open(.documents)
        self.keysFile = try open(.keys)
        self.annexFile = try open(.annex)
        let storeFile = try open(.store)
        self.storeFile = storeFile
        func damaged(_ file: MappedIndexFile, _ error: IndexFormatError) -> DatelineStorageError {
            .corrupt(segment: String(file.path.split(separator: "/").last ?? ""), offset: 0, reason: "index file \(file.path): \(error.description)")
        }
        do throws(IndexFormatError) {
            self.store = try DocumentStoreReader(storeFile)
        } catch { throw damaged(storeFile, error) }
        do throws(IndexFormatError) {
            self.dictionary = try SortedTable.Reader(self.dictionaryFile.payload)
        } catch { throw damaged(self.dictionaryFile, error) }
        do throws(IndexFormatError) {
            self.annex = try SegmentAnnex.Reader(self.annexFile.payload)
        } catch { throw damaged(self.annexFile, error) }
        let keyBytes = self.keysFile.payload
        guard keyBytes.count >= 8 else { throw damaged(self.keysFile, IndexFormatError("too short")) }
        let firstLength = Int(truncatingIfNeeded: keyBytes.littleEndian(at: keyBytes.count - 8, as: UInt64.self))
        guard firstLength >= 0, firstLength <= keyBytes.count - 8 else { throw damaged(self.keysFile, IndexFormatError("the key table's length is out of range")) }
        do throws(IndexFormatError) {
            self.keys = try SortedTable.Reader(UnsafeRawBufferPointer(rebasing: keyBytes[0..<firstLength]))
            self.externalKeys = try SortedTable.Reader(UnsafeRawBufferPointer(rebasing: keyBytes[firstLength..<(keyBytes.count - 8)]))
        } catch { throw damaged(self.keysFile, error) }
        let documents = self.documentsFile.payload
        guard documents.count >= 32 else { throw damaged(self.documentsFile, IndexFormatError("too short")) }
        let count = Int(truncatingIfNeeded: documents.littleEndian(at: 0, as: UInt64.self))
        let columns = Int(truncatingIfNeeded: documents.littleEndian(at: 8, as: UInt64.self))
        let totalTitle = Int(truncatingIfNeeded: documents.littleEndian(at: 16, as: UInt64.self))
        let totalBody = Int(truncatingIfNeeded: documents.littleEndian(at: 24, as: UInt64.self))
        guard count >= 0, columns >= 0, columns < 64, count < Int(Int32.max) else {
            throw damaged(self.documentsFile, IndexFormatError("\(count) documents and \(columns) columns"))
        }
        do throws(IndexFormatError) {
            var packed: [PackedColumn.Reader] = []
            var offset = 32
            for _ in 0..<(2 + columns) {
                let column = try PackedColumn.Reader(documents, at: offset, count: count)
                offset += try PackedColumn.size(of: documents, at: offset, count: count)
                packed.append(column)
            }
            guard offset == documents.count else { throw IndexFormatError("\(count) documents and \(columns) columns do not fill \(documents.count) bytes") }
            (self.titleLengths, self.bodyLengths, self.columns) = (packed[0], packed[1], Array(packed[2...]))
        } catch { throw damaged(self.documentsFile, error) }
        guard self.store.count == count else {
            throw damaged(storeFile, IndexFormatError("the store holds \(self.store.count) documents, the segment \(count)"))
        }
        guard self.annex.count == count else {
            throw damaged(self.annexFile, IndexFormatError("the annex holds \(self.annex.count) records, the segment \(count) documents"))
        }
        self.columnCount = columns
        let bytes = [self.dictionaryFile, self.postingsFile, self.positionsFile, self.documentsFile, self.keysFile, storeFile, self.annexFile]
            .reduce(0) { $0 + $1.payload.count + IndexFile.headerSize + IndexFile.footerSize }
        self.info = SegmentInfo(
            name: name, documentCount: count, totalTitleLength: totalTitle, totalBodyLength: totalBody,
            bytes: bytes, storeBytes: storeFile.payload.count + IndexFile.headerSize + IndexFile.footerSize
        )
    }

    /// Whether every file's checksum is known to be right (checked at open or by ``verifyChecksums()``).
    package var isVerified: Bool { self.checksumsVerified.load(ordering: .acquiring) }

    /// Computes every file's checksum (once: a verified segment returns at once).
    /// - Throws: ``DatelineStorageError`` with code `corrupt` naming the first damaged file.
    package func verifyChecksums() throws(DatelineStorageError) {
        guard !self.isVerified else { return }
        for file in [self.dictionaryFile, self.documentsFile, self.keysFile, self.annexFile, self.postingsFile, self.positionsFile, self.storeFile] {
            try file.verifyChecksum()
        }
        self.checksumsVerified.store(true, ordering: .releasing)
    }

    /// Document `document`'s title length in tokens.
    @inline(__always)
    package func titleLength(_ document: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: self.titleLengths[document])
    }

    /// Document `document`'s body length in tokens.
    @inline(__always)
    package func bodyLength(_ document: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: self.bodyLengths[document])
    }

    /// Every document's title and body lengths: valid while the segment is alive (they read its mapped memory),
    /// for the ranker's loops.
    var lengthColumns: (title: PackedColumn.Reader, body: PackedColumn.Reader) { (self.titleLengths, self.bodyLengths) }

    /// The sum of the first `count` documents' title and body lengths.
    package func lengthTotals(first count: Int) -> (title: Int, body: Int) {
        if count >= self.documentCount { return (self.info.totalTitleLength, self.info.totalBodyLength) }
        var title = 0
        var body = 0
        for document in 0..<count {
            title += Int(self.titleLength(document))
            body += Int(self.bodyLength(document))
        }
        return (title, body)
    }

    /// Column `column` of document `document`.
    @inline(__always)
    package func column(_ column: Int, _ document: Int) -> UInt64 {
        self.columns[column][document]
    }

    /// Column `column` of every document: valid while the segment is alive (it reads mapped memory), for loops
    /// that read one column of many documents.
    package func columnValues(_ column: Int) -> PackedColumn.Reader { self.columns[column] }

    fileprivate func failure(_ error: IndexFormatError, in file: MappedIndexFile) -> DatelineStorageError {
        .corrupt(segment: String(file.path.split(separator: "/").last ?? ""), offset: 0, reason: "index file \(file.path): \(error.description)")
    }

    /// The dictionary entry of `term`, or nil when no document of the segment holds it.
    package func termInfo(_ term: String) throws(DatelineStorageError) -> TermInfo? {
        var term = term
        do {
            return try term.withUTF8 { bytes in
                try self.dictionary.findVarints(UnsafeRawBufferPointer(bytes)).map { value throws(IndexFormatError) in try TermInfo(value) }
            }
        } catch let error as IndexFormatError {
            throw self.failure(error, in: self.dictionaryFile)
        } catch {
            throw self.failure(IndexFormatError("\(error)"), in: self.dictionaryFile)
        }
    }

    /// Every term starting with `prefix`, in order, with its entry.
    package func terms(withPrefix prefix: String) throws(DatelineStorageError) -> [(term: String, info: TermInfo)] {
        var found: [(String, TermInfo)] = []
        do {
            try self.dictionary.forEachVarintEntry(withPrefix: Array(prefix.utf8)) { key, value in
                found.append((String(decoding: key, as: UTF8.self), try TermInfo(value)))
                return true
            }
        } catch let error as IndexFormatError {
            throw self.failure(error, in: self.dictionaryFile)
        } catch {
            throw self.failure(IndexFormatError("\(error)"), in: self.dictionaryFile)
        }
        return found
    }

    /// A cursor over the dictionary's terms in byte order, with their encoded entries.
    var termCursor: SortedTable.Cursor { self.dictionary.cursor() }

    /// The postings of a term among documents below `limit`, with positions when asked.
    package func postings(_ info: TermInfo, below limit: Int? = nil, positions: Bool = false) throws(DatelineStorageError) -> PostingList {
        do throws(IndexFormatError) {
            return try PostingsFormat.decode(
                self.postingsFile.payload, offset: info.postingsOffset, count: info.documentFrequency, positionsOffset: info.positionsOffset,
                limit: UInt32(clamping: limit ?? self.documentCount), positions: positions ? self.positionsFile.payload : nil
            )
        } catch { throw self.failure(error, in: self.postingsFile) }
    }

    /// Calls `body` with each document of a term: its number, title and body frequencies, and its positions (see
    /// ``PostingsFormat/forEachDocument(_:offset:count:positionsOffset:limit:positions:_:)``).
    func forEachPosting(_ info: TermInfo, _ body: (UInt32, UInt32, UInt32, UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        do {
            try PostingsFormat.forEachDocument(
                self.postingsFile.payload, offset: info.postingsOffset, count: info.documentFrequency, positionsOffset: info.positionsOffset,
                positions: self.positionsFile.payload, body)
        } catch let error as IndexFormatError {
            throw self.failure(error, in: self.postingsFile)
        }
    }

    /// Appends the postings of a term among documents below `limit` to `key` (no positions), numbered from `base`.
    func appendPostings(_ info: TermInfo, below limit: Int, base: UInt32, to key: inout ScoredKey) throws(DatelineStorageError) {
        do throws(IndexFormatError) {
            try PostingsFormat.append(
                self.postingsFile.payload, offset: info.postingsOffset, count: info.documentFrequency, positionsOffset: info.positionsOffset,
                limit: UInt32(clamping: limit), base: base, to: &key)
        } catch { throw self.failure(error, in: self.postingsFile) }
    }

    /// A term's postings walked a block at a time, for intersections (see ``PostingsFormat/BlockCursor``).
    package struct BlockPostings {
        private var cursor: PostingsFormat.BlockCursor
        private let segment: IndexSegment

        init(_ cursor: PostingsFormat.BlockCursor, segment: IndexSegment) {
            self.cursor = cursor
            self.segment = segment
        }

        package var isExhausted: Bool { self.cursor.isExhausted }

        /// Moves to `document` or past it; whether the term holds it. Documents must not decrease.
        package mutating func seek(_ document: UInt32) throws(DatelineStorageError) -> Bool {
            do throws(IndexFormatError) {
                return try self.cursor.seek(document)
            } catch { throw self.segment.failure(error, in: self.segment.postingsFile) }
        }

        /// The next document (the first, at the start); nil past the last. Reads documents only.
        package mutating func next() throws(DatelineStorageError) -> UInt32? {
            do throws(IndexFormatError) {
                return try self.cursor.next()
            } catch { throw self.segment.failure(error, in: self.segment.postingsFile) }
        }

        /// Appends the next block's documents to `documents` and stays before them (see
        /// ``PostingsFormat/BlockCursor/nextBlock(into:)``); false past the last block.
        package mutating func nextBlock(into documents: inout [UInt32]) throws(DatelineStorageError) -> Bool {
            do throws(IndexFormatError) {
                return try self.cursor.nextBlock(into: &documents)
            } catch { throw self.segment.failure(error, in: self.segment.postingsFile) }
        }

        /// The title and body frequencies in the document the last successful seek found.
        package mutating func frequencies() throws(DatelineStorageError) -> (title: UInt32, body: UInt32) {
            do throws(IndexFormatError) {
                return try self.cursor.frequencies()
            } catch { throw self.segment.failure(error, in: self.segment.postingsFile) }
        }

        /// The positions in the document the last successful seek found, written into `buffer` from `offset`
        /// (see ``PostingsFormat/BlockCursor/positions(into:at:)``).
        package mutating func positions(into buffer: inout [UInt32], at offset: Int) throws(DatelineStorageError) -> (title: Range<Int>, body: Range<Int>) {
            do throws(IndexFormatError) {
                return try self.cursor.positions(into: &buffer, at: offset)
            } catch { throw self.segment.failure(error, in: self.segment.positionsFile) }
        }
    }

    /// The postings of the term `info` describes among the first `limit` documents, walked a block at a time.
    package func blockPostings(of info: TermInfo, below limit: Int) throws(DatelineStorageError) -> BlockPostings {
        do throws(IndexFormatError) {
            return BlockPostings(
                try PostingsFormat.BlockCursor(
                    self.postingsFile.payload, offset: info.postingsOffset, count: info.documentFrequency, positionsOffset: info.positionsOffset,
                    limit: UInt32(clamping: limit), positions: self.positionsFile.payload
                ),
                segment: self
            )
        } catch { throw self.failure(error, in: self.postingsFile) }
    }

    /// Document `document`'s annex record (empty when none was given).
    package func annexRecord(_ document: Int) -> UnsafeRawBufferPointer {
        precondition(document >= 0 && document < self.documentCount, "annex record \(document) of \(self.documentCount)")
        return self.annex.record(document)
    }

    /// The annex table `name`, or nil when the segment has none of that name.
    package func annexTable(_ name: String) -> SortedTable.Reader? { self.annex.tables[name] }

    /// The names of the segment's annex tables.
    package var annexTableNames: [String] { self.annex.tables.keys.sorted() }

    /// Reports damage found in the annex while reading it.
    package func annexDamage(_ error: any Error) -> DatelineStorageError {
        self.failure(error as? IndexFormatError ?? IndexFormatError("\(error)"), in: self.annexFile)
    }

    /// Stored document `document`'s bytes.
    package func storedDocument(_ document: Int) throws(DatelineStorageError) -> [UInt8] {
        do throws(IndexFormatError) {
            return try self.store.document(document)
        } catch {
            throw .corrupt(segment: self.name + IndexFile.Kind.store.suffix, offset: 0, reason: "stored document \(document) of segment \(self.name): \(error.description)")
        }
    }

    /// The document whose key (or, with `external`, external key) is `key`.
    package func document(forKey key: String, external: Bool = false) throws(DatelineStorageError) -> Int? {
        do {
            let table = external ? self.externalKeys : self.keys
            guard let value = try SegmentWriter.storedKey(key).withUnsafeBytes({ bytes throws(IndexFormatError) in try table.findVarints(bytes) }) else { return nil }
            guard value[0] < UInt64(self.documentCount) else { throw IndexFormatError("key \(key) names document \(value[0]) of \(self.documentCount)") }
            return Int(value[0])
        } catch let error as IndexFormatError {
            throw self.failure(error, in: self.keysFile)
        } catch {
            throw self.failure(IndexFormatError("\(error)"), in: self.keysFile)
        }
    }

    var keyTable: SortedTable.Reader { self.keys }
    var externalKeyTable: SortedTable.Reader { self.externalKeys }

    /// The store's compressed blocks, in order, for a merge to copy.
    func storeBlocks() throws(DatelineStorageError) -> [(bytes: UnsafeRawBufferPointer, documents: Int, dictionary: UnsafeRawBufferPointer)] {
        do throws(IndexFormatError) {
            return try (0..<self.store.blockCount).map { block throws(IndexFormatError) in try self.store.compressedBlock(block) }
        } catch { throw self.failure(error, in: self.storeFile) }
    }

    /// Deletes a segment's files (once no reader maps them).
    package static func remove(directory: String, name: String) {
        for kind in IndexFile.Kind.segmentFiles {
            unlink(SegmentWriter.path(directory: directory, name: name, kind: kind))
        }
    }
}

extension SearchIndex {
    /// What a segment stores of one document beside its postings.
    package struct StoredFields {
        package var columns: [UInt64]
        package var key: String
        package var externalKey: String?
        package var stored: [UInt8]
        /// The document's annex record.
        package var annex: [UInt8]

        package init(columns: [UInt64], key: String, externalKey: String?, stored: [UInt8], annex: [UInt8] = []) {
            self.columns = columns
            self.key = key
            self.externalKey = externalKey
            self.stored = stored
            self.annex = annex
        }
    }

    /// Writes this index's documents and postings into `writer` (terms in byte order), taking each document's
    /// stored fields from `fields` (by document number). The index must not change meanwhile.
    package func write(to writer: SegmentWriter, fields: (Int) throws -> StoredFields) throws {
        let order = self.terms.indices.sorted { self.terms[$0].utf8.lexicographicallyPrecedes(self.terms[$1].utf8) }
        for id in order {
            try writer.addTerm(Array(self.terms[id].utf8), postings: self.postingLists[id].decoded(below: .max, positions: true))
        }
        for document in 0..<self.count {
            let stored = try fields(document)
            try writer.addDocument(
                titleLength: self.titleLengths[document], bodyLength: self.bodyLengths[document], columns: stored.columns,
                key: stored.key, externalKey: stored.externalKey, stored: stored.stored, annex: stored.annex
            )
        }
    }

    /// The document numbered `document` (kept only by an index that keeps token ranges).
    package func document(_ document: Int) -> IndexedDocument {
        precondition(document < self.documents.count, "this index does not keep its documents' text")
        return self.documents[document]
    }
}
