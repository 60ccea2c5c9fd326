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

    /// Parses one SGML file's contents (bytes that are not UTF-8 are replaced). Works on bytes: the files
    /// are large and Foundation's string search is slow on Linux.
    public static func items(in data: Data) -> [Item] {
        let bytes = [UInt8](data)
        var items: [Item] = []
        var position = 0
        while let open = self.find("<REUTERS", in: bytes[...], from: position),
            let close = self.find("</REUTERS>", in: bytes[...], from: open)
        {
            position = close + 10
            if let item = self.item(bytes[open..<position]) { items.append(item) }
        }
        return items
    }

    static func item(_ element: ArraySlice<UInt8>) -> Item? {
        guard let tagEnd = element.firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let attributes = element[..<tagEnd]
        guard let newID = self.attribute("NEWID", in: attributes) else { return nil }
        let title = self.content("TITLE", in: element).map(self.clean).flatMap { $0.isEmpty ? nil : $0 }
        let isBrief = self.find("<TEXT TYPE=\"BRIEF\"", in: element, from: element.startIndex) != nil
        var body = isBrief ? "" : self.content("BODY", in: element).map(self.clean) ?? ""
        if body.isEmpty, !isBrief, var text = self.content("TEXT", in: element) {
            // Unprocessed items keep their text untagged.
            for tag in ["TITLE", "DATELINE", "AUTHOR"] {
                if let range = self.elementRange(tag, in: text) {
                    text = ArraySlice(text[..<range.lowerBound] + text[range.upperBound...])
                }
            }
            body = self.clean(text)
            while body.first == "*" || body.first == " " { body.removeFirst() }
        }
        if body.isEmpty, let title { body = title }
        // An item with no text at all (NEWID 12793 is one) is still returned: ingest rejects it visibly.
        return Item(
            newID: newID,
            title: title,
            body: body,
            date: self.content("DATE", in: element).flatMap { self.date(String(decoding: $0, as: UTF8.self)) },
            dateline: self.content("DATELINE", in: element).map(self.clean).flatMap { $0.isEmpty ? nil : $0 },
            topics: self.list("TOPICS", in: element),
            places: self.list("PLACES", in: element)
        )
    }

    /// The index of the first occurrence of `needle` at or after `start`.
    static func find(_ needle: String, in haystack: ArraySlice<UInt8>, from start: Int) -> Int? {
        let pattern = Array(needle.utf8)
        guard let first = pattern.first, haystack.endIndex - start >= pattern.count else { return nil }
        var index = start
        let last = haystack.endIndex - pattern.count
        while index <= last {
            if haystack[index] == first, haystack[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    static func attribute(_ name: String, in tag: ArraySlice<UInt8>) -> String? {
        guard let start = self.find(name + "=\"", in: tag, from: tag.startIndex) else { return nil }
        let valueStart = start + name.utf8.count + 2
        guard let end = tag[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: tag[valueStart..<end], as: UTF8.self)
    }

    /// The range of `<TAG ...>...</TAG>` inside `element`.
    static func elementRange(_ tag: String, in element: ArraySlice<UInt8>) -> Range<Int>? {
        guard let open = self.find("<\(tag)", in: element, from: element.startIndex),
            let close = self.find("</\(tag)>", in: element, from: open)
        else { return nil }
        return open..<(close + tag.utf8.count + 3)
    }

    static func content(_ tag: String, in element: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let open = self.find("<\(tag)", in: element, from: element.startIndex),
            let openEnd = element[open...].firstIndex(of: UInt8(ascii: ">")),
            let close = self.find("</\(tag)>", in: element, from: openEnd)
        else { return nil }
        return element[(openEnd + 1)..<close]
    }

    static func list(_ tag: String, in element: ArraySlice<UInt8>) -> [String] {
        guard var content = self.content(tag, in: element) else { return [] }
        var values: [String] = []
        while let open = self.find("<D>", in: content, from: content.startIndex) {
            let start = open + 3
            let end = self.find("</D>", in: content, from: start) ?? content.endIndex
            let value = String(decoding: content[start..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { values.append(value) }
            content = content[min(end + 4, content.endIndex)...]
        }
        return values
    }

    /// Decodes the few entities the corpus uses, drops its control-character references (`&#3;`...), and
    /// joins hard-wrapped lines into paragraphs (a paragraph starts with an indented line).
    static func clean(_ text: ArraySlice<UInt8>) -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "&") {
                let rest = text[index...]
                if rest.starts(with: "&lt;".utf8) { decoded.append(UInt8(ascii: "<")); index += 4; continue }
                if rest.starts(with: "&gt;".utf8) { decoded.append(UInt8(ascii: ">")); index += 4; continue }
                if rest.starts(with: "&amp;".utf8) { decoded.append(UInt8(ascii: "&")); index += 5; continue }
                if rest.starts(with: "&#".utf8), let semicolon = rest.prefix(6).firstIndex(of: UInt8(ascii: ";")) {
                    index = semicolon + 1
                    continue
                }
            }
            decoded.append(byte)
            index += 1
        }
        var paragraphs: [String] = []
        var current: [UInt8] = []
        for line in decoded.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let indented = line.starts(with: "    ".utf8) || line.first == 0x09
            if indented, !current.isEmpty {
                paragraphs.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            }
            guard let first = line.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            let last = line.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
            if !current.isEmpty { current.append(0x20) }
            current.append(contentsOf: line[first...last])
        }
        if !current.isEmpty { paragraphs.append(String(decoding: current, as: UTF8.self)) }
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
        // Not "inf", "nan" or "1e300": Int(second) would trap.
        guard second >= 0, second < 61 else { return nil }
        return ArticleDates.make(year: y, month: m, day: d, hour: hour, minute: minute, second: Int(second))
            .map { $0.addingTimeInterval(second - Double(Int(second))) }
    }
}
