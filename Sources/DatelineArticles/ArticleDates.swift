public import Foundation

/// Parses the dates news sources write: `August 4, 2025`, `Aug. 4, 2025`, `4 August 2025`, `2025-08-04`,
/// ISO 8601 with a time and offset, RFC 2822 (`Mon, 04 Aug 2025 10:00:00 +0500`) and Unix epoch numbers.
public enum ArticleDates {
    public struct Parsed: Sendable, Hashable {
        public var date: Date
        public var precision: DatePrecision
        /// The offset as given (`+05:00`, `Z`), nil when the text had none (the date is then taken as UTC).
        public var timeZone: String?
    }

    static let months: [String: Int] = {
        let names = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
        var table: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            table[name] = index + 1
            table[String(name.prefix(3))] = index + 1
        }
        table["sept"] = 9
        return table
    }()

    /// `March 5`, `Aug. 4`, `4 August`: a day of a month without its year.
    static func isDayOfMonth(_ text: String) -> Bool {
        let words = text.split(separator: " ")
        guard words.count == 2 else { return false }
        func day(_ word: Substring) -> Bool { Int(word).map { (1...31).contains($0) } ?? false }
        return (self.month(words[0]) != nil && day(words[1])) || (day(words[0]) && self.month(words[1]) != nil)
    }

    static func month(_ word: Substring) -> Int? {
        var word = word.lowercased()
        if word.hasSuffix(".") { word.removeLast() }
        return self.months[word]
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func make(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, offsetSeconds: Int = 0) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (1800...2200).contains(year),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = self.utc.date(from: components), self.utc.component(.day, from: date) == day else { return nil }
        return date.addingTimeInterval(TimeInterval(-offsetSeconds))
    }

    /// Parses `text` (the whole string must be a date, apart from surrounding spaces and a trailing colon).
    public static func parse(_ text: String) -> Parsed? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix(":") { text.removeLast() }
        if let number = Double(text), text.allSatisfy({ $0.isNumber || $0 == "." }) {
            // Epoch seconds, or milliseconds when implausibly large for seconds.
            let seconds = number > 100_000_000_000 ? number / 1000 : number
            // Years 1 to 9999 only, as for every other date (a long run of digits is no date).
            guard seconds < ArticleProcessor.latestDate else { return nil }
            return Parsed(date: Date(timeIntervalSince1970: seconds), precision: .second, timeZone: "Z")
        }
        if let iso = self.parseISO(text) { return iso }
        let words = text.replacingOccurrences(of: ",", with: " ").split(whereSeparator: { $0 == " " })
        // Optional weekday first (RFC 2822 and "Monday, August 4, 2025").
        var rest = words[...]
        if let first = rest.first, first.count >= 3, self.weekdays.contains(first.lowercased().trimmingCharacters(in: .punctuationCharacters)) {
            rest = rest.dropFirst()
        }
        let parts = Array(rest)
        guard parts.count >= 3 else { return nil }
        var year: Int?
        var month: Int?
        var day: Int?
        if let m = self.month(parts[0]), let d = Int(parts[1].trimmingCharacters(in: .letters)), let y = Int(parts[2]) {
            (year, month, day) = (y, m, d)  // August 4 2025
        } else if let d = Int(parts[0]), let m = self.month(parts[1]), let y = Int(parts[2]) {
            (year, month, day) = (y, m, d)  // 4 August 2025
        }
        guard let year, let month, let day else { return nil }
        if parts.count == 3 {
            return self.make(year: year, month: month, day: day).map { Parsed(date: $0, precision: .day, timeZone: nil) }
        }
        // A time, optionally an offset: "10:00:00 +0500", "10:00 GMT".
        let time = parts[3].split(separator: ":").compactMap { Int($0) }
        guard time.count >= 2, parts.count <= 5 else { return nil }
        var offset = 0
        var zone: String?
        if parts.count == 5 {
            guard let parsed = self.parseOffset(String(parts[4])) else { return nil }
            (offset, zone) = parsed
        }
        return self.make(year: year, month: month, day: day, hour: time[0], minute: time[1], second: time.count > 2 ? time[2] : 0, offsetSeconds: offset)
            .map { Parsed(date: $0, precision: time.count > 2 ? .second : .minute, timeZone: zone) }
    }

    static let weekdays: Set<String> = [
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    ]

    /// `Z`, `UTC`, `GMT`, `+05:00`, `+0500`, `-03`.
    static func parseOffset(_ text: String) -> (seconds: Int, text: String)? {
        switch text.uppercased() {
        case "Z", "UTC", "GMT": return (0, "Z")
        default: break
        }
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        var digits = String(text.dropFirst())
        if digits.count == 5, digits[digits.index(digits.startIndex, offsetBy: 2)] == ":" {
            digits.remove(at: digits.index(digits.startIndex, offsetBy: 2))
        }
        guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let value = Int(digits) else {
            return nil
        }
        let hours = digits.count == 2 ? value : value / 100
        let minutes = digits.count == 2 ? 0 : value % 100
        guard hours <= 14, minutes < 60 else { return nil }
        let seconds = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
        let formatted = String(format: "%@%02d:%02d", String(sign), hours, minutes)
        return (seconds, formatted)
    }

    /// `2025-08-04`, `2025-08-04T10:00`, `2025-08-04T10:00:00.5+05:00`, `2025-08-04 10:00:00Z`.
    static func parseISO(_ text: String) -> Parsed? {
        let characters = Array(text)
        guard characters.count >= 10, characters[4] == "-", characters[7] == "-",
            let year = Int(String(characters[0..<4])), let month = Int(String(characters[5..<7])), let day = Int(String(characters[8..<10]))
        else { return nil }
        if characters.count == 10 {
            return self.make(year: year, month: month, day: day).map { Parsed(date: $0, precision: .day, timeZone: nil) }
        }
        guard characters[10] == "T" || characters[10] == " " else { return nil }
        var rest = String(characters[11...])
        var offset = 0
        var zone: String?
        if let index = rest.lastIndex(where: { $0 == "Z" || $0 == "z" || $0 == "+" || $0 == "-" }) {
            guard let parsed = self.parseOffset(String(rest[index...])) else { return nil }
            (offset, zone) = parsed
            rest = String(rest[..<index])
        }
        let time = rest.split(separator: ":")
        guard time.count >= 2, let hour = Int(time[0]), let minute = Int(time[1]) else { return nil }
        var second = 0
        var fraction = 0.0
        if time.count > 2 {
            // Not "inf", "nan" or "1e300": Int(value) would trap.
            guard let value = Double(time[2]), value >= 0, value < 61 else { return nil }
            second = Int(value)
            fraction = value - Double(second)
        }
        return self.make(year: year, month: month, day: day, hour: hour, minute: minute, second: second, offsetSeconds: offset)
            .map { Parsed(date: $0.addingTimeInterval(fraction), precision: time.count > 2 ? .second : .minute, timeZone: zone) }
    }
}
