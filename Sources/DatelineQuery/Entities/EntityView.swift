import DatelineExtraction
import DatelineProtocol
import DatelineSearch
import Foundation

/// The entities, names, filters and engagements of every part of the index (segments and buffers), merged at
/// query time: entity records are folded across parts, a person named by surname alone is the one known person
/// with that surname, and engagements are formed from the reports of their participants.
///
/// A view is made per request over the parts the request sees and caches what it has looked up; it is not
/// shared between requests.
final class EntityView {
    /// What timelines read of the articles reporting an engagement.
    struct ArticleHeader {
        var id: String
        var title: String?
        var source: String?
        var publishedAt: Date?
    }

    /// Reads articles by global document number: publication times (often, so from columns) and headers (for a page).
    struct ArticleLookup {
        var publishedAt: (Int) -> Date?
        var header: (Int) -> ArticleHeader
    }

    /// One article's report of an engagement.
    struct Report {
        var reference: ReportReference
        /// The event, its participants resolved (aliases replaced by the people they name).
        var event: ExtractedEvent
        var key: String
        var day: Int?
        var document: Int { Int(self.reference.document) }
    }

    /// An engagement: reports from one or more articles with the same kind, the same people (or participants)
    /// and dates within a day of the first report's.
    struct Group {
        var reports: [Report]
        var dayNumber: Int?
        var first: ReportReference { self.reports[0].reference }
    }

    private let parts: [(part: any EntityPart, base: Int)]
    /// Documents the view sees (later ones are ignored).
    let documentCount: Int
    let lexicon = Lexicon.shared
    private var records: [String: PartEntity?] = [:]
    private var aliases: [String: String?] = [:]
    private var annotations: [Int: DocumentAnnotation] = [:]
    private var referenceCache: [String: [ReportReference]] = [:]
    private var aliasSourceCache: [String: [String]] = [:]
    private var holdingCache: [String: [Holding]] = [:]
    /// Every part's surnames, once a listing of every entity has loaded them.
    private var surnameIndex: [String: [String]]?
    private var reportCache: [ReportReference: Report] = [:]

    init(parts: [any EntityPart], documents: Int? = nil) {
        var based: [(any EntityPart, Int)] = []
        var base = 0
        for part in parts {
            based.append((part, base))
            base += part.documentCount
        }
        self.parts = based
        self.documentCount = min(documents ?? base, base)
    }

    /// The day a TIMEX3 date value starts on (`2025-07-25`, `2025-07`, `2025-W31`, `2025`).
    static func dayNumber(_ value: String?) -> Int? {
        guard let value else { return nil }
        let parts = value.split(separator: "-")
        guard let first = parts.first, first.count == 4, let year = Int(first) else { return nil }
        if parts.count >= 3, let month = Int(parts[1]), let day = Int(parts[2].prefix(2)), CivilDate.isValid(year: year, month: month, day: day) {
            return CivilDate(year: year, month: month, day: day).dayNumber
        }
        if parts.count == 2, parts[1].hasPrefix("W"), let week = Int(parts[1].dropFirst()) {
            let january4 = CivilDate(year: year, month: 1, day: 4)
            return january4.dayNumber - (january4.weekday - 1) + (week - 1) * 7
        }
        if parts.count == 2, let month = Int(parts[1]), (1...12).contains(month) { return CivilDate(year: year, month: month, day: 1).dayNumber }
        if parts.count == 1 { return CivilDate(year: year, month: 1, day: 1).dayNumber }
        return nil
    }

    /// Which engagements can be the same: a phone call is not a meeting, nor a visit the meetings held during it.
    static func family(_ code: String) -> String {
        switch code {
        case "041": "telephone"
        case "042": "visit"
        case "040", "043", "044": "meeting"  // 040: an engagement the text does not say more about
        case "046": "negotiate"
        default: code
        }
    }

    // MARK: Entities across parts

    /// Every part's record of `id`, folded (aliases not included).
    private func partRecord(_ id: String) throws -> PartEntity? {
        if let cached = self.records[id] { return cached }
        var merged: PartEntity?
        for (part, _) in self.parts {
            guard let record = try part.entity(id) else { continue }
            if merged == nil { merged = record } else { merged!.absorb(record) }
        }
        self.records[id] = merged
        return merged
    }

    /// The person a surname-only person stands for: the one known person with a full name of that surname.
    func alias(of id: String) throws -> String? {
        guard id.hasPrefix("person:") else { return nil }
        if let cached = self.aliases[id] { return cached }
        var alias: String?
        if let record = try self.partRecord(id), !record.name.isFullName {
            var people: [String] = []
            if let surnames = self.surnameIndex {
                people = surnames[record.name.lowercased()] ?? []
            } else {
                for (part, _) in self.parts { PartEntity.union(&people, try part.people(withSurname: record.name.lowercased())) }
            }
            if people.count == 1, people[0] != id { alias = people[0] }
        }
        self.aliases[id] = alias
        return alias
    }

