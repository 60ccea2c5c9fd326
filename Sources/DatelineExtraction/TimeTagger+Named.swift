/// Time expressions named rather than counted: holidays, centuries and decades in words, years spelled out,
/// seasons, the year before ("year-earlier"), sets of months, weekdays and parts of days, and clock times
/// followed by the day they fall on.
extension TimeTagger {
    /// Holidays by their words (lower case): a fixed day, or the nth weekday of a month (n = -1: the last).
    enum Holiday {
        case fixed(month: Int, day: Int)
        case nthWeekday(month: Int, weekday: Int, n: Int)
        case easter
        /// The Tuesday after the first Monday of November (US federal elections).
        case electionDay
    }

    static let holidays: [[String]: Holiday] = [
        ["christmas"]: .fixed(month: 12, day: 25), ["christmas", "day"]: .fixed(month: 12, day: 25),
        ["christmas", "eve"]: .fixed(month: 12, day: 24), ["boxing", "day"]: .fixed(month: 12, day: 26),
        ["new", "year", "'s", "day"]: .fixed(month: 1, day: 1), ["new", "year", "'s", "eve"]: .fixed(month: 12, day: 31),
        ["valentine", "'s", "day"]: .fixed(month: 2, day: 14), ["halloween"]: .fixed(month: 10, day: 31),
        ["independence", "day"]: .fixed(month: 7, day: 4), ["bastille", "day"]: .fixed(month: 7, day: 14),
        ["thanksgiving"]: .nthWeekday(month: 11, weekday: 4, n: 4), ["thanksgiving", "day"]: .nthWeekday(month: 11, weekday: 4, n: 4),
        ["labor", "day"]: .nthWeekday(month: 9, weekday: 1, n: 1), ["memorial", "day"]: .nthWeekday(month: 5, weekday: 1, n: -1),
        ["easter"]: .easter, ["easter", "sunday"]: .easter, ["election", "day"]: .electionDay,
    ]
    static let holidaysByFirstWord: [String: [[String]]] = {
        var out: [String: [[String]]] = [:]
        for words in Self.holidays.keys { out[words[0], default: []].append(words) }
        for key in out.keys { out[key]!.sort { $0.count > $1.count } }
        return out
    }()

