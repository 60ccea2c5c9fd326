import DatelineProtocol
import DatelineSearch
import Foundation

/// What one part of the index (a segment or a buffer) knows of the extractor's output for its own articles.
///
/// Each part keeps its entities, who is named what, per-value document lists for filters, the engagement
/// reports of each participant and who held which office; ``EntityView`` merges the parts at query time, so
/// entity look-ups and timelines read the segments' mapped annexes like searches do, with nothing rebuilt at
/// start. Names, aliases ("Dar" for the one known Ishaq Dar) and engagements are resolved across parts by the
/// view, never per part.
protocol EntityPart {
    var documentCount: Int { get }
    /// How many entities the part records.
    var entityCount: Int { get }
    /// This part's record of entity `id`.
    func entity(_ id: String) throws -> PartEntity?
    func forEachEntity(_ body: (PartEntity) throws -> Void) throws
    /// The entities' heads in id byte order, one at a time (parts are walked side by side).
    func entityHeadCursor() throws -> EntityHeadCursor
    /// Entities a lower-cased name, surname or acronym names.
    func entityIDs(named name: String) throws -> [String]
    /// People with a full name whose lower-cased surname is `surname`.
    func people(withSurname surname: String) throws -> [String]
    /// The people of each of `surnames` (lower-cased, in UTF-8 byte order) that the part knows, one call per
    /// surname it has: a segment walks its surname table once beside the list.
    func forEachPeople(withSurnames surnames: [[UInt8]], _ body: (Int, [String]) throws -> Void) throws
    /// The part's documents (numbered from 0) with the filter value `key` (see ``FilterKey``), ascending.
    func documents(_ key: [UInt8]) throws -> [UInt32]
    /// Every filter value starting with `prefix`, in byte order, with its documents, until `body` says stop.
    func forEachDocumentList(withPrefix prefix: [UInt8], _ body: ([UInt8], [UInt32]) throws -> Bool) throws
    /// The events `participant` takes part in, as reported by the part's articles.
    func reports(of participant: String) throws -> [ReportReference]
    /// Who was seen holding `office`, in the order the part's articles say so.
    func holdings(of office: String) throws -> [Holding]
    /// What document `local` says beyond its text.
    func annotation(_ local: Int) throws -> DocumentAnnotation
    /// Every surname with its people, and every office with its holdings (for views that need them all).
    func allSurnames() throws -> [String: [String]]
    func allHoldings() throws -> [String: [Holding]]
}

/// Filter values: a tag byte and the value (lower-cased), so one table holds every kind.
enum FilterKey {
    static func entity(_ id: String) -> [UInt8] { [UInt8(ascii: "e")] + Array(id.utf8) }
    static func topic(_ topic: String) -> [UInt8] { [UInt8(ascii: "t")] + Array(topic.lowercased().utf8) }
    static func source(_ source: String) -> [UInt8] { [UInt8(ascii: "s")] + Array(source.lowercased().utf8) }
    static func tag(_ tag: String) -> [UInt8] { [UInt8(ascii: "g")] + Array(tag.lowercased().utf8) }
    static func language(_ language: String) -> [UInt8] { [UInt8(ascii: "l")] + Array(language.lowercased().utf8) }
    static let eventDayPrefix: [UInt8] = [UInt8(ascii: "d")]
    /// Event days, big-endian and offset so that byte order is day order.
    static func eventDay(_ day: Int) -> [UInt8] {
        let biased = UInt32(truncatingIfNeeded: Int64(day) + (1 << 31))
        return eventDayPrefix + [UInt8(biased >> 24), UInt8(truncatingIfNeeded: biased >> 16), UInt8(truncatingIfNeeded: biased >> 8), UInt8(truncatingIfNeeded: biased)]
    }
    static func eventDay(of key: [UInt8]) -> Int? {
        guard key.count == 5, key[0] == eventDayPrefix[0] else { return nil }
        let biased = UInt32(key[1]) << 24 | UInt32(key[2]) << 16 | UInt32(key[3]) << 8 | UInt32(key[4])
        return Int(Int64(biased) - (1 << 31))
    }
}

/// One part's record of an entity: what its articles say, and how often.
struct PartEntity: Equatable {
    var id: String
    var kind: EntityKind
    var name: String
    var country: String?
    var titles: [String] = []
    var offices: [String] = []
    var designations: [String] = []
    var acronym: String?
    var articleCount: UInt64 = 0
    var mentionCount: UInt64 = 0
    /// Lower-cased names it is referred to by (full name, surname for people, acronym), first seen first.
    var names: [String] = []

