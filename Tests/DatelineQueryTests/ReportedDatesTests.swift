import Testing

@testable import DatelineQuery

/// Which dates reports of one engagement may give without contradicting each other (issue 15, item 9).
@Suite struct ReportedDatesTests {
    @Test(arguments: [
        ("1987-04-07", "1987-04-07TAF"),  // the afternoon of that day
        ("1987-04-07", "1987-04-07T15:00"),
        ("1987-04", "1987-04-07"),
        ("1987", "1987-04-07TAF"),
        ("1987-W15", "1987-04-07"),  // a Tuesday of ISO week 15
        ("2021-01-03", "2020-W53"),  // a Sunday in the last ISO week of 2020
    ])
    func aValueAndItsRefinementAgree(coarse: String, fine: String) {
        #expect(ReportedDates.agree(coarse, fine))
        #expect(ReportedDates.agree(fine, coarse))
    }

    @Test(arguments: [
        ("1987-04-07", "1987-04-08"),
        ("1987-04-07TAF", "1987-04-07TMO"),
        ("1987-04", "1987-05-01"),
        ("1987-1", "1987-10"),  // a prefix that is not a whole component
        ("1987-W16", "1987-04-07"),
        ("1987-04-07", "1988-04-07"),
    ])
    func differentTimesDoNotAgree(a: String, b: String) {
        #expect(!ReportedDates.agree(a, b))
        #expect(!ReportedDates.agree(b, a))
    }

    @Test func aSetAgreesOnlyWhenEveryPairDoes() {
        #expect(ReportedDates.allAgree(["1987-04-07", "1987-04-07TAF", "1987-04", "1987-04-07"]))
        #expect(ReportedDates.allAgree([]))
        #expect(!ReportedDates.allAgree(["1987-04", "1987-04-07", "1987-04-08"]))
    }
}
