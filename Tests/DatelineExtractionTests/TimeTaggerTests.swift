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

    /// "now" in lower case is the present; a sentence-opening "Now," is most often a discourse marker. (The
    /// rule's `where` once applied to "nowadays" alone: "Now" was tagged and "Nowadays" was not.)
    @Test func onlyALowerCaseNowIsThePresent() {
        #expect(tag("The company now plans a sale.") == ["now=PRESENT_REF"])
        #expect(tag("Now, the company plans a sale.") == [])
        #expect(tag("Currently, the company plans a sale. Nowadays it sells less.") == ["Currently=PRESENT_REF", "Nowadays=PRESENT_REF"])
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

    /// Issue 15, item 10: the tense of the clause decides which side of the publication date a bare day or month
    /// falls on — the nearest cue before it (a modal, a plan, an infinitive right before, "as soon as", a verb in
    /// the past tense), else a modal after it; the past when nothing says.
    @Test func theClausesTenseDecidesBetweenTheLastAndTheNextDay() {
        // 2025-07-26 is a Saturday.
        #expect(tag("The talks are set to resume Monday in Belfast.") == ["Monday=2025-07-28"])
        #expect(tag("The group could come to the U.S. as early as Tuesday.") == ["Tuesday=2025-07-29"])
        #expect(tag("They planned a demonstration in Little Havana on Thursday.") == ["Thursday=2025-07-31"])
        #expect(tag("They said they would appeal the decision, announced Wednesday by the agency.") == ["Wednesday=2025-07-23"])
        #expect(tag("They would look for ways to appeal Wednesday's ruling.") == ["Wednesday=2025-07-23"], "a day spoken of as a thing is past")
        #expect(tag("More than 100 were wounded next to the embassies on Friday.") == ["Friday=2025-07-25"], "'next to' is a place")
        #expect(tag("On Tuesday, the two sides conferred in Helsinki.") == ["Tuesday=2025-07-22"])
        #expect(tag("On Tuesday, the two sides will confer in Helsinki.") == ["Tuesday=2025-07-29"], "a modal after the day")
        // Months: the same cues, over a longer way back.
        #expect(tag("Collins will be named commander of the shuttle for a mission in December.", on: CivilDate(year: 1998, month: 3, day: 4)) == ["December=1998-12"])
        #expect(tag("In January, the company brought in a new chief executive.", on: CivilDate(year: 1989, month: 10, day: 27)) == ["January=1989-01"])
        #expect(tag("KKR plans to pay down the loan by February.", on: CivilDate(year: 1989, month: 10, day: 30)) == ["February=1990-02"])
        #expect(tag("Mr. Schwarz will succeed Mr. Davison Feb. 1.", on: CivilDate(year: 1989, month: 10, day: 26)) == ["Feb. 1=1990-02-01"], "'succeed' is no past tense")
    }

    /// Issue 15, item 10: financial anaphora — once a report names its quarter, "the quarter", "the latest period"
    /// and the year-before forms refer to it; a quarter not over by the publication date is not the one reported.
    @Test func theQuarterAReportNamesAnchorsItsPeriods() {
        let reference = CivilDate(year: 1989, month: 10, day: 26)
        #expect(tag("""
            Chandler said it expects to report third-quarter net income jumped 97%. It expects a loss in the fourth quarter. \
            In the year-earlier quarter, it earned $1.4 million. Revenue in the latest quarter was $20 million, up from $18 million \
            a year ago. In the 1988 period, it lost money.
            """, on: reference)
            == ["third-quarter=1989-Q3", "the fourth quarter=1989-Q4", "the year-earlier quarter=1988-Q3", "the latest quarter=1989-Q3", "a year ago=1988-Q3", "the 1988 period=1988-Q3"])
        #expect(tag("Profit rose in the third quarter. Last year the company lost money.", on: reference) == ["the third quarter=1989-Q3", "Last year=1988"], "'last year' alone stays a year")
        #expect(tag("National Intergroup in the year-ago third quarter earned $22.5 million.", on: reference) == ["the year-ago third quarter=1988-Q3"])
        #expect(tag("Profit was lower than a year ago.", on: reference) == ["a year ago=1988"])
    }

    /// Issue 15, item 10: months with the year after them, days after "last", weekdays with their date, seasons
    /// just past, halves, weeks ago and fiscal years.
    @Test func datesWithTheirYearHalvesAndWeeksAgo() {
        let december = CivilDate(year: 1998, month: 12, day: 3)
        #expect(tag("They join NATO in April next year.", on: december) == ["April=1999-04", "next year=1999"])
        #expect(tag("It began in February this year.", on: december) == ["February=1998-02", "this year=1998"])
        #expect(tag("He was shot last Oct. 23 at home.", on: CivilDate(year: 1999, month: 4, day: 19)) == ["last Oct. 23=1998-10-23"])
        #expect(tag("$14 million seeped out Friday Oct. 13 alone.", on: CivilDate(year: 1989, month: 10, day: 27)) == ["Friday Oct. 13=1989-10-13"])
        #expect(tag("It scrapped the business this past spring.", on: CivilDate(year: 1989, month: 10, day: 30)) == ["this past spring=1989-SP"])
        #expect(tag("They lived in camps for 2 1/2 years, then 5 1/2 hours on a bus.") == ["2 1/2 years=P2Y6M", "5 1/2 hours=PT5H30M"])
        #expect(tag("But a minute and a half later, a pilot calls in.") == ["a minute and a half=PT1M30S"])
        #expect(tag("He spoke six weeks ago.", on: CivilDate(year: 1998, month: 3, day: 1)) == ["six weeks ago=1998-W03"])
        #expect(tag("For the year, volume was flat.", on: december) == ["the year=1998"])
        #expect(tag("It earned $2 million for the year ended July 2.", on: december) == ["the year=P1Y", "July 2=1998-07-02"])
    }

    /// Issue 15, item 10: anaphora — a day told from the story's own last date, not the publication's.
    @Test func daysToldFromTheNarrativesLastDate() {
        let reference = CivilDate(year: 2025, month: 8, day: 4)
        #expect(tag("The talks opened on July 29. The next day, the ministers met again; the day before, aides had met.", on: reference)
            == ["July 29=2025-07-29", "The next day=2025-07-30", "the day before=2025-07-29"])
        #expect(tag("He was shot on Oct. 23, 1998. Earlier that day, his family called the police.", on: reference)
            == ["Oct. 23, 1998=1998-10-23", "that day=1998-10-23"])
        #expect(tag("Nobody knew it that day.", on: reference) == [], "no date before it: no time expression")
        #expect(tag("On Friday he said: see you the day before the vote.", on: reference) == ["Friday=2025-08-01"], "the vote's day, not the story's")
        #expect(tag("On July 29 talks began. Three days later they ended.", on: reference) == ["July 29=2025-07-29", "Three days=P3D"], "TimeML: a duration, 'later' a signal")
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
