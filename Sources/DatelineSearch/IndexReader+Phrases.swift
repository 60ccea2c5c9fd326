internal import DatelineStorage

/// Phrase matching: documents where the terms occur consecutively, in a field.
extension IndexReader {
    /// Documents where `terms` occur consecutively, with the phrase's frequency in each field. The key is scored
    /// with the sum of the terms' IDFs (see ``ScoredKey/termDocumentFrequencies``), so when `accept` is given a
    /// segment's other terms are sought, and positions read, only in the leading term's documents it keeps; the
    /// terms' postings (ascending documents, ascending positions) are walked side by side, with no hashing per
    /// document or position.
    func phrase(_ terms: [String], limit: Int, accept: Prefilter?) throws(DatelineStorageError) -> ScoredKey {
        var locations: [TermLocations] = []
        for term in terms { locations.append(try self.locations(of: term, limit: limit)) }
        var key = ScoredKey()
        key.termDocumentFrequencies = locations.map(\.documentFrequency)
        guard !locations.contains(where: { $0.documentFrequency == 0 }) else { return key }
        // Reused from segment to segment: a query's fixed cost is mostly such allocations.
        var infos: [TermInfo] = []
        var scratch = SegmentScratch(terms: terms.count)
        parts: for part in locations[0].parts.indices {
            let (slot, count, _) = locations[0].parts[part]
            switch slot.part {
            case .segment(let segment):
                infos.removeAll(keepingCapacity: true)
                for (term, location) in zip(terms, locations) {
                    // A wholly visible segment's entry is known (nil: the term is not there); else look it up.
                    let known = count == slot.count ? location.parts[part].info : try segment.termInfo(term)
                    guard let info = known else { continue parts }
                    infos.append(info)
                }
                try self.phrase(infos, in: segment, base: slot.base, limit: count, accept: accept, scratch: &scratch, into: &key)
            case .buffer(let index):
                var lists: [PostingList] = []
                for term in terms {
                    lists.append(index.postingList(term, limit: count, positions: true))
                    if lists.last!.documents.isEmpty { continue parts }
                }
                Self.phrase(lists, base: slot.base, into: &key)
            }
        }
        return key
    }

    /// A phrase's documents in a buffer, whose postings are in memory with their positions.
    private static func phrase(_ lists: [PostingList], base: Int, into key: inout ScoredKey) {
        var cursors = [Int](repeating: 0, count: lists.count)
        // Each term's positions in the current document, and the phrase counter's cursors: reused throughout.
        var fields = FieldPositions(terms: lists.count)
        documents: for index in lists[0].documents.indices {
            let document = lists[0].documents[index]
            for other in lists.indices.dropFirst() {
                let documents = lists[other].documents
                var cursor = cursors[other]
                while cursor < documents.count, documents[cursor] < document { cursor += 1 }
                cursors[other] = cursor
                if cursor == documents.count { break documents }  // no later document has every term
                if documents[cursor] != document { continue documents }
            }
            cursors[0] = index
            fields.removeAll()
            for term in lists.indices {
                let (title, body) = lists[term].positions(at: cursors[term])
                fields.append(term, title: title, body: body)
            }
            fields.count(document: UInt32(base) + document, into: &key)
        }
    }

    /// A phrase's documents in one segment: the rarest term's documents lead (filtered by `accept` first when there
    /// is one); every term is sought a block at a time for those documents only (blocks no candidate lands in are
    /// never decoded, frequencies only in blocks where a candidate is found), and positions are read only for the
    /// documents every term holds.
    private func phrase(
        _ infos: [TermInfo], in segment: IndexSegment, base: Int, limit: Int, accept: Prefilter?,
        scratch: inout SegmentScratch, into key: inout ScoredKey
    ) throws(DatelineStorageError) {
        let leader = infos.indices.min { infos[$0].documentFrequency < infos[$1].documentFrequency }!
        scratch.seekers.removeAll(keepingCapacity: true)
        for info in infos { scratch.seekers.append(try segment.blockPostings(of: info, below: limit)) }
        if let accept {
            // The filter first, on the leader's documents a block at a time: the terms are sought only for those it
            // keeps, the leader's among the documents it has just decoded.
            let base = UInt32(base)
            while true {
                scratch.documents.removeAll(keepingCapacity: true)
                guard try scratch.seekers[leader].nextBlock(into: &scratch.documents) else { break }
                for index in scratch.documents.indices { scratch.documents[index] += base }
                for document in accept(scratch.documents) where try !scratch.count(document - base, base: base, into: &key) { return }
            }
        } else {
            // The leader's own cursor walks its documents and is then on each it seeks.
            while let document = try scratch.seekers[leader].next() {
                if try !scratch.count(document, base: UInt32(base), into: &key) { break }
            }
        }
    }

