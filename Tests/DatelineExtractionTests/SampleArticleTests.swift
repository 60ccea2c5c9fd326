import DatelineArticles
import DatelineExtraction
import DatelineProtocol
import Foundation
import Testing

/// The two sample articles, annotated by hand: every entity, date, quote and event they contain.
enum SampleArticles {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples")

    /// The article's body and its extraction as ingest makes it (title and dateline read too), and the texts
    /// of its fields.
    static func extract(_ name: String) throws -> (body: String, extraction: ArticleExtraction, fields: [ArticleField: String]) {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        let parsed = PlainTextArticleParser.parse(text)
        let body = parsed.paragraphs.joined(separator: "\n\n")
        let published = parsed.publishedAt.map { CivilDate(dayNumber: Int($0.timeIntervalSince1970 / 86_400)) }
        let extraction = ArticleExtractor().extract(body: body, published: published, datelinePlace: parsed.datelinePlace, title: parsed.title)
        return (body, extraction, [.body: body, .title: parsed.title ?? "", .dateline: parsed.datelinePlace ?? ""])
    }

    /// The text a mention's offsets cut out of the body.
    static func cut(_ body: String, _ start: UInt32, _ end: UInt32) -> String {
        let scalars = Array(body.unicodeScalars)
        return String(String.UnicodeScalarView(scalars[Int(start)..<Int(end)]))
    }
}

@Suite struct IslamabadCallArticleTests {
    let body: String
    let result: ArticleExtraction
    let fields: [ArticleField: String]

    init() throws {
        (self.body, self.result, self.fields) = try SampleArticles.extract("000_840db5600f595d32.txt")
    }

    @Test func people() throws {
        let dar = try #require(result.entity("person:ishaq-dar"))
        #expect(dar.name == "Ishaq Dar")
        #expect(dar.country == "PK")
        #expect(dar.titles == ["Deputy Prime Minister", "Foreign Minister", "Senator"])
        #expect(dar.offices == ["office:PK:deputy-prime-minister", "office:PK:foreign-minister"])
        let rubio = try #require(result.entity("person:marco-rubio"))
        #expect(rubio.country == "US")
        #expect(rubio.titles == ["Secretary of State"])
        #expect(rubio.offices == ["office:US:secretary-of-state"])
        #expect(result.entities.filter { $0.kind == .person }.count == 2)
        // Later mentions link to the same people: "Senator Dar", "Secretary Rubio", "the two leaders", "Their".
        let darMentions = result.mentions(of: dar.id).map(\.text)
        #expect(darMentions == ["Ishaq Dar", "the two leaders", "Their", "both sides", "Dar", "the two leaders"])
        #expect(result.mentions(of: rubio.id).map(\.text).contains("Rubio"))
    }

    @Test func officesCountriesPlacesOrganisations() throws {
        #expect(result.entity("office:US:secretary-of-state")?.name == "US Secretary of State")
        #expect(result.entity("office:PK:foreign-minister")?.name == "Pakistan Foreign Minister")
        #expect(result.entity("office:PK:deputy-prime-minister")?.name == "Pakistan Deputy Prime Minister")
        #expect(result.entity("org:PK:foreign-office")?.name == "Pakistan Foreign Office")
        #expect(Set(result.entities.filter { $0.kind == .country }.map(\.id)) == ["country:PK", "country:US"])
        #expect(Set(result.entities.filter { $0.kind == .place }.map(\.id)) == ["place:islamabad", "place:washington", "place:south-asia"])
        // "Islamabad" and "Washington" stand for their countries; "Pakistan-U.S." names both.
        let countryTexts = result.mentions.filter { result.entityID(of: $0).hasPrefix("country:") }.map(\.text)
        #expect(countryTexts.contains("Islamabad") && countryTexts.contains("Washington") && countryTexts.contains("U.S."))
    }