    func canonical(_ id: String) throws -> String { try self.alias(of: id) ?? id }

    /// The surname-only people that stand for `person`, in id order.
    func aliasSources(of person: String) throws -> [String] {
        if let cached = self.aliasSourceCache[person] { return cached }
        guard person.hasPrefix("person:"), let record = try self.partRecord(person), record.name.isFullName,
            let surname = record.name.split(separator: " ").last?.lowercased()
        else { return [] }
        var named: [String] = []
        for (part, _) in self.parts { PartEntity.union(&named, try part.entityIDs(named: surname)) }
        let sources = try named.filter { id in
            guard id != person, id.hasPrefix("person:") else { return false }
            return try self.alias(of: id) == person
        }.sorted()
        self.aliasSourceCache[person] = sources
        return sources
    }

    /// Loads every part's entities, surnames and office holdings at once, so that a listing of every entity
    /// reads each table once instead of looking each entity up in every part.
    private func loadEverything() throws -> [String] {
        var merged: [String: PartEntity] = [:]
        var surnames: [String: [String]] = [:]
        var holdings: [String: [Holding]] = [:]
        var step = 0
        for (part, _) in self.parts {
            try part.forEachEntity { record in
                step += 1
                if step % 1_024 == 0 { try Task.checkCancellation() }
                if merged[record.id] == nil { merged[record.id] = record } else { merged[record.id]!.absorb(record) }
            }
            for (surname, people) in try part.allSurnames() { PartEntity.union(&surnames[surname, default: []], people) }
            for (office, held) in try part.allHoldings() { holdings[office, default: []] += held }
        }
        for (id, record) in merged { self.records[id] = record }
        self.surnameIndex = surnames
        var sources: [String: [String]] = [:]
        for id in merged.keys {
            if let alias = try self.alias(of: id) { sources[alias, default: []].append(id) }
        }
        for id in merged.keys where id.hasPrefix("person:") { self.aliasSourceCache[id] = (sources[id] ?? []).sorted() }
        for (office, held) in holdings {
            self.holdingCache[office] = try held.map { Holding(day: $0.day, holder: try self.canonical($0.holder)) }
        }
        for id in merged.keys where self.holdingCache[id] == nil { self.holdingCache[id] = [] }
        return Array(merged.keys)
    }

    /// An entity as every part and every alias of it says (offices list the people seen holding them).
    func record(_ id: String) throws -> PartEntity? {
        guard var record = try self.partRecord(id) else { return nil }
        for source in try self.aliasSources(of: id) {
            if let other = try self.partRecord(source) {
                var folded = other
                folded.id = id
                folded.name = record.name
                record.absorb(folded)
            }
        }
        if record.kind == .office {
            for holding in try self.holdings(of: id) { PartEntity.union(&record.offices, [holding.holder]) }
        }
        return record
    }

    /// Who was seen holding `office`, in document order, aliases resolved.
    private func holdings(of office: String) throws -> [Holding] {
        if let cached = self.holdingCache[office] { return cached }
        var holdings: [Holding] = []
        for (part, _) in self.parts {
            for holding in try part.holdings(of: office) { holdings.append(Holding(day: holding.day, holder: try self.canonical(holding.holder))) }
        }
        return holdings
    }

    func name(_ id: String) throws -> String {
        if let record = try self.partRecord(id) { return record.name }
        if id.hasPrefix("country:"), let country = self.lexicon.countries[String(id.dropFirst(8))] { return country.name }
        return id
    }

    // MARK: Resolving names

    /// A name resolved: the actor as the response shows it, and every id whose reports and mentions count for it
    /// (the actor's ids and the surname-only people standing for its people).
    struct Resolved {
        var actor: ResolvedActor
        var lookupIDs: [String]
    }

    /// The most alternatives a resolved name lists.
    static let maximumAlternatives = 10

