import DatelineProtocol
import DatelineSearch
import DatelineStorage
import DatelineTestSupport
import Foundation
import Testing

@testable import DatelineQuery

/// The entity layer answers the same whatever parts hold the articles: one buffer, several segments, merged
/// segments, or segments followed by buffers.
@Suite("Entities, filters and timelines across segments and buffers")
struct EntityViewTests {
    static let people = [
        ("person:ana-lima", "Ana Lima"), ("person:bo-chen", "Bo Chen"), ("person:carl-dar", "Carl Dar"), ("person:dina-dar", "Dina Dar"),
        ("person:eli-moss", "Eli Moss"), ("person:lima", "Lima"), ("person:moss", "Moss"), ("person:dar", "Dar"), ("person:chen", "Chen"),
    ]
    static let others: [(String, EntityKind, String)] = [
        ("office:us-secretary-of-state", .office, "US Secretary of State"), ("office:pk-foreign-minister", .office, "Pakistan Foreign Minister"),
        ("country:PK", .country, "Pakistan"), ("country:US", .country, "United States"), ("org:trf", .organization, "The Resistance Front"),
    ]
    static let codes = ["040", "041", "043", "046", "057"]

    /// Seeded synthetic articles with entities, offices, topics and events around their publication days.
    static func articles(count: Int, seed: UInt64) -> [StoredArticle] {
        var random = SeededGenerator(seed: seed)
        let start = Date(timeIntervalSince1970: 1_750_000_000)
        return (0..<count).map { number in
            let day = Int.random(in: 0..<40, using: &random)
            let published = Bool.random(using: &random) || number % 3 == 0 ? start.addingTimeInterval(Double(day) * 86_400) : nil
            var entities: [ExtractedEntity] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                if Int.random(in: 0..<3, using: &random) > 0 {
                    let (id, name) = people.randomElement(using: &random)!
                    let offices = id == "person:ana-lima" ? ["office:us-secretary-of-state"] : id == "person:carl-dar" && day > 20 ? ["office:pk-foreign-minister"] : []
                    entities.append(ExtractedEntity(id: id, kind: .person, name: name, titles: offices.isEmpty ? [] : ["minister"], offices: offices, mentionCount: UInt32.random(in: 1...4, using: &random)))
                } else {
                    let (id, kind, name) = others.randomElement(using: &random)!
                    entities.append(ExtractedEntity(id: id, kind: kind, name: name, acronym: kind == .organization ? "TRF" : nil, mentionCount: 1))
                }
            }
            let ids = entities.map(\.id)
            var events: [ExtractedEvent] = []
            if ids.count >= 2 {
                for index in 0..<Int.random(in: 0...2, using: &random) {
                    let participants = Array(Set(ids)).sorted().shuffled(using: &random).prefix(Int.random(in: 2...3, using: &random))
                    let eventDay = day + Int.random(in: -3...1, using: &random)
                    let date = Bool.random(using: &random) || index == 0 ? String(format: "2025-06-%02d", max(1, min(28, eventDay % 28 + 1))) : nil
                    events.append(ExtractedEvent(
                        id: "e\(index + 1)", code: codes.randomElement(using: &random)!, label: "met", participants: Array(participants), date: date,
                        topics: ["trade"], sentences: [EventSentence(text: "They met \(number).", start: 0, end: 10)],
                        isBackReference: Int.random(in: 0..<8, using: &random) == 0
                    ))
                }
            }
            let topics = ["trade", "security", "energy"].filter { _ in Bool.random(using: &random) }
            return StoredArticle(
                id: String(format: "a%04d", number), title: "Article \(number)", source: ["Dawn", "Wire", "Capital"].randomElement(using: &random)!,
                publishedAt: published, tags: ["politics", "Asia"].filter { _ in Bool.random(using: &random) },
                paragraphs: ["Text of article \(number) about talks."], language: "en", contentKey: "k\(number)", ingestedAt: start, format: .plainText,
                extraction: ArticleExtraction(version: 1, entities: entities, topics: topics, events: events)
            )
        }
    }

    /// An index holding `articles` in segments cut at `cuts` (then merged in runs of `mergeRun`, when given),
    /// the rest in the active buffer.
    static func index(_ articles: [StoredArticle], cuts: [Int], mergeRun: Int?, directory: String) throws -> ArticleIndex {
        let index = ArticleIndex(directory: directory, parameters: BM25Parameters())
        var segment = 0
        for (number, article) in articles.enumerated() {
            if cuts.contains(number) {
                for buffer in index.freeze() {
                    index.install(try ArticleIndex.write(buffer, name: "seg-\(segment)", directory: directory), for: buffer)
                    segment += 1
                }
            }
            try index.add(article, offset: UInt64(number))
        }
        if let mergeRun, index.segments.count >= mergeRun {
            let run = Array(index.segments.prefix(mergeRun))
            let writer = try SegmentWriter(directory: directory, name: "merged", columnCount: ArticleIndex.Column.allCases.count)
            try SegmentMerger.merge(run, into: writer, mergeAnnexValues: EntityTables.merge)
            _ = try writer.finish()
            #expect(index.replace(run, with: try IndexSegment(directory: directory, name: "merged")))
        }
        return index
    }

    static func lookup(_ articles: [StoredArticle]) -> EntityView.ArticleLookup {
        EntityView.ArticleLookup(
            publishedAt: { articles[$0].publishedAt },
            header: { .init(id: articles[$0].id, title: articles[$0].title, source: articles[$0].source, publishedAt: articles[$0].publishedAt) }
        )
    }

    /// Everything the view answers, for comparison.
    static func answers(_ view: EntityView, articles: [StoredArticle]) throws -> [String] {
        var answers: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func add(_ value: some Encodable) throws { answers.append(String(decoding: try encoder.encode(value), as: UTF8.self)) }
        try add(try view.entitiesResponse(EntitiesRequest(limit: 1_000)))
        for kind in EntityKind.allCases { try add(try view.entitiesResponse(EntitiesRequest(kinds: [kind], limit: 1_000))) }
        try add(try view.entitiesResponse(EntitiesRequest(match: "trf", limit: 1_000)))
        // The listing without a name (counts read from the tables' heads) and with one every id contains (whole
        // records) agree.
        #expect(try view.entitiesResponse(EntitiesRequest(limit: 1_000)) == (try view.entitiesResponse(EntitiesRequest(match: ":", limit: 1_000))))
        let names = ["Ana Lima", "Lima", "Dar", "Carl Dar", "Moss", "Pakistan", "US Secretary of State", "TRF", "nobody"]
        for name in names {
            let resolved = try view.resolve(name)
            try add(resolved.actor)
            answers.append("\(name): \(try view.documents(withAnyOf: resolved.lookupIDs.map(FilterKey.entity)).members(below: articles.count))")
        }
        for first in names.prefix(7) {
            for second in names.prefix(7) where first < second {
                try add(try view.timeline(TimelineRequest(actors: [first, second]), articles: Self.lookup(articles)))
            }
            try add(try view.timeline(TimelineRequest(actors: [first], codes: ["041"]), articles: Self.lookup(articles)))
        }
        answers.append("\(try view.documents(withEventDaysIn: 20_250...20_265).members(below: articles.count))")
        for key in [FilterKey.topic("Trade"), FilterKey.source("dawn"), FilterKey.tag("asia"), FilterKey.language("EN")] {
            answers.append("\(try view.documents(withAnyOf: [key]).members(below: articles.count))")
        }
        for document in articles.indices { try add(try view.annotation(document).entities.map(view.canonical)) }
        return answers
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func segmentsMergedSegmentsAndBuffersAnswerLikeOneBuffer(seed: UInt64) throws {
        let articles = Self.articles(count: 160, seed: seed)
        let reference = EntityPartBuilder()
        for article in articles { reference.add(article) }
        let expected = try Self.answers(EntityView(parts: [reference]), articles: articles)
        #expect(expected.contains { $0.contains("\"engagements\":[{") }, "the articles make engagements to compare")
        var random = SeededGenerator(seed: seed)
        for (layout, mergeRun) in [(3, nil), (6, 3), (1, nil), (8, 8)] as [(Int, Int?)] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("entity-view-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let cuts = (0..<layout).map { _ in Int.random(in: 1..<articles.count, using: &random) }
            let index = try Self.index(articles, cuts: cuts, mergeRun: mergeRun, directory: directory)
            let answers = try Self.answers(EntityView(parts: index.entityParts()), articles: articles)
            #expect(answers.count == expected.count)
            for (got, want) in zip(answers, expected) where got != want {
                Issue.record("cuts \(cuts.sorted()), merge \(mergeRun.map(String.init) ?? "none"):\n got \(got)\nwant \(want)")
                break
            }
        }
    }

    /// Timelines read only some reports (every report of the actor with the fewest, or those their actors share and
    /// those naming their offices, countries or organisations); a reference forms every engagement from every report
    /// of every article and keeps those involving all actors: each way finds the same engagements, for one, two and
    /// three actors.
    @Test(arguments: [UInt64(4), 5, 6, 7])
    func timelinesFindTheEngagementsFormedFromEveryReport(seed: UInt64) throws {
        let articles = Self.articles(count: 400, seed: seed)
        let builder = EntityPartBuilder()
        for article in articles { builder.add(article) }
        let lookup = Self.lookup(articles)
        func reference(_ actors: [String], in view: EntityView) throws -> [String] {
            var groups: [EntityView.Group] = []
            for document in articles.indices {
                for event in try view.annotation(document).events.indices {
                    guard let report = try view.report(ReportReference(document: UInt32(document), event: UInt32(event))) else { continue }
                    // The first engagement of the same key within a day, unless its article is already there.
                    let joined = report.day.flatMap { day in
                        groups.firstIndex { group in
                            group.reports[0].key == report.key && group.dayNumber.map { abs($0 - day) <= 1 } == true
                                && !group.reports.contains { $0.document == report.document }
                        }
                    }
                    if let joined { groups[joined].reports.append(report) } else { groups.append(.init(reports: [report], dayNumber: report.day)) }
                }
            }
            let resolved = try actors.map(view.resolve)
            return try groups.filter { group in
                let participants = Set(try view.participants(of: group, articles: lookup))
                return resolved.allSatisfy { !Set($0.lookupIDs).isDisjoint(with: participants) }
            }.map { "\(articles[$0.reports[0].document].id)/\($0.reports[0].event.id)" }.sorted()
        }
        let names = ["Ana Lima", "Lima", "Dar", "Carl Dar", "Moss", "Pakistan", "US Secretary of State", "TRF"]
        var compared = 0
        var groups = [[String]]()
        for first in names {
            for second in names where first <= second {
                groups.append(first == second ? [first] : [first, second])
                for third in names where second < third && first < second { groups.append([first, second, third]) }
            }
        }
        for actors in groups {
            let expected = try reference(actors, in: EntityView(parts: [builder]))
            for reading in [EntityView.CandidateReading.cheaper, .everyReportOfTheFewest, .sharedReports] {
                let timeline = try EntityView(parts: [builder]).timeline(TimelineRequest(actors: actors, limit: 10_000), articles: lookup, reading: reading)
                #expect(timeline.engagements.map(\.id).sorted() == expected, "\(actors), \(reading)")
                #expect(timeline.total == UInt64(expected.count))
            }
            compared += expected.count
        }
        #expect(compared > 100, "the articles make engagements to compare")
    }

    /// A name typed by a user stands for the most reported entity it names, with the others listed (issue 15,
    /// item 8): "Blair" is Tony Blair where he is reported most, the articles that say only "Blair" count for him,
    /// and "Blair" with "Brown" finds their meetings.
    @Test func aTypedSurnameIsTheMostReportedPersonWithTheOthersListed() throws {
        let start = Date(timeIntervalSince1970: 1_750_000_000)
        func article(_ number: Int, _ people: [(String, String)], meeting: Bool) -> StoredArticle {
            let entities = people.map { ExtractedEntity(id: $0.0, kind: .person, name: $0.1, mentionCount: 2) }
            let events = meeting && people.count == 2
                ? [ExtractedEvent(id: "e1", code: "040", label: "met", participants: people.map(\.0), date: "2025-06-\(String(format: "%02d", 3 * number + 1))", sentences: [EventSentence(text: "They met.", start: 0, end: 9)])]
                : []
            return StoredArticle(
                id: "a\(number)", title: "Article \(number)", publishedAt: start.addingTimeInterval(Double(number) * 86_400), paragraphs: ["Text \(number)."],
                contentKey: "k\(number)", ingestedAt: start, format: .plainText, extraction: ArticleExtraction(version: 1, entities: entities, events: events)
            )
        }
        let tony = ("person:tony-blair", "Tony Blair"), cherie = ("person:cherie-blair", "Cherie Blair"), blair = ("person:blair", "Blair")
        let brown = ("person:gordon-brown", "Gordon Brown")
        var articles: [StoredArticle] = []
        for n in 0..<5 { articles.append(article(n, [tony, brown], meeting: true)) }
        for n in 5..<7 { articles.append(article(n, [cherie], meeting: false)) }
        for n in 7..<10 { articles.append(article(n, [blair, brown], meeting: true)) }
        let builder = EntityPartBuilder()
        for article in articles { builder.add(article) }
        let view = EntityView(parts: [builder])

        let resolved = try view.resolve("Blair")
        #expect(resolved.actor.ids == ["person:tony-blair"] && resolved.actor.name == "Tony Blair")
        #expect(resolved.actor.alternatives.map(\.id) == ["person:cherie-blair"], "the surname alone is no alternative: it counts for Tony Blair")
        #expect(resolved.actor.alternatives.first?.articleCount == 2)
        #expect(Set(resolved.lookupIDs) == ["person:tony-blair", "person:blair"])
        let timeline = try view.timeline(TimelineRequest(actors: ["Blair", "Brown"]), articles: Self.lookup(articles))
        #expect(timeline.total == 8, "five meetings reported with Tony Blair, three with Blair alone")
        // A full name is that person, and nobody else is offered.
        let cherieResolved = try view.resolve("Cherie Blair")
        #expect(cherieResolved.actor.ids == ["person:cherie-blair"] && cherieResolved.actor.alternatives.isEmpty)
        #expect(try view.timeline(TimelineRequest(actors: ["Cherie Blair", "Brown"]), articles: Self.lookup(articles)).total == 0)
        // Nothing known: nothing resolved, nothing offered.
        let nobody = try view.resolve("Nobody")
        #expect(nobody.actor.ids.isEmpty && nobody.actor.alternatives.isEmpty)
    }

    /// The date filter's sequential reader gives every article's publication time whichever part holds it, in
    /// document order (as searches ask), jumping back, past the end and across segments and buffers.
    @Test func publicationTimesReadInAnyOrderAcrossPartsAreTheArticles() throws {
        let articles = Self.articles(count: 300, seed: 9)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("publication-times-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let index = try Self.index(articles, cuts: [70, 71, 200], mergeRun: nil, directory: directory)
        #expect(index.segments.count == 3)
        let times = ArticleIndex.PublicationTimes(index)
        let expected = articles.map { $0.publishedAt?.timeIntervalSince1970 }
        #expect((0..<300).map { times($0) } == expected)
        var random = SeededGenerator(seed: 9)
        for _ in 0..<500 {
            let document = Int.random(in: 0..<300, using: &random)
            #expect(times(document) == expected[document] && index.publishedAt(document) == expected[document])
        }
        #expect(times(300) == nil && times(-1) == nil && times(299) == expected[299])
    }

    /// A search's date and document filter, applied to a whole match list at once, keeps exactly the documents a
    /// per-article check keeps, across segments and buffers, undated articles, open and closed ranges.
    @Test func theBulkDateFilterKeepsWhatAPerArticleCheckKeeps() throws {
        let articles = Self.articles(count: 300, seed: 11)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-filter-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let index = try Self.index(articles, cuts: [70, 71, 200], mergeRun: nil, directory: directory)
        #expect(index.segments.count == 3)
        var random = SeededGenerator(seed: 11)
        let start = 1_750_000_000.0
        for round in 0..<60 {
            let documents = (0..<300).filter { _ in Int.random(in: 0..<3, using: &random) > 0 }.map(UInt32.init)
            let from: Double? = round % 3 == 1 ? nil : start + Double(Int.random(in: 0..<40, using: &random)) * 86_400
            let to: Double? = round % 3 == 2 ? nil : (from ?? start) + Double(Int.random(in: 0..<20, using: &random)) * 86_400
            var allowed: DocumentBits?
            if round % 2 == 1 {
                allowed = DocumentBits(count: 300)
                for document in 0..<300 where document % 5 != 0 { allowed!.insert(document) }
            }
            let expected = documents.filter { document in
                if let allowed, !allowed.contains(Int(document)) { return false }
                guard from != nil || to != nil else { return true }
                guard let published = articles[Int(document)].publishedAt?.timeIntervalSince1970 else { return false }
                return published >= (from ?? -.infinity) && published <= (to ?? .infinity)
            }
            #expect(index.filter(documents, from: from, to: to, allowed: allowed) == expected, "round \(round)")
        }
    }

    /// Entity listings and timelines read a snapshot outside the service's lock: articles added to the active
    /// buffer afterwards change neither its entities nor its articles.
    @Test func anEntitySnapshotIsUnchangedByLaterArticles() throws {
        let articles = Self.articles(count: 240, seed: 6)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("entity-snapshot-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let index = try Self.index(Array(articles.prefix(160)), cuts: [60], mergeRun: nil, directory: directory)
        let snapshot = index.entitySnapshot()
        let before = try Self.answers(EntityView(parts: snapshot.entityParts()), articles: Array(articles.prefix(160)))
        for (number, article) in articles.enumerated().dropFirst(160) { try index.add(article, offset: UInt64(number)) }
        #expect(snapshot.count == 160 && index.count == 240)
        #expect(try Self.answers(EntityView(parts: snapshot.entityParts()), articles: Array(articles.prefix(160))) == before)
        #expect(try (0..<160).map { try snapshot.article($0).id } == articles.prefix(160).map(\.id))
        #expect(try Self.answers(EntityView(parts: index.entityParts()), articles: articles) != before, "the index itself moved on")
    }

    @Test func aSurnameAloneIsTheOneKnownPersonWhateverTheOrder() throws {
        func article(_ number: Int, _ entities: [ExtractedEntity]) -> StoredArticle {
            StoredArticle(
                id: "a\(number)", paragraphs: ["text"], contentKey: "k\(number)", ingestedAt: Date(timeIntervalSince1970: 0), format: .plainText,
                extraction: ArticleExtraction(version: 1, entities: entities)
            )
        }
        let surname = ExtractedEntity(id: "person:dar", kind: .person, name: "Dar", mentionCount: 2)
        let full = ExtractedEntity(id: "person:ishaq-dar", kind: .person, name: "Ishaq Dar", mentionCount: 1)
        // The surname-only article comes first: it still counts for the full name known later.
        let part = EntityPartBuilder()
        part.add(article(0, [surname]))
        part.add(article(1, [full]))
        let view = EntityView(parts: [part])
        let listed = try view.entitiesResponse(EntitiesRequest(limit: 10)).entities
        #expect(listed.map(\.id) == ["person:ishaq-dar"])
        #expect(listed.first?.articleCount == 2 && listed.first?.mentionCount == 3)
        #expect(try view.resolve("Ishaq Dar").lookupIDs == ["person:ishaq-dar", "person:dar"])
        // A second person of that surname makes "Dar" ambiguous: it is no longer anyone's alias.
        part.add(article(2, [ExtractedEntity(id: "person:ayesha-dar", kind: .person, name: "Ayesha Dar", mentionCount: 1)]))
        let ambiguous = EntityView(parts: [part])
        #expect(try ambiguous.alias(of: "person:dar") == nil)
        #expect(Set(try ambiguous.entitiesResponse(EntitiesRequest(limit: 10)).entities.map(\.id)) == ["person:dar", "person:ishaq-dar", "person:ayesha-dar"])
    }

    @Test func aDamagedAnnexIsReportedAsTheSegmentsDamageNotACrash() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("entity-annex-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let articles = Self.articles(count: 40, seed: 9)
        let index = try Self.index(articles, cuts: [39], mergeRun: nil, directory: directory)
        let path = directory + "/seg-0.annx"
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(index.segments.count == 1)
        #expect(throws: DatelineStorageError.self) { try IndexSegment(directory: directory, name: "seg-0") }
    }
}

extension DocumentBits {
    func members(below count: Int) -> [Int] { (0..<count).filter(self.contains) }
}