    @Test func offsetsCutTheMentionOutOfTheBody() {
        // The dateline ("Islamabad — August 4, 2025:") names its place; the date is the publication date.
        #expect(result.mentions.filter { $0.field == .dateline }.map { "\($0.text)=\(result.entityID(of: $0))" } == ["Islamabad=place:islamabad"])
        for mention in result.mentions { #expect(SampleArticles.cut(fields[mention.field]!, mention.start, mention.end) == mention.text) }
        for time in result.times { #expect(SampleArticles.cut(fields[time.field]!, time.start, time.end) == time.text) }
    }

    @Test func dates() {
        let times = result.times.map { "\($0.text)=\($0.value)/\($0.precision)/\($0.modifier ?? "")" }
        #expect(times == [
            "Monday=2025-08-04/day/", "less than ten days=P10D/duration/LESS_THAN", "July 29=2025-07-29/day/",
            "current=PRESENT_REF/reference/",  // "the current state of Pakistan-U.S. relations"
        ])
    }

    @Test func topics() {
        #expect(Set(result.topics) == ["diplomacy", "trade", "regional stability", "economy", "security", "counterterrorism", "climate", "energy"])
    }

    @Test func events() throws {
        let call = try #require(result.events.first { $0.code == "041" })
        #expect(call.label == "discuss by telephone")
        #expect(call.date == "2025-08-04")
        #expect(call.dateText == "Monday")
        #expect(call.place == nil)
        #expect(Set(call.participants).isSuperset(of: ["person:ishaq-dar", "person:marco-rubio", "country:PK", "country:US"]))
        #expect(call.isBackReference == false)
        #expect(Set(call.topics).isSuperset(of: ["trade", "regional stability", "counterterrorism", "climate"]))
        #expect(call.sentences.first?.text.hasPrefix("Deputy Prime Minister and Foreign Minister of Pakistan") == true)
        let previous = try #require(result.events.first { $0.isBackReference })
        #expect(previous.code == "040")
        #expect(previous.date == "2025-07-29")
        #expect(Set(previous.participants).isSuperset(of: ["person:ishaq-dar", "person:marco-rubio"]))
        // The Foreign Office's statement (the whole text "according to" it) and what it "highlighted" (issue 15,
        // item 11: reported statements are statements too).
        let statements = result.events.filter { $0.code == "010" }
        #expect(statements.map { $0.participants } == [["org:PK:foreign-office", "country:PK"], ["org:PK:foreign-office", "country:PK"]])
        #expect(statements.first?.date == "2025-08-04")
        // One call with two participants, not two events; nothing else.
        #expect(result.events.filter { $0.code == "041" }.count == 1)
        // "after the announcement of a recent trade agreement" between the two nations (issue 15, item 12).
        let agreement = try #require(result.events.first { $0.code == "057" })
        #expect(agreement.label == "sign formal agreement" && Set(agreement.participants) == ["country:US", "country:PK"])
        #expect(agreement.topics.first == "trade")
        #expect(result.events.count == 5)
        #expect(!result.quotes.contains { !$0.reported }, "no words are quoted")
    }

    /// Reported speech (issue 15, item 11): the clause reported, its speaker and verb; body[start..<end] is the text.
    @Test func reportedSpeech() {
        let reported = result.quotes.map { "\($0.speaker ?? "-") | \($0.speakerText ?? "-") | \($0.verb ?? "-") | \($0.text.prefix(40))" }
        #expect(reported == [
            "org:PK:foreign-office | a statement issued by Pakistan’s Foreign Office on Monday | according to | Deputy Prime Minister and Foreign Minist",
            "org:PK:foreign-office | Foreign Office | highlighted | the two leaders exchanged views on sever",
            "- | Diplomatic observers | believe | the increased frequency of contact betwe",
        ])
        for quote in result.quotes { #expect(quote.reported && SampleArticles.cut(body, quote.start, quote.end) == quote.text) }
    }
}

@Suite struct WashingtonMeetingArticleTests {
    let body: String
    let result: ArticleExtraction
    let fields: [ArticleField: String]