    /// Folds in what a later article (or a later part) says of the same entity.
    mutating func absorb(_ other: PartEntity) {
        if other.name.count > self.name.count, self.kind != .office { self.name = other.name }
        if self.country == nil { self.country = other.country }
        Self.union(&self.titles, other.titles)
        Self.union(&self.offices, other.offices)
        Self.union(&self.designations, other.designations)
        if let acronym = other.acronym { self.acronym = acronym }
        self.articleCount += other.articleCount
        self.mentionCount += other.mentionCount
        Self.union(&self.names, other.names)
    }

    static func union(_ list: inout [String], _ more: [String]) {
        for value in more where !list.contains(value) { list.append(value) }
    }

    var summary: EntitySummary {
        EntitySummary(
            id: self.id, kind: self.kind, name: self.name, country: self.country, titles: self.titles, offices: self.offices,
            acronym: self.acronym, designations: self.designations, articleCount: self.articleCount, mentionCount: self.mentionCount
        )
    }
}

/// An event an article reports: the article (numbered within its part, or globally once the view rebases it)
/// and the event's place in the article's extraction.
struct ReportReference: Hashable, Comparable {
    var document: UInt32
    var event: UInt32

    static func < (a: Self, b: Self) -> Bool { (a.document, a.event) < (b.document, b.event) }
}

/// A person (or other entity) seen holding an office, on the reporting article's publication day when it has one.
struct Holding: Equatable {
    var day: Int?
    var holder: String
}

/// What one article says beyond its text, as filters, facets and timelines need it.
struct DocumentAnnotation: Equatable {
    /// As published.
    var source: String?
    var language: String?
    /// Tags and categories, distinct and sorted.
    var tags: [String] = []
    /// Entity ids it mentions, each once, in order.
    var entities: [String] = []
    var topics: [String] = []
    var events: [ExtractedEvent] = []
}

// MARK: The buffer's part

/// The entity part of an in-memory buffer, built as articles arrive and written into the segment's annex when
/// the buffer is flushed.
final class EntityPartBuilder: EntityPart, @unchecked Sendable {  // changed only while its buffer is active (under the service's write lock)
    private(set) var records: [DocumentAnnotation] = []
    private var entities: [String: PartEntity] = [:]
    private var names: [String: [String]] = [:]
    private var surnames: [String: [String]] = [:]
    private var filters: [[UInt8]: [UInt32]] = [:]
    private var participants: [String: [ReportReference]] = [:]
    private var holders: [String: [Holding]] = [:]

    var documentCount: Int { self.records.count }
    var entityCount: Int { self.entities.count }

    /// A copy that later additions to this builder do not change (its tables are copied on write).
    func snapshot() -> EntityPartBuilder {
        let copy = EntityPartBuilder()
        copy.records = self.records
        copy.entities = self.entities
        copy.names = self.names
        copy.surnames = self.surnames
        copy.filters = self.filters
        copy.participants = self.participants
        copy.holders = self.holders
        return copy
    }

    func add(_ article: StoredArticle) {
        let local = UInt32(self.records.count)
        var annotation = DocumentAnnotation(source: article.source, language: article.language, tags: Array(Set(article.tags + article.categories)).sorted())
        func file(_ key: [UInt8]) { Self.append(local, unlessLastOf: &self.filters[key, default: []]) }
        if let source = article.source, !source.isEmpty { file(FilterKey.source(source)) }
        if let language = article.language, !language.isEmpty { file(FilterKey.language(language)) }
        for tag in article.tags + article.categories { file(FilterKey.tag(tag)) }
        guard let extraction = article.extraction else {
            self.records.append(annotation)
            return
        }
        let day = article.publishedAt.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        for entity in extraction.entities where !annotation.entities.contains(entity.id) {
            annotation.entities.append(entity.id)
            self.addEntity(entity, day: day)
            file(FilterKey.entity(entity.id))
        }
        annotation.topics = extraction.topics
        for topic in extraction.topics { file(FilterKey.topic(topic)) }
        annotation.events = extraction.events
        for (index, event) in extraction.events.enumerated() {
            for participant in event.participants {
                let reference = ReportReference(document: local, event: UInt32(index))
                Self.append(reference, unlessLastOf: &self.participants[participant, default: []])
            }
            if let eventDay = EntityView.dayNumber(event.date) { file(FilterKey.eventDay(eventDay)) }
        }
        self.records.append(annotation)
    }