    static let ordinalWords: [String: Int] = [
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
        "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
        "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "twenty-first": 21,
    ]
    static let decadeWords: [String: Int] = [
        "twenties": 2, "thirties": 3, "forties": 4, "fifties": 5, "sixties": 6, "seventies": 7, "eighties": 8, "nineties": 9,
    ]
    /// The centuries a decade word may follow ("the nineteen eighties").
    static let centuryWords: [String: Int] = ["eighteen": 18, "nineteen": 19]
    static let setWords: [String: (value: String, precision: String)] = [
        "annually": ("P1Y", "year"), "hourly": ("PT1H", "hour"), "quarterly": ("P3M", "quarter"), "nightly": ("P1D", "day"),
    ]
    static let timeZones: Set<String> = ["est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "gmt", "utc", "bst", "cet", "et", "local", "time"]
    /// Words the named expressions can start with (added to the tagger's openers).
    static let namedOpeners: Set<String> = {
        var words = Set(Self.holidaysByFirstWord.keys)
        words.formUnion(Self.decadeWords.keys)
        words.formUnion(Self.setWords.keys)
        words.formUnion(["noon", "midday", "midnight", "eighteen", "nineteen", "twenty", "two"])
        for word in Self.ordinalWords.keys { words.insert(word) }
        return words
    }()

    /// The date of a holiday in `year`.
    static func date(of holiday: Holiday, in year: Int) -> CivilDate {
        switch holiday {
        case .fixed(let month, let day): return CivilDate(year: year, month: month, day: day)
        case .nthWeekday(let month, let weekday, let n):
            if n > 0 {
                let first = CivilDate(year: year, month: month, day: 1)
                return first.adding(days: (weekday - first.weekday + 7) % 7 + 7 * (n - 1))
            }
            let last = CivilDate(year: year, month: month, day: CivilDate.daysIn(month: month, year: year))
            return last.adding(days: -((last.weekday - weekday + 7) % 7))
        case .easter:
            // The anonymous Gregorian computus.
            let a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4
            let f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30
            let i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451
            let month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1
            return CivilDate(year: year, month: month, day: day)
        case .electionDay:
            let first = CivilDate(year: year, month: 11, day: 1)
            return first.adding(days: (1 - first.weekday + 7) % 7 + 1)
        }
    }

    /// A year written in words at `i`: "nineteen ninety-six", "nineteen eighty", "two thousand" (the last only
    /// after "year" or "in", where it cannot be a count).
    func spelledYear(at i: Int, _ lower: [String], _ tokens: [Token]) -> (year: Int, last: Int)? {
        let n = lower.count
        guard i < n else { return nil }
        let same = { (j: Int) in j < n && tokens[j].sentence == tokens[i].sentence }
        if let century = Self.centuryWords[lower[i]], same(i + 1),
           let rest = self.number(at: i + 1, lower, tokens), let value = rest.value, value >= 10, value < 100, value == value.rounded(),
           !["a", "an", "one", "single", "half", "dozen", "hundred"].contains(lower[i + 1])
        {
            return (century * 100 + Int(value), i + rest.length)
        }
        if lower[i] == "two", same(i + 1), lower[i + 1] == "thousand", i > 0, ["year", "in"].contains(lower[i - 1]) {
            return (2000, i + 1)
        }
        return nil
    }

    /// The year a season or holiday falls in, written on `reference`: this year's if it has begun (or the text
    /// looks ahead), else last year's; `relation` ("last", "next") moves it.
    static func year(starting date: (Int) -> CivilDate, reference: CivilDate, relation: String?, ahead: Bool) -> Int {
        switch relation {
        case "last", "past", "previous", "the last", "the past", "the previous":
            return date(reference.year) < reference ? reference.year : reference.year - 1
        case "next", "coming", "the next", "the coming":
            return reference < date(reference.year) ? reference.year : reference.year + 1
        default:
            if ahead { return date(reference.year).dayNumber < reference.dayNumber - 7 ? reference.year + 1 : reference.year }
            return date(reference.year).dayNumber > reference.dayNumber + 2 ? reference.year - 1 : reference.year
        }
    }

    /// The first day of a season in `year` (winter: December of that year).
    static func start(ofSeason season: String, in year: Int) -> CivilDate {
        let month = ["SP": 3, "SU": 6, "FA": 9, "WI": 12][season] ?? 1
        return CivilDate(year: year, month: month, day: 1)
    }

    /// Words a named expression has at its head, after any "last", "next", "this" or "the".
    static let namedHeads: Set<String> = {
        var words = Self.namedOpeners
        words.formUnion(Self.seasons.keys)
        words.formUnion(["each", "every", "year"])
        return words
    }()

    /// Named expressions starting at `i` (after any modifier; `start` is where the match began).
    func matchNamed(start: Int, at i: Int, modifier: String?, tokens: [Token], lower: [String], reference: CivilDate?) -> TaggedTime? {
        let n = tokens.count
        // Most openers start none of these: one look-up to say so.
        let head = ["last", "next", "this", "the"].contains(lower[i]) && i + 1 < n ? i + 1 : i
        guard Self.namedHeads.contains(lower[head]) || (tokens[head].kind == .number && head + 1 < n && lower[head + 1].hasPrefix("centur")) else { return nil }
        let same = { (j: Int) in j < n && tokens[j].sentence == tokens[i].sentence }
        func result(_ last: Int, _ type: String, _ value: String, _ precision: String) -> TaggedTime {
            TaggedTime(first: start, last: last, type: type, value: value, precision: precision, modifier: modifier)
        }
        var k = i
        var relation: String?
        if ["last", "next", "this", "the"].contains(lower[k]), same(k + 1) {
            relation = lower[k] == "the" ? nil : lower[k]
            k += 1
        }
        // Holidays: "Thanksgiving", "last Christmas", "New Year's Day".
        if tokens[k].isCapitalized, let candidates = Self.holidaysByFirstWord[lower[k]] {
            for words in candidates where same(k + words.count - 1) && lower[k..<(k + words.count)].elementsEqual(words) {
                let last = k + words.count - 1
                guard let reference, let holiday = Self.holidays[words] else { return result(last, "DATE", "XXXX-XX-XX", "day") }
                let ahead = self.looksAhead(start, lower, tokens)
                var year: Int
                if relation == nil || relation == "this" {
                    // The next one when the text looks ahead, else the nearest.
                    let candidates = [reference.year - 1, reference.year, reference.year + 1]
                    let distance = { (y: Int) in Self.date(of: holiday, in: y).dayNumber - reference.dayNumber }
                    year = ahead
                        ? candidates.first { distance($0) >= -1 } ?? reference.year
                        : candidates.min { abs(distance($0)) < abs(distance($1)) } ?? reference.year
                } else {
                    year = Self.year(starting: { Self.date(of: holiday, in: $0) }, reference: reference, relation: relation, ahead: ahead)
                }
                return result(last, "DATE", Self.date(of: holiday, in: year).description, "day")
            }
        }
        // Centuries: "the 20th century", "the nineteenth century".
        if same(k + 1), lower[k + 1] == "century" || lower[k + 1] == "centuries" {
            let ordinal = Self.ordinalWords[lower[k]] ?? (tokens[k].kind == .number && lower[k].count > 2 ? Self.dayNumber(lower[k]) : nil)
            if let ordinal, ordinal >= 1, ordinal <= 30 { return result(k + 1, "DATE", CivilDate.pad(ordinal - 1, 2), "century") }
        }
        // Decades in words: "the nineties" (the last such decade).
        if lower[i] == "the", let tens = Self.decadeWords[lower[k]] {
            var century = (reference?.year ?? 1999) / 100
            if let reference, tens * 10 > reference.year % 100 { century -= 1 }
            return result(k, "DATE", "\(CivilDate.pad(century, 2))\(tens)", "decade")
        }
        // Years in words: "nineteen ninety-six", "the year two thousand".
        if let spelled = self.spelledYear(at: k, lower, tokens) { return result(spelled.last, "DATE", String(spelled.year), "year") }
        if lower[i] == "the", lower[k] == "year", same(k + 1), let spelled = self.spelledYear(at: k + 1, lower, tokens) {
            return result(spelled.last, "DATE", String(spelled.year), "year")
        }
        if lower[i] == "the", lower[k] == "year", same(k + 1), tokens[k + 1].kind == .number, lower[k + 1].count == 4, let year = Int(lower[k + 1]) {
            return result(k + 1, "DATE", String(year), "year")
        }
        // The year before: "year-earlier", "the year-ago period", "year-ago levels".
        if lower[k] == "year", same(k + 2), lower[k + 1] == "-", ["earlier", "ago"].contains(lower[k + 2]), let reference {
            var last = k + 2
            // "the year-ago third quarter": that quarter a year before.
            if lower[i] == "the", same(last + 2), let quarter = Self.ordinals[lower[last + 1]], lower[last + 2] == "quarter" {
                return result(last + 2, "DATE", "\(CivilDate.pad(reference.year - 1, 4))-Q\(quarter)", "quarter")
            }
            if same(last + 1), ["period", "quarter", "level", "levels"].contains(lower[last + 1]), lower[i] == "the" { last += 1 }
            return result(last, "DATE", CivilDate.pad(reference.year - 1, 4), "year")
        }
        // Seasons: "the summer", "the winter of 1994", "the winter of nineteen ninety-four".
        if lower[i] == "the", let season = Self.seasons[lower[k]] {
            if same(k + 2), lower[k + 1] == "of" {
                if let spelled = self.spelledYear(at: k + 2, lower, tokens) { return result(spelled.last, "DATE", "\(spelled.year)-\(season)", "season") }
                if tokens[k + 2].kind == .number, lower[k + 2].count == 4, let year = Int(lower[k + 2]) { return result(k + 2, "DATE", "\(year)-\(season)", "season") }
            }
            guard let reference else { return result(k, "DATE", "XXXX-\(season)", "season") }
            let year = Self.year(starting: { Self.start(ofSeason: season, in: $0) }, reference: reference, relation: nil, ahead: self.looksAhead(start, lower, tokens))
            return result(k, "DATE", "\(CivilDate.pad(year, 4))-\(season)", "season")
        }
        // Sets: "annually", "quarterly"; "each July", "every Thursday", "every morning".
        // An adjective ("quarterly results", "an annually renewed licence") is no time expression.
        if relation == nil, lower[i] != "the", let set = Self.setWords[lower[i]], !(same(i + 1) && tokens[i + 1].kind == .word && tokens[i + 1].text == lower[i + 1]) {
            return result(i, "SET", set.value, set.precision)
        }
        if ["each", "every"].contains(lower[i]), same(i + 1) {
            if let month = Self.months[lower[i + 1]], tokens[i + 1].isCapitalized, lower[i + 1].count > 3 {
                return result(i + 1, "SET", "XXXX-\(CivilDate.pad(month, 2))", "month")
            }
            if let weekday = Self.weekdays[lower[i + 1]] { return result(i + 1, "SET", "XXXX-WXX-\(weekday)", "day") }
            if let part = Self.partsOfDay[lower[i + 1]], lower[i + 1] != "overnight" { return result(i + 1, "SET", "XXXX-XX-XXT\(part)", "day") }
            if let season = Self.seasons[lower[i + 1]] { return result(i + 1, "SET", "XXXX-\(season)", "season") }
        }
        // Noon and midnight, with the day they fall on when it follows ("noon Thursday").
        if ["noon", "midday", "midnight"].contains(lower[i]) {
            let clock = lower[i] == "midnight" ? "24:00" : "12:00"
            return self.clockTime(clock, start: start, last: i, modifier: modifier, tokens: tokens, lower: lower, reference: reference)
        }
        return nil
    }

    /// A clock time ending at token `last`, on the day named right after it ("10 p.m. Wednesday", "5 p.m. EST
    /// Nov. 9") or else on the reference day.
    func clockTime(_ clock: String, start: Int, last: Int, modifier: String?, tokens: [Token], lower: [String], reference: CivilDate?) -> TaggedTime {
        let n = tokens.count
        var k = last + 1
        while k < n, tokens[k].sentence == tokens[last].sentence, Self.timeZones.contains(lower[k]) || lower[k] == "," || lower[k] == "on" { k += 1 }
        if k < n, tokens[k].sentence == tokens[last].sentence, let weekday = Self.weekdays[lower[k]], tokens[k].isCapitalized, let reference {
            // The day is read with the words before the clock time ("will start at 9 a.m. Tuesday").
            let date = Self.resolve(weekday: weekday, reference: reference, relation: nil, ahead: self.looksAhead(start, lower, tokens))
            return TaggedTime(first: start, last: k, type: "TIME", value: "\(date)T\(clock)", precision: "minute", modifier: modifier)
        }
        if k < n, tokens[k].sentence == tokens[last].sentence,
           Self.months[lower[k]] != nil || ["today", "yesterday", "tomorrow"].contains(lower[k]),
           let day = self.match(at: k, tokens: tokens, lower: lower, reference: reference), day.precision == "day", day.value.count >= 10
        {
            return TaggedTime(first: start, last: day.last, type: "TIME", value: "\(day.value.prefix(10))T\(clock)", precision: "minute", modifier: modifier)
        }
        let prefix = reference.map { $0.description } ?? "XXXX-XX-XX"
        return TaggedTime(first: start, last: last, type: "TIME", value: "\(prefix)T\(clock)", precision: "minute", modifier: modifier)
    }
}

/// Days told relative to the story's own last date: "the next day", "the previous day", "the day before", "that
/// day", "the same day" ("three days later" stays a duration with TimeML: "later" is a signal). They are matched with a placeholder value (``narrativeMarker`` and the
/// offset in days) that ``TimeTagger/resolveNarrativeDays(_:)`` replaces with the last full date named before them.
extension TimeTagger {
    static let narrativeMarker = "NARRATIVE"
    /// "the next day" and the like: the word before "day", and the days it counts from the story's last date.
    static let narrativeOffsets: [String: Int] = ["next": 1, "following": 1, "previous": -1, "preceding": -1, "same": 0]

