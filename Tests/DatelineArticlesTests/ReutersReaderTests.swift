import DatelineArticles
import DatelineProtocol
import Foundation
import Testing

@Suite("Reuters-21578 SGML")
struct ReutersReaderTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reuters-sample.sgm")
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora/reuters21578")

    @Test func readsAStoryABriefAndAnUnprocessedItem() throws {
        let items = ReutersReader.items(in: try Data(contentsOf: Self.fixture))
        #expect(items.map(\.newID) == ["1", "30", "99"])
        let story = items[0]
        #expect(story.title == "BAHIA COCOA REVIEW")
        #expect(story.body.hasPrefix("Showers continued throughout the week in the Bahia cocoa zone, alleviating the drought"))
        #expect(story.body.contains("\n\n"), "paragraphs are kept")
        #expect(!story.body.contains("&#3;"))
        #expect(story.topics == ["cocoa"])
        #expect(story.places == ["el-salvador", "usa", "uruguay"])
        #expect(story.dateline == "SALVADOR, Feb 26 -")
        #expect(story.date == utcDate(1987, 2, 26).addingTimeInterval(15 * 3600 + 60 + 1.79))
        let submission = story.submission
        #expect(submission.externalID == "reuters-1")
        #expect(submission.source == "Reuters")
        #expect(submission.tags == ["cocoa"])
        // A brief is its headline.
        #expect(items[1].title == "ASSETS OF MONEY MARKET MUTUAL FUNDS ROSE 720.4 MLN DLRS IN LATEST WEEK")
        #expect(items[1].body == items[1].title)
        // An unprocessed item keeps its raw text.
        #expect(items[2].title == nil)
        #expect(items[2].body.hasPrefix("FEDERAL RESERVE WEEKLY REPORT 1 - FEB 26"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ReutersReaderTests.corpus.path)))
    func readsEveryArticleOfTheCorpus() throws {
        var count = 0
        var withBody = 0
        for index in 0..<22 {
            let file = Self.corpus.appendingPathComponent(String(format: "reut2-%03d.sgm", index))
            let items = ReutersReader.items(in: try Data(contentsOf: file))
            count += items.count
            withBody += items.filter { !$0.body.isEmpty }.count
        }
        #expect(count == 21_578)
        #expect(withBody == 21_577, "NEWID 12793 has no text at all")
    }
}