    init() throws {
        (self.body, self.result, self.fields) = try SampleArticles.extract("004_e96d74743f33cd42.txt")
    }

    @Test func people() throws {
        let rubio = try #require(result.entity("person:marco-rubio"))
        #expect(rubio.titles == ["Secretary of State"])
        #expect(rubio.offices == ["office:US:secretary-of-state"])
        let dar = try #require(result.entity("person:ishaq-dar"))
        #expect(dar.titles == ["Deputy Prime Minister", "Foreign Minister"])
        #expect(dar.offices == ["office:PK:deputy-prime-minister", "office:PK:foreign-minister"])
        let khan = try #require(result.entity("person:shafqat-ali-khan"))
        #expect(khan.titles == ["Foreign Office spokesperson"])
        #expect(khan.offices == ["office:PK:foreign-office-spokesperson"])
        #expect(khan.country == "PK")
        #expect(result.entities.filter { $0.kind == .person }.count == 3)
        #expect(result.mentions(of: dar.id).filter { $0.field == .body }.map(\.text) == ["Ishaq Dar", "Ishaq Dar", "Dar", "Ishaq Dar"])
    }

    /// The title ("Rubio, Ishaq Dar Hold Talks in Washington") and the dateline ("Washington, D.C.") are read
    /// too, with offsets into their own text.
    @Test func titleAndDateline() {
        let title = result.mentions.filter { $0.field == .title }.map { "\($0.text)=\(result.entityID(of: $0))" }
        #expect(title == ["Rubio=person:marco-rubio", "Ishaq Dar=person:ishaq-dar", "Washington=place:washington"])
        let dateline = result.mentions.filter { $0.field == .dateline }.map { "\($0.text)=\(result.entityID(of: $0))" }
        #expect(dateline == ["Washington=place:washington"])
        #expect(result.times.allSatisfy { $0.field == .body }, "neither names a date")
    }

    @Test func organisationsAcronymsDesignations() throws {
        let trf = try #require(result.entity("org:the-resistance-front"))
        #expect(trf.name == "The Resistance Front")
        #expect(trf.acronym == "TRF")
        #expect(trf.designations == ["designation:fto", "designation:sdgt"])
        #expect(result.mentions(of: trf.id).map(\.text) == ["The Resistance Front", "TRF", "TRF", "TRF"])
        let let_ = try #require(result.entity("org:lashkar-e-taiba"))
        #expect(let_.acronym == "LeT")
        #expect(let_.country == "PK")
        #expect(result.entity("designation:fto")?.name == "Foreign Terrorist Organization")
        #expect(result.entity("designation:sdgt")?.acronym == "SDGT")
        #expect(result.entity("org:PK:foreign-office")?.name == "Pakistan Foreign Office")
    }