    /// A day counted from the narrative's last date, starting at token `i`.
    func matchNarrativeDay(start: Int, at i: Int, tokens: [Token], lower: [String]) -> TaggedTime? {
        let n = tokens.count
        let same = { (j: Int) in j < n && tokens[j].sentence == tokens[i].sentence }
        func day(_ last: Int, _ offset: Int) -> TaggedTime {
            TaggedTime(first: start, last: last, type: "DATE", value: "\(Self.narrativeMarker)\(offset)", precision: "day", modifier: nil)
        }
        let word = lower[i]
        if word == "the", same(i + 2) {
            let next = lower[i + 1]
            if lower[i + 2] == "day", let offset = Self.narrativeOffsets[next] { return day(i + 2, offset) }
            // "the day before." / "the day after," — not "the day before the vote" (that day is the vote's).
            if next == "day", ["before", "after"].contains(lower[i + 2]), !(same(i + 3) && tokens[i + 3].kind == .word) {
                return day(i + 2, lower[i + 2] == "before" ? -1 : 1)
            }
        }
        if word == "that", same(i + 1), lower[i + 1] == "day", !(same(i + 2) && ["of", "when", "that"].contains(lower[i + 2])) { return day(i + 1, 0) }
        return nil
    }

    /// Gives each narrative day (see ``matchNarrativeDay(start:at:tokens:lower:)``) the date of the last full date
    /// (or narrative day) named before it, moved by its offset; with none before it, it is no time expression ("that
    /// day" alone).
    static func resolveNarrativeDays(_ found: inout [TaggedTime]) {
        var anchor: CivilDate?
        var unresolved: [Int] = []
        for index in found.indices {
            let value = found[index].value
            if value.hasPrefix(Self.narrativeMarker), let offset = Int(value.dropFirst(Self.narrativeMarker.count)) {
                // A day resolved so moves the story on: "the next day … the day before" is the first day again.
                if let day = anchor?.adding(days: offset) {
                    found[index].value = day.description
                    anchor = day
                } else {
                    unresolved.append(index)
                }
                continue
            }
            // A full date (a day, or a time on one) anchors what follows.
            let parts = value.prefix(10).split(separator: "-")
            if found[index].type == "DATE" || found[index].type == "TIME", parts.count == 3, parts[0].count == 4,
               let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), CivilDate.isValid(year: year, month: month, day: day)
            {
                anchor = CivilDate(year: year, month: month, day: day)
            }
        }
        for index in unresolved.reversed() { found.remove(at: index) }
    }
}
