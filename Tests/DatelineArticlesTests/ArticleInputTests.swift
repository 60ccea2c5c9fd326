import DatelineArticles
import DatelineProtocol
import Foundation
import Testing

@Suite("JSON input and processing")
struct ArticleInputTests {
    @Test func readsAJSONObjectWithEveryField() throws {
        let json = """
            {"title": "Rubio, Ishaq Dar Hold Talks", "body": "First paragraph.\\n\\nSecond paragraph.", "source": "OpenVoiceNews",
             "url": "https://example.org/a", "publishedAt": "2025-07-26T09:00:00+05:00", "language": "EN",
             "externalId": "ov-1", "tags": ["diplomacy", "trade"], "ignored": 42}
            """
        let submissions = try ArticleInput.submissions(fromJSON: Data(json.utf8))
        #expect(submissions.count == 1)
        let submission = submissions[0]
        #expect(submission.externalID == "ov-1")
        #expect(submission.publishedAtText == "2025-07-26T09:00:00+05:00")
        #expect(submission.tags == ["diplomacy", "trade"])
        let article = try ArticleProcessor().process(submission).get()
        #expect(article.title == "Rubio, Ishaq Dar Hold Talks")
        #expect(article.paragraphs == ["First paragraph.", "Second paragraph."])
        #expect(article.publishedAt == utcDate(2025, 7, 26).addingTimeInterval(4 * 3600))
        #expect(article.timeZone == "+05:00")
        #expect(article.language == "en")
        #expect(article.missingFields == ["datelinePlace"])
    }

    @Test func readsAnArrayAndJSONLinesWithPerLineErrors() throws {
        let array = try ArticleInput.submissions(fromJSON: Data(#"[{"body": "one"}, {"body": "two", "tags": "a, b"}]"#.utf8))
        #expect(array.map(\.body) == ["one", "two"])
        #expect(array[1].tags == ["a", "b"])
        let lines = """
            {"body": "first", "id": 7}

            {"body": 12}
            not json
            {"title": "no body"}
            {"body": "last", "published_at": "August 4, 2025"}
            """
        let results = ArticleInput.submissions(fromJSONLines: lines)
        #expect(results.map(\.line) == [1, 3, 4, 5, 6])
        #expect(try results[0].result.get().externalID == "7")
        #expect(try results[1].result.get().body == "12")
        for failing in [2, 3] {
            #expect(throws: ArticleRejection.self) { try results[failing].result.get() }
        }
        if case .failure(let rejection) = results[2].result { #expect(rejection.message.hasPrefix("line 4")) }
        if case .failure(let rejection) = results[3].result { #expect(rejection.message == "missing 'body'") }
        #expect(try results[4].result.get().publishedAtText == "August 4, 2025")
    }

    @Test func rejectsBadJSONClearly() {
        for (json, fragment) in [("{", "not valid JSON"), ("42", "expected a JSON object"), (#"{"body": "x", "tags": [1]}"#, "'tags' must hold strings"), (#"{"body": ["x"]}"#, "'body' must be a string")] {
            let error = #expect(throws: ArticleRejection.self) { try ArticleInput.submissions(fromJSON: Data(json.utf8)) }
            #expect(error?.code == "bad-json")
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "") lacks \(fragment)")
        }
    }

    @Test func validationGivesReasons() {
        let processor = ArticleProcessor(maximumBodyBytes: 100)
        func reason(_ submission: ArticleSubmission) -> String? {
            if case .failure(let rejection) = processor.process(submission) { return rejection.code }
            return nil
        }
        #expect(reason(ArticleSubmission(body: "")) == "empty-body")
        #expect(reason(ArticleSubmission(body: " \n\t\u{200B} ")) == "empty-body")
        #expect(reason(ArticleSubmission(body: String(repeating: "x", count: 101))) == "body-too-large")
        #expect(reason(ArticleSubmission(body: "fine", publishedAtText: "sometime soon")) == "bad-date")
        #expect(reason(ArticleSubmission(body: "fine", publishedAtText: "2025-08-04")) == nil)
    }

    @Test func plainTextSubmissionsAreParsedAndExplicitFieldsWin() throws {
        let text = try Samples.text(Samples.openVoice)
        let parsed = try ArticleProcessor().process(ArticleSubmission(body: text, format: .plainText)).get()
        #expect(parsed.title == "Rubio, Ishaq Dar Hold Talks in Washington")
        let overridden = try ArticleProcessor().process(ArticleSubmission(title: "Given title", body: text, source: "Given source", format: .plainText)).get()
        #expect(overridden.title == "Given title")
        #expect(overridden.source == "Given source")
        #expect(overridden.categories == ["General News"])
    }

    @Test func duplicatesShareAContentKeyDespiteSpacingAndQuotes() throws {
        let processor = ArticleProcessor()
        let a = try processor.process(ArticleSubmission(body: "Pakistan’s  “partnership”\n\nis vital.")).get()
        let b = try processor.process(ArticleSubmission(body: "Pakistan's \"partnership\" is vital.")).get()
        let c = try processor.process(ArticleSubmission(body: "Pakistan's partnership is not vital.")).get()
        #expect(ArticleProcessor.deduplicationKeys(a).content == ArticleProcessor.deduplicationKeys(b).content)
        #expect(ArticleProcessor.deduplicationKeys(a).content != ArticleProcessor.deduplicationKeys(c).content)
    }
}
