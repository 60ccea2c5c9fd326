import DatelineExtraction
import DatelineProtocol
import Testing

/// Mentions in titles and datelines (issue 15, item 7): the title and the dateline's place are read beside the
/// body, with offsets into their own field.
@Suite struct HeaderReadingTests {
    static let title = "Rubio, Ishaq Dar Hold Talks in Washington on August 4"
    static let body = "Pakistan's Foreign Minister Ishaq Dar held talks with U.S. Secretary of State Marco Rubio in Washington on Monday, the Foreign Office said."
    let extraction = ArticleExtractor().extract(
        body: Self.body, published: CivilDate(year: 2025, month: 8, day: 4), datelinePlace: "ISLAMABAD", title: Self.title
    )

    func mentions(in field: ArticleField) -> [String] {
        self.extraction.mentions.filter { $0.field == field }.map { "\($0.text)=\(self.extraction.entityID(of: $0))" }
    }

    @Test func theTitleNamesTheBodysEntitiesWhateverItsCase() {
        #expect(self.mentions(in: .title) == ["Rubio=person:marco-rubio", "Ishaq Dar=person:ishaq-dar", "Washington=place:washington"])
        let scalars = Array(Self.title.unicodeScalars)
        for mention in self.extraction.mentions where mention.field == .title {
            #expect(String(String.UnicodeScalarView(scalars[Int(mention.start)..<Int(mention.end)])) == mention.text)
        }
        #expect(!self.extraction.entities.contains { $0.name.contains("Talks") || $0.name.contains("Hold") }, "Title Case words are no names")
        let times = self.extraction.times.filter { $0.field == .title }.map { "\($0.text)=\($0.value)" }
        #expect(times == ["August 4=2025-08-04"])
        #expect(self.extraction.entity("person:ishaq-dar")?.mentionCount == 2, "one in the body, one in the title")
    }

    @Test func theDatelineInCapitalsIsItsPlaceAndCountry() {
        #expect(Set(self.mentions(in: .dateline)) == ["ISLAMABAD=country:PK", "ISLAMABAD=place:islamabad"])
        #expect(self.extraction.entity("place:islamabad")?.kind == .place, "added, though the body never names it")
        // The article's country, for an office or organisation the text gives none.
        #expect(self.extraction.entity("org:PK:foreign-office") != nil, "\(self.extraction.entities.map(\.id))")
    }

    /// The place of a wire dateline opening the body is a place (and a capital its country's), never the
    /// organisation the tagger makes of a word in capitals.
    @Test(arguments: [
        ("LONDON", "LONDON (Reuters) - Apple chief executive Tim Cook said on Thursday that demand was strong.", "place:london", "GB"),
        ("MOSCOW", "MOSCOW, Dec 6 (Reuters) - Gazprom said exports fell.", "place:moscow", "RU"),
        ("PESHAWAR, Pakistan", "PESHAWAR, Pakistan (AP) — Gunmen attacked a checkpoint, police said.", "place:peshawar", "PK"),
    ])
    func aWireDatelineInCapitalsIsAPlace(dateline: String, body: String, place: String, country: String) {
        let extraction = ArticleExtractor().extract(body: body, published: CivilDate(year: 2024, month: 5, day: 9), datelinePlace: dateline)
        let opening = extraction.mentions.filter { $0.field == .body && $0.start == 0 }.map { extraction.entityID(of: $0) }
        #expect(opening.contains(place), "\(opening)")
        #expect(opening.allSatisfy { $0.hasPrefix("place:") || $0.hasPrefix("country:") }, "\(opening)")
        #expect(extraction.entity(place)?.kind == .place)
        #expect(extraction.mentions.contains { extraction.entityID(of: $0) == "country:\(country)" }, "\(extraction.entities.map(\.id))")
    }

    @Test func aTitleAddsToTheBodyAndChangesNothingInIt() {
        let published = CivilDate(year: 2025, month: 8, day: 4)
        let bodyOnly = ArticleExtractor().extract(body: Self.body, published: published)
        let withTitle = ArticleExtractor().extract(body: Self.body, published: published, title: Self.title)
        #expect(bodyOnly.mentions.allSatisfy { $0.field == .body } && bodyOnly.times.allSatisfy { $0.field == .body })
        func described(_ extraction: ArticleExtraction) -> [String] {
            extraction.mentions.filter { $0.field == .body }.map { "\($0.start)-\($0.end) \($0.text)=\(extraction.entityID(of: $0))" }
        }
        #expect(described(withTitle) == described(bodyOnly))
        #expect(withTitle.times.filter { $0.field == .body } == bodyOnly.times)
        #expect(withTitle.mentions.count > bodyOnly.mentions.count)
    }
}
