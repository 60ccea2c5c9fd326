/// Merges adjacent segments into one, keeping document order (the merged segment numbers the first segment's
/// documents first), so global document numbers do not change and cursors stay valid.
///
/// Postings are read with positions and re-encoded term by term, so memory holds one term's postings at a time;
/// stored documents are not decompressed: their compressed blocks are copied as they are.
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
        // Every term of any segment, in byte order.
        var terms = Set<[UInt8]>()
        for segment in segments {
            try segment.forEachTerm { key, _ in
                terms.insert(Array(key))
                return true
            }
        }
        for term in terms.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if isCancelled() { throw CancellationError() }
            let text = String(decoding: term, as: UTF8.self)
            var merged = PostingList()
            for (segment, base) in zip(segments, bases) {
                guard let info = try segment.termInfo(text) else { continue }
                let list = try segment.postings(info, positions: true)
                for index in list.documents.indices {
                    let (title, body) = list.positions(at: index)
                    merged.append(document: base + list.documents[index], title: title, body: body)
                }
            }
            try writer.addTerm(term, postings: merged)
        }
        for segment in segments {
            if isCancelled() { throw CancellationError() }
            // Each document's keys, from the key tables (key → document) read backwards.
            var keys = [String](repeating: "", count: segment.documentCount)
            var externalKeys = [String?](repeating: nil, count: segment.documentCount)
            try segment.forEachKey(external: false) { key, document in keys[document] = key }
            try segment.forEachKey(external: true) { key, document in externalKeys[document] = key }
            var document = 0
            for block in segment.storeBlocks {
                let documents = (document..<(document + block.documents)).map { local in
                    (
                        titleLength: segment.titleLength(local), bodyLength: segment.bodyLength(local),
                        columns: (0..<segment.columnCount).map { segment.column($0, local) }, key: keys[local], externalKey: externalKeys[local],
                        annex: segment.annexRecord(local)
                    )
                }
                try writer.addDocuments(compressedBlock: block.bytes, documents)
                document += block.documents
            }
        }
        try self.mergeAnnexTables(segments, bases: bases, into: writer, mergeValues: mergeAnnexValues, isCancelled: isCancelled)
    }

    /// Every annex table of any segment, its keys in order, each key's values combined by `mergeValues`.
    private static func mergeAnnexTables(
        _ segments: [IndexSegment], bases: [UInt32], into writer: SegmentWriter,
        mergeValues: (String, [(value: [UInt8], base: UInt32)]) throws -> [UInt8], isCancelled: () -> Bool
    ) throws {
        for name in Set(segments.flatMap(\.annexTableNames)).sorted() {
            if isCancelled() { throw CancellationError() }
            var keys = Set<[UInt8]>()
            for segment in segments {
                try segment.annexTable(name)?.forEachEntry { key, _ in
                    keys.insert(Array(key))
                    return true
                }
            }
            var table = SortedTable.Builder()
            for key in keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                var values: [(value: [UInt8], base: UInt32)] = []
                for (segment, base) in zip(segments, bases) {
                    guard let value = try segment.annexTable(name)?.value(for: key) else { continue }
                    values.append((value, base))
                }
                table.add(key: key, value: try mergeValues(name, values))
            }
            writer.setAnnexTable(name, table.finish())
        }
    }
}

extension IndexSegment {
    /// Every key (or external key) with its document.
    func forEachKey(external: Bool, _ body: (String, Int) -> Void) throws {
        try (external ? self.externalKeyTable : self.keyTable).forEachEntry { key, value in
            var cursor = ByteCursor(value)
            let document = try cursor.int()
            guard document < self.documentCount else { throw IndexFormatError("key \(String(decoding: key, as: UTF8.self)) names document \(document) of \(self.documentCount)") }
            body(String(decoding: key, as: UTF8.self), document)
            return true
        }
    }
}