    /// The entity ids a name stands for: an id as is, a country by any of its names; otherwise the most reported
    /// entity whose name, surname or acronym it is (the others are listed as alternatives); an office with the
    /// people who hold it.
    func resolve(_ text: String) throws -> Resolved {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var ids: [String] = []
        var alternatives: [EntitySummary] = []
        var surnameOnly: [String] = []
        if try self.partRecord(trimmed) != nil {
            ids = [try self.canonical(trimmed)]
        } else if let country = self.lexicon.country(named: trimmed) {
            ids = ["country:\(country.code)"]
        } else {
            let match = try self.mostReported(named: trimmed.lowercased())
            ids = match.chosen.map { [$0] } ?? []
            alternatives = match.alternatives
            surnameOnly = match.surnameOnly
        }
        var expanded = ids
        for id in ids where id.hasPrefix("office:") {
            for holder in try self.record(id)?.offices ?? [] where !expanded.contains(holder) { expanded.append(holder) }
        }
        var lookup = expanded
        for id in expanded { PartEntity.union(&lookup, try self.aliasSources(of: id)) }
        PartEntity.union(&lookup, surnameOnly)
        let name = try ids.first.flatMap { try self.partRecord($0)?.name } ?? ids.first.flatMap { id in
            id.hasPrefix("country:") ? self.lexicon.countries[String(id.dropFirst(8))]?.name : nil
        } ?? trimmed
        return Resolved(actor: ResolvedActor(query: text, ids: expanded, name: name, alternatives: alternatives), lookupIDs: lookup)
    }

    /// The entity a typed name most likely means, by how many articles report it: one with that full name first
    /// ("Tony Blair"); otherwise one with that surname or acronym ("Blair" → Tony Blair, 143 articles, over
    /// Cherie Blair). A person the articles name by that surname alone, where several people share it, is
    /// counted for the chosen person (`surnameOnly`, looked up with them) and not listed as an alternative.
    private func mostReported(named lowered: String) throws -> (chosen: String?, alternatives: [EntitySummary], surnameOnly: [String]) {
        var named: [String] = []
        for (part, _) in self.parts { PartEntity.union(&named, try part.entityIDs(named: lowered).map(self.canonical)) }
        let records = try named.compactMap { try self.record($0) }
        func prominence(_ a: PartEntity, _ b: PartEntity) -> Bool { (a.articleCount, a.mentionCount, b.id) > (b.articleCount, b.mentionCount, a.id) }
        let isSurnameOnly = { (record: PartEntity) in record.kind == .person && !record.name.isFullName && record.name.lowercased() == lowered }
        let fullNames = records.filter { !isSurnameOnly($0) }
        let exact = fullNames.filter { $0.name.lowercased() == lowered }
        let ranked = (exact.isEmpty ? fullNames : exact).sorted(by: prominence)
        guard let chosen = ranked.first ?? records.sorted(by: prominence).first else { return (nil, [], []) }
        let surname = chosen.name.split(separator: " ").last.map { $0.lowercased() }
        let surnameOnly = chosen.kind == .person && surname == lowered ? records.filter(isSurnameOnly).map(\.id).filter { $0 != chosen.id } : []
        let alternatives = records.filter { $0.id != chosen.id && !surnameOnly.contains($0.id) }.sorted(by: prominence)
        return (chosen.id, alternatives.prefix(Self.maximumAlternatives).map(\.summary), surnameOnly)
    }

    // MARK: Documents

    /// The global documents (below the view's limit) with any of `keys`, as a set.
    func documents(withAnyOf keys: [[UInt8]]) throws -> DocumentBits {
        var bits = DocumentBits(count: self.documentCount)
        for (part, base) in self.parts where base < self.documentCount {
            for key in keys {
                for local in try part.documents(key) { bits.insert(base + Int(local)) }
            }
        }
        return bits
    }

    /// The global documents reporting an event dated within `days`.
    func documents(withEventDaysIn days: ClosedRange<Int>) throws -> DocumentBits {
        var bits = DocumentBits(count: self.documentCount)
        let upper = FilterKey.eventDay(days.upperBound)
        let lower = FilterKey.eventDay(days.lowerBound)
        for (part, base) in self.parts where base < self.documentCount {
            try part.forEachDocumentList(withPrefix: FilterKey.eventDayPrefix) { key, documents in
                if upper.lexicographicallyPrecedes(key) { return false }
                if key.lexicographicallyPrecedes(lower) { return true }
                for local in documents { bits.insert(base + Int(local)) }
                return true
            }
        }
        return bits
    }

    /// What global document `document` says beyond its text.
    func annotation(_ document: Int) throws -> DocumentAnnotation {
        if let cached = self.annotations[document] { return cached }
        guard let (part, base) = self.parts.last(where: { $0.base <= document }), document - base < part.documentCount else {
            return DocumentAnnotation()
        }
        let annotation = try part.annotation(document - base)
        self.annotations[document] = annotation
        return annotation
    }

    // MARK: Queries