    @Test func placesAndCountries() {
        #expect(Set(result.entities.filter { $0.kind == .country }.map(\.id)) == ["country:US", "country:PK", "country:IN"])
        #expect(Set(result.entities.filter { $0.kind == .place }.map(\.id))
            == ["place:washington", "place:jammu-and-kashmir", "place:islamabad", "place:new-delhi", "place:south-asia"])
        #expect(result.entity("place:jammu-and-kashmir")?.country == "IN")
        // "Pakistani" → PK; "New Delhi" → IN.
        #expect(result.mentions(of: "country:PK").contains { $0.text == "Pakistani" })
        #expect(result.mentions(of: "country:IN").contains { $0.text == "New Delhi" })
    }

    @Test func offsetsCutTheMentionOutOfTheBody() {
        for mention in result.mentions { #expect(SampleArticles.cut(fields[mention.field]!, mention.start, mention.end) == mention.text) }
        for quote in result.quotes { #expect(SampleArticles.cut(body, quote.start, quote.end) == quote.text, "body[start..<end] is the quote") }
    }

    @Test func dates() {
        let times = result.times.map { "\($0.text)=\($0.value)" }
        #expect(times == ["Friday=2025-07-25", "April 22=2025-04-22", "Thursday=2025-07-24"])
    }

    @Test func quotes() throws {
        let direct = result.quotes.filter { !$0.reported }
        #expect(direct.count == 2)
        let grateful = direct[0]
        #expect(grateful.text == "Grateful for Pakistan’s partnership in countering terrorism and preserving regional stability")
        #expect(grateful.speaker == "person:marco-rubio")
        #expect(grateful.verb == "stated")
        let exchange = direct[1]
        #expect(exchange.text == "Exchange of views will also take place on the Pakistan-India question")
        #expect(exchange.speaker == "person:shafqat-ali-khan")
        #expect(exchange.speakerText == "Foreign Office spokesperson Shafqat Ali Khan")
        #expect(exchange.verb == "said")
        #expect(exchange.date == "2025-07-24")
        // Reported speech: "He also confirmed that …" (Rubio, whose words come just before), "the Foreign Office
        // earlier indicated that …".
        let reported = result.quotes.filter(\.reported).map { "\($0.speaker ?? "-") | \($0.speakerText ?? "-") | \($0.verb ?? "-") | \($0.text.prefix(40))" }
        #expect(reported == [
            "person:marco-rubio | He | confirmed | discussions were held on boosting bilate",
            "org:PK:foreign-office | Foreign Office | indicated | relations between Islamabad and New Delh",
        ])
    }

    @Test func topics() {
        #expect(Set(result.topics).isSuperset(of: ["counterterrorism", "trade", "regional stability", "minerals and rare earths", "security", "economy"]))
    }

    @Test func events() throws {
        let meeting = try #require(result.events.first { $0.code == "043" })
        #expect(meeting.label == "host a visit")
        #expect(meeting.date == "2025-07-25")
        #expect(meeting.dateText == "Friday")
        #expect(meeting.place == "place:washington")
        #expect(Set(meeting.participants).isSuperset(of: ["person:marco-rubio", "person:ishaq-dar", "country:US", "country:PK"]))
        #expect(Set(meeting.topics).isSuperset(of: ["counterterrorism", "trade", "regional stability", "minerals and rare earths"]))
        let designation = try #require(result.events.first { $0.code == "163" })
        #expect(designation.participants == ["country:US", "org:the-resistance-front", "designation:fto", "designation:sdgt"])
        // Quoted and reported: Rubio "stated" and "also confirmed" (on the meeting's day), the Foreign Office "earlier
        // indicated" (undated: before the visit), its spokesperson "said on Thursday".
        let statements = result.events.filter { $0.code == "010" }
        #expect(statements.map(\.participants.first) == ["person:marco-rubio", "person:marco-rubio", "org:PK:foreign-office", "person:shafqat-ali-khan"])
        #expect(statements.map(\.date) == ["2025-07-25", "2025-07-25", nil, "2025-07-24"])
        // "The high-level meeting took place during Ishaq Dar's official visit to Washington": the visit is an event
        // of its own, just before the meeting (issue 15, item 12).
        let visit = try #require(result.events.first { $0.code == "042" })
        #expect(visit.label == "make a visit" && visit.id == "e1" && meeting.id == "e2")
        #expect(visit.participants == ["person:ishaq-dar", "country:PK", "country:US"])
        #expect(visit.place == "place:washington" && visit.date == "2025-07-25")
        #expect(visit.sentences.first?.text.hasPrefix("The high-level meeting took place during Ishaq Dar") == true)
        // "TRF had claimed responsibility for the April 22 attack in India’s Jammu and Kashmir region, which killed
        // 26 civilians" (issue 15, item 12); "any potential agreements signed" is no agreement.
        let attack = try #require(result.events.first { $0.code == "180" })
        #expect(attack.label == "use unconventional violence")
        #expect(attack.date == "2025-04-22" && attack.place == "place:jammu-and-kashmir" && attack.killed == 26)
        #expect(attack.participants == ["org:the-resistance-front", "country:IN"])
        #expect(!result.events.contains { $0.code == "057" })
        #expect(result.events.count == 8)
    }
}