    /// Appends `value` unless the list ends with it (one look-up of the list's key, changed in place).
    private static func append<Value: Equatable>(_ value: Value, unlessLastOf list: inout [Value]) {
        if list.last != value { list.append(value) }
    }

    private func addEntity(_ entity: ExtractedEntity, day: Int?) {
        var names = [entity.name.lowercased()]
        if entity.kind == .person, let surname = entity.name.split(separator: " ").last { PartEntity.union(&names, [surname.lowercased()]) }
        if let acronym = entity.acronym { PartEntity.union(&names, [acronym.lowercased()]) }
        let seen = PartEntity(
            id: entity.id, kind: entity.kind, name: entity.name, country: entity.country, titles: entity.titles, offices: entity.offices,
            designations: entity.designations, acronym: entity.acronym, articleCount: 1, mentionCount: UInt64(entity.mentionCount), names: names
        )
        // In place: a copy taken out of the table would copy its lists again on the first change.
        if let index = self.entities.index(forKey: entity.id) {
            self.entities.values[index].absorb(seen)
        } else {
            self.entities[entity.id] = seen
        }
        for name in names where self.names[name]?.contains(entity.id) != true { self.names[name, default: []].append(entity.id) }
        if entity.kind == .person, entity.name.isFullName, let surname = entity.name.split(separator: " ").last?.lowercased(),
            self.surnames[surname]?.contains(entity.id) != true
        {
            self.surnames[surname, default: []].append(entity.id)
        }
        for office in entity.offices { self.holders[office, default: []].append(Holding(day: day, holder: entity.id)) }
    }

    func entity(_ id: String) -> PartEntity? { self.entities[id] }
    func forEachEntity(_ body: (PartEntity) throws -> Void) rethrows { for record in self.entities.values { try body(record) } }
    func entityHeadCursor() -> EntityHeadCursor {
        var heads = self.entities.values.map { record in
            var name = record.name
            let head = name.withUTF8 { name in
                EntityHeadCursor.Head(kind: record.kind, articleCount: record.articleCount, mentionCount: record.mentionCount, name: UnsafeRawBufferPointer(name))
            }
            return (id: Array(record.id.utf8), head: head, name: record.name)
        }
        heads.sort { $0.id.lexicographicallyPrecedes($1.id) }
        return EntityHeadCursor(sorted: heads)
    }
    func entityIDs(named name: String) -> [String] { self.names[name] ?? [] }
    func people(withSurname surname: String) -> [String] { self.surnames[surname] ?? [] }
    func forEachPeople(withSurnames surnames: [[UInt8]], _ body: (Int, [String]) throws -> Void) throws {
        for (index, surname) in surnames.enumerated() {
            if let people = self.surnames[String(decoding: surname, as: UTF8.self)] { try body(index, people) }
        }
    }
    func documents(_ key: [UInt8]) -> [UInt32] { self.filters[key] ?? [] }
    func forEachDocumentList(withPrefix prefix: [UInt8], _ body: ([UInt8], [UInt32]) throws -> Bool) throws {
        for key in self.filters.keys.filter({ $0.starts(with: prefix) }).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard try body(key, self.filters[key]!) else { return }
        }
    }
    func reports(of participant: String) -> [ReportReference] { self.participants[participant] ?? [] }
    func holdings(of office: String) -> [Holding] { self.holders[office] ?? [] }
    func annotation(_ local: Int) -> DocumentAnnotation { self.records[local] }
    func allSurnames() -> [String: [String]] { self.surnames }
    func allHoldings() -> [String: [Holding]] { self.holders }

    /// The annex tables a segment written from this buffer holds, by name.
    func tables() -> [(name: String, table: [UInt8])] {
        func table<Value>(_ entries: [[UInt8]: Value], _ encode: (Value) -> [UInt8]) -> [UInt8] {
            var builder = SortedTable.Builder()
            for key in entries.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) { builder.add(key: key, value: encode(entries[key]!)) }
            return builder.finish()
        }
        func keyed<Value>(_ entries: [String: Value]) -> [[UInt8]: Value] {
            Dictionary(uniqueKeysWithValues: entries.map { (Array($0.key.utf8), $0.value) })
        }
        return [
            (EntityTables.entity, table(keyed(self.entities)) { EntityCoding.encode($0) }),
            (EntityTables.name, table(keyed(self.names)) { EntityCoding.encode($0) }),
            (EntityTables.surname, table(keyed(self.surnames)) { EntityCoding.encode($0) }),
            (EntityTables.filter, table(self.filters) { EntityCoding.encode($0) }),
            (EntityTables.participant, table(keyed(self.participants)) { EntityCoding.encode($0) }),
            (EntityTables.holder, table(keyed(self.holders)) { EntityCoding.encode($0) }),
        ]
    }
}