    /// What a phrase's walk of one segment needs, kept from segment to segment.
    struct SegmentScratch {
        /// Each term's cursor in the current segment.
        var seekers: [IndexSegment.BlockPostings] = []
        /// The leader's documents, before a filter.
        var documents: [UInt32] = []
        var fields: FieldPositions

        init(terms: Int) {
            self.seekers.reserveCapacity(terms)
            self.fields = FieldPositions(terms: terms)
        }

        /// Counts the phrase in `document` (of the segment whose first is global document `base`) when every term
        /// holds it; false when no later document can hold them all.
        mutating func count(_ document: UInt32, base: UInt32, into key: inout ScoredKey) throws(DatelineStorageError) -> Bool {
            for term in self.seekers.indices {
                guard try self.seekers[term].seek(document) else { return !self.seekers[term].isExhausted }
            }
            try self.fields.read(&self.seekers)
            self.fields.count(document: base + document, into: &key)
            return true
        }
    }

    /// Every term's positions in one document, title and body apart (all in one buffer, reused from document to
    /// document), and the scratch space to count the phrase.
    struct FieldPositions {
        private var positions: [UInt32] = []
        private var titles: [Range<Int>]
        private var bodies: [Range<Int>]
        private var cursors: [Int]

        init(terms: Int) {
            self.titles = [Range<Int>](repeating: 0..<0, count: terms)
            self.bodies = [Range<Int>](repeating: 0..<0, count: terms)
            self.cursors = [Int](repeating: 0, count: terms)
        }

        /// Forgets the document's positions (the buffer keeps its room).
        mutating func removeAll() { self.positions.removeAll(keepingCapacity: true) }

        /// Adds term `term`'s positions (terms in order, after ``removeAll()``).
        mutating func append(_ term: Int, title: ArraySlice<UInt32>, body: ArraySlice<UInt32>) {
            self.titles[term] = self.positions.count..<(self.positions.count + title.count)
            self.positions.append(contentsOf: title)
            self.bodies[term] = self.positions.count..<(self.positions.count + body.count)
            self.positions.append(contentsOf: body)
        }

        /// Every term's positions in the document each of `seekers` last found (in place of the previous ones).
        mutating func read(_ seekers: inout [IndexSegment.BlockPostings]) throws(DatelineStorageError) {
            var offset = 0
            for term in seekers.indices {
                (self.titles[term], self.bodies[term]) = try seekers[term].positions(into: &self.positions, at: offset)
                offset = self.bodies[term].upperBound
            }
        }

        /// Adds `document` to `key` when the phrase occurs in it, with its count in each field.
        mutating func count(document: UInt32, into key: inout ScoredKey) {
            let (title, body) = self.positions.withUnsafeBufferPointer { positions in
                (IndexReader.phraseCount(positions, self.titles, cursors: &self.cursors),
                 IndexReader.phraseCount(positions, self.bodies, cursors: &self.cursors))
            }
            guard title + body > 0 else { return }
            key.documents.append(document)
            key.title.append(UInt32(title))
            key.body.append(UInt32(body))
        }
    }

    /// How many positions of `fields[0]` begin a run where the i-th next position is in `fields[i]` (each a range
    /// of ascending positions in `positions`). `cursors` is scratch space of at least `fields.count` entries.
    static func phraseCount(_ positions: UnsafeBufferPointer<UInt32>, _ fields: [Range<Int>], cursors: inout [Int]) -> Int {
        guard let starts = fields.first else { return 0 }
        for index in fields.indices { cursors[index] = fields[index].lowerBound }
        var count = 0
        starts: for start in starts {
            let first = positions[start]
            for offset in 1..<fields.count {
                let target = first &+ UInt32(offset)
                let end = fields[offset].upperBound
                var cursor = cursors[offset]
                while cursor < end, positions[cursor] < target { cursor += 1 }
                cursors[offset] = cursor
                if cursor == end { break starts }  // later starts need later positions still
                if positions[cursor] != target { continue starts }
            }
            count += 1
        }
        return count
    }
}
