import DatelineExtraction
import Testing

@Suite struct TimeTaggerTests {
    /// Tags `text` written on `reference` and returns "text=value" for each expression.
    func tag(_ text: String, on reference: CivilDate = CivilDate(year: 2025, month: 7, day: 26)) -> [String] {
        let tokenized = TokenizedText(text)
        return TimeTagger().tag(tokenized, reference: reference).map { "\(tokenized.text(tokens: $0.first, $0.last))=\($0.value)" }
    }

    /// Issue 15, item 10: named days, years in words, centuries, sets, parts of days and clock times on a day.
    @Test func holidaysAreTheNearestOneUnlessARelationSaysOtherwise() {
        // 2025-07-26: Thanksgiving 2025 is November 27 (the fourth Thursday), Easter 2025 April 20.
        #expect(tag("Talks are due before Thanksgiving.") == ["Thanksgiving=2025-11-27"])
        #expect(tag("He spoke at Thanksgiving.", on: CivilDate(year: 2025, month: 2, day: 1)) == ["Thanksgiving=2024-11-28"], "the nearest")
        #expect(tag("He spoke at Easter.") == ["Easter=2025-04-20"])
        #expect(tag("last Christmas and New Year's Day", on: CivilDate(year: 2025, month: 7, day: 26)) == ["last Christmas=2024-12-25", "New Year's Day=2026-01-01"])
        // US election day: the Tuesday after the first Monday of November (1998: November 3; 2022: November 8).
        #expect(tag("before Election Day", on: CivilDate(year: 1998, month: 10, day: 20)) == ["Election Day=1998-11-03"])
        #expect(tag("before Election Day", on: CivilDate(year: 2022, month: 10, day: 20)) == ["Election Day=2022-11-08"])
        #expect(tag("on Memorial Day", on: CivilDate(year: 2025, month: 6, day: 1)) == ["Memorial Day=2025-05-26"])
    }

    @Test func yearsInWordsCenturiesAndDecades() {
        #expect(tag("in nineteen ninety-six and January nineteen ninety-seven", on: CivilDate(year: 1998, month: 3, day: 1))
            == ["nineteen ninety-six=1996", "January nineteen ninety-seven=1997-01"])
        #expect(tag("by the year two thousand", on: CivilDate(year: 1998, month: 3, day: 1)) == ["the year two thousand=2000"])
        #expect(tag("since the 20th century and the eleventh century") == ["the 20th century=19", "the eleventh century=10"])
        #expect(tag("in the nineties", on: CivilDate(year: 1998, month: 3, day: 1)) == ["the nineties=199"])
        #expect(tag("in the nineties") == ["the nineties=199"], "the last nineties before 2025")
        #expect(tag("nineteen people were hurt") == [], "a count is no year")
    }

    @Test func setsPartsOfDaysAndClockTimesOnADay() {
        #expect(tag("The report is published quarterly.") == ["quarterly=P3M"])
        #expect(tag("quarterly results") == [], "an adjective is no set")
        #expect(tag("each July and every Thursday and every morning") == ["each July=XXXX-07", "every Thursday=XXXX-WXX-4", "every morning=XXXX-XX-XXTMO"])
        // 2025-07-26 is a Saturday.
        #expect(tag("They met Friday night.") == ["Friday night=2025-07-25TNI"])
        #expect(tag("He left last night.") == ["last night=2025-07-25TNI"])
        #expect(tag("at 10 p.m. Wednesday") == ["10 p.m. Wednesday=2025-07-23T22:00"])
        #expect(tag("Trading will resume at 9 a.m. EST Monday.") == ["9 a.m. EST Monday=2025-07-28T09:00"])
        #expect(tag("by noon Thursday") == ["noon Thursday=2025-07-24T12:00"])
        #expect(tag("at 5 p.m. on Aug. 1", on: CivilDate(year: 2025, month: 8, day: 4)) == ["5 p.m. on Aug. 1=2025-08-01T17:00"])
    }

    @Test func theYearBeforeAndSeasons() {
        #expect(tag("up from year-earlier levels", on: CivilDate(year: 1989, month: 11, day: 2)) == ["year-earlier=1988"])
        #expect(tag("compared with the year-ago period", on: CivilDate(year: 1989, month: 11, day: 2)) == ["the year-ago period=1988"])
        // In financial reporting, next to a quarter it is that quarter a year before.
        #expect(tag("Third-quarter profit rose from the year-ago period.", on: CivilDate(year: 1989, month: 11, day: 2)) == ["Third-quarter=1989-Q3", "the year-ago period=1988-Q3"])
        #expect(tag("during the summer", on: CivilDate(year: 1989, month: 11, day: 2)) == ["the summer=1989-SU"])
        #expect(tag("during the summer", on: CivilDate(year: 1989, month: 3, day: 2)) == ["the summer=1988-SU"], "not begun yet: last year's")
        #expect(tag("the winter of nineteen ninety-four") == ["the winter of nineteen ninety-four=1994-WI"])
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
        #expect(tag("3 p.m. today") == ["3 p.m. today=2025-07-26T15:00"], "one expression, as TimeML writes it")
        #expect(tag("at 3 p.m.") == ["3 p.m.=2025-07-26T15:00"])
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
