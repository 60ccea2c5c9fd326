import Foundation
import Testing

@testable import DatelineSearch

@Suite("Index, BM25 and snippets")
struct SearchIndexTests {
    static func sampleIndex() -> SearchIndex {
        let index = SearchIndex()
        index.add(IndexedDocument(id: "call", title: "", body: "Senator Ishaq Dar held a telephone conversation with U.S. Secretary of State Marco Rubio. They discussed trade, regional stability, counterterrorism, and climate resilience."))
        index.add(IndexedDocument(id: "meeting", title: "Rubio, Ishaq Dar Hold Talks in Washington", body: "Secretary Rubio met Dar on Friday, discussing counterterrorism and trade. The U.S. and Pakistan explored mineral trade partnerships, particularly in rare earth elements. The Pakistan-based Lashkar-e-Taiba (LeT) was discussed."))
        index.add(IndexedDocument(id: "cocoa", title: "Bahia cocoa review", body: "Showers continued throughout the week in the Bahia cocoa zone. Earth was rare and dry."))
        return index
    }

    func ids(_ query: String, in index: SearchIndex = sampleIndex()) throws -> [String] {
        index.search(try SearchQueryParser().parse(query)).hits.map(\.id)
    }

    @Test func findsExactlyTheRightDocuments() throws {
        let index = Self.sampleIndex()
        #expect(Set(try self.ids("counterterrorism", in: index)) == ["call", "meeting"])
        #expect(try self.ids("\"rare earth\"", in: index) == ["meeting"])  // "Earth was rare" is not the phrase
        #expect(try self.ids("Rubio -telephone", in: index) == ["meeting"])
        #expect(Set(try self.ids("cocoa OR telephone", in: index)) == ["cocoa", "call"])
        #expect(try self.ids("Lashkar-e-Taiba", in: index) == ["meeting"])
        #expect(try self.ids("\"Pakistan’s\" OR LeT", in: index) == ["meeting"])
        #expect(Set(try self.ids("U.S.", in: index)) == ["call", "meeting"])
        #expect(Set(try self.ids("counterterror*", in: index)) == ["call", "meeting"])
        #expect(try self.ids("showers rubio", in: index).isEmpty)
        #expect(index.search(try SearchQueryParser().parse("trade")).total == 2)
    }

    @Test func bm25MatchesHandComputedScores() throws {
        // Two documents, no titles: "a b" and "a a c". Query "a".
        let index = SearchIndex(parameters: BM25Parameters(k1: 1.2, b: 0.75, titleWeight: 2))
        index.add(IndexedDocument(id: "one", title: "", body: "alpha beta"))
        index.add(IndexedDocument(id: "two", title: "", body: "alpha alpha gamma"))
        let result = index.search(.term("alpha"))
        // idf = ln(1 + (2 - 2 + 0.5) / (2 + 0.5)) = ln(1.2); average length 2.5.
        let idf = log(1.2)
        let one = idf * 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2 / 2.5))
        let two = idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2.5))
        #expect(result.hits.map(\.id) == ["two", "one"])
        #expect(abs(result.hits[0].score - two) < 1e-9)
        #expect(abs(result.hits[1].score - one) < 1e-9)
        // A title match counts titleWeight times a body match of the same length.
        let titled = SearchIndex()
        titled.add(IndexedDocument(id: "t", title: "alpha", body: "beta"))
        titled.add(IndexedDocument(id: "b", title: "beta", body: "alpha"))
        let ranked = titled.search(.term("alpha")).hits
        #expect(ranked.map(\.id) == ["t", "b"])
        #expect(abs(ranked[0].score / ranked[1].score - 2) < 1e-9)
    }

    /// Snippets from the stored text: stemmed and prefixed matches marked, spaces and paragraph breaks collapsed,
    /// an ellipsis where a passage is cut, passages that show a term not shown yet first.
    /// The stem cache shared by the buffers keeps words, but not long tokens (encoded blobs) nor more than its
    /// capacity.
    @Test func theStemCacheKeepsNoLongTokensAndNoMoreThanItsCapacity() {
        let cache = StemCache(capacity: 3)
        #expect(cache.stem("meetings") == "meet")
        #expect(cache.stem(String(repeating: "ab", count: 40)) == String(repeating: "ab", count: 40))
        #expect(cache.count == 1)
        for word in ["trading", "talks", "ministers", "prices"] { _ = cache.stem(word) }
        #expect(cache.count == 3)
        #expect(cache.stem("prices") == "price", "a word not kept is still stemmed")
    }

    @Test func snippetsMarkStemmedAndPrefixedWordsAndCollapseSpacing() throws {
        let parser = SearchQueryParser()
        let short = "Ministers  met in Geneva.\n\nThe meeting of ministers was long."
        #expect(Snippets.highlight(short, for: try parser.parse("meetings"), analyzer: Analyzer(), limit: 3)
            == ["Ministers met in Geneva. The [[meeting]] of ministers was long."])
        #expect(Snippets.highlight(short, for: try parser.parse("minist*"), analyzer: Analyzer(), limit: 3)
            == ["[[Ministers]] met in Geneva. The meeting of [[ministers]] was long."])
        #expect(Snippets.highlight(short, for: try parser.parse("absent"), analyzer: Analyzer(), limit: 3).isEmpty)
        let long = String(repeating: "filler ", count: 30) + "tariffs rose.\n\nMore  " + String(repeating: "words ", count: 40) + "and trade talks"
        let snippets = Snippets.highlight(long, for: try parser.parse("trade OR tariff"), analyzer: Analyzer(), limit: 3)
        #expect(snippets.count == 2)
        #expect(snippets.first?.hasPrefix("… filler") == true)
        #expect(snippets.first?.contains("filler [[tariffs]] rose. More words words") == true)
        #expect(snippets.first?.hasSuffix(" …") == true)
        #expect(snippets.last?.hasPrefix("… ") == true)
        #expect(snippets.last?.hasSuffix("words and [[trade]] talks") == true)
        #expect(snippets.allSatisfy { !$0.contains("  ") && !$0.contains("\n") })
        #expect(Snippets.highlight(long, for: try parser.parse("trade OR tariff"), analyzer: Analyzer(), limit: 1).count == 1)
    }

    @Test func snippetsHighlightTheMatchedWords() throws {
        let index = Self.sampleIndex()
        let hit = try #require(index.search(try SearchQueryParser().parse("\"rare earth\" Pakistan")).hits.first)
        #expect(hit.snippets.contains { $0.contains("[[rare]] [[earth]]") })
        #expect(hit.snippets.contains { $0.contains("[[Pakistan]]") })
        let prefix = try #require(index.search(try SearchQueryParser().parse("counterterror*")).hits.first)
        #expect(prefix.snippets.first?.contains("[[counterterrorism]]") == true)
        #expect(SearchIndex.positiveTerms(try SearchQueryParser().parse("rubio -telephone")) == ["rubio"])
    }

    @Test func reindexingTheSameIdIsIgnored() {
        let index = Self.sampleIndex()
        #expect(!index.add(IndexedDocument(id: "call", title: "again", body: "again")))
        #expect(index.count == 3)
    }
}
