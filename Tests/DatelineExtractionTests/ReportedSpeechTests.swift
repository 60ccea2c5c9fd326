import DatelineArticles
import DatelineExtraction
import DatelineProtocol
import Testing

/// Reported speech (issue 15, item 11), on text written for the purpose.
@Suite struct ReportedSpeechTests {
    func reported(_ body: String) -> [String] {
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2025, month: 8, day: 4))
        let scalars = Array(body.unicodeScalars)
        for quote in extraction.quotes {
            #expect(String(String.UnicodeScalarView(scalars[Int(quote.start)..<Int(quote.end)])) == quote.text, "body[start..<end] is the text")
        }
        return extraction.quotes.filter(\.reported).map { "\($0.speaker ?? $0.speakerText ?? "?") \($0.verb ?? "?"): \($0.text)" }
    }

    @Test func attributionsAfterTheClause() {
        #expect(reported("Talks were productive, said Marco Rubio on Monday.") == ["person:marco-rubio said: Talks were productive"])
        #expect(reported("The two ministers will meet again in April, officials said.") == ["officials said: The two ministers will meet again in April"])
        #expect(reported("Prices will rise, Pakistan's Foreign Office warned on Monday.") == ["org:PK:foreign-office warned: Prices will rise"])
    }

    @Test func attributionsBeforeTheClause() {
        #expect(reported("Marco Rubio told reporters that the talks had gone well.") == ["person:marco-rubio told: the talks had gone well"])
        // A foreign office with no country in the text or a dateline is scoped to none (XX).
        #expect(reported("According to the Foreign Office, the visit was postponed.") == ["org:XX:foreign-office according to: the visit was postponed"])
    }

    @Test func anAttributionBetweenTwoCommas() {
        #expect(reported("Antony Blinken met Wang Yi in Beijing on Friday, the State Department said, in the latest effort to steady ties.")
            == ["org:state-department said: Antony Blinken met Wang Yi in Beijing on Friday"])
        #expect(reported("Prices rose, he said, and then fell.") == [], "no clause of three words before the attribution")
    }

    /// A quotation inside a reporting clause is the clause's speaker's, whatever follows it.
    @Test func aQuoteInsideAReportingClause() throws {
        let body = "Chinese Foreign Minister Wang Yi met Antony Blinken. Wang told Blinken that the relationship was \u{201C}beginning to stabilize\u{201D} but warned against crossing red lines."
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2024, month: 4, day: 26))
        let quote = try #require(extraction.quotes.first { !$0.reported })
        #expect(quote.text == "beginning to stabilize")
        #expect(quote.speaker == "person:wang-yi" && quote.verb == "told" && quote.speakerText == "Wang")
    }

    /// "X called Y “…”", "described … as “…”": the quotation is X's.
    @Test func aQuoteFramedByCallingOrDescribing() {
        for (body, verb) in [
            ("The Conservative leader, Kemi Badenoch, called the deal \u{201C}a humiliation\u{201D}.", "called"),
            ("Kemi Badenoch described the talks as \u{201C}frank and useful\u{201D} on Monday.", "described"),
        ] {
            let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2025, month: 7, day: 11))
            let quote = extraction.quotes.first { !$0.reported }
            #expect(quote?.speaker == "person:kemi-badenoch" && quote?.verb == verb, "\(extraction.quotes)")
        }
    }

    @Test func whatIsNotReportedSpeech() {
        #expect(reported("He said on Monday.") == [], "no clause")
        #expect(reported("The chairman said in a statement.") == [])
        #expect(reported("He came, she left.") == [], "no reporting verb")
        #expect(reported("“We are ready,” Rubio said.") == [], "a direct quote is not reported speech")
    }

    @Test func brokenTextNeverTrapsTheExtractor() {
        for body in [
            "said", ", said", "said that", "according to", "according to ,", ", according to", "According to X", "a, b said .",
            "that said, , , said that that", "He also confirmed that", "x , said", ", , , officials said ,", "According to, said that.",
        ] {
            _ = self.reported(body)
        }
    }

    @Test func attacksAndAgreementsOnWrittenText() {
        let extraction = ArticleExtractor().extract(
            body: """
                A car bombing in Kabul on Tuesday killed at least 12 people, police said.

                He suffered a heart attack on Monday.

                India and Pakistan signed a trade agreement in Islamabad on Friday. No agreement on water was reached.
                """,
            published: CivilDate(year: 2025, month: 8, day: 9)
        )
        let events = extraction.events.map { "\($0.code) \($0.date ?? "-") \($0.place ?? "-") \($0.killed.map(String.init) ?? "-")" }
        #expect(events.contains("183 2025-08-05 place:kabul 12"), "\(events)")
        #expect(events.filter { $0.hasPrefix("18") }.count == 1, "a heart attack is no attack: \(events)")
        let agreement = extraction.events.filter { $0.code == "057" }
        #expect(agreement.count == 1, "'No agreement' is none")
        #expect(Set(agreement.first?.participants ?? []) == ["country:IN", "country:PK"])
        #expect(agreement.first?.date == "2025-08-08" && agreement.first?.place == "place:islamabad")
    }
}

/// A wire service's article, dateline and headline in capitals (Reuters' and AP's layout): the dateline names the
/// place and the country an office without one belongs to, but is not part of what anyone said.
@Suite struct WireDatelineTests {
    static let body = "WASHINGTON, March 5 - Treasury Secretary James Baker met Japanese Finance Minister Kiichi Miyazawa on Thursday to discuss the dollar, a Treasury spokesman said.\nMiyazawa said Japan would take steps to stimulate its economy."

    @Test func theDatelineIsThePlaceAndTheCountryButNotTheQuote() throws {
        let article = PlainTextArticleParser.parse("U.S. TREASURY'S BAKER MEETS JAPAN'S MIYAZAWA\n\n" + Self.body)
        #expect(article.datelinePlace == "WASHINGTON")
        let extraction = ArticleExtractor().extract(body: article.body, published: CivilDate(year: 1987, month: 3, day: 5), datelinePlace: article.datelinePlace, title: article.title)
        let spokesman = try #require(extraction.quotes.first { $0.reported && $0.verb == "said" && $0.speakerText?.contains("spokesman") == true }, "\(extraction.quotes)")
        #expect(spokesman.text.hasPrefix("Treasury Secretary James Baker met"))
        #expect(spokesman.speaker == "office:US:spokesperson", "Japan is mentioned more often, but the article is filed from Washington")
        #expect(extraction.entity("place:washington")?.name == "Washington", "named in title case, not as the dateline's capitals")
        #expect(extraction.entity("office:JP:spokesperson") == nil)
    }

    /// The agency's credit in a dateline is who filed the story, not an organisation it mentions.
    @Test func theAgencysCreditIsNoMention() {
        for (text, place) in [
            ("BEIJING (AP) — China's foreign minister met AP reporters and officials of Reuters on Friday.", "BEIJING"),
            ("LONDON, Aug 4 (Reuters) - Britain's finance minister met AP reporters and officials of Reuters on Monday.", "LONDON"),
        ] {
            let article = PlainTextArticleParser.parse("A title for the story\n\n" + text)
            #expect(article.datelinePlace == place)
            let extraction = ArticleExtractor().extract(body: article.body, published: CivilDate(year: 2025, month: 8, day: 4), datelinePlace: article.datelinePlace)
            let credit = text.firstIndex(of: ")").map { text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: $0) } ?? 0
            #expect(!extraction.mentions.contains { Int($0.start) < credit && $0.field == .body && $0.text != place }, "\(extraction.mentions)")
        }
    }
}
