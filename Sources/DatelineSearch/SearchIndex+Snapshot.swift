/// Writes and reads the index's postings in a compact binary form (for the query service's snapshots):
/// varints, positions as deltas.
extension SearchIndex {
    /// Appends the index (everything but the documents' text, which the caller keeps) to `output`.
    public func writeSnapshot(into output: inout [UInt8]) {
        output.appendVarint(UInt64(self.documents.count))
        for (title, body) in zip(self.titleLengths, self.bodyLengths) {
            output.appendVarint(UInt64(title))
            output.appendVarint(UInt64(body))
        }
        for ranges in self.bodyTokenRanges {
            output.appendVarint(UInt64(ranges.count))
            var previous: UInt32 = 0
            for range in ranges {
                output.appendVarint(UInt64(range.lowerBound - previous))
                output.appendVarint(UInt64(range.upperBound - range.lowerBound))
                previous = range.lowerBound
            }
        }
        output.appendVarint(UInt64(self.terms.count))
        for (term, postings) in zip(self.terms, self.postingLists) {
            output.appendVarint(UInt64(term.utf8.count))
            output.append(contentsOf: term.utf8)
            output.appendVarint(UInt64(postings.count))
            var previousDocument: UInt32 = 0
            for occurrence in postings {
                output.appendVarint(UInt64(occurrence.document - previousDocument))
                previousDocument = occurrence.document
                for positions in [occurrence.title, occurrence.body] {
                    output.appendVarint(UInt64(positions.count))
                    var previous: UInt32 = 0
                    for position in positions {
                        output.appendVarint(UInt64(position - previous))
                        previous = position
                    }
                }
            }
        }
    }

    /// Rebuilds an index written by ``writeSnapshot(into:)`` over `documents` (in the same order).
    /// - Throws: ``SnapshotError`` when the bytes are not a consistent snapshot.
    public static func readSnapshot(
        _ reader: inout SnapshotReader,
        documents: [IndexedDocument],
        analyzer: Analyzer = Analyzer(),
        parameters: BM25Parameters = BM25Parameters()
    ) throws(SnapshotError) -> SearchIndex {
        let index = try self.readSnapshot(&reader, documentCount: documents.count, analyzer: analyzer, parameters: parameters)
        index.attach(documents)
        return index
    }

    /// Reads the postings alone; ``attach(_:)`` must then supply the documents (so that both can be
    /// prepared in parallel).
    public static func readSnapshot(
        _ reader: inout SnapshotReader,
        documentCount: Int,
        analyzer: Analyzer = Analyzer(),
        parameters: BM25Parameters = BM25Parameters()
    ) throws(SnapshotError) -> SearchIndex {
        let index = SearchIndex(analyzer: analyzer, parameters: parameters)
        let count = Int(try reader.varint())
        guard count == documentCount else { throw SnapshotError("the index holds \(count) documents, the snapshot \(documentCount)") }
        for _ in 0..<count {
            let title = Int(try reader.varint())
            let body = Int(try reader.varint())
            index.titleLengths.append(UInt32(title))
            index.bodyLengths.append(UInt32(body))
            index.titleLengthTotals.append(index.titleLengthTotals.last! + title)
            index.bodyLengthTotals.append(index.bodyLengthTotals.last! + body)
        }
        index.bodyTokenRanges.reserveCapacity(count)
        for _ in 0..<count {
            let tokens = Int(try reader.varint())
            guard tokens <= reader.remaining else { throw SnapshotError("truncated token ranges") }
            var ranges: [Range<UInt32>] = []
            ranges.reserveCapacity(tokens)
            var start: UInt32 = 0
            for _ in 0..<tokens {
                start += UInt32(truncatingIfNeeded: try reader.varint())
                let length = UInt32(truncatingIfNeeded: try reader.varint())
                ranges.append(start..<(start &+ length))
            }
            index.bodyTokenRanges.append(ranges)
        }
        let termCount = Int(try reader.varint())
        index.terms.reserveCapacity(termCount)
        index.postingLists.reserveCapacity(termCount)
        for _ in 0..<termCount {
            let term = try reader.string()
            let postingCount = Int(try reader.varint())
            var postings: [Occurrence] = []
            postings.reserveCapacity(postingCount)
            var document: UInt32 = 0
            for _ in 0..<postingCount {
                document += UInt32(truncatingIfNeeded: try reader.varint())
                guard document < UInt32(count) else { throw SnapshotError("a posting refers to document \(document) of \(count)") }
                var fields: [[UInt32]] = []
                for _ in 0..<2 {
                    let positions = Int(try reader.varint())
                    guard positions <= reader.remaining else { throw SnapshotError("truncated positions") }
                    var list: [UInt32] = []
                    list.reserveCapacity(positions)
                    var position: UInt32 = 0
                    for _ in 0..<positions {
                        position += UInt32(truncatingIfNeeded: try reader.varint())
                        list.append(position)
                    }
                    fields.append(list)
                }
                postings.append(Occurrence(document: document, title: fields[0], body: fields[1]))
            }
            index.termIDs[term] = UInt32(index.terms.count)
            index.terms.append(term)
            index.postingLists.append(postings)
        }
        return index
    }

    /// Supplies the documents of an index read with ``readSnapshot(_:documentCount:analyzer:parameters:)``.
    public func attach(_ documents: [IndexedDocument]) {
        precondition(documents.count == self.titleLengths.count, "documents do not match the snapshot")
        self.documents = documents
        self.byID.reserveCapacity(documents.count)
        for (number, document) in documents.enumerated() { self.byID[document.id] = UInt32(number) }
    }
}

/// A snapshot that cannot be used.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads varints and strings from snapshot bytes, never past their end.
public struct SnapshotReader: Sendable {
    let bytes: [UInt8]
    var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { self.bytes.count - self.position }

    public mutating func varint() throws(SnapshotError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.position < self.bytes.count, shift < 64 else { throw SnapshotError("truncated or malformed varint") }
            let byte = self.bytes[self.position]
            self.position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func bytes(_ count: Int) throws(SnapshotError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= self.remaining else { throw SnapshotError("truncated: \(count) bytes wanted, \(self.remaining) left") }
        defer { self.position += count }
        return self.bytes[self.position..<(self.position + count)]
    }

    public mutating func string() throws(SnapshotError) -> String {
        let count = Int(try self.varint())
        return String(decoding: try self.bytes(count), as: UTF8.self)
    }
}

extension [UInt8] {
    public mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.append(UInt8(value))
    }
}