    /// - Throws: `CancellationError` when the calling task is cancelled.
    func entitiesResponse(_ request: EntitiesRequest) throws -> EntitiesResponse {
        let match = request.match.lowercased()
        let kinds = Set(request.kinds)
        let limit = request.limit == 0 ? 20 : Int(request.limit)
        if match.isEmpty { return try self.topEntities(kinds: kinds, limit: limit) }
        var found: [EntitySummary] = []
        for (step, id) in try self.loadEverything().enumerated() where try self.alias(of: id) == nil {
            if step % 1_024 == 1_023 { try Task.checkCancellation() }
            guard let record = try self.record(id) else { continue }
            guard kinds.isEmpty || kinds.contains(record.kind) else { continue }
            guard match.isEmpty || record.id.lowercased().contains(match) || record.names.contains(where: { $0.contains(match) }) else { continue }
            found.append(record.summary)
        }
        found.sort { ($0.articleCount, $0.mentionCount, $1.id) > ($1.articleCount, $1.mentionCount, $0.id) }
        return EntitiesResponse(entities: Array(found.prefix(limit)), total: UInt64(found.count))
    }

    /// The most reported entities (of `kinds`, when given) without a name to match: every part's entity table is
    /// walked side by side in id order (``EntityHeadCursor``), each id's heads combined as they are met — counts
    /// added, the longest name kept (by UTF-8 length) — with no id hashed or made a string; people named by a
    /// surname alone are folded into the one known person with that surname (the parts' surname tables read for
    /// those surnames only; the person found by binary search among the merged ids, which come out sorted), and
    /// whole records are assembled for the page alone.
    private func topEntities(kinds: Set<EntityKind>, limit: Int) throws -> EntitiesResponse {
        var cursors: [EntityHeadCursor] = []
        for (part, _) in self.parts {
            var cursor = try part.entityHeadCursor()
            if try cursor.next() { cursors.append(cursor) }
        }
        // Each cursor's current id, refreshed after each of its steps: compared as plain pointers (reading the
        // cursors' own properties here cost a retain and a release per comparison).
        var ids = cursors.map(\.id)
        var merged = MergedHeads()
        var holders: [Int] = []  // the cursors on the current id, in part order
        while !cursors.isEmpty {
            if merged.count % 1_024 == 1_023 { try Task.checkCancellation() }
            holders.removeAll(keepingCapacity: true)
            holders.append(0)
            var lowest = ids[0]
            for index in ids.indices.dropFirst() {
                let order = SortedTable.compare(ids[index], lowest)
                if order < 0 {
                    holders.removeAll(keepingCapacity: true)
                    holders.append(index)
                    lowest = ids[index]
                } else if order == 0 {
                    holders.append(index)
                }
            }
            // The first part's head, then the others' added to it.
            let entity = merged.count
            merged.append(id: lowest, head: cursors[holders[0]].head, surname: cursors[holders[0]].surname)
            for index in holders.dropFirst() where merged.absorb(cursors[index].head, into: entity) {
                merged.surnames[entity] = cursors[index].surname  // its name is the one kept
            }
            for index in holders.reversed() {
                if try cursors[index].next() {
                    ids[index] = cursors[index].id
                } else {
                    cursors.remove(at: index)
                    ids.remove(at: index)
                }
            }
        }
        // The people of the surnames that one-word names give, read from every part's surname table in one walk
        // beside the sorted surnames (not every surname of the archive).
        let wanted = Set(merged.surnames.values).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var peopleOfWanted = [[String]](repeating: [], count: wanted.count)
        for (part, _) in self.parts {
            try part.forEachPeople(withSurnames: wanted) { index, people in PartEntity.union(&peopleOfWanted[index], people) }
        }
        var surnames: [String: [String]] = [:]
        for (index, surname) in wanted.enumerated() where !peopleOfWanted[index].isEmpty {
            surnames[String(decoding: surname, as: UTF8.self)] = peopleOfWanted[index]
        }
        let person = Array("person:".utf8)
        var folded = [Bool](repeating: false, count: merged.count)
        for entity in 0..<merged.count where merged.id(entity).starts(with: person) {
            guard let surname = merged.surnames[entity], let people = surnames[surname], people.count == 1 else { continue }
            let target = Array(people[0].utf8)
            guard !merged.id(entity).elementsEqual(target), let index = merged.index(of: target) else { continue }
            merged.heads[index].articleCount += merged.heads[entity].articleCount
            merged.heads[index].mentionCount += merged.heads[entity].mentionCount
            folded[entity] = true
        }
        // The page's entities, most articles first (then most mentions, then id), kept as they are met: most fall
        // below the page's last at the first comparison.
        func precedes(_ a: Int, _ b: Int) -> Bool {
            let (x, y) = (merged.heads[a], merged.heads[b])
            return (x.articleCount, x.mentionCount) != (y.articleCount, y.mentionCount)
                ? (x.articleCount, x.mentionCount) > (y.articleCount, y.mentionCount) : merged.id(a).lexicographicallyPrecedes(merged.id(b))
        }
        var top: [Int] = []
        var total = 0
        for entity in 0..<merged.count where !folded[entity] && (kinds.isEmpty || kinds.contains(merged.heads[entity].kind)) {
            total += 1
            guard limit > 0, top.count < limit || precedes(entity, top[top.count - 1]) else { continue }
            let slot = top.firstIndex { !precedes($0, entity) } ?? top.count
            top.insert(entity, at: slot)
            if top.count > limit { top.removeLast() }
        }
        let page = try top.compactMap { try self.record(String(decoding: merged.id($0), as: UTF8.self))?.summary }
        return EntitiesResponse(entities: page, total: UInt64(total))
    }

