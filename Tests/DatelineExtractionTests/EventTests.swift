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

    @Test func officesTakePartWhenNoOneIsNamed() throws {
        let meeting = try #require(extraction.events.last)
        #expect(meeting.code == "040")
        #expect(meeting.date == "2026-02-27")
        #expect(meeting.participants == ["office:PK:foreign-minister", "country:PK", "office:US:secretary-of-state", "country:US"])
    }

    @Test func garbageInNothingOut() {
        for body in ["", "   \n\n  ", "!!!! ???? ,,,,", String(repeating: "a", count: 10_000), "\u{0}\u{1}\u{FFFF}", "“unclosed quote and (bracket"] {
            let result = ArticleExtractor().extract(body: body, published: nil)
            #expect(result.events.isEmpty, "\(body.prefix(20))")
        }
    }
}
