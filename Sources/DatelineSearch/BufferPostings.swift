/// One term's postings in an in-memory index, appended a document at a time and kept compact, as Lucene's and
/// Tantivy's indexing buffers keep theirs as bytes: two byte arrays per term instead of five arrays of integers,
/// about a quarter of the memory on news text (most terms are in few documents, and a Swift array's header and
/// slack cost more than their few values). A query reads them decoded into a ``PostingList``, as a segment's.
///
/// Documents: per document, its gap from the previous one (the first from 0), its title count and its body count,
/// each a varint. Positions, in bytes of their own (so that a query without phrases never steps over them): per
/// document, the title's then the body's, each field as varint gaps from the previous position (the first from 0).
struct BufferPostings: Sendable {
    private var documentBytes: [UInt8] = []
    private var positionBytes: [UInt8] = []
    /// How many documents hold the term.
    private(set) var count = 0
    /// The last document appended, 0 before the first (the next one's gap counts from it).
    private(set) var lastDocument: UInt32 = 0

    /// Appends a document after every one appended so far, with its positions (the title's, then the body's,
    /// each ascending).
    mutating func append(document: UInt32, titleCount: Int, bodyCount: Int, positions: ArraySlice<UInt32>) {
        precondition(self.count == 0 || document > self.lastDocument, "postings are appended in document order")
        precondition(positions.count == titleCount + bodyCount, "a position for every occurrence")
        self.documentBytes.appendVarUInt(UInt64(document - self.lastDocument))
        self.documentBytes.appendVarUInt(UInt64(titleCount))
        self.documentBytes.appendVarUInt(UInt64(bodyCount))
        var previous: UInt32 = 0
        for (index, position) in zip(positions.indices, positions) {
            if index == positions.startIndex + titleCount { previous = 0 }  // the body counts from 0 again
            self.positionBytes.appendVarUInt(UInt64(position - previous))
            previous = position
        }
        self.count += 1
        self.lastDocument = document
    }

    /// How many of the documents are below `limit`.
    func count(below limit: UInt32) -> Int {
        guard self.count > 0, self.lastDocument >= limit else { return self.count }
        return self.decoded(below: limit, positions: false).count
    }

    /// The documents below `limit`, with their frequencies and, when asked for, their positions.
    func decoded(below limit: UInt32, positions: Bool) -> PostingList {
        var list = PostingList()
        list.documents.reserveCapacity(self.count)
        list.titleFrequencies.reserveCapacity(self.count)
        list.bodyFrequencies.reserveCapacity(self.count)
        if positions { list.positionStarts.reserveCapacity(self.count) }
        self.documentBytes.withUnsafeBufferPointer { documentBytes in
            self.positionBytes.withUnsafeBufferPointer { positionBytes in
                var documents = VarintReader(documentBytes)
                var positionReader = VarintReader(positionBytes)
                var document: UInt32 = 0
                for _ in 0..<self.count {
                    document &+= documents.next()
                    guard document < limit else { break }
                    let title = documents.next()
                    let body = documents.next()
                    list.documents.append(document)
                    list.titleFrequencies.append(title)
                    list.bodyFrequencies.append(body)
                    guard positions else { continue }
                    list.positionStarts.append(list.positions.count)
                    var position: UInt32 = 0
                    for _ in 0..<title {
                        position &+= positionReader.next()
                        list.positions.append(position)
                    }
                    position = 0  // the body counts from 0 again
                    for _ in 0..<body {
                        position &+= positionReader.next()
                        list.positions.append(position)
                    }
                }
            }
        }
        return list
    }

    /// Bytes held (without the arrays' headers).
    var byteCount: Int { self.documentBytes.count + self.positionBytes.count }

    /// Reads varints this process wrote (so well formed; a read past the end gives 0 rather than trapping).
    private struct VarintReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func next() -> UInt32 {
            var value: UInt32 = 0
            var shift: UInt32 = 0
            while self.position < self.bytes.count, shift < 32 {
                let byte = self.bytes[self.position]
                self.position += 1
                value |= UInt32(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            return value
        }
    }
}