    /// Entity heads combined across parts, in id order: the ids' bytes back to back, and each one's head.
    private struct MergedHeads {
        private var idBytes: [UInt8] = []
        private var idEnds: [Int] = []
        var heads: [EntityHeadCursor.Head] = []
        /// The surname of each entity whose kept name is one word of a person's (few are).
        var surnames: [Int: String] = [:]
        var count: Int { self.heads.count }

        mutating func append(id: UnsafeRawBufferPointer, head: EntityHeadCursor.Head, surname: String?) {
            if let surname { self.surnames[self.heads.count] = surname }
            self.idBytes.append(contentsOf: id)
            self.idEnds.append(self.idBytes.count)
            self.heads.append(head)
        }

        func id(_ entity: Int) -> ArraySlice<UInt8> {
            self.idBytes[(entity == 0 ? 0 : self.idEnds[entity - 1])..<self.idEnds[entity]]
        }

        /// Adds a later part's head of the same entity: counts added; its name kept when longer (an office keeps
        /// its first). True when its name is kept (the caller then records its surname, if any).
        mutating func absorb(_ other: EntityHeadCursor.Head, into entity: Int) -> Bool {
            var head = self.heads[entity]
            head.articleCount += other.articleCount
            head.mentionCount += other.mentionCount
            let keepsName = other.nameLength > head.nameLength && head.kind != .office
            if keepsName { (head.nameLength, head.isFullName) = (other.nameLength, other.isFullName) }
            self.heads[entity] = head
            return keepsName
        }

        /// The entity with id `id`, by binary search.
        func index(of id: [UInt8]) -> Int? {
            var low = 0
            var high = self.count
            while low < high {
                let middle = (low + high) / 2
                let key = self.id(middle)
                if key.lexicographicallyPrecedes(id) { low = middle + 1 } else { high = middle }
            }
            return low < self.count && self.id(low).elementsEqual(id) ? low : nil
        }
    }

    /// The person who held `office` on `day`: the latest one seen holding it on or before that day, else the
    /// first one seen after it.
    func holder(of office: String, on day: Int) throws -> String? {
        let seen = try self.holdings(of: office).filter { $0.holder.hasPrefix("person:") }.compactMap { holding in holding.day.map { ($0, holding.holder) } }
        if let before = seen.filter({ $0.0 <= day }).max(by: { $0.0 < $1.0 }) { return before.1 }
        return seen.min(by: { $0.0 < $1.0 })?.1
    }

