import DatelineProtocol
import DatelineSearch
import Foundation
import NIOCore

/// The annex tables a segment's entity part is made of.
enum EntityTables {
    /// Entity id → ``PartEntity``.
    static let entity = "entity"
    /// Lower-cased name, surname or acronym → entity ids.
    static let name = "name"
    /// Lower-cased surname → people with that full name.
    static let surname = "surname"
    /// ``FilterKey`` → documents.
    static let filter = "filter"
    /// Participant id → ``ReportReference``s.
    static let participant = "participant"
    /// Office id → ``Holding``s.
    static let holder = "holder"

    /// Combines one key's values from merged segments (in document order, each with its first document's number
    /// in the merged segment), for ``SegmentMerger``.
    static func merge(_ table: String, _ values: [(value: [UInt8], base: UInt32)]) throws -> [UInt8] {
        switch table {
        case entity:
            var merged = try EntityCoding.entity(values[0].value, id: "")
            for other in values.dropFirst() { merged.absorb(try EntityCoding.entity(other.value, id: "")) }
            return EntityCoding.encode(merged)
        case name, surname:
            var merged: [String] = []
            for value in values { PartEntity.union(&merged, try EntityCoding.strings(value.value)) }
            return EntityCoding.encode(merged)
        case filter:
            return EntityCoding.encode(try values.flatMap { value in try EntityCoding.documents(value.value).map { $0 + value.base } })
        case participant:
            return EntityCoding.encode(try values.flatMap { value in
                try EntityCoding.reports(value.value).map { ReportReference(document: $0.document + value.base, event: $0.event) }
            })
        case holder:
            return EntityCoding.encode(try values.flatMap { try EntityCoding.holdings($0.value) })
        default:
            return values[0].value
        }
    }
}

/// The byte layouts of the entity tables' values and of the per-document annotation: varints, strings as a
/// varint length and UTF-8, optional strings behind a 0/1 byte, lists behind their count.
enum EntityCoding {
    /// The events of an annotation, in the protocol's encoding.
    private struct EventList: Codable {
        var events: [ExtractedEvent]
        enum CodingKeys: Int, CodingKey { case events = 1 }
    }

    static func encode(_ entity: PartEntity) -> [UInt8] {
        var bytes: [UInt8] = []
        // What a listing sorts and filters by comes first, so that it can stop reading there.
        bytes.appendVarUInt(UInt64(entity.kind.rawValue))
        bytes.appendVarUInt(entity.articleCount)
        bytes.appendVarUInt(entity.mentionCount)
        bytes.appendString(entity.name)
        bytes.appendOptionalString(entity.country)
        bytes.appendStrings(entity.titles)
        bytes.appendStrings(entity.offices)
        bytes.appendStrings(entity.designations)
        bytes.appendOptionalString(entity.acronym)
        bytes.appendStrings(entity.names)
        return bytes
    }

    static func entity(_ bytes: [UInt8], id: String) throws -> PartEntity {
        try bytes.withUnsafeBytes { raw in try self.entity(raw, id: id) }
    }

    static func entity(_ raw: UnsafeRawBufferPointer, id: String) throws(IndexFormatError) -> PartEntity {
        var cursor = ByteCursor(raw)
        let head = try self.head(&cursor)
        var entity = PartEntity(id: id, kind: head.kind, name: head.name, country: try cursor.optionalString())
        entity.articleCount = head.articleCount
        entity.mentionCount = head.mentionCount
        entity.titles = try cursor.strings()
        entity.offices = try cursor.strings()
        entity.designations = try cursor.strings()
        entity.acronym = try cursor.optionalString()
        entity.names = try cursor.strings()
        return entity
    }

    /// An entity record's leading fields: kind, counts and name.
    struct Head {
        var kind: EntityKind
        var articleCount: UInt64
        var mentionCount: UInt64
        var name: String
    }

    static func head(_ cursor: inout ByteCursor) throws(IndexFormatError) -> Head {
        guard let kind = EntityKind(rawValue: UInt32(truncatingIfNeeded: try cursor.varint())) else { throw IndexFormatError("an entity of unknown kind") }
        let articles = try cursor.varint()
        let mentions = try cursor.varint()
        return Head(kind: kind, articleCount: articles, mentionCount: mentions, name: try cursor.string())
    }

    static func encode(_ strings: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendStrings(strings)
        return bytes
    }

