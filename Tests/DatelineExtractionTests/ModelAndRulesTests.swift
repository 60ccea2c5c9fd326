import DatelineExtraction
import DatelineProtocol
import Testing

/// Where the tagger and the rules meet (issue 15, item 1): the tagger reads words as CoNLL-2003 writes them, and
/// a name it finds around a place the lexicon knows is one name, not the place inside it. Text written for the
/// purpose.
@Suite struct ModelAndRulesTests {
    let extraction = ArticleExtractor().extract(
        body: """
            LONDON 1996-08-30
            Air France cancelled 40 flights to Paris on Friday, and shares of Air France fell.
            Trading on the New York Stock Exchange was quiet, the Bank of Canada said.
            Real Madrid beat Barcelona 2-1 in Madrid.
            """,
        published: CivilDate(year: 1996, month: 8, day: 30)
    )

    func mentions(_ id: String) -> [String] {
        self.extraction.mentions.filter { self.extraction.entityID(of: $0) == id }.map(\.text)
    }

    @Test func aNameAroundAPlaceIsOneNameAndNotThePlace() {
        #expect(self.mentions("org:air-france") == ["Air France", "Air France"])
        #expect(self.extraction.entity("country:FR") != nil, "Paris is still the French capital")
        #expect(self.mentions("country:FR") == ["Paris"], "France inside Air France is no mention of France")
        #expect(self.extraction.entity("org:new-york-stock-exchange") != nil)
        #expect(self.extraction.entity("org:bank-of-canada") != nil)
        #expect(self.extraction.entity("country:CA") == nil, "\(self.extraction.entities.map(\.id))")
        #expect(self.mentions("org:real-madrid") == ["Real Madrid"])
        #expect(self.mentions("place:madrid") == ["Madrid"], "only the city named on its own")
    }

    @Test func aDatelineInCapitalsIsAPlace() {
        #expect(self.extraction.entity("place:london")?.kind == .place, "\(self.extraction.entities.map(\.id))")
        #expect(self.extraction.entity("org:london") == nil)
    }

    @Test func aCompanyIsReferredToByItsShortName() {
        let extraction = ArticleExtractor().extract(
            body: "Magna International Inc agreed to buy Douglas & Lomason Co for $135 million. Magna was up 1/8 on the day.",
            published: CivilDate(year: 1996, month: 8, day: 30)
        )
        let magna = extraction.mentions.filter { $0.text == "Magna" }.map { extraction.entityID(of: $0) }
        #expect(magna == ["org:magna-international-inc"], "\(extraction.entities.map(\.id))")
        #expect(!extraction.entities.contains { $0.kind == .person }, "\(extraction.entities.map(\.id))")
    }

    @Test func teamsNamedAfterPlacesAndLinesInCapitals() {
        let extraction = ArticleExtractor().extract(
            body: "In baseball, Texas lost to Cleveland 5-3.\nMINNESOTA AT MILWAUKEE\n",
            published: CivilDate(year: 1996, month: 8, day: 30)
        )
        // The tagger reads a team where the lexicon has a state.
        #expect(extraction.entity("org:texas")?.kind == .organization, "\(extraction.entities.map(\.id))")
        #expect(extraction.entity("place:texas") == nil)
        // A capitalised word opening a line in capitals before "AT" is not a plain word opening a sentence.
        #expect(extraction.mentions.contains { $0.text == "MINNESOTA" }, "\(extraction.entities.map(\.id))")
    }

    @Test func aNameJoinedToAPersonByAndIsAPerson() {
        let extraction = ArticleExtractor().extract(body: "On Tuesday, Rubio and Dar met in Islamabad to discuss trade.", published: CivilDate(year: 2025, month: 8, day: 12))
        #expect(extraction.entity("person:rubio")?.kind == .person)
        #expect(extraction.entity("person:dar")?.kind == .person, "\(extraction.entities.map(\.id))")
        #expect(extraction.entity("place:dar") == nil)
    }

    @Test func theDocumentSaysWhetherACapitalisedWordIsAName() {
        let flags = NamedEntityModel.DocumentContext.flags([
            ["SHEARER", "NAMED", "CAPTAIN"],
            ["England", "named", "Alan", "Shearer", "captain", "on", "Friday", "."],
            ["Captain", "Shearer", "said", "he", "was", "proud", "."],
        ])
        // The headline's SHEARER: capitalised in mid-sentence and after a capitalised word elsewhere.
        #expect(flags[0][0] == 2 | 4)
        // The headline's CAPTAIN: written in lower case elsewhere, and capitalised only where it opens a sentence.
        #expect(flags[0][2] == 1)
        // "Captain" opening the last sentence: the same.
        #expect(flags[2][0] == 1)
        // Shearer in the last sentence: the other sentences' Shearer, not its own occurrence.
        #expect(flags[2][1] == 2 | 4)
        // Words without a capital (lower case, numbers, punctuation) carry no flags.
        #expect(flags[1][1] == 0)
        #expect(flags[1][7] == 0)
    }
}