// MARK: A segment's part

/// The entity part of a segment: its annex tables and records, read in place.
struct SegmentEntityPart: EntityPart {
    let segment: IndexSegment

    var documentCount: Int { self.segment.documentCount }
    var entityCount: Int { self.segment.annexTable(EntityTables.entity)?.count ?? 0 }

    private func value(_ table: String, _ key: [UInt8]) throws -> [UInt8]? {
        do { return try self.segment.annexTable(table)?.value(for: key) } catch { throw self.segment.annexDamage(error) }
    }

    private func decoding<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw self.segment.annexDamage(error) }
    }

    func entity(_ id: String) throws -> PartEntity? {
        guard let bytes = try self.value(EntityTables.entity, Array(id.utf8)) else { return nil }
        return try self.decoding { try EntityCoding.entity(bytes, id: id) }
    }

    func forEachEntity(_ body: (PartEntity) throws -> Void) throws {
        try self.decoding {
            try self.segment.annexTable(EntityTables.entity)?.forEachEntry { key, value in
                try body(try EntityCoding.entity(value, id: String(decoding: key, as: UTF8.self)))
                return true
            }
        }
    }

    func entityHeadCursor() -> EntityHeadCursor {
        EntityHeadCursor(table: self.segment.annexTable(EntityTables.entity)?.cursor(), segment: self.segment)
    }

    func entityIDs(named name: String) throws -> [String] {
        guard let bytes = try self.value(EntityTables.name, Array(name.utf8)) else { return [] }
        return try self.decoding { try EntityCoding.strings(bytes) }
    }

    func people(withSurname surname: String) throws -> [String] {
        guard let bytes = try self.value(EntityTables.surname, Array(surname.utf8)) else { return [] }
        return try self.decoding { try EntityCoding.strings(bytes) }
    }

    func forEachPeople(withSurnames surnames: [[UInt8]], _ body: (Int, [String]) throws -> Void) throws {
        guard !surnames.isEmpty, let table = self.segment.annexTable(EntityTables.surname) else { return }
        var next = 0  // the first surname not passed yet
        try self.decoding {
            try table.forEachEntry { key, value in
                while next < surnames.count, surnames[next].withUnsafeBytes({ SortedTable.compare($0, key) }) < 0 { next += 1 }
                guard next < surnames.count else { return false }
                if surnames[next].withUnsafeBytes({ SortedTable.compare($0, key) }) == 0 {
                    try body(next, try EntityCoding.strings(Array(value)))
                    next += 1
                }
                return true
            }
        }
    }

    func documents(_ key: [UInt8]) throws -> [UInt32] {
        guard let bytes = try self.value(EntityTables.filter, key) else { return [] }
        return try self.decoding { try EntityCoding.documents(bytes) }
    }

    func forEachDocumentList(withPrefix prefix: [UInt8], _ body: ([UInt8], [UInt32]) throws -> Bool) throws {
        try self.decoding {
            try self.segment.annexTable(EntityTables.filter)?.forEachEntry(withPrefix: prefix) { key, value in
                try body(Array(key), try EntityCoding.documents(Array(value)))
            }
        }
    }

    func reports(of participant: String) throws -> [ReportReference] {
        guard let bytes = try self.value(EntityTables.participant, Array(participant.utf8)) else { return [] }
        return try self.decoding { try EntityCoding.reports(bytes) }
    }

    func holdings(of office: String) throws -> [Holding] {
        guard let bytes = try self.value(EntityTables.holder, Array(office.utf8)) else { return [] }
        return try self.decoding { try EntityCoding.holdings(bytes) }
    }

    func annotation(_ local: Int) throws -> DocumentAnnotation {
        try self.decoding { try EntityCoding.annotation(Array(self.segment.annexRecord(local))) }
    }

    private func all<Value>(_ table: String, _ decode: ([UInt8]) throws -> Value) throws -> [String: Value] {
        var values: [String: Value] = [:]
        try self.decoding {
            try self.segment.annexTable(table)?.forEachEntry { key, value in
                values[String(decoding: key, as: UTF8.self)] = try decode(Array(value))
                return true
            }
        }
        return values
    }

    func allSurnames() throws -> [String: [String]] { try self.all(EntityTables.surname, EntityCoding.strings) }
    func allHoldings() throws -> [String: [Holding]] { try self.all(EntityTables.holder, EntityCoding.holdings) }
}

