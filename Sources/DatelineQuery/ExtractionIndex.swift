import DatelineExtraction
import DatelineProtocol
import Foundation

/// What `dateline-query` knows from the extractor's output across every article: entities with their article
/// and mention counts, which articles mention what, and engagements merged across the articles that report them.
struct ExtractionIndex {
    /// What timelines read of the articles reporting an engagement.
    struct ArticleHeader {
        var id: String
        var title: String?
        var source: String?
        var publishedAt: Date?
    }

    /// Reads articles by document number: publication times (often, so from memory) and headers (for a page).
    struct ArticleLookup {
        var publishedAt: (Int) -> Date?
        var header: (Int) -> ArticleHeader
    }

    struct EntityRecord {
        var summary: EntitySummary
        /// Lower-cased names it is referred to by (full name, surname for people, acronym).
        var names: Set<String>
    }

    /// One article's report of an engagement.
    struct Report {
        var document: Int
        var event: ExtractedEvent
    }

    /// An engagement: reports from one or more articles with the same kind, the same people (or participants)
    /// and dates within a day of each other.
    struct Group {
        var reports: [Report]
        var dayNumber: Int?
    }

    private(set) var entities: [String: EntityRecord] = [:]
    /// Entity ids per document.
    private(set) var documentEntities: [[String]] = []
    private(set) var documentTopics: [[String]] = []
    /// Day numbers of the dated events each document reports.
    private(set) var documentEventDays: [[Int]] = []
    private(set) var groups: [Group] = []
    /// People with a full name, by their lower-cased surname: an article that names only "Dar" links to the one
    /// known person of that surname.
    private var peopleBySurname: [String: Set<String>] = [:]
    /// Who was seen holding each office, and when (the reporting article's publication day).
    private(set) var officeHolders: [String: [(day: Int, person: String)]] = [:]
    private var groupsByKey: [String: [Int]] = [:]
    /// Every lower-cased name, surname and acronym → the entities it names, so resolving a name is a look-up.
    private var entitiesByName: [String: Set<String>] = [:]
    /// Entity id → the engagements it takes part in (as reported; office holders are resolved at query time).
    private var groupsByParticipant: [String: [Int]] = [:]
    let lexicon = Lexicon.shared

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

    /// Which engagements can be the same: a phone call is not a meeting.
    static func family(_ code: String) -> String {
        switch code {
        case "041": "telephone"
        case "040", "042", "043", "044": "meeting"  // 040: an engagement the text does not say more about
        case "046": "negotiate"
        default: code
        }
    }

