public import DatelineProtocol
public import Foundation

/// Reads the JSON forms users have into ``ArticleSubmission``s: one object, an array of objects, or JSON
/// Lines (one object per line).
///
/// Recognised keys (others are ignored): `title`, `body` (or `text`, `content`), `source`, `url`,
/// `publishedAt` (or `published_at`, `date`: a date string or Unix seconds/milliseconds), `language`,
/// `externalId` (or `external_id`, `id`), `tags` (an array of strings, or one comma-separated string).
public enum ArticleInput {
    /// Parses one JSON object.
    /// - Throws: ``ArticleRejection`` with code `bad-json` saying what is wrong.
    public static func submission(fromJSONObject object: Any) throws(ArticleRejection) -> ArticleSubmission {
        guard let fields = object as? [String: Any] else {
            throw ArticleRejection(code: "bad-json", message: "expected a JSON object with the article's fields")
        }
        func string(_ keys: String...) throws(ArticleRejection) -> String? {
            for key in keys {
                guard let value = fields[key], !(value is NSNull) else { continue }
                if let text = value as? String { return text }
                if let number = value as? NSNumber { return number.stringValue }
                throw ArticleRejection(code: "bad-json", message: "'\(key)' must be a string")
            }
            return nil
        }
        guard let body = try string("body", "text", "content") else {
            throw ArticleRejection(code: "bad-json", message: "missing 'body'")
        }
        var tags: [String] = []
        switch fields["tags"] {
        case let list as [Any]:
            for item in list {
                guard let tag = item as? String else { throw ArticleRejection(code: "bad-json", message: "'tags' must hold strings") }
                tags.append(tag)
            }
        case let text as String:
            tags = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case nil, is NSNull:
            break
        default:
            throw ArticleRejection(code: "bad-json", message: "'tags' must be an array of strings")
        }
        return ArticleSubmission(
            externalID: try string("externalId", "external_id", "id"),
            title: try string("title", "headline"),
            body: body,
            source: try string("source", "outlet"),
            url: try string("url", "link"),
            publishedAtText: try string("publishedAt", "published_at", "date"),
            language: try string("language", "lang"),
            tags: tags,
            format: .fields
        )
    }

    /// Parses a JSON document holding one article object or an array of them.
    public static func submissions(fromJSON data: Data) throws(ArticleRejection) -> [ArticleSubmission] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ArticleRejection(code: "bad-json", message: "not valid JSON: \(Self.describe(error))")
        }
        if let list = object as? [Any] {
            var result: [ArticleSubmission] = []
            for (index, item) in list.enumerated() {
                do {
                    result.append(try self.submission(fromJSONObject: item))
                } catch {
                    throw ArticleRejection(code: error.code, message: "item \(index): \(error.message)")
                }
            }
            return result
        }
        return [try self.submission(fromJSONObject: object)]
    }

    /// Parses JSON Lines: each non-blank line is one article; a bad line fails alone, with its line number.
    public static func submissions(fromJSONLines text: String) -> [(line: Int, result: Result<ArticleSubmission, ArticleRejection>)] {
        var results: [(Int, Result<ArticleSubmission, ArticleRejection>)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            do {
                let object = try JSONSerialization.jsonObject(with: Data(trimmed.utf8))
                results.append((index + 1, Result { () throws(ArticleRejection) in try self.submission(fromJSONObject: object) }))
            } catch {
                results.append((index + 1, .failure(ArticleRejection(code: "bad-json", message: "line \(index + 1): not valid JSON: \(Self.describe(error))"))))
            }
        }
        return results
    }

    static func describe(_ error: any Error) -> String {
        let description = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return description ?? "\(error)"
    }
}