    static func strings(_ bytes: [UInt8]) throws -> [String] {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            return try cursor.strings()
        }
    }

    /// Ascending documents as gaps.
    static func encode(_ documents: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendVarUInt(UInt64(documents.count))
        var previous: UInt32 = 0
        for document in documents {
            bytes.appendVarUInt(UInt64(document - previous))
            previous = document
        }
        return bytes
    }

    static func documents(_ bytes: [UInt8]) throws -> [UInt32] {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            let count = try cursor.count()
            var documents: [UInt32] = []
            documents.reserveCapacity(count)
            var document: UInt64 = 0
            for _ in 0..<count {
                document += try cursor.varint()
                guard document <= UInt64(UInt32.max) else { throw IndexFormatError("a document number past 2³²") }
                documents.append(UInt32(document))
            }
            return documents
        }
    }

    static func encode(_ reports: [ReportReference]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendVarUInt(UInt64(reports.count))
        var previous: UInt32 = 0
        for report in reports {
            bytes.appendVarUInt(UInt64(report.document - previous))
            bytes.appendVarUInt(UInt64(report.event))
            previous = report.document
        }
        return bytes
    }

    static func reports(_ bytes: [UInt8]) throws -> [ReportReference] {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            let count = try cursor.count()
            var reports: [ReportReference] = []
            reports.reserveCapacity(count)
            var document: UInt64 = 0
            for _ in 0..<count {
                document += try cursor.varint()
                let event = try cursor.varint()
                guard document <= UInt64(UInt32.max), event <= UInt64(UInt32.max) else { throw IndexFormatError("a report reference out of range") }
                reports.append(ReportReference(document: UInt32(document), event: UInt32(event)))
            }
            return reports
        }
    }

    static func encode(_ holdings: [Holding]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendVarUInt(UInt64(holdings.count))
        for holding in holdings {
            if let day = holding.day {
                bytes.append(1)
                bytes.appendVarUInt(UInt64(bitPattern: Int64(day) << 1 ^ Int64(day) >> 63))
            } else {
                bytes.append(0)
            }
            bytes.appendString(holding.holder)
        }
        return bytes
    }

    static func holdings(_ bytes: [UInt8]) throws -> [Holding] {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            let count = try cursor.count()
            var holdings: [Holding] = []
            for _ in 0..<count {
                var day: Int?
                if try cursor.fixed(UInt8.self) == 1 {
                    let zigzag = try cursor.varint()
                    day = Int(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
                }
                holdings.append(Holding(day: day, holder: try cursor.string()))
            }
            return holdings
        }
    }

    static func encode(_ annotation: DocumentAnnotation) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendOptionalString(annotation.source)
        bytes.appendOptionalString(annotation.language)
        bytes.appendStrings(annotation.tags)
        bytes.appendStrings(annotation.entities)
        bytes.appendStrings(annotation.topics)
        if !annotation.events.isEmpty {
            let events = try DatelineBinaryEncoder().encode(EventList(events: annotation.events))
            bytes.append(contentsOf: events.readableBytesView)
        }
        return bytes
    }

    static func annotation(_ bytes: [UInt8]) throws -> DocumentAnnotation {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            var annotation = DocumentAnnotation(source: try cursor.optionalString(), language: try cursor.optionalString())
            annotation.tags = try cursor.strings()
            annotation.entities = try cursor.strings()
            annotation.topics = try cursor.strings()
            if cursor.remaining > 0 {
                let events = Array(try cursor.bytes(cursor.remaining))
                annotation.events = try DatelineBinaryDecoder().decode(EventList.self, from: events).events
            }
            return annotation
        }
    }
}

extension [UInt8] {
    mutating func appendString(_ string: String) {
        self.appendVarUInt(UInt64(string.utf8.count))
        self.append(contentsOf: string.utf8)
    }

    mutating func appendOptionalString(_ string: String?) {
        if let string {
            self.append(1)
            self.appendString(string)
        } else {
            self.append(0)
        }
    }

    mutating func appendStrings(_ strings: [String]) {
        self.appendVarUInt(UInt64(strings.count))
        for string in strings { self.appendString(string) }
    }
}

extension ByteCursor {
    mutating func string() throws(IndexFormatError) -> String {
        String(decoding: try self.bytes(try self.int()), as: UTF8.self)
    }

    mutating func optionalString() throws(IndexFormatError) -> String? {
        switch try self.fixed(UInt8.self) {
        case 0: return nil
        case 1: return try self.string()
        case let flag: throw IndexFormatError("an optional string's flag is \(flag)")
        }
    }

    /// A list's count, bounded by the bytes left (each element takes at least one).
    mutating func count() throws(IndexFormatError) -> Int {
        let count = try self.int()
        guard count <= self.remaining else { throw IndexFormatError("a list of \(count) in \(self.remaining) bytes") }
        return count
    }

    mutating func strings() throws(IndexFormatError) -> [String] {
        let count = try self.count()
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try self.string()) }
        return strings
    }
}
