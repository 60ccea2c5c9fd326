import DatelineExtraction
import Testing

@Suite struct TimeTaggerTests {
    /// Tags `text` written on `reference` and returns "text=value" for each expression.
    func tag(_ text: String, on reference: CivilDate = CivilDate(year: 2025, month: 7, day: 26)) -> [String] {
        let tokenized = TokenizedText(text)
        return TimeTagger().tag(tokenized, reference: reference).map { "\(tokenized.text(tokens: $0.first, $0.last))=\($0.value)" }
    }

    @Test func weekdaysResolveToThePastUnlessTheTextLooksAhead() {
        // 2025-07-26 is a Saturday.
        #expect(tag("They met on Friday.") == ["Friday=2025-07-25"])
        #expect(tag("He said on Thursday that talks went well.") == ["Thursday=2025-07-24"])
        #expect(tag("They will meet on Monday.") == ["Monday=2025-07-28"])
        #expect(tag("They met last Saturday.") == ["last Saturday=2025-07-19"])
        #expect(tag("They meet next Friday.") == ["next Friday=2025-08-01"])
        // On a Monday, "on Monday" is that day.
        #expect(tag("A statement on Monday.", on: CivilDate(year: 2025, month: 8, day: 4)) == ["Monday=2025-08-04"])
    }

    @Test func absoluteDatesInferTheirYear() {
        #expect(tag("the April 22 attack") == ["April 22=2025-04-22"])
        #expect(tag("Their previous interaction occurred on July 29.", on: CivilDate(year: 2025, month: 8, day: 4)) == ["July 29=2025-07-29"])
        #expect(tag("on August 4, 2025 and 4 August 2024") == ["August 4, 2025=2025-08-04", "4 August 2024=2024-08-04"])
        #expect(tag("filed 2025-07-26 and 7/26/2025") == ["2025-07-26=2025-07-26", "7/26/2025=2025-07-26"])
        #expect(tag("In January sales rose.", on: CivilDate(year: 1989, month: 11, day: 2)) == ["January=1990-01"])
        #expect(tag("In March he resigned.", on: CivilDate(year: 1989, month: 11, day: 2)) == ["March=1989-03"])
        #expect(tag("the 1990s and mid-1998") == ["the 1990s=199", "mid-1998=1998"])
    }

    @Test func relativeUnitsDurationsAndReferences() {
        #expect(tag("last week") == ["last week=2025-W29"])
        #expect(tag("next month and last year") == ["next month=2025-08", "last year=2024"])
        #expect(tag("three days ago") == ["three days ago=2025-07-23"])
        #expect(tag("in less than ten days") == ["less than ten days=P10D"])
        #expect(tag("for the past three months") == ["the past three months=P3M"])
        #expect(tag("a 6-year-old boy and twenty-four hours") == ["twenty-four hours=PT24H"])
        #expect(tag("It is now clear.") == ["now=PRESENT_REF"])
        #expect(tag("today and yesterday") == ["today=2025-07-26", "yesterday=2025-07-25"])
        #expect(tag("net income in the third quarter rose from a year earlier", on: CivilDate(year: 1989, month: 11, day: 2))
            == ["the third quarter=1989-Q3", "a year earlier=1988-Q3"])
        #expect(tag("two decades") == ["two decades=P20Y"])
        #expect(tag("3 p.m. today") == ["3 p.m.=2025-07-26T15:00", "today=2025-07-26"])
    }

    @Test func withoutAReferenceRelativeDatesStayUnresolved() {
        let tokenized = TokenizedText("They met on Friday, July 29.")
        let values = TimeTagger().tag(tokenized, reference: nil).map(\.value)
        #expect(values == ["XXXX-07-29"])
        #expect(TimeTagger().tag(TokenizedText("on Friday"), reference: nil).map(\.value) == ["XXXX-WXX-5"])
    }

    @Test func wordsThatAreNotDates() {
        #expect(tag("You may go. Jan Smith said 1,990 people came.").isEmpty)
    }
}

@Suite struct CivilDateTests {
    @Test func arithmeticAndWeeks() {
        let date = CivilDate(year: 2025, month: 7, day: 26)
        #expect(CivilDate(dayNumber: date.dayNumber) == date)
        #expect(date.weekday == 6)
        #expect(date.adding(days: 7) == CivilDate(year: 2025, month: 8, day: 2))
        #expect(CivilDate(year: 2021, month: 1, day: 3).isoWeek == (2020, 53))
        #expect(CivilDate(year: 2024, month: 2, day: 29).adding(days: 366) == CivilDate(year: 2025, month: 3, day: 1))
    }
}
