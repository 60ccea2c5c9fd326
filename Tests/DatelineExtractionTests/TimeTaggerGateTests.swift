internal import Foundation
@testable import DatelineExtraction
import Testing

/// The time tagger passes over a function word that opens expressions ("the", "in", "for", "at", …) unless a
/// number or a word of time follows it within a few words. The gate may only save work: tagging with it and
/// without it must find the same expressions, on text written here and on every public text beside the checkout.
@Suite struct TimeTaggerGateTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared").path

    static let written = [
        "The talks ended in the future tense. In the coming weeks, at least two days of talks; for the year ended June 30.",
        "At the time, the latest period showed a loss; the most recent quarter was better than the same period a year ago.",
        "For three years, over the past decade, within 24 hours, at the end of the day, in 1988, about a week later.",
        "The company said that day it had met in the morning; the weekend before, some two months ago, more than a year.",
        "In the first half of the fiscal year, that January day in 2011, the 1990s, in mid-1987 and up to five years.",
        "Prices rose over\nthe past two months; less than\n\na year; more than a\nweek.",
    ]

    func expectSame(_ text: String, reference: CivilDate?, _ comment: Comment? = nil) {
        let tokenized = TokenizedText(text)
        let lower = tokenized.tokens.map { $0.text.lowercased() }
        let classes = WordClass.classes(of: lower)
        let tagger = TimeTagger()
        let gated = tagger.tag(tokenized, lower: lower, classes: classes, reference: reference).map { "\($0.first)-\($0.last) \($0.value)" }
        let every = tagger.tag(tokenized, lower: lower, classes: classes, reference: reference, gated: false).map { "\($0.first)-\($0.last) \($0.value)" }
        #expect(gated == every, comment)
    }

    @Test func theGateSkipsNothingOnWrittenText() {
        for text in Self.written { self.expectSame(text, reference: CivilDate(year: 1988, month: 4, day: 7), "\(text)") }
    }

    @Test func theGateSkipsNothingOnTimeBankAndReuters() throws {
        var texts = 0
        for directory in ["corpora/timebank/TimeBank", "corpora/timebank/AQUAINT"].map({ Self.shared + "/" + $0 }) {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for file in files.sorted() where file.hasSuffix(".tml") {
                let document = TimeBankEvaluation.parse(try String(contentsOfFile: directory + "/" + file, encoding: .utf8))
                self.expectSame(document.text, reference: document.dct, "\(file)")
                texts += 1
            }
        }
        let reuters = Self.shared + "/corpora/reuters21578/reut2-000.sgm"
        if let data = FileManager.default.contents(atPath: reuters) {
            let sgml = String(decoding: data, as: UTF8.self)
            for body in sgml.components(separatedBy: "<BODY>").dropFirst().prefix(400) {
                self.expectSame(String(body.prefix { $0 != "<" }), reference: CivilDate(year: 1987, month: 3, day: 1))
                texts += 1
            }
        }
        print("gate compared on \(texts) texts")
    }
}