/// One part's entity heads in id byte order: a segment's entity table read in place, or a buffer's entities sorted.
/// A copy shares the current id's memory with the original: step one of them only.
struct EntityHeadCursor {
    /// What a listing needs of an entity as one part records it: kind, counts, and of its name only its length,
    /// whether it is a full name, and, for a person named by one word alone, that word (the surname it may stand for).
    struct Head {
        var kind: EntityKind
        var articleCount: UInt64
        var mentionCount: UInt64
        /// The name's length in UTF-8 bytes.
        var nameLength: Int
        var isFullName: Bool

        init(kind: EntityKind, articleCount: UInt64, mentionCount: UInt64, name: UnsafeRawBufferPointer) {
            self.kind = kind
            self.articleCount = articleCount
            self.mentionCount = mentionCount
            self.nameLength = name.count
            self.isFullName = name.contains(UInt8(ascii: " "))
        }

        /// A person named by one word alone, which may be the surname of a person known in full.
        var isSurnameOnly: Bool { self.kind == .person && !self.isFullName }
    }

    /// Bytes of the cursor's own, at a place that stays put until they outgrow it: a merge of many cursors
    /// compares their ids through plain pointers, with no reference counting per comparison.
    private final class IDBytes {
        private(set) var start: UnsafeMutableRawPointer
        private var capacity: Int
        private(set) var count = 0

        init() {
            self.capacity = 64
            self.start = .allocate(byteCount: 64, alignment: 1)
        }

        deinit { self.start.deallocate() }

        func replace(with bytes: UnsafeRawBufferPointer) {
            if bytes.count > self.capacity {
                self.start.deallocate()
                self.capacity = max(bytes.count, 2 * self.capacity)
                self.start = .allocate(byteCount: self.capacity, alignment: 1)
            }
            if let source = bytes.baseAddress { self.start.copyMemory(from: source, byteCount: bytes.count) }
            self.count = bytes.count
        }
    }

    private var table: SortedTable.Cursor?
    private let segment: IndexSegment?
    private let sorted: [(id: [UInt8], head: Head, name: String)]
    private var index = -1
    private let idBytes = IDBytes()
    private(set) var head = Head(kind: .person, articleCount: 0, mentionCount: 0, name: UnsafeRawBufferPointer(start: nil, count: 0))
    /// The current entity's name: in the mapped table, or in the sorted entities (valid as ``id`` is).
    private var nameBytes = UnsafeRawBufferPointer(start: nil, count: 0)

    /// The current entity's name, lower-cased, when it is a person named by one word alone (the surname it may
    /// stand for); nil otherwise. Made only when asked: most entities are not such people.
    var surname: String? {
        guard self.head.isSurnameOnly else { return nil }
        if self.segment == nil { return self.sorted[self.index].name.lowercased() }
        return String(decoding: self.nameBytes, as: UTF8.self).lowercased()
    }

    /// The current entity's id (valid after ``next()`` returned true), in the cursor's own memory: valid until the
    /// next call to ``next()`` while the cursor lives.
    var id: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.idBytes.start, count: self.idBytes.count) }

    init(table: SortedTable.Cursor?, segment: IndexSegment) {
        self.table = table
        self.segment = segment
        self.sorted = []
    }

    init(sorted: [(id: [UInt8], head: Head, name: String)]) {
        self.table = nil
        self.segment = nil
        self.sorted = sorted
    }

    /// Moves to the next entity; false past the last one.
    mutating func next() throws -> Bool {
        if let segment = self.segment {
            do {
                guard self.table != nil, try self.table!.next() else { return false }
                self.table!.key.withUnsafeBytes { self.idBytes.replace(with: $0) }
                var cursor = ByteCursor(self.table!.value)
                guard let kind = EntityKind(rawValue: UInt32(truncatingIfNeeded: try cursor.varint())) else {
                    throw IndexFormatError("an entity of unknown kind")
                }
                let articles = try cursor.varint()
                let mentions = try cursor.varint()
                self.nameBytes = try cursor.bytes(try cursor.int())
                self.head = Head(kind: kind, articleCount: articles, mentionCount: mentions, name: self.nameBytes)
                return true
            } catch {
                throw segment.annexDamage(error)
            }
        }
        self.index += 1
        guard self.index < self.sorted.count else { return false }
        self.sorted[self.index].id.withUnsafeBytes { self.idBytes.replace(with: $0) }
        self.head = self.sorted[self.index].head
        return true
    }
}
