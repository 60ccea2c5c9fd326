import DatelineExtraction

/// Whether the dates that reports of one engagement give can all be true at once: TIMEX3 values at different
/// precisions agree when one refines the other ("1987-04" and "1987-04-07"; "1987-04-07" and "1987-04-07TAF",
/// the afternoon of that day; "1987-W15" and a day of that ISO week); "1987-04-07" and "1987-04-08" do not.
enum ReportedDates {
    /// Whether `a` and `b` may name the same time.
    static func agree(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        if self.refines(b, a) || self.refines(a, b) { return true }
        if let week = self.isoWeek(a), let day = self.day(b) { return day.isoWeek == week }
        if let week = self.isoWeek(b), let day = self.day(a) { return day.isoWeek == week }
        return false
    }

    /// Whether every pair of `dates` agrees.
    static func allAgree(_ dates: some Collection<String>) -> Bool {
        let distinct = Array(Set(dates))
        for (index, a) in distinct.enumerated() {
            for b in distinct[(index + 1)...] where !self.agree(a, b) { return false }
        }
        return true
    }

    /// Whether `fine` is `coarse` made more precise: it starts with it and goes on with a new component
    /// ("-07" after "1987-04", "TAF" or "T15:00" after "1987-04-07").
    private static func refines(_ fine: String, _ coarse: String) -> Bool {
        guard fine.count > coarse.count, fine.hasPrefix(coarse) else { return false }
        let next = fine[fine.index(fine.startIndex, offsetBy: coarse.count)]
        return next == "-" || next == "T"
    }

    /// "1987-W15" as (1987, 15).
    private static func isoWeek(_ value: String) -> (year: Int, week: Int)? {
        let parts = value.split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), parts[1].hasPrefix("W"), let week = Int(parts[1].dropFirst()) else { return nil }
        return (year, week)
    }

    /// The calendar day a value starts with ("1987-04-07", "1987-04-07TAF").
    private static func day(_ value: String) -> CivilDate? {
        let parts = value.prefix(10).split(separator: "-")
        guard value.count >= 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              CivilDate.isValid(year: year, month: month, day: day)
        else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }
}
