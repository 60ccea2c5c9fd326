import DatelineExtraction
import DatelineProtocol
import Testing

/// Event types beyond the samples, on text written for the purpose.
@Suite struct EventTests {
    let extraction = ArticleExtractor().extract(
        body: """
            Chinese Foreign Minister Wang Yi met Indian External Affairs Minister Subrahmanyam Jaishankar in Geneva on Tuesday to discuss border trade.

            Wang said he would visit New Delhi next month. The two ministers will meet again in April, officials said.

            “We are making progress,” Wang told reporters.

            Pakistan's foreign minister met the U.S. secretary of state on Friday.
            """,
        published: CivilDate(year: 2026, month: 3, day: 3)
    )

    @Test func aMeetingInAThirdCountry() throws {
        let meeting = try #require(extraction.events.first)
        #expect(meeting.code == "044")
        #expect(meeting.date == "2026-03-03")
        #expect(meeting.place == "place:geneva")
        #expect(Set(meeting.participants).isSuperset(of: ["person:wang-yi", "person:subrahmanyam-jaishankar", "country:CN", "country:IN"]))
        #expect(extraction.entity("person:subrahmanyam-jaishankar")?.offices == ["office:IN:foreign-minister"])
        #expect(meeting.topics == ["trade"])
    }

    @Test func intentionsToMeetAndVisit() {
        let intents = extraction.events.filter { $0.code == "036" }
        #expect(intents.map(\.date) == ["2026-04", "2026-04"])
        #expect(intents.first?.place == "place:new-delhi")
        // "Wang" is Wang Yi, not a new person.
        #expect(extraction.entities.filter { $0.kind == .person }.map(\.id) == ["person:wang-yi", "person:subrahmanyam-jaishankar"])
        #expect(Set(intents[1].participants).isSuperset(of: ["person:wang-yi", "person:subrahmanyam-jaishankar"]))
    }

    @Test func aQuoteIsAStatement() {
        let direct = extraction.quotes.filter { !$0.reported }
        #expect(direct.map(\.speaker) == ["person:wang-yi"])
        #expect(direct.first?.verb == "told")
        // "Wang said he would visit New Delhi next month": reported speech, its speaker resolved; "…, officials
        // said": an unnamed speaker, the words before the attribution.
        let reported = extraction.quotes.filter(\.reported).map { "\($0.speaker ?? $0.speakerText ?? "?") \($0.verb ?? "?"): \($0.text)" }
        #expect(reported == ["person:wang-yi said: he would visit New Delhi next month", "officials said: The two ministers will meet again in April"])
        #expect(extraction.events.contains { $0.code == "010" && $0.participants.first == "person:wang-yi" })
    }