    mutating func add(_ article: StoredArticle, document: Int) {
        precondition(document == self.documentEntities.count)
        guard let extraction = article.extraction else {
            self.documentEntities.append([])
            self.documentTopics.append([])
            self.documentEventDays.append([])
            return
        }
        // A person named by surname alone is the one known person with that surname, when there is exactly one.
        var alias: [String: String] = [:]
        for entity in extraction.entities where entity.kind == .person && !entity.name.contains(" ") {
            if let people = self.peopleBySurname[entity.name.lowercased()], people.count == 1, let person = people.first {
                alias[entity.id] = person
            }
        }
        var seen: [String] = []
        for entity in extraction.entities {
            let id = alias[entity.id] ?? entity.id
            if seen.contains(id) { continue }
            seen.append(id)
            var record = self.entities[id] ?? EntityRecord(
                summary: EntitySummary(id: id, kind: entity.kind, name: entity.name, country: entity.country),
                names: []
            )
            if entity.name.count > record.summary.name.count, entity.kind != .office { record.summary.name = entity.name }
            if record.summary.country == nil { record.summary.country = entity.country }
            for title in entity.titles where !record.summary.titles.contains(title) { record.summary.titles.append(title) }
            for office in entity.offices where !record.summary.offices.contains(office) { record.summary.offices.append(office) }
            for designation in entity.designations where !record.summary.designations.contains(designation) { record.summary.designations.append(designation) }
            if let acronym = entity.acronym {
                record.summary.acronym = acronym
                record.names.insert(acronym.lowercased())
            }
            record.summary.articleCount += 1
            record.summary.mentionCount += UInt64(entity.mentionCount)
            record.names.insert(entity.name.lowercased())
            if entity.kind == .person, let surname = entity.name.split(separator: " ").last { record.names.insert(surname.lowercased()) }
            for name in record.names { self.entitiesByName[name, default: []].insert(id) }
            if entity.kind == .person, entity.name.contains(" "), let surname = entity.name.split(separator: " ").last {
                self.peopleBySurname[surname.lowercased(), default: []].insert(id)
            }
            self.entities[id] = record
            // Offices list their holders.
            for office in entity.offices {
                if var holder = self.entities[office], !holder.summary.offices.contains(id) {
                    holder.summary.offices.append(id)
                    self.entities[office] = holder
                }
            }
        }
        if let day = article.publishedAt.map({ Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }) {
            for entity in extraction.entities where entity.kind == .person {
                for office in entity.offices { self.officeHolders[office, default: []].append((day, alias[entity.id] ?? entity.id)) }
            }
        }
        self.documentEntities.append(seen)
        self.documentTopics.append(extraction.topics)
        self.documentEventDays.append(extraction.events.compactMap { Self.dayNumber($0.date) })
        for var event in extraction.events {
            if !alias.isEmpty {
                var participants: [String] = []
                for participant in event.participants.map({ alias[$0] ?? $0 }) where !participants.contains(participant) { participants.append(participant) }
                event.participants = participants
            }
            self.addEvent(event, document: document)
        }
    }

    private mutating func addEvent(_ event: ExtractedEvent, document: Int) {
        let persons = event.participants.filter { $0.hasPrefix("person:") }.sorted()
        let key = Self.family(event.code) + "|" + (persons.isEmpty ? event.participants.sorted() : persons).joined(separator: ",")
        let day = Self.dayNumber(event.date)
        if let day {
            for index in self.groupsByKey[key] ?? [] {
                guard let other = self.groups[index].dayNumber, abs(other - day) <= 1 else { continue }
                if self.groups[index].reports.contains(where: { $0.document == document }) { continue }
                let known = Set(self.groups[index].reports.flatMap(\.event.participants))
                for participant in event.participants where !known.contains(participant) { self.groupsByParticipant[participant, default: []].append(index) }
                self.groups[index].reports.append(Report(document: document, event: event))
                return
            }
        }
        for participant in Set(event.participants) { self.groupsByParticipant[participant, default: []].append(self.groups.count) }
        self.groupsByKey[key, default: []].append(self.groups.count)
        self.groups.append(Group(reports: [Report(document: document, event: event)], dayNumber: day))
    }

    // MARK: Resolving names

    /// The entity ids a name stands for: an id as is, a country by any of its names, an entity by name, surname
    /// or acronym; an office with the people who hold it.
    func resolve(_ text: String) -> ResolvedActor {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lowered = trimmed.lowercased()
        var ids: [String] = []
        if let record = self.entities[trimmed] {
            ids = [record.summary.id]
        } else if let country = self.lexicon.country(named: trimmed) {
            ids = ["country:\(country.code)"]
        } else {
            // Exact names first; surnames and acronyms only when nothing has that full name.
            let named = (self.entitiesByName[lowered] ?? []).compactMap { self.entities[$0] }
            let exact = named.filter { $0.summary.name.lowercased() == lowered }
            let matches = exact.isEmpty ? named : exact
            ids = matches.sorted { $0.summary.mentionCount > $1.summary.mentionCount }.map(\.summary.id)
        }
        var expanded = ids
        for id in ids where id.hasPrefix("office:") {
            for holder in self.entities[id]?.summary.offices ?? [] where !expanded.contains(holder) { expanded.append(holder) }
        }
        let name = ids.first.flatMap { self.entities[$0]?.summary.name } ?? ids.first.flatMap { id in
            id.hasPrefix("country:") ? self.lexicon.countries[String(id.dropFirst(8))]?.name : nil
        } ?? trimmed
        return ResolvedActor(query: text, ids: expanded, name: name)
    }

