import DatelineArticles
import DatelineProtocol
import Foundation
import Testing

enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")
    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
    static let islamabad = "000_840db5600f595d32.txt"
    static let openVoice = "004_e96d74743f33cd42.txt"
}

func utcDate(_ year: Int, _ month: Int, _ day: Int) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.date(from: DateComponents(year: year, month: month, day: day))!
}

@Suite("Plain-text articles")
struct PlainTextArticleParserTests {
    @Test func theIslamabadDatelineArticle() throws {
        let article = PlainTextArticleParser.parse(try Samples.text(Samples.islamabad))
        #expect(article.datelinePlace == "Islamabad")
        #expect(article.publishedAt == utcDate(2025, 8, 4))
        #expect(article.publishedAtPrecision == .day)
        #expect(article.timeZone == nil)
        #expect(article.title == nil)
        #expect(article.source == nil)
        #expect(article.tagline == nil)
        #expect(article.categories.isEmpty)
        #expect(article.language == "en")
        #expect(article.paragraphs.count == 8)
        #expect(article.paragraphs.first?.hasPrefix("Deputy Prime Minister and Foreign Minister of Pakistan, Senator Ishaq Dar, held a telephone conversation") == true)
        #expect(article.paragraphs.first?.hasSuffix("issued by Pakistan’s Foreign Office on Monday.") == true)
        #expect(article.paragraphs.last?.hasPrefix("This high-level communication underscores Islamabad’s intent") == true)
        #expect(article.missingFields == ["title", "source", "url"])
        // Curly quotes and dashes are kept in the text.
        #expect(article.body.contains("political stability — areas"))
    }

    @Test func theOpenVoiceNewsArticleWithItsHeader() throws {
        let article = PlainTextArticleParser.parse(try Samples.text(Samples.openVoice))
        #expect(article.source == "OpenVoiceNews Pakistan")
        #expect(article.tagline == "Transparent. Unbiased. Yours.")
        #expect(article.title == "Rubio, Ishaq Dar Hold Talks in Washington")
        #expect(article.publishedAt == utcDate(2025, 7, 26))
        #expect(article.publishedAtPrecision == .day)
        #expect(article.categories == ["General News"])
        #expect(article.datelinePlace == "Washington, D.C.")
        #expect(article.language == "en")
        #expect(article.paragraphs.count == 9)
        #expect(article.paragraphs.first?.hasPrefix("Washington, D.C. – United States Secretary of State Marco Rubio met with") == true)
        #expect(article.paragraphs[2].hasPrefix("“Grateful for Pakistan’s partnership in countering terrorism"))
        // "Further details ... have not yet been released" is body, not boilerplate.
        #expect(article.paragraphs.last == "Further details about the visit or any potential agreements signed have not yet been released.")
        #expect(article.missingFields == ["url"])
        #expect(!article.body.contains("Transparent. Unbiased."))
        #expect(!article.body.contains("Categories"))
    }

    @Test(arguments: [
        ("Reuters — 2025-08-04T10:30:00+05:00: Officials met.", "Reuters", 2025, 8, 4, "+05:00"),
        ("NEW DELHI - 4 August 2025 - India said on Monday that talks would resume next week with its neighbours.", "NEW DELHI", 2025, 8, 4, nil),
        ("Geneva – Aug. 1, 2025: The talks resumed.", "Geneva", 2025, 8, 1, nil),
    ] as [(String, String, Int, Int, Int, String?)])
    func datelinesInOtherShapes(text: String, place: String, year: Int, month: Int, day: Int, zone: String?) {
        let article = PlainTextArticleParser.parse(text)
        #expect(article.datelinePlace == place)
        #expect(article.timeZone == zone)
        if zone == nil {
            #expect(article.publishedAt == utcDate(year, month, day))
        } else {
            #expect(article.publishedAt == utcDate(year, month, day).addingTimeInterval(5 * 3600 + 1800))  // 10:30 at +05:00
        }
        #expect(!article.paragraphs.isEmpty)
    }

    /// The wire services' datelines open the body: the place is the dateline, the date (with its year) dates an
    /// undated article, and the agency's credit is neither.
    @Test(arguments: [
        ("WASHINGTON, March 5 - Treasury Secretary James Baker met Japan's finance minister on Thursday.", "WASHINGTON", nil),
        ("LONDON, Aug 4, 2025 (Reuters) - Britain's finance minister said on Monday that talks would resume.", "LONDON", utcDate(2025, 8, 4)),
        ("PARIS (AFP) — France said on Monday that it would send its foreign minister to the talks in Geneva.", "PARIS", nil),
        ("Washington, D.C., March 5 – United States Secretary of State Marco Rubio met Pakistan's foreign minister.", "Washington, D.C.", nil),
        ("NEW YORK, 4 August 2025 (Dow Jones) - Shares of the company rose sharply in early trading on the exchange.", "NEW YORK", utcDate(2025, 8, 4)),
    ] as [(String, String, Date?)])
    func wireServiceDatelines(text: String, place: String, date: Date?) {
        let article = PlainTextArticleParser.parse("A title for the story\n\n" + text)
        #expect(article.datelinePlace == place)
        #expect(article.publishedAt == date)
        #expect(article.paragraphs.first == text, "the dateline stays in the body")
        let submitted = ArticleProcessor().process(ArticleSubmission(title: "A title", body: text))
        #expect((try? submitted.get())?.datelinePlace == place)
        #expect((try? submitted.get())?.publishedAt == date)
    }

