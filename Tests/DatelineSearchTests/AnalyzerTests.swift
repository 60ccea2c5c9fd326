import DatelineSearch
import Testing

@Suite("Analyzer")
struct AnalyzerTests {
    let analyzer = Analyzer()

    @Test func foldsCaseDiacriticsQuotesAndPossessives() {
        #expect(self.analyzer.terms("Pakistan’s Foreign Office") == ["pakistan", "foreign", "offic"])
        #expect(self.analyzer.terms("Pakistan's") == ["pakistan"])
        #expect(self.analyzer.terms("“Grateful for Pakistan’s partnership”") == ["grate", "for", "pakistan", "partnership"])
        #expect(self.analyzer.terms("Élite CAFÉ naïve") == ["elit", "cafe", "naiv"])
        #expect(self.analyzer.terms("don't") == ["don't"])
    }

    @Test func splitsHyphenatedNamesIntoConsecutiveTokens() {
        let tokens = self.analyzer.tokens("the Pakistan-based Lashkar-e-Taiba (LeT)")
        #expect(tokens.map(\.term) == ["the", "pakistan", "base", "lashkar", "e", "taiba", "let"])
        #expect(tokens.map(\.position) == Array(0..<7))
        #expect(self.analyzer.terms("Lashkar-e-Taiba") == ["lashkar", "e", "taiba"])
    }

    @Test func keepsDottedAbbreviationsTogether() {
        #expect(self.analyzer.terms("the U.S. Secretary") == ["the", "us", "secretari"])
        #expect(self.analyzer.terms("U.S.-based") == ["us", "base"])
        #expect(self.analyzer.terms("Washington, D.C. – United") == ["washington", "dc", "unit"])
        #expect(self.analyzer.terms("end. Next") == ["end", "next"])
        #expect(self.analyzer.terms("U.S") == ["us"])
    }

    @Test func recordsWhereEachTokenIsForHighlighting() {
        let text = "Rubio met Dar — “counterterrorism” talks."
        let tokens = self.analyzer.tokens(text)
        let bytes = Array(text.utf8)
        let surfaces = tokens.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        #expect(surfaces == ["Rubio", "met", "Dar", "counterterrorism", "talks"])
        #expect(tokens.map(\.term) == ["rubio", "met", "dar", "counterterror", "talk"])
    }

    @Test func stemmingIsOptionalAndNothingIsAStopWord() {
        #expect(Analyzer(stems: false).terms("The Ministers met") == ["the", "ministers", "met"])
        #expect(self.analyzer.terms("to be or not to be") == ["to", "be", "or", "not", "to", "be"])
        #expect(self.analyzer.terms("").isEmpty)
        #expect(self.analyzer.terms(" — ’ . ' ").isEmpty)
        #expect(self.analyzer.terms("2025 July 29") == ["2025", "juli", "29"])
    }
}