    // MARK: Queries

    /// - Throws: `CancellationError` when the calling task is cancelled.
    func entitiesResponse(_ request: EntitiesRequest) throws -> EntitiesResponse {
        let match = request.match.lowercased()
        let kinds = Set(request.kinds)
        var found: [EntitySummary] = []
        for (step, record) in self.entities.values.enumerated() {
            if step % 1_024 == 1_023 { try Task.checkCancellation() }
            guard kinds.isEmpty || kinds.contains(record.summary.kind) else { continue }
            guard match.isEmpty || record.summary.id.lowercased().contains(match) || record.names.contains(where: { $0.contains(match) }) else { continue }
            found.append(record.summary)
        }
        found = found
        .sorted { ($0.articleCount, $0.mentionCount, $1.id) > ($1.articleCount, $1.mentionCount, $0.id) }
        let limit = request.limit == 0 ? 20 : Int(request.limit)
        return EntitiesResponse(entities: Array(found.prefix(limit)), total: UInt64(found.count))
    }

    func name(_ id: String) -> String {
        if let record = self.entities[id] { return record.summary.name }
        if id.hasPrefix("country:"), let country = self.lexicon.countries[String(id.dropFirst(8))] { return country.name }
        return id
    }

    /// The person who held `office` on `day`: the latest one seen holding it on or before that day, else the
    /// first one seen after it.
    func holder(of office: String, on day: Int) -> String? {
        guard let seen = self.officeHolders[office], !seen.isEmpty else { return nil }
        if let before = seen.filter({ $0.day <= day }).max(by: { $0.day < $1.day }) { return before.person }
        return seen.min(by: { $0.day < $1.day })?.person
    }

