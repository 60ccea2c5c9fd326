#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A date written as people write them on a command line, absolute or relative to now, resolved in UTC to the
/// span of time it names: `now`, `today`, `yesterday`, `tomorrow`; `7d`, `24h`, `2w`, `3mo`, `1y`, `30min`
/// (that long before now), or the same in words (`7 days ago`); `monday` (the latest Monday, today included),
/// `last monday` (the one before today); `this week`, `last week`, `this month`, `last month`, `this year`,
/// `last year` (ISO weeks start on Monday); `2025` (a year), `2025-07` (a month), `2025-W30` (an ISO week),
/// `2025-07-26` (a day), and ISO 8601 instants (`2025-07-26T14:30:00Z`, with an offset or without seconds).
///
/// A span's ``DateSpan/start`` is what `from` means and its ``DateSpan/end`` (its last millisecond) what `to`
/// means: `--from 2025-07 --to 2025-07` is the whole of July; an instant's start and end are the same.
public struct DateExpression: Sendable, Hashable, CustomStringConvertible {
    /// The span a ``DateExpression`` names.
    public struct DateSpan: Sendable, Hashable {
        /// Its first instant.
        public var start: Date
        /// Its last millisecond (the same as ``start`` for an instant).
        public var end: Date

        /// A span from `start` to `end`, both included.
        public init(start: Date, end: Date) {
            self.start = start
            self.end = end
        }
    }

    private enum Form: Sendable, Hashable {
        case instant(Date)
        case ago(Calendar.Component, Int)
        case now
        case day(offset: Int)
        case weekday(Int, strictlyBefore: Bool)
        case current(Calendar.Component, offset: Int)
        case span(start: Date, component: Calendar.Component)
    }

    /// The text as written.
    public let text: String
    private let form: Form

