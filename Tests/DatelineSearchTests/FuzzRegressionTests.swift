import DatelineSearch
import Testing

/// Inputs the fuzzers (Fuzz/, scripts/fuzz.sh) found; their reproducers are in Fuzz/Regressions/.
@Suite("Fuzzer findings")
struct SearchFuzzRegressionTests {
    /// A word matched both as a term and through a prefix (`trade tra*`) was highlighted twice, and building
    /// the snippet trapped (`Range requires lowerBound <= upperBound`): any such query crashed dateline-query.
    @Test(arguments: ["trade tra*", "terror terror*", "tra* trade", "(trade OR tra*) rubio", "\"rare earth\" ear*"])
    func aWordMatchedTwiceIsMarkedOnce(query: String) throws {
        let index = SearchIndex()
        index.add(IndexedDocument(id: "a", title: "", body: "Rubio and Dar discussed trade, terror and rare earth minerals."))
        let result = index.search(try SearchQueryParser().parse(query))
        let hit = try #require(result.hits.first)
        #expect(!hit.snippets.isEmpty)
        #expect(hit.snippets.allSatisfy { !$0.contains("[[[[") })
    }

    @Test func theSnippetOfADoubleMatchMarksTheWordOnce() throws {
        let index = SearchIndex()
        index.add(IndexedDocument(id: "a", title: "", body: "They discussed trade."))
        let hit = try #require(index.search(try SearchQueryParser().parse("trade tra*")).hits.first)
        #expect(hit.snippets == ["They discussed [[trade]]."])
    }
}
