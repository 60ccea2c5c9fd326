public import DatelineProtocol
public import Foundation

/// Reads the Reuters-21578 SGML files (`reut2-000.sgm` ...): each `<REUTERS>` element becomes one
/// submission with its title, body, date, topics and places.
///
/// The files are not valid XML (bodies end with `&#3;`), so this reads them leniently. Briefs (`TYPE="BRIEF"`,
/// a headline only) get the headline as their body; unprocessed items (`TYPE="UNPROC"`) their raw text;
/// the one item with no text at all comes back with an empty body, for ingest to reject with a reason.
public enum ReutersReader {
    /// One article's fields.
    public struct Item: Sendable, Hashable {
        public var newID: String
        public var title: String?
        public var body: String
        public var date: Date?
        public var dateline: String?
        public var topics: [String]
        public var places: [String]

        /// The submission to send: external id `reuters-<NEWID>`, source `Reuters`, topics as tags.
        public var submission: ArticleSubmission {
            ArticleSubmission(
                externalID: "reuters-\(self.newID)",
                title: self.title,
                body: self.body,
                source: "Reuters",
                publishedAt: self.date,
                language: "en",
                tags: self.topics,
                format: .fields
            )
        }
    }

    /// Parses one SGML file's contents (bytes that are not UTF-8 are replaced).
    public static func items(in data: Data) -> [Item] {
        let text = String(decoding: data, as: UTF8.self)
        var items: [Item] = []
        var searchStart = text.startIndex
        while let open = text.range(of: "<REUTERS", range: searchStart..<text.endIndex),
            let close = text.range(of: "</REUTERS>", range: open.upperBound..<text.endIndex)
        {
            let element = text[open.lowerBound..<close.upperBound]
            searchStart = close.upperBound
            guard let item = self.item(element) else { continue }
            items.append(item)
        }
        return items
    }

    static func item(_ element: Substring) -> Item? {
        guard let tagEnd = element.firstIndex(of: ">") else { return nil }
        let attributes = element[..<tagEnd]
        guard let newID = self.attribute("NEWID", in: attributes) else { return nil }
        let title = self.content("TITLE", in: element).map(self.clean).flatMap { $0.isEmpty ? nil : $0 }
        let isBrief = element.contains("<TEXT TYPE=\"BRIEF\"")
        var body = isBrief ? "" : self.content("BODY", in: element).map(self.clean) ?? ""
        if body.isEmpty, !isBrief, let text = self.content("TEXT", in: element) {
            // Unprocessed items keep their text untagged; briefs have only a title and a dateline.
            var raw = String(text)
            for tag in ["TITLE", "DATELINE", "AUTHOR"] {
                if let range = raw.range(of: "<\(tag)>"), let end = raw.range(of: "</\(tag)>", range: range.upperBound..<raw.endIndex) {
                    raw.removeSubrange(range.lowerBound..<end.upperBound)
                }
            }
            body = self.clean(Substring(raw)).trimmingCharacters(in: CharacterSet(charactersIn: "* "))
        }
        if body.isEmpty, let title { body = title }
        // An item with no text at all (NEWID 12793 is one) is still returned: ingest rejects it visibly.
        return Item(
            newID: newID,
            title: title,
            body: body,
            date: self.content("DATE", in: element).flatMap { self.date(String($0)) },
            dateline: self.content("DATELINE", in: element).map(self.clean).flatMap { $0.isEmpty ? nil : $0 },
            topics: self.list("TOPICS", in: element),
            places: self.list("PLACES", in: element)
        )
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let start = tag.range(of: name + "=\"") else { return nil }
        guard let end = tag[start.upperBound...].firstIndex(of: "\"") else { return nil }
        return String(tag[start.upperBound..<end])
    }

    static func content(_ tag: String, in element: Substring) -> Substring? {
        guard let open = element.range(of: "<\(tag)") else { return nil }
        guard let openEnd = element[open.upperBound...].firstIndex(of: ">") else { return nil }
        guard let close = element.range(of: "</\(tag)>", range: openEnd..<element.endIndex) else { return nil }
        return element[element.index(after: openEnd)..<close.lowerBound]
    }

    static func list(_ tag: String, in element: Substring) -> [String] {
        guard let content = self.content(tag, in: element) else { return [] }
        return content.components(separatedBy: "<D>").compactMap { piece in
            let value = piece.replacingOccurrences(of: "</D>", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
    }

    /// Decodes the few entities the corpus uses and drops its control-character references (`&#3;`...).
    static func clean(_ text: Substring) -> String {
        var output = String(text)
        if output.contains("&") {
            output = output.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            while let range = output.range(of: "&#"), let end = output[range.upperBound...].firstIndex(of: ";"),
                output.distance(from: range.upperBound, to: end) <= 3
            {
                output.removeSubrange(range.lowerBound...end)
            }
            output = output.replacingOccurrences(of: "&amp;", with: "&")
        }
        // Body lines are hard-wrapped at ~70 columns; paragraphs start with an indented line.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        var paragraphs: [String] = []
        var current = ""
        for line in lines {
            if line.hasPrefix("    ") || line.hasPrefix("\t"), !current.isEmpty {
                paragraphs.append(current)
                current = ""
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            current += current.isEmpty ? trimmed : " " + trimmed
        }
        if !current.isEmpty { paragraphs.append(current) }
        return paragraphs.joined(separator: "\n\n")
    }

    /// `26-FEB-1987 15:01:01.79` (no time zone given; taken as UTC).
    static func date(_ text: String) -> Date? {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count >= 2 else { return nil }
        let day = parts[0].split(separator: "-")
        let time = parts[1].split(separator: ":")
        guard day.count == 3, time.count >= 2, let d = Int(day[0]), let m = ArticleDates.month(day[1]), let y = Int(day[2]),
            let hour = Int(time[0]), let minute = Int(time[1])
        else { return nil }
        let second = time.count > 2 ? Double(time[2]) ?? 0 : 0
        return ArticleDates.make(year: y, month: m, day: d, hour: hour, minute: minute, second: Int(second))
            .map { $0.addingTimeInterval(second - Double(Int(second))) }
    }
}