    /// "The two diplomats" are the two people with diplomatic offices, not the last two named (a president met
    /// in between); "both leaders" the heads of state; a group noun with no office in it ("the two men") the last two.
    @Test func aGroupNounNamesThePeopleWhoseOfficesItFits() {
        let body = """
            U.S. Secretary of State Antony Blinken met Chinese Foreign Minister Wang Yi in Beijing on Friday. Blinken is \
            expected to meet President Xi Jinping later in the day. The two diplomats last met in Washington in October.
            President Joe Biden spoke with Xi Jinping by telephone in March. Both leaders agreed to keep talking.
            Wang Yi later called Biden. The two men discussed trade.
            """
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2024, month: 4, day: 26))
        func group(_ text: String) -> Set<String> { Set(extraction.mentions.filter { $0.text == text }.map { extraction.entities[Int($0.entityIndex)].id }) }
        #expect(group("The two diplomats") == ["person:antony-blinken", "person:wang-yi"])
        #expect(group("Both leaders") == ["person:joe-biden", "person:xi-jinping"])
        #expect(group("The two men") == ["person:wang-yi", "person:joe-biden"])
        // A two-letter family name written first refers back to its person: "Xi" is Xi Jinping.
        let later = ArticleExtractor().extract(body: body + "\nBlinken later met Xi. Xi said ties had improved.", published: CivilDate(year: 2024, month: 4, day: 26))
        #expect(later.mentions(of: "person:xi-jinping").map(\.text) == ["Xi Jinping", "Xi Jinping", "Both leaders", "Xi", "Xi"])
        #expect(!later.entities.contains { $0.id == "person:xi" })
    }

    /// A wire story's attack: "The attack in …" a sentence later is the same one (its place and perpetrators join it);
    /// the dateline is where the story was filed, the attack's place only when no other is said.
    @Test func anAttackNamedAgainIsTheSameAttack() throws {
        let body = """
            PESHAWAR, Pakistan (AP) — A suicide bomber blew himself up at a crowded market on Saturday, killing at least \
            12 people, police said.
            The attack in the town of Bannu, near the Afghan border, was claimed by the Taliban.
            """
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2025, month: 3, day: 8), datelinePlace: "PESHAWAR, Pakistan")
        let attacks = extraction.events.filter { $0.code == "183" || $0.code == "180" }
        #expect(attacks.count == 1, "\(attacks)")
        let attack = try #require(attacks.first)
        #expect(attack.code == "183" && attack.killed == 12 && attack.date == "2025-03-08")
        #expect(attack.place == "place:bannu" && attack.participants.contains("org:taliban"))
        #expect(attack.sentences.count == 2)
        let filed = ArticleExtractor().extract(
            body: "PESHAWAR, Pakistan (AP) — A bomb killed five people at a market on Saturday, police said.",
            published: CivilDate(year: 2025, month: 3, day: 8), datelinePlace: "PESHAWAR, Pakistan"
        )
        #expect(filed.events.first { $0.code == "183" }?.place == "place:peshawar")
    }

    @Test func officesTakePartWhenNoOneIsNamed() throws {
        let meeting = try #require(extraction.events.last)
        #expect(meeting.code == "040")
        #expect(meeting.date == "2026-02-27")
        #expect(meeting.participants == ["office:PK:foreign-minister", "country:PK", "office:US:secretary-of-state", "country:US"])
    }

    /// Issue 15, items 11 and 12: a visit is an event of its own beside the meeting it contains, made by the
    /// visitors (not the hosts); reported statements by people and by organisations are statements (010) too.
    @Test func visitsBesideTheirMeetingsAndReportedStatements() throws {
        let extraction = ArticleExtractor().extract(
            body: """
                Indian External Affairs Minister Subrahmanyam Jaishankar met Chinese Foreign Minister Wang Yi in Beijing on Monday. \
                The meeting took place during Jaishankar's official visit to Beijing.

                China's Foreign Ministry highlighted that the two sides agreed to resume border trade.

                Jaishankar will visit Tokyo next month.
                """,
            published: CivilDate(year: 2026, month: 3, day: 3)
        )
        let codes = extraction.events.map(\.code)
        #expect(codes == ["042", "043", "010", "036"], "\(codes)")
        let visit = try #require(extraction.events.first)
        #expect(visit.label == "make a visit")
        #expect(visit.participants == ["person:subrahmanyam-jaishankar", "country:IN", "country:CN"], "the visitor, then the host country")
        #expect(visit.place == "place:beijing" && visit.date == "2026-03-02")
        #expect(visit.sentences.map(\.text) == ["The meeting took place during Jaishankar's official visit to Beijing."])
        let meeting = extraction.events[1]
        #expect(Set(meeting.participants).isSuperset(of: ["person:subrahmanyam-jaishankar", "person:wang-yi"]))
        #expect(extraction.events.map(\.id) == ["e1", "e2", "e3", "e4"])
        let statement = extraction.events[2]
        #expect(statement.participants == ["org:CN:foreign-ministry", "country:CN"], "\(statement.participants)")
        // An intended visit is no visit made.
        #expect(!extraction.events.contains { $0.code == "042" && $0.place == "place:tokyo" })
    }

    @Test func garbageInNothingOut() {
        for body in ["", "   \n\n  ", "!!!! ???? ,,,,", String(repeating: "a", count: 10_000), "\u{0}\u{1}\u{FFFF}", "“unclosed quote and (bracket"] {
            let result = ArticleExtractor().extract(body: body, published: nil)
            #expect(result.events.isEmpty, "\(body.prefix(20))")
        }
    }
}
