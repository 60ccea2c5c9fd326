import DatelineStorage

/// What the index's user keeps in a segment beside the postings: one opaque record per document (read by
/// document number) and named ``SortedTable``s (read by key). The query service keeps its entities, filter
/// postings and engagement reports here, so that they are mapped like the rest of the segment.
///
/// `ANNX` payload: the records, back to back; padding to 8; each table, padded to 8; the table directory (a
/// sorted table of name → varint offset, varint length); one u64 offset per record plus one for the end; then
/// the trailer: u64 record count, u64 offset of the record offsets, u64 directory offset, u64 directory length.
package enum SegmentAnnex {
    /// Writes an annex front to back: records as documents arrive, tables at the end.
    final class Writer {
        private let file: IndexFileWriter
        private var recordOffsets: [UInt64] = []
        private var tables: [(name: String, bytes: [UInt8])] = []

        init(path: String) throws(DatelineStorageError) {
            self.file = try IndexFileWriter(path: path, kind: .annex)
        }

        func addRecord(_ record: some Collection<UInt8>) throws(DatelineStorageError) {
            self.recordOffsets.append(UInt64(self.file.payloadPosition))
            try self.file.append(record)
        }

        func setTable(_ name: String, _ bytes: [UInt8]) {
            self.tables.removeAll { $0.name == name }
            self.tables.append((name, bytes))
        }

        func finish() throws(DatelineStorageError) {
            let recordsEnd = UInt64(self.file.payloadPosition)
            try self.file.pad(to: 8)
            var directory = SortedTable.Builder()
            var placed: [(name: [UInt8], offset: Int, length: Int)] = []
            for table in self.tables {
                placed.append((Array(table.name.utf8), self.file.payloadPosition, table.bytes.count))
                try self.file.append(table.bytes)
                try self.file.pad(to: 8)
            }
            for entry in placed.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
                var value: [UInt8] = []
                value.appendVarUInt(UInt64(entry.offset))
                value.appendVarUInt(UInt64(entry.length))
                directory.add(key: entry.name, value: value)
            }
            let directoryBytes = directory.finish()
            let directoryOffset = self.file.payloadPosition
            try self.file.append(directoryBytes)
            try self.file.pad(to: 8)
            let offsetsOffset = self.file.payloadPosition
            var offsets: [UInt8] = []
            offsets.reserveCapacity(8 * (self.recordOffsets.count + 1))
            for offset in self.recordOffsets + [recordsEnd] { offsets.appendLittleEndian(offset) }
            try self.file.append(offsets)
            var trailer: [UInt8] = []
            trailer.appendLittleEndian(UInt64(self.recordOffsets.count))
            trailer.appendLittleEndian(UInt64(offsetsOffset))
            trailer.appendLittleEndian(UInt64(directoryOffset))
            trailer.appendLittleEndian(UInt64(directoryBytes.count))
            try self.file.append(trailer)
            try self.file.finish()
        }
    }

    /// An annex read in place.
    struct Reader {
        private let payload: UnsafeRawBufferPointer
        let count: Int
        private let offsetsOffset: Int
        let tables: [String: SortedTable.Reader]

        init(_ payload: UnsafeRawBufferPointer) throws(IndexFormatError) {
            guard payload.count >= 32 else { throw IndexFormatError("an annex of \(payload.count) bytes") }
            let end = payload.count - 32
            let count = Int(truncatingIfNeeded: payload.littleEndian(at: end, as: UInt64.self))
            let offsetsOffset = Int(truncatingIfNeeded: payload.littleEndian(at: end + 8, as: UInt64.self))
            let directoryOffset = Int(truncatingIfNeeded: payload.littleEndian(at: end + 16, as: UInt64.self))
            let directoryLength = Int(truncatingIfNeeded: payload.littleEndian(at: end + 24, as: UInt64.self))
            guard count >= 0, count < Int(Int32.max), offsetsOffset >= 0, offsetsOffset + 8 * (count + 1) == end,
                directoryOffset >= 0, directoryLength >= 0, directoryOffset + directoryLength <= offsetsOffset
            else { throw IndexFormatError("the annex trailer is inconsistent (\(count) records)") }
            self.payload = payload
            self.count = count
            self.offsetsOffset = offsetsOffset
            let directory = try SortedTable.Reader(UnsafeRawBufferPointer(rebasing: payload[directoryOffset..<(directoryOffset + directoryLength)]))
            var tables: [String: SortedTable.Reader] = [:]
            do {
                try directory.forEachEntry { name, value in
                    var cursor = ByteCursor(value)
                    let offset = try cursor.int()
                    let length = try cursor.int()
                    guard offset <= directoryOffset, length <= directoryOffset - offset else {
                        throw IndexFormatError("annex table \(String(decoding: name, as: UTF8.self)) lies outside the file")
                    }
                    tables[String(decoding: name, as: UTF8.self)] = try SortedTable.Reader(UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]))
                    return true
                }
            } catch let error as IndexFormatError {
                throw error
            } catch {
                throw IndexFormatError("\(error)")
            }
            self.tables = tables
            var previous = 0
            for index in 0...count {
                let offset = self.offset(index)
                guard offset >= previous, offset <= directoryOffset else { throw IndexFormatError("annex record \(index) lies outside the records") }
                previous = offset
            }
        }

        private func offset(_ index: Int) -> Int {
            Int(truncatingIfNeeded: self.payload.littleEndian(at: self.offsetsOffset + 8 * index, as: UInt64.self))
        }

        /// Record `index`'s bytes (checked at open to lie within the records).
        func record(_ index: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: self.payload[self.offset(index)..<self.offset(index + 1)])
        }
    }
}
