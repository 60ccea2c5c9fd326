/// Merges adjacent segments into one, keeping document order (the merged segment numbers the first segment's
/// documents first), so global document numbers do not change and cursors stay valid.
///
/// The inputs' dictionaries, key tables and annex tables are walked side by side (``KeyMerge``), never gathered:
/// postings are re-encoded a document at a time, their positions decoded a chunk at a time and written as they come,
/// so memory holds a few bytes per document of the term being merged, whatever its size; stored documents are not decompressed: their compressed blocks are copied.
package enum SegmentMerger {
    /// Writes the documents of `segments`, in order, into `writer` (not finished: the caller finishes it).
    /// - Parameters:
    ///   - mergeAnnexValues: Combines the values one annex table holds under one key in several segments (each
    ///     with the segment's first document's number in the merged segment), given the table's name; records
    ///     are copied as they are. By default the first segment's value is kept.
    ///   - isCancelled: Checked between terms; a merge that should stop throws `CancellationError`.
    package static func merge(
        _ segments: [IndexSegment], into writer: SegmentWriter,
        mergeAnnexValues: (String, [(value: [UInt8], base: UInt32)]) throws -> [UInt8] = { _, values in values[0].value },
        isCancelled: () -> Bool = { false }
    ) throws {
        var bases: [UInt32] = []
        var base: UInt32 = 0
        for segment in segments {
            bases.append(base)
            base += UInt32(segment.documentCount)
        }
        // Every term of any segment, in byte order: the dictionaries walked side by side.
        var terms = KeyMerge(segments.map { $0.termCursor })
        while let (term, holders) = try terms.next() {
            if isCancelled() { throw CancellationError() }
            try writer.addTerm(term) { encoding in
                for (index, _, varints) in holders {
                    let info = try TermInfo(varints)
                    try segments[index].forEachPosting(info) { document, title, body, positions in
                        try encoding.add(document: bases[index] + document, titleFrequency: title, bodyFrequency: body, positions: positions)
                    }
                }
            }
        }
        for segment in segments {
            if isCancelled() { throw CancellationError() }
            var document = 0
            for block in try segment.storeBlocks() {
                let documents = (document..<(document + block.documents)).map { local in
                    (
                        titleLength: segment.titleLength(local), bodyLength: segment.bodyLength(local),
                        columns: (0..<segment.columnCount).map { segment.column($0, local) }, annex: segment.annexRecord(local)
                    )
                }
                try writer.addDocuments(compressedBlock: block.bytes, dictionary: block.dictionary, documents)
                document += block.documents
            }
        }
        writer.setKeyTables(
            keys: try self.mergedKeyTable(of: segments, external: false, bases: bases),
            external: try self.mergedKeyTable(of: segments, external: true, bases: bases)
        )
        try self.mergeAnnexTables(segments, bases: bases, into: writer, mergeValues: mergeAnnexValues, isCancelled: isCancelled)
    }

    /// Every annex table of any segment, its keys in order, each key's values combined by `mergeValues`.
    private static func mergeAnnexTables(
        _ segments: [IndexSegment], bases: [UInt32], into writer: SegmentWriter,
        mergeValues: (String, [(value: [UInt8], base: UInt32)]) throws -> [UInt8], isCancelled: () -> Bool
    ) throws {
        for name in Set(segments.flatMap(\.annexTableNames)).sorted() {
            if isCancelled() { throw CancellationError() }
            var keys = KeyMerge(segments.map { $0.annexTable(name)?.cursor() })
            var table = SortedTable.Builder()
            while let (key, holders) = try keys.next() {
                table.add(key: key, value: try mergeValues(name, holders.map { (Array($0.value), bases[$0.index]) }))
            }
            writer.setAnnexTable(name, table.finish())
        }
    }
}

/// Walks several sorted tables side by side: each step gives the next key in byte order and the value every table
/// holding it has for it, so a merge never holds the union of their keys.
struct KeyMerge {
    private var cursors: [SortedTable.Cursor?]
    /// The cursors to move on before the next step (all of them at first, then those of the last key).
    private var pending: [Int]

    init(_ cursors: [SortedTable.Cursor?]) {
        self.cursors = cursors
        self.pending = Array(cursors.indices)
    }

    /// The next key and, for each table holding it, the table's index and value (bytes or varints, as the table
    /// stores them; valid until the next call).
    mutating func next() throws -> (key: [UInt8], holders: [(index: Int, value: UnsafeRawBufferPointer, varints: SortedTable.Varints)])? {
        for index in self.pending where self.cursors[index] != nil {
            if try !self.cursors[index]!.next() { self.cursors[index] = nil }
        }
        var smallest: [UInt8]?
        for case let cursor? in self.cursors where smallest == nil || cursor.key.lexicographicallyPrecedes(smallest!) { smallest = cursor.key }
        guard let key = smallest else { return nil }
        var holders: [(index: Int, value: UnsafeRawBufferPointer, varints: SortedTable.Varints)] = []
        for (index, cursor) in self.cursors.enumerated() where cursor?.key == key { holders.append((index, cursor!.value, cursor!.varints)) }
        self.pending = holders.map(\.index)
        return (key, holders)
    }
}

extension SegmentMerger {
    /// The key (or external-key) tables (key → varint document) of `segments`, combined with their documents
    /// renumbered; a key two segments hold names the earlier segment's document.
    static func mergedKeyTable(of segments: [IndexSegment], external: Bool, bases: [UInt32]) throws -> [UInt8] {
        var keys = KeyMerge(segments.map { (external ? $0.externalKeyTable : $0.keyTable).cursor() })
        var table = SortedTable.Builder(values: SegmentWriter.keyCoding)
        while let (key, holders) = try keys.next() {
            let document = holders[0].varints[0]
            let segment = segments[holders[0].index]
            guard document < UInt64(segment.documentCount) else {
                throw IndexFormatError("key \(String(decoding: key, as: UTF8.self)) of segment \(segment.name) names document \(document) of \(segment.documentCount)")
            }
            table.add(key: key, varints: SortedTable.Varints(UInt64(bases[holders[0].index]) + document, 0, 0, 0))
        }
        return table.finish()
    }
}