    @Test func wordsBeforeADashThatAreNoDatelineAreNone() {
        for text in [
            "Shares rose, 5 percent - the most this year, after the company said profits rose.",
            "The talks (which began in March) - both sides said - ended without agreement on anything.",
            "LONDON, 2025 - a year in which the city voted, and the mayor said that talks would resume.",
        ] {
            #expect(PlainTextArticleParser.leadingDatelineParts(text) == nil, "\(text)")
        }
    }

    /// 1 MB of spaced dashes after a place: every dash could end a date; only the first 64 characters are tried.
    /// (A quadratic scan of this line takes hours; the time limit is a hang guard, not a performance assertion.)
    @Test(.timeLimit(.minutes(1)))
    func aPathologicalLineIsParsedInLinearTime() {
        let line = "Islamabad" + String(repeating: " -", count: 500_000)
        let article = PlainTextArticleParser.parse(line + "\nA body line about diplomacy that is long enough to be prose for the parser.")
        #expect(article.publishedAt == nil)
    }

    @Test func garbageInputsGiveEmptyOrSensibleArticlesNeverCrashes() {
        for text in ["", "   \n\n\t", "\u{0}\u{1}\u{2}", String(repeating: "—", count: 500), "a", "Categories:", "July 32, 2025", "— : —"] {
            let article = PlainTextArticleParser.parse(text)
            #expect(article.paragraphs.allSatisfy { !$0.isEmpty })
        }
        #expect(PlainTextArticleParser.parse("July 32, 2025").publishedAt == nil)
    }

    @Test func tidyingNormalisesWithoutLosingQuotesOrDashes() {
        let decomposed = "Pakistan\u{2019}s e\u{301}lite\r\nline\ttwo\u{00A0}\u{00A0}spaces\u{200B}"
        #expect(TextNormalization.tidy(decomposed) == "Pakistan’s élite\nline two spaces")
        let (repaired, wasRepaired) = TextNormalization.decode([0x41, 0xFF, 0x42])
        #expect(wasRepaired)
        #expect(repaired == "A\u{FFFD}B")
        #expect(TextNormalization.contentKey("“Élite” – U.S.") == "eliteus")
    }
}

@Suite("Dates")
struct ArticleDatesTests {
    @Test(arguments: [
        ("August 4, 2025", utcDate(2025, 8, 4), DatePrecision.day, nil),
        ("Aug. 4, 2025", utcDate(2025, 8, 4), .day, nil),
        ("4 August 2025", utcDate(2025, 8, 4), .day, nil),
        ("Monday, August 4, 2025", utcDate(2025, 8, 4), .day, nil),
        ("2025-08-04", utcDate(2025, 8, 4), .day, nil),
        ("2025-08-04T10:00:00Z", utcDate(2025, 8, 4).addingTimeInterval(36_000), .second, "Z"),
        ("2025-08-04T10:00:00+05:00", utcDate(2025, 8, 4).addingTimeInterval(18_000), .second, "+05:00"),
        ("2025-08-04 10:00", utcDate(2025, 8, 4).addingTimeInterval(36_000), .minute, nil),
        ("Mon, 04 Aug 2025 10:00:00 +0500", utcDate(2025, 8, 4).addingTimeInterval(18_000), .second, "+05:00"),
        ("1754265600", utcDate(2025, 8, 4), .second, "Z"),
        ("1754265600000", utcDate(2025, 8, 4), .second, "Z"),
    ] as [(String, Date, DatePrecision, String?)])
    func parses(text: String, date: Date, precision: DatePrecision, zone: String?) throws {
        let parsed = try #require(ArticleDates.parse(text))
        #expect(parsed.date == date)
        #expect(parsed.precision == precision)
        #expect(parsed.timeZone == zone)
    }

    @Test(arguments: ["", "yesterday", "2025-08-04T10:00+05:00: more text", "2025-13-01", "February 30, 2025", "2025-08-04T25:00", "Aug 4", "31/12/2025", "2025-08-04T10:00+99:00"])
    func rejects(text: String) {
        #expect(ArticleDates.parse(text) == nil)
    }
}