    /// An engagement's participants, with the holders of offices that took part without a named person.
    func participants(of group: Group, articles: ArticleLookup) throws -> [String] {
        var participants: [String] = []
        for report in group.reports { PartEntity.union(&participants, report.event.participants) }
        let day = group.dayNumber ?? group.reports.compactMap { articles.publishedAt($0.document).map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) } }.min()
        guard let day else { return participants }
        for office in participants where office.hasPrefix("office:") {
            let held = try participants.contains { person in
                guard person.hasPrefix("person:") else { return false }
                return try self.record(person)?.offices.contains(office) ?? false
            }
            if !held, let holder = try self.holder(of: office, on: day), !participants.contains(holder) { participants.append(holder) }
        }
        return participants
    }

    /// The events `id` takes part in, as global references.
    private func references(of id: String) throws -> [ReportReference] {
        if let cached = self.referenceCache[id] { return cached }
        var references: [ReportReference] = []
        for (part, base) in self.parts where base < self.documentCount {
            for reference in try part.reports(of: id) where base + Int(reference.document) < self.documentCount {
                references.append(ReportReference(document: UInt32(base) + reference.document, event: reference.event))
            }
        }
        self.referenceCache[id] = references
        return references
    }

    /// The reports of events any of `ids` takes part in, their participants resolved, in document order.
    private func reports(of ids: [String]) throws -> [Report] {
        var references: [ReportReference] = []
        for id in ids { references += try self.references(of: id) }
        return try Self.sortedUnique(references).compactMap(self.report)
    }

    /// One article's report, its participants resolved and its engagement key formed.
    func report(_ reference: ReportReference) throws -> Report? {
        if let cached = self.reportCache[reference] { return cached }
        let events = try self.annotation(Int(reference.document)).events
        guard Int(reference.event) < events.count else { return nil }
        var event = events[Int(reference.event)]
        var participants: [String] = []
        for participant in event.participants { PartEntity.union(&participants, [try self.canonical(participant)]) }
        event.participants = participants
        let persons = participants.filter { $0.hasPrefix("person:") }.sorted()
        let key = Self.family(event.code) + "|" + (persons.isEmpty ? participants.sorted() : persons).joined(separator: ",")
        let report = Report(reference: reference, event: event, key: key, day: Self.dayNumber(event.date))
        self.reportCache[reference] = report
        return report
    }

    private static func sortedUnique(_ references: [ReportReference]) -> [ReportReference] {
        var unique: [ReportReference] = []
        unique.reserveCapacity(references.count)
        for reference in references.sorted() where unique.last != reference { unique.append(reference) }
        return unique
    }

    /// The ids every report keyed `key` names (resolved): its persons, or, when it has none, its participants.
    static func members(ofKey key: String) -> [String] {
        guard let list = key.split(separator: "|", maxSplits: 1).last else { return [] }
        return list.split(separator: ",").map(String.init)
    }

    /// Every report keyed `key`, in document order. Each names every member of the key (or a surname-only person
    /// standing for one), so they are among the references all members share: the members' reference lists are
    /// intersected, the shortest first, and only the shared references are read.
    private func reports(ofKey key: String) throws -> [Report] {
        var lists: [[ReportReference]] = []
        for member in Self.members(ofKey: key) {
            var references: [ReportReference] = []
            for id in [member] + (try self.aliasSources(of: member)) { references += try self.references(of: id) }
            lists.append(Self.sortedUnique(references))
        }
        return try Self.intersection(lists).compactMap(self.report).filter { $0.key == key }
    }

    /// The references every one of `lists` (each sorted, without repeats) holds, the shortest list first.
    static func intersection(_ lists: [[ReportReference]]) -> [ReportReference] {
        let lists = lists.sorted { $0.count < $1.count }
        guard var shared = lists.first else { return [] }
        for other in lists.dropFirst() {
            if shared.isEmpty { break }
            var kept: [ReportReference] = []
            var index = other.startIndex
            for reference in shared {
                while index < other.endIndex, other[index] < reference { index += 1 }
                if index < other.endIndex, other[index] == reference { kept.append(reference) }
            }
            shared = kept
        }
        return shared
    }

    /// Every engagement of the given keys, each key's reports grouped in document order as they were reported (a
    /// dated report joins the first engagement of its key within a day of it, unless its article is already there).
    /// - Parameters:
    ///   - known: Reports already read; they hold every report of a key one of whose members is in `complete`.
    ///   - complete: Ids all of whose reports (and their aliases') are among `known`.
    func groups(keys: Set<String>, known: [Report], complete: Set<String>) throws -> [Group] {
        let knownByKey = Dictionary(grouping: known, by: \.key)
        var groups: [Group] = []
        for key in keys.sorted() {
            try Task.checkCancellation()
            let reports = Self.members(ofKey: key).contains(where: complete.contains) ? (knownByKey[key] ?? []) : try self.reports(ofKey: key)
            groups += Self.group(reports.sorted { $0.reference < $1.reference })
        }
        return groups
    }

    /// The engagements of one key's reports, given in document order.
    static func group(_ reports: [Report]) -> [Group] {
        var groups: [Group] = []
        var byDay: [Int: [Int]] = [:]  // groups by their day, to find those within a day of a report
        outer: for report in reports {
            if let day = report.day {
                let nearby = ((byDay[day - 1] ?? []) + (byDay[day] ?? []) + (byDay[day + 1] ?? [])).sorted()
                for index in nearby where !groups[index].reports.contains(where: { $0.document == report.document }) {
                    groups[index].reports.append(report)
                    continue outer
                }
                byDay[day, default: []].append(groups.count)
            }
            groups.append(Group(reports: [report], dayNumber: report.day))
        }
        return groups
    }

    /// The ids whose reports can involve `actor`: its own, and the offices its people held.
    private func candidateIDs(of actor: Resolved) throws -> [String] {
        var ids = actor.lookupIDs
        for id in actor.actor.ids where id.hasPrefix("person:") { PartEntity.union(&ids, try self.record(id)?.offices ?? []) }
        return ids
    }

    /// The engagements that can involve every one of `actors`, read the cheaper of two ways (both find every one;
    /// the caller checks each against every actor). An actor takes part in an engagement through one of its
    /// candidate ids (``candidateIDs(of:)``): through a person, who is then a member of the engagement's key, so
    /// that every report of the engagement names them; or through another id (an office, a country, an
    /// organisation) that some of its reports name.
    ///
    /// - Every report of the actor with the fewest: their keys hold every engagement involving it.
    /// - Or the reports naming every actor, and those naming a non-person id of every actor but the one with the
    ///   most such reports: an engagement in which at most one actor takes part through a non-person id has a
    ///   report naming all of them (the others are members, named by every report, and that actor's report is
    ///   one); one in which two or more do has a report naming such an id of one of those read.
    ///
    /// Only the reports' keys are taken from what is read: each key's engagements are formed from all its reports.
    private func candidateGroups(of actors: [Resolved], reading: CandidateReading) throws -> [Group] {
        var all: [[ReportReference]] = []
        var other: [[ReportReference]] = []
        var candidateIDs: [[String]] = []
        for actor in actors {
            let ids = try self.candidateIDs(of: actor)
            var references: [ReportReference] = []
            var throughOthers: [ReportReference] = []
            for id in ids {
                let found = try self.references(of: id)
                references += found
                if !id.hasPrefix("person:") { throughOthers += found }
            }
            candidateIDs.append(ids)
            all.append(Self.sortedUnique(references))
            other.append(Self.sortedUnique(throughOthers))
        }
        guard let fewest = all.indices.min(by: { all[$0].count < all[$1].count }) else { return [] }
        let shared = actors.count > 1 ? Self.intersection(all) : all[fewest]
        let mostOther = other.indices.max { other[$0].count < other[$1].count }!
        let throughOthers = actors.count > 1 ? other.indices.filter { $0 != mostOther }.flatMap { other[$0] } : []
        let readShared = switch reading {
        case .cheaper: shared.count + throughOthers.count < all[fewest].count
        case .sharedReports: true
        case .everyReportOfTheFewest: false
        }
        guard readShared else {
            let known = try all[fewest].compactMap(self.report)
            return try self.groups(keys: Set(known.map(\.key)), known: known, complete: Set(candidateIDs[fewest]))
        }
        var keys = Set<String>()
        for (step, reference) in Self.sortedUnique(shared + throughOthers).enumerated() {
            if step % 256 == 255 { try Task.checkCancellation() }
            if let report = try self.report(reference) { keys.insert(report.key) }
        }
        return try self.groups(keys: keys, known: [], complete: [])
    }

    /// Which reports a timeline reads to find its engagements' keys (see ``candidateGroups(of:reading:)``).
    enum CandidateReading {
        /// Whichever reads fewer reports.
        case cheaper
        /// Every report of the actor with the fewest.
        case everyReportOfTheFewest
        /// The reports naming every actor, and those naming a non-person id of all but one.
        case sharedReports
    }

    /// - Parameter reading: For tests: both ways find the same engagements.
    /// - Throws: `CancellationError` when the calling task is cancelled (the client went away).
    func timeline(_ request: TimelineRequest, articles: ArticleLookup, reading: CandidateReading = .cheaper) throws -> TimelineResponse {
        let actors = try request.actors.map(self.resolve)
        let from = request.from.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let to = request.to.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let codes = Set(request.codes)
        // Look the engagements up by participant rather than scanning them all (see candidateGroups), then check
        // each against every actor.
        let candidates = try self.candidateGroups(of: actors, reading: reading)
        var selected: [Group] = []
        for (step, group) in candidates.enumerated() {
            if step % 256 == 255 { try Task.checkCancellation() }
            let participants = Set(try self.participants(of: group, articles: articles))
            guard actors.allSatisfy({ !Set($0.lookupIDs).isDisjoint(with: participants) }) else { continue }
            if !codes.isEmpty, !group.reports.contains(where: { codes.contains($0.event.code) }) { continue }
            if let from, (group.dayNumber ?? Int.min) < from { continue }
            if let to, (group.dayNumber ?? Int.max) > to { continue }
            selected.append(group)
        }
        func sortDay(_ group: Group) -> Int {
            group.dayNumber ?? group.reports.compactMap { articles.publishedAt($0.document).map { Int($0.timeIntervalSince1970 / 86_400) } }.min() ?? Int.max
        }
        selected.sort { a, b in
            (a.dayNumber == nil ? 1 : 0, sortDay(a), a.first.document, a.first.event) < (b.dayNumber == nil ? 1 : 0, sortDay(b), b.first.document, b.first.event)
        }
        let limit = request.limit == 0 ? 100 : Int(request.limit)
        let page = selected.suffix(limit)
        try Task.checkCancellation()
        let engagements = try page.map { try self.engagement($0, articles: articles) }
        return TimelineResponse(actors: actors.map(\.actor), engagements: engagements, total: UInt64(selected.count))
    }

    func engagement(_ group: Group, articles: ArticleLookup) throws -> Engagement {
        let reports = group.reports.sorted { (articles.publishedAt($0.document) ?? .distantPast, $0.document) < (articles.publishedAt($1.document) ?? .distantPast, $1.document) }
        // The code, date and place most reports give; the first report breaks ties.
        func mostCommon(_ values: [String?]) -> String? {
            let present = values.compactMap { $0 }
            return present.max { a, b in present.count { $0 == a } < present.count { $0 == b } || (present.count { $0 == a } == present.count { $0 == b } && present.firstIndex(of: a)! > present.firstIndex(of: b)!) }
        }
        let code = mostCommon(reports.map(\.event.code)) ?? group.reports[0].event.code
        let date = mostCommon(reports.map(\.event.date))
        let place = mostCommon(reports.map(\.event.place))
        let participants = try self.participants(of: group, articles: articles)
        var topics: [String] = []
        for report in reports { PartEntity.union(&topics, report.event.topics) }
        var conflicts: [String] = []
        if !ReportedDates.allAgree(reports.compactMap(\.event.date)) {
            conflicts.append("reports give different dates: " + reports.compactMap { r in r.event.date.map { "\($0) (\(articles.header(r.document).id))" } }.joined(separator: ", "))
        }
        if reports.contains(where: \.event.isBackReference), let day = group.dayNumber {
            conflicts += try self.backReferenceConflicts(of: group, day: day, date: date, participants: participants, articles: articles)
        }
        let first = articles.header(group.reports[0].document)
        return Engagement(
            id: "\(first.id)/\(group.reports[0].event.id)",
            code: code,
            label: reports.first { $0.event.code == code }?.event.label ?? code,
            date: date,
            datePrecision: reports.first { $0.event.date == date }?.event.datePrecision,
            participants: participants,
            participantNames: try participants.map(self.name),
            place: place,
            placeName: try place.map(self.name),
            topics: topics,
            reports: reports.map { report in
                let article = articles.header(report.document)
                return EngagementReport(
                    articleID: article.id, title: article.title ?? "", source: article.source ?? "", publishedAt: article.publishedAt,
                    sentence: report.event.sentences.first?.text ?? "", dateText: report.event.dateText, date: report.event.date,
                    isBackReference: report.event.isBackReference
                )
            },
            conflicts: conflicts
        )
    }

    /// A back-reference ("their previous interaction occurred on July 29") may be an engagement another article
    /// reports with another date: the same people's other engagements within a week.
    private func backReferenceConflicts(of group: Group, day: Int, date: String?, participants: [String], articles: ArticleLookup) throws -> [String] {
        let persons = Set(participants.filter { $0.hasPrefix("person:") })
        guard let someone = persons.sorted().first else { return [] }
        let known = try self.reports(of: [someone] + self.aliasSources(of: someone))
        var conflicts: [String] = []
        for other in try self.groups(keys: Set(known.map(\.key)), known: known, complete: [someone]) where other.first != group.first {
            guard let otherDay = other.dayNumber, otherDay != day, abs(otherDay - day) <= 7 else { continue }
            let otherPersons = Set(other.reports.flatMap(\.event.participants).filter { $0.hasPrefix("person:") })
            guard persons == otherPersons, !other.reports.allSatisfy(\.event.isBackReference) else { continue }
            guard !other.reports.contains(where: { r in group.reports.contains { $0.document == r.document } }) else { continue }
            let first = other.reports[0]
            let header = articles.header(first.document)
            conflicts.append(
                "reported as an earlier engagement on \(date ?? "?"); it may be the \(first.event.label) of \(first.event.date ?? "?") reported by \(header.source ?? header.id) (\(header.id)) with another date"
            )
        }
        return conflicts
    }
}

extension String {
    /// Whether the name has more than one word (a person's full name, not a surname alone).
    var isFullName: Bool { self.utf8.contains(UInt8(ascii: " ")) }
}

/// A set of document numbers below a bound, one bit each.
struct DocumentBits {
    private var words: [UInt64]

    init(count: Int) { self.words = Array(repeating: 0, count: (count + 63) / 64) }

    mutating func insert(_ document: Int) {
        guard document >= 0, document / 64 < self.words.count else { return }
        self.words[document / 64] |= 1 << UInt64(document % 64)
    }

    func contains(_ document: Int) -> Bool {
        document >= 0 && document / 64 < self.words.count && self.words[document / 64] & (1 << UInt64(document % 64)) != 0
    }

    mutating func formIntersection(_ other: DocumentBits) {
        for index in self.words.indices { self.words[index] &= index < other.words.count ? other.words[index] : 0 }
    }
}
