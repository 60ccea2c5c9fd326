import DatelineArticles
import DatelineProtocol
import Foundation
import Testing

/// Inputs the fuzzers (Fuzz/, scripts/fuzz.sh) found; their reproducers are in Fuzz/Regressions/.
@Suite("Fuzzer findings")
struct FuzzRegressionTests {
    /// Seconds in a date must be a number Int can hold: `Int(Double("inf"))` used to trap.
    @Test(arguments: ["2025-08-04T10:00:inf", "2025-08-04T10:00:nan", "2025-08-04T10:00:1e300", "2025-08-04T10:00:-1", "2025-08-04T10:00:61"])
    func isoSecondsThatAreNoNumberOfSecondsAreRefused(text: String) {
        #expect(ArticleDates.parse(text) == nil)
        let result = ArticleProcessor().process(ArticleSubmission(body: "x", publishedAtText: text))
        #expect(throws: ArticleRejection.self) { try result.get() }
    }

    @Test func isoSecondsWithAFractionStillParse() throws {
        let parsed = try #require(ArticleDates.parse("2025-08-04T10:00:59.5Z"))
        #expect(parsed.date.timeIntervalSince1970 == 1_754_301_659.5)
    }

    /// A Reuters `<DATE>` whose seconds are `inf` used to trap the same way; the item is kept, undated.
    @Test func reutersSecondsThatAreNoNumberLeaveTheItemUndated() {
        let items = ReutersReader.items(in: Data(#"<REUTERS NEWID="1"><DATE>26-FEB-1987 15:01:inf</DATE><BODY>x</BODY></REUTERS>"#.utf8))
        #expect(items.map(\.newID) == ["1"])
        #expect(items.first?.date == nil)
        let dated = ReutersReader.items(in: Data(#"<REUTERS NEWID="2"><DATE>26-FEB-1987 15:01:01.79</DATE><BODY>x</BODY></REUTERS>"#.utf8))
        #expect(abs((dated.first?.date?.timeIntervalSince1970 ?? 0) - 541_350_061.79) < 0.001)
    }

    /// Epoch numbers past the year 9999 used to be accepted (from JSON and from a plain-text header line),
    /// though dates outside the years 1 to 9999 are refused everywhere else.
    @Test func epochNumbersPastTheYear9999AreNoDate() throws {
        #expect(ArticleDates.parse("175430000012300123") == nil)
        #expect(ArticleDates.parse(String(repeating: "9", count: 400)) == nil)
        #expect(ArticleDates.parse("253402300799") != nil)  // milliseconds: 1978
        #expect(ArticleDates.parse("253402300799000") != nil)  // 9999-12-31T23:59:59Z in milliseconds
        let json = try ArticleInput.submissions(fromJSON: Data(#"{"body":"x","date":"175430000012300123"}"#.utf8))
        let rejection = #expect(throws: ArticleRejection.self) { try ArticleProcessor().process(json[0]).get() }
        #expect(rejection?.code == "bad-date")
        let text = "175430000012300123\nA body line about diplomacy that is long enough to be prose for the parser.\n"
        let article = try ArticleProcessor().process(ArticleSubmission(body: text, format: .plainText)).get()
        #expect(article.publishedAt == nil)
    }
}
