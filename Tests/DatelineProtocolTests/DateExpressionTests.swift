import DatelineProtocol
import Foundation
import Testing

@Suite("Dates as people write them")
struct DateExpressionTests {
    /// Wednesday 2 December 2026, 15:30 UTC.
    let now: Date = Self.date("2026-12-02T15:30:00Z")

    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    func date(_ text: String) -> Date { Self.date(text) }

    func span(_ text: String) throws -> DateExpression.DateSpan {
        try DateExpression(parsing: text).resolve(now: self.now)
    }

    func day(_ text: String) -> DateExpression.DateSpan {
        let start = self.date(text + "T00:00:00Z")
        return DateExpression.DateSpan(start: start, end: start.addingTimeInterval(86_400 - 0.001))
    }

    @Test func relativeDaysAndInstants() throws {
        #expect(try self.span("now") == .init(start: self.now, end: self.now))
        #expect(try self.span("today") == self.day("2026-12-02"))
        #expect(try self.span(" Yesterday ") == self.day("2026-12-01"))
        #expect(try self.span("tomorrow") == self.day("2026-12-03"))
        #expect(try self.span("7d").start == self.date("2026-11-25T15:30:00Z"))
        #expect(try self.span("24h").start == self.date("2026-12-01T15:30:00Z"))
        #expect(try self.span("30min").start == self.date("2026-12-02T15:00:00Z"))
        #expect(try self.span("3mo").start == self.date("2026-09-02T15:30:00Z"))
        #expect(try self.span("3 weeks ago").start == self.date("2026-11-11T15:30:00Z"))
        #expect(try self.span("1 year ago").end == self.date("2025-12-02T15:30:00Z"))
    }

    @Test func weekdaysWeeksMonthsAndYears() throws {
        #expect(try self.span("wednesday") == self.day("2026-12-02"), "today is a Wednesday")
        #expect(try self.span("last wednesday") == self.day("2026-11-25"))
        #expect(try self.span("monday") == self.day("2026-11-30"))
        #expect(try self.span("last Monday") == self.day("2026-11-30"))
        #expect(try self.span("last sunday") == self.day("2026-11-29"))
        let week = try self.span("this week")
        #expect(week.start == self.date("2026-11-30T00:00:00Z"))
        #expect(week.end == self.date("2026-12-07T00:00:00Z").addingTimeInterval(-0.001))
        #expect(try self.span("last week").start == self.date("2026-11-23T00:00:00Z"))
        let lastMonth = try self.span("last month")
        #expect(lastMonth.start == self.date("2026-11-01T00:00:00Z"))
        #expect(lastMonth.end == self.date("2026-12-01T00:00:00Z").addingTimeInterval(-0.001))
        #expect(try self.span("this year").start == self.date("2026-01-01T00:00:00Z"))
        #expect(try self.span("next year").start == self.date("2027-01-01T00:00:00Z"))
    }

    @Test func absoluteYearsMonthsWeeksDaysAndInstants() throws {
        let year = try self.span("2025")
        #expect(year.start == self.date("2025-01-01T00:00:00Z"))
        #expect(year.end == self.date("2026-01-01T00:00:00Z").addingTimeInterval(-0.001))
        let july = try self.span("2025-07")
        #expect(july.start == self.date("2025-07-01T00:00:00Z"))
        #expect(july.end == self.date("2025-08-01T00:00:00Z").addingTimeInterval(-0.001))
        let week = try self.span("2025-W30")
        #expect(week.start == self.date("2025-07-21T00:00:00Z"))
        #expect(week.end == self.date("2025-07-28T00:00:00Z").addingTimeInterval(-0.001))
        #expect(try self.span("2020-W53").start == self.date("2020-12-28T00:00:00Z"), "2020 has 53 ISO weeks")
        #expect(try self.span("2025-07-26") == self.day("2025-07-26"))
        #expect(try self.span("2025-07-26T14:30:00Z").start == self.date("2025-07-26T14:30:00Z"))
        #expect(try self.span("2025-07-26T14:30Z").start == self.date("2025-07-26T14:30:00Z"))
        #expect(try self.span("2025-07-26T16:30:00+02:00").start == self.date("2025-07-26T14:30:00Z"))
        #expect(try self.span("2025-07-26T14:30:00").start == self.date("2025-07-26T14:30:00Z"), "no offset is UTC")
    }

    @Test(arguments: ["someday", "", "2025-13", "2025-02-30", "2021-W53", "2025-W00", "7 fortnights ago", "last decade", "7x", "-3d", "20250726"])
    func textThatIsNotADateIsRefusedSayingWhatIs(_ text: String) {
        #expect {
            _ = try DateExpression(parsing: text)
        } throws: { error in
            guard let error = error as? DatelineError else { return false }
            return error.code == .invalidArgument && error.message.contains("is not a date") && error.message.contains("2025-W30")
        }
    }

    @Test func aSearchResolvesItsTextsAndRefusesABoundGivenTwice() throws {
        let request = SearchRequest(query: "x", fromText: "2025-07", toText: "2025-07", eventToText: "yesterday")
        let resolved = try request.resolvingDateTexts(now: self.now)
        #expect(resolved.from == self.date("2025-07-01T00:00:00Z"))
        #expect(resolved.to == self.date("2025-08-01T00:00:00Z").addingTimeInterval(-0.001))
        #expect(resolved.eventFrom == nil)
        #expect(resolved.eventTo == self.day("2026-12-01").end)
        #expect(resolved.fromText == nil)
        let twice = SearchRequest(query: "x", from: self.now, fromText: "7d")
        #expect(throws: DatelineError.self) { _ = try twice.resolvingDateTexts(now: self.now) }
    }
}