    /// An engagement's participants, with the holders of offices that took part without a named person.
    func participants(of group: Group, articles: ArticleLookup) -> [String] {
        var participants: [String] = []
        for report in group.reports { for id in report.event.participants where !participants.contains(id) { participants.append(id) } }
        let day = group.dayNumber ?? group.reports.compactMap { articles.publishedAt($0.document).map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) } }.min()
        guard let day else { return participants }
        for office in participants where office.hasPrefix("office:") {
            let held = participants.contains { person in person.hasPrefix("person:") && (self.entities[person]?.summary.offices.contains(office) ?? false) }
            if !held, let holder = self.holder(of: office, on: day), !participants.contains(holder) { participants.append(holder) }
        }
        return participants
    }

    /// The engagements that can involve `actor`: those its ids take part in, and those of the offices its people
    /// held (an office taking part without a named person stands for its holder at the time).
    func candidateGroups(of actor: ResolvedActor) -> Set<Int> {
        var groups = Set<Int>()
        for id in actor.ids {
            groups.formUnion(self.groupsByParticipant[id] ?? [])
            if id.hasPrefix("person:") {
                for office in self.entities[id]?.summary.offices ?? [] { groups.formUnion(self.groupsByParticipant[office] ?? []) }
            }
        }
        return groups
    }

    /// - Throws: `CancellationError` when the calling task is cancelled (the client went away).
    func timeline(_ request: TimelineRequest, articles: ArticleLookup) throws -> TimelineResponse {
        let actors = request.actors.map(self.resolve)
        let from = request.from.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let to = request.to.map { Int(($0.timeIntervalSince1970 / 86_400).rounded(.down)) }
        let codes = Set(request.codes)
        var selected: [Int] = []
        // Look the engagements up by participant rather than scanning them all: the smallest set first.
        let candidates = actors.map(self.candidateGroups).sorted { $0.count < $1.count }
        let common = candidates.dropFirst().reduce(candidates.first ?? []) { $0.intersection($1) }
        for (step, index) in common.sorted().enumerated() {
            if step % 256 == 255 { try Task.checkCancellation() }
            let group = self.groups[index]
            let participants = Set(self.participants(of: group, articles: articles))
            guard actors.allSatisfy({ !Set($0.ids).isDisjoint(with: participants) }) else { continue }
            if !codes.isEmpty, !group.reports.contains(where: { codes.contains($0.event.code) }) { continue }
            if let from, (group.dayNumber ?? Int.min) < from { continue }
            if let to, (group.dayNumber ?? Int.max) > to { continue }
            selected.append(index)
        }
        func sortDay(_ index: Int) -> Int {
            self.groups[index].dayNumber ?? self.groups[index].reports.compactMap { articles.publishedAt($0.document).map { Int($0.timeIntervalSince1970 / 86_400) } }.min() ?? Int.max
        }
        selected.sort { (self.groups[$0].dayNumber == nil ? 1 : 0, sortDay($0), $0) < (self.groups[$1].dayNumber == nil ? 1 : 0, sortDay($1), $1) }
        let limit = request.limit == 0 ? 100 : Int(request.limit)
        let page = selected.suffix(limit)
        try Task.checkCancellation()
        let engagements = page.map { self.engagement($0, articles: articles) }
        return TimelineResponse(actors: actors, engagements: engagements, total: UInt64(selected.count))
    }

    func engagement(_ index: Int, articles: ArticleLookup) -> Engagement {
        let group = self.groups[index]
        let reports = group.reports.sorted { (articles.publishedAt($0.document) ?? .distantPast, $0.document) < (articles.publishedAt($1.document) ?? .distantPast, $1.document) }
        // The code, date and place most reports give; the first report breaks ties.
        func mostCommon(_ values: [String?]) -> String? {
            let present = values.compactMap { $0 }
            return present.max { a, b in present.count { $0 == a } < present.count { $0 == b } || (present.count { $0 == a } == present.count { $0 == b } && present.firstIndex(of: a)! > present.firstIndex(of: b)!) }
        }
        let code = mostCommon(reports.map(\.event.code)) ?? group.reports[0].event.code
        let date = mostCommon(reports.map(\.event.date))
        let place = mostCommon(reports.map(\.event.place))
        let participants = self.participants(of: group, articles: articles)
        var topics: [String] = []
        for report in reports { for topic in report.event.topics where !topics.contains(topic) { topics.append(topic) } }
        var conflicts: [String] = []
        let dates = Set(reports.compactMap(\.event.date))
        if dates.count > 1 {
            conflicts.append("reports give different dates: " + reports.compactMap { r in r.event.date.map { "\($0) (\(articles.header(r.document).id))" } }.joined(separator: ", "))
        }
        // A back-reference ("their previous interaction occurred on July 29") may be an engagement another
        // article reports with another date.
        if reports.contains(where: \.event.isBackReference), let day = group.dayNumber {
            let persons = Set(participants.filter { $0.hasPrefix("person:") })
            for (otherIndex, other) in self.groups.enumerated() where otherIndex != index {
                guard let otherDay = other.dayNumber, otherDay != day, abs(otherDay - day) <= 7 else { continue }
                let otherPersons = Set(other.reports.flatMap(\.event.participants).filter { $0.hasPrefix("person:") })
                guard !persons.isEmpty, persons == otherPersons, !other.reports.allSatisfy(\.event.isBackReference) else { continue }
                guard !other.reports.contains(where: { r in reports.contains { $0.document == r.document } }) else { continue }
                let first = other.reports[0]
                conflicts.append(
                    "reported as an earlier engagement on \(date ?? "?"); it may be the \(first.event.label) of \(first.event.date ?? "?") reported by \(articles.header(first.document).source ?? articles.header(first.document).id) (\(articles.header(first.document).id)) with another date"
                )
            }
        }
        return Engagement(
            id: "g\(index + 1)",
            code: code,
            label: reports.first { $0.event.code == code }?.event.label ?? code,
            date: date,
            datePrecision: reports.first { $0.event.date == date }?.event.datePrecision,
            participants: participants,
            participantNames: participants.map(self.name),
            place: place,
            placeName: place.map(self.name),
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
}