    public var description: String { self.text }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// Reads `text`.
    /// - Throws: ``DatelineError`` `INVALID_ARGUMENT` saying what forms are understood.
    public init(parsing text: String) throws(DatelineError) {
        self.text = text
        let words = text.lowercased().split(whereSeparator: \.isWhitespace).map(String.init)
        guard let form = Self.form(words) ?? Self.absolute(String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())) else {
            throw DatelineError(
                code: .invalidArgument,
                message: "'\(text)' is not a date: use 2025-07-26, 2025-07, 2025-W30, 2025, an ISO 8601 time, now, today, yesterday, 7d, 24h, '3 weeks ago', 'last monday', 'this month'"
            )
        }
        self.form = form
    }

    /// The span the expression names when it is `now`.
    public func resolve(now: Date) -> DateSpan {
        let calendar = Self.calendar
        let today = calendar.startOfDay(for: now)
        switch self.form {
        case .instant(let date):
            return DateSpan(start: date, end: date)
        case .now:
            return DateSpan(start: now, end: now)
        case .ago(let component, let amount):
            let date = calendar.date(byAdding: component, value: -amount, to: now) ?? now
            return DateSpan(start: date, end: date)
        case .day(let offset):
            return Self.span(of: .day, starting: calendar.date(byAdding: .day, value: offset, to: today) ?? today)
        case .weekday(let weekday, let strictlyBefore):
            let current = calendar.component(.weekday, from: today)
            var back = (current - weekday + 7) % 7
            if back == 0, strictlyBefore { back = 7 }
            return Self.span(of: .day, starting: calendar.date(byAdding: .day, value: -back, to: today) ?? today)
        case .current(let component, let offset):
            let start = calendar.dateInterval(of: component, for: now)?.start ?? today
            return Self.span(of: component, starting: calendar.date(byAdding: component, value: offset, to: start) ?? start)
        case .span(let start, let component):
            return Self.span(of: component, starting: start)
        }
    }

    private static func span(of component: Calendar.Component, starting start: Date) -> DateSpan {
        let next = self.calendar.date(byAdding: component == .weekOfYear ? .day : component, value: component == .weekOfYear ? 7 : 1, to: start) ?? start
        return DateSpan(start: start, end: next.addingTimeInterval(-0.001))
    }

    // MARK: Reading

    private static let units: [String: Calendar.Component] = [
        "s": .second, "sec": .second, "secs": .second, "second": .second, "seconds": .second,
        "m": .minute, "min": .minute, "mins": .minute, "minute": .minute, "minutes": .minute,
        "h": .hour, "hr": .hour, "hrs": .hour, "hour": .hour, "hours": .hour,
        "d": .day, "day": .day, "days": .day,
        "w": .weekOfYear, "wk": .weekOfYear, "week": .weekOfYear, "weeks": .weekOfYear,
        "mo": .month, "month": .month, "months": .month,
        "y": .year, "yr": .year, "year": .year, "years": .year,
    ]

    private static let weekdays = ["sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7]

    /// The relative forms, from the lowercased words.
    private static func form(_ words: [String]) -> Form? {
        switch words.count {
        case 1:
            let word = words[0]
            switch word {
            case "now": return .now
            case "today": return .day(offset: 0)
            case "yesterday": return .day(offset: -1)
            case "tomorrow": return .day(offset: 1)
            default: break
            }
            if let weekday = self.weekdays[word] { return .weekday(weekday, strictlyBefore: false) }
            // 7d, 24h, 3mo: digits then a unit.
            let digits = word.prefix(while: \.isASCII).prefix(while: \.isNumber)
            if let amount = Int(digits), amount <= 1_000_000, let unit = self.units[String(word.dropFirst(digits.count))] {
                return .ago(unit, amount)
            }
            return nil
        case 2:
            guard ["this", "last", "next"].contains(words[0]) else { return nil }
            let offset = words[0] == "this" ? 0 : (words[0] == "last" ? -1 : 1)
            if let weekday = self.weekdays[words[1]], offset == -1 { return .weekday(weekday, strictlyBefore: true) }
            switch words[1] {
            case "week": return .current(.weekOfYear, offset: offset)
            case "month": return .current(.month, offset: offset)
            case "year": return .current(.year, offset: offset)
            default: return nil
            }
        case 3:
            guard words[2] == "ago", let amount = Int(words[0]), amount <= 1_000_000, let unit = self.units[words[1]], words[1].count > 2 || words[1] == "mo"
            else { return nil }
            return .ago(unit, amount)
        default:
            return nil
        }
    }

    /// The absolute forms: a year, an ISO month, week or day, or an ISO 8601 instant.
    private static func absolute(_ text: String) -> Form? {
        let calendar = self.calendar
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        func number(_ part: Substring, digits: Int) -> Int? { part.count == digits && part.allSatisfy(\.isASCII) ? Int(part) : nil }
        guard let year = parts.first.flatMap({ number($0, digits: 4) }), year >= 1 else { return self.instant(text) }
        switch parts.count {
        case 1:
            return calendar.date(from: DateComponents(year: year, month: 1, day: 1)).map { .span(start: $0, component: .year) }
        case 2 where parts[1].hasPrefix("W") || parts[1].hasPrefix("w"):
            guard let week = number(parts[1].dropFirst(), digits: 2), (1...53).contains(week),
                let start = calendar.date(from: DateComponents(weekday: 2, weekOfYear: week, yearForWeekOfYear: year)),
                calendar.component(.yearForWeekOfYear, from: start) == year
            else { return nil }
            return .span(start: start, component: .weekOfYear)
        case 2:
            guard let month = number(parts[1], digits: 2), (1...12).contains(month) else { return nil }
            return calendar.date(from: DateComponents(year: year, month: month, day: 1)).map { .span(start: $0, component: .month) }
        case 3 where parts[2].count == 2:
            guard let month = number(parts[1], digits: 2), let day = number(parts[2], digits: 2), (1...12).contains(month),
                let start = calendar.date(from: DateComponents(year: year, month: month, day: day)),
                calendar.component(.day, from: start) == day
            else { return nil }
            return .span(start: start, component: .day)
        default:
            return self.instant(text)
        }
    }

    private static func instant(_ text: String) -> Form? {
        let formats: [Date.ISO8601FormatStyle] = [
            .iso8601,
            Date.ISO8601FormatStyle(includingFractionalSeconds: true),
            Date.ISO8601FormatStyle().year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon),
        ]
        var candidates = [text]
        // Without seconds (2025-07-26T14:30Z), or without an offset (taken as UTC).
        if let t = text.firstIndex(of: "T") {
            let time = text[text.index(after: t)...]
            let zone = time.firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" })
            let clock = zone.map { time[..<$0] } ?? time
            let offset = zone.map { String(time[$0...]) } ?? "Z"
            let withSeconds = clock.filter { $0 == ":" }.count == 1 ? clock + ":00" : String(clock)
            candidates.append(String(text[...t]) + withSeconds + offset)
        }
        for candidate in candidates {
            for format in formats {
                if let date = try? Date(candidate, strategy: format) { return .instant(date) }
            }
        }
        return nil
    }
}

extension SearchRequest {
    /// The request with its date texts (``fromText``, ``toText``, ``eventFromText``, ``eventToText``) resolved
    /// against `now` into ``from``, ``to``, ``eventFrom`` and ``eventTo``: a text's span starts a `from` and ends
    /// a `to`.
    /// - Throws: ``DatelineError`` `INVALID_ARGUMENT` for a text that is not a date, or a bound given both as a
    ///   date and as text.
    public func resolvingDateTexts(now: Date) throws(DatelineError) -> SearchRequest {
        var resolved = self
        func resolve(_ text: String?, _ date: Date?, name: String, end: Bool) throws(DatelineError) -> Date? {
            guard let text else { return date }
            guard date == nil else {
                throw DatelineError(code: .invalidArgument, message: "\(name) is given both as a date and as text ('\(text)'): give one")
            }
            let span = try DateExpression(parsing: text).resolve(now: now)
            return end ? span.end : span.start
        }
        resolved.from = try resolve(self.fromText, self.from, name: "from", end: false)
        resolved.to = try resolve(self.toText, self.to, name: "to", end: true)
        resolved.eventFrom = try resolve(self.eventFromText, self.eventFrom, name: "event_from", end: false)
        resolved.eventTo = try resolve(self.eventToText, self.eventTo, name: "event_to", end: true)
        (resolved.fromText, resolved.toText, resolved.eventFromText, resolved.eventToText) = (nil, nil, nil, nil)
        return resolved
    }
}
