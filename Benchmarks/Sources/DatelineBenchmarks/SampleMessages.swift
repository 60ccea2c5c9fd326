import DatelineProtocol
import Foundation

/// Representative messages built from real news text (Reuters-21578 bodies when `../shared` is present,
/// the two sample articles otherwise).
enum SampleMessages {
    static func newsBodies(count: Int) -> [(title: String, body: String)] {
        let corpus = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/corpora/reuters21578/reut2-000.sgm")
        var articles: [(String, String)] = []
        if let data = try? Data(contentsOf: corpus) {
            let text = String(decoding: data, as: UTF8.self)
            for chunk in text.components(separatedBy: "<REUTERS").dropFirst() where articles.count < count {
                guard let body = chunk.between("<BODY>", "</BODY>"), body.count > 400 else { continue }
                articles.append((chunk.between("<TITLE>", "</TITLE>") ?? "", body.replacingOccurrences(of: "&#3;", with: "")))
            }
        }
        if articles.isEmpty {
            articles = [("Rubio, Ishaq Dar Hold Talks in Washington", String(repeating: "Secretary of State Marco Rubio met Pakistan's Deputy Prime Minister Ishaq Dar. ", count: 25))]
        }
        return (0..<count).map { articles[$0 % articles.count] }
    }

    static func ingestBatch(size: Int = 100) -> IngestRequest {
        IngestRequest(articles: self.newsBodies(count: size).enumerated().map { index, article in
            ArticleSubmission(
                externalID: "reuters-\(index + 1)",
                title: article.title,
                body: article.body,
                source: "Reuters",
                url: "https://example.org/reuters/\(index + 1)",
                publishedAt: Date(timeIntervalSince1970: 541_266_061 + Double(index) * 60),
                language: "en",
                tags: ["cocoa", "usa"],
                format: .fields
            )
        })
    }

    static func searchResult(hits: Int = 10) -> SearchResponse {
        let bodies = self.newsBodies(count: hits)
        return SearchResponse(
            total: 1_234,
            hits: bodies.enumerated().map { index, article in
                let words = article.body.split(separator: " ")
                let snippet = { (start: Int) in words.dropFirst(start).prefix(25).joined(separator: " ") }
                return SearchHit(
                    articleID: "a-\(index + 1)",
                    score: 12.5 / Double(index + 1),
                    title: article.title,
                    source: "Reuters",
                    publishedAt: Date(timeIntervalSince1970: 541_266_061),
                    snippets: [snippet(0), snippet(30), snippet(60)]
                )
            },
            nextCursor: "eyJzIjoxMi41fQ",
            appliedOffset: 21_578
        )
    }

    static let ping = Ping(payload: Data(repeating: 0x5A, count: 16))
}

extension String {
    func between(_ start: String, _ end: String) -> String? {
        guard let lower = self.range(of: start), let upper = self.range(of: end, range: lower.upperBound..<self.endIndex) else { return nil }
        return String(self[lower.upperBound..<upper.lowerBound])
    }
}
