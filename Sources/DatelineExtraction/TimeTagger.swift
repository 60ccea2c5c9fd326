internal import Foundation
/// A time expression found in a tokenized text, by token range.
public struct TaggedTime: Sendable, Hashable {
    /// Tokens `first...last`.
    public var first: Int
    public var last: Int
    /// `DATE`, `TIME`, `DURATION` or `SET`.
    public var type: String
    public var value: String
    public var precision: String
    public var modifier: String?
}

/// Finds dates, times, durations and sets in text and normalizes them TIMEX3-style against a reference date
/// (the publication date), with rules: absolute dates ("August 4, 2025", "4 August", "2025-08-04"), months,
/// years, decades, quarters, seasons, weekdays ("on Friday" → the Friday before the reference unless the text
/// looks ahead), relative days/weeks/months/years ("last week", "next year", "three days ago"), parts of days,
/// clock times, durations ("less than ten days" → P10D, LESS_THAN), sets ("annually") and references ("now").
public struct TimeTagger: Sendable {
    public init() {}

    static let months: [String: Int] = [
        "january": 1, "jan": 1, "jan.": 1, "february": 2, "feb": 2, "feb.": 2, "march": 3, "mar.": 3, "april": 4,
        "apr": 4, "apr.": 4, "may": 5, "june": 6, "jun": 6, "jun.": 6, "july": 7, "jul": 7, "jul.": 7, "august": 8,
        "aug": 8, "aug.": 8, "september": 9, "sept": 9, "sept.": 9, "sep.": 9, "october": 10, "oct": 10, "oct.": 10,
        "november": 11, "nov": 11, "nov.": 11, "december": 12, "dec": 12, "dec.": 12,
    ]
    static let weekdays: [String: Int] = [
        "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7,
    ]
    static let numberWords: [String: Double] = [
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
        "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
        "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
        "half": 0.5, "single": 1,
    ]
    static let vagueNumbers: Set<String> = ["several", "few", "many", "some", "couple", "numerous"]
    /// unit word → (TIMEX letter, precision, is a time unit).
    static let units: [String: (letter: String, precision: String, time: Bool)] = [
        "second": ("S", "second", true), "minute": ("M", "minute", true), "hour": ("H", "hour", true),
        "day": ("D", "day", false), "night": ("D", "day", false), "week": ("W", "week", false),
        "weekend": ("WE", "week", false), "fortnight": ("W", "week", false), "month": ("M", "month", false),
        "quarter": ("Q", "quarter", false), "year": ("Y", "year", false), "decade": ("DE", "decade", false),
        "century": ("CE", "century", false),
    ]
    static let modifiers: [[String]: String] = [
        ["less", "than"]: "LESS_THAN", ["fewer", "than"]: "LESS_THAN", ["more", "than"]: "MORE_THAN",
        ["over"]: "MORE_THAN", ["at", "least"]: "EQUAL_OR_MORE", ["up", "to"]: "EQUAL_OR_LESS",
        ["nearly"]: "LESS_THAN", ["almost"]: "LESS_THAN", ["about"]: "APPROX", ["around"]: "APPROX",
        ["some"]: "APPROX", ["roughly"]: "APPROX", ["approximately"]: "APPROX", ["just", "over"]: "MORE_THAN",
    ]
    static let modifiersByFirstWord: [String: [(words: [String], modifier: String)]] = {
        var out: [String: [(words: [String], modifier: String)]] = [:]
        for (words, modifier) in Self.modifiers { out[words[0], default: []].append((words, modifier)) }
        for key in out.keys { out[key]!.sort { $0.words.count > $1.words.count } }
        return out
    }()
    static let partsOfDay: [String: String] = [
        "morning": "MO", "afternoon": "AF", "evening": "EV", "night": "NI", "overnight": "NI",
    ]
    static let seasons: [String: String] = ["spring": "SP", "summer": "SU", "fall": "FA", "autumn": "FA", "winter": "WI"]
    static let ordinals: [String: Int] = [
        "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    ]
    static let futureCues: Set<String> = [
        "will", "'ll", "shall", "would", "might", "next", "coming", "upcoming", "scheduled", "due", "expected", "planned",
        "planning", "plans", "until", "ahead", "expects", "intends", "tomorrow",
    ]
    static let pastCues: Set<String> = [
        "said", "says", "told", "was", "were", "had", "did", "last", "ago", "earlier", "met", "held", "has", "have",
        "yesterday", "since",
    ]

    /// Every time expression in `text`, in order, normalized against `reference` when given.
    public func tag(_ text: TokenizedText, reference: CivilDate?) -> [TaggedTime] {
        self.tag(text, lower: text.tokens.map { $0.text.lowercased() }, reference: reference)
    }

    /// Every word a time expression can start with; other words are skipped at once.
    static let openers: Set<String> = {
        var words: Set<String> = [
            "now", "currently", "nowadays", "recently", "lately", "current", "recent", "today", "yesterday", "tomorrow",
            "tonight", "the", "earlier", "later", "early", "late", "mid", "this", "last", "next", "past", "coming",
            "previous", "following", "that", "fiscal", "every", "each", "daily", "weekly", "monthly", "yearly", "for",
            "in", "over", "within", "several", "few", "many", "some", "couple", "numerous", "year", "mid-",
        ]
        words.formUnion(Self.months.keys)
        words.formUnion(Self.weekdays.keys)
        words.formUnion(Self.numberWords.keys)
        words.formUnion(Self.ordinals.keys)
        words.formUnion(Self.seasons.keys)
        for key in Self.modifiers.keys { words.insert(key[0]) }
        for unit in Self.units.keys { words.insert(unit); words.insert(unit + "s") }
        words.formUnion(Self.namedOpeners)
        return words
    }()

    /// Function words that open an expression only with a word of time after them ("the past year", "in
    /// 1988", "for three weeks", "at least two days"): most of their occurrences open none.
    static let leadWords: Set<String> = ["the", "a", "an", "in", "for", "that", "at", "over", "up", "about", "around", "some", "more", "less", "within"]
    /// The words of time one of `leadWords` needs after it: every other opener, and the words the rules read after
    /// a lead word ("the future", "the latest period", "at the time", "the same day").
    static let anchors: Set<String> = Self.openers.subtracting(Self.leadWords).union([
        "future", "period", "latest", "most", "time", "times", "same", "date", "season", "eve", "ago", "fiscal",
    ])
    /// How far after a lead word its anchor may be ("for the most recent quarter").
    static let anchorReach = 4

    /// Whether token `i` can open an expression: a number, any opener but a lead word, and a lead word with a
    /// number or an anchor soon after it (in its sentence or not: a modifier is read across a line the splitter
    /// took for a sentence's end, "less than\ntwo years").
    static func mayOpen(at i: Int, tokens: [Token], classes: [WordClass]) -> Bool {
        if tokens[i].kind == .number { return true }
        guard classes[i].contains(.timeOpener) else { return false }
        guard classes[i].contains(.timeLead) else { return true }
        var j = i + 1
        while j < tokens.count, j <= i + Self.anchorReach {
            if tokens[j].kind == .number || classes[j].contains(.timeAnchor) { return true }
            j += 1
        }
        return false
    }

    /// Like ``tag(_:reference:)``, with the tokens' lower-cased texts already at hand.
    public func tag(_ text: TokenizedText, lower: [String], reference: CivilDate?) -> [TaggedTime] {
        self.tag(text, lower: lower, classes: WordClass.classes(of: lower), reference: reference)
    }

    /// Like ``tag(_:lower:reference:)``, with the tokens' word classes already at hand.
    /// - Parameter gated: whether lead words without an anchor are passed over (`false` tries every opener: the
    ///   tests compare both, so that the gate can never skip an expression the rules would find).
    func tag(_ text: TokenizedText, lower: [String], classes: [WordClass], reference: CivilDate?, gated: Bool = true) -> [TaggedTime] {
        let tokens = text.tokens
        var found: [TaggedTime] = []
        var i = 0
        while i < tokens.count {
            let opens = gated ? Self.mayOpen(at: i, tokens: tokens, classes: classes) : tokens[i].kind == .number || classes[i].contains(.timeOpener)
            if !opens {
                i += 1
                continue
            }
            if let match = self.match(at: i, tokens: tokens, lower: lower, reference: reference) {
                found.append(match)
                i = match.last + 1
            } else {
                i += 1
            }
        }
        self.resolveReportingPeriods(&found, tokens: tokens, lower: lower, reference: reference)
        Self.resolveNarrativeDays(&found)
        return found
    }

    /// Financial reports speak of one quarter at a time: once a text has named it ("the third quarter"), "the
    /// quarter", "the latest period" and "this quarter" are that quarter, and "a year earlier", "the year-ago
    /// period", "the corresponding period last year" or "last year's quarter" the same quarter a year before.
    /// "A year ago" counts only close to the quarter (this sentence or the three before), and "last year" alone not
    /// at all; a quarter not over by `reference` ("expects a loss in the fourth quarter") is not the one reported.
    func resolveReportingPeriods(_ found: inout [TaggedTime], tokens: [Token], lower: [String], reference: CivilDate?) {
        var quarter: (year: Int, number: Int, sentence: Int)?
        for index in found.indices where found[index].type == "DATE" {
            let time = found[index]
            let words = lower[time.first...time.last]
            let sentence = tokens[time.first].sentence
            if time.value.utf8.count == 7, time.value.dropFirst(4).hasPrefix("-Q"), let year = Int(time.value.prefix(4)),
               let number = Int(time.value.suffix(1)), words.contains(where: { Self.ordinals[$0] != nil })
            {
                // Only a quarter over by the reference date can be the one reported.
                if reference.map({ year * 12 + number * 3 < $0.year * 12 + $0.month }) ?? true { quarter = (year, number, sentence) }
                continue
            }
            guard let reported = quarter else { continue }
            // What follows the expression: "last year's quarter", "the quarter a year ago".
            var after = time.last + 1
            if after < lower.count, lower[after] == "'s" { after += 1 }
            let following = after < lower.count && tokens[after].sentence == sentence ? lower[after] : ""
            let text = words.joined(separator: " ")
            let namesPeriod = words.contains("quarter") || words.contains("period") || following == "quarter" || following == "period"
            let yearBefore = text.contains("year - earlier") || text.contains("year - ago") || text.hasSuffix("a year ago")
                || text.hasSuffix("a year earlier") || text == "a year before" || (text.hasSuffix("last year") && namesPeriod)
            var year: Int?
            if yearBefore {
                if namesPeriod || sentence - reported.sentence <= 3 { year = reported.year - 1 }
            } else if ["the quarter", "the latest quarter", "the latest period", "this quarter", "the period", "the most recent quarter", "the recent quarter", "quarter"].contains(text) {
                year = reported.year
            } else if words.count == 3, words.first == "the", words.last == "period", let explicit = Int(words[words.startIndex + 1]) {
                year = explicit  // "the 1988 period"
            }
            if let year {
                found[index].value = "\(CivilDate.pad(year, 4))-Q\(reported.number)"
                found[index].precision = "quarter"
            }
        }
    }

    /// Reads a number at `i` ("ten", "twenty four", "twenty-four", "24", "1.5"): its value and token count.
    func number(at i: Int, _ lower: [String], _ tokens: [Token]) -> (value: Double?, length: Int)? {
        guard i < lower.count else { return nil }
        let word = lower[i]
        // No time expression counts more than a billion units (and an Int must hold the count).
        if tokens[i].kind == .number, let value = Double(word.utf8.contains(UInt8(ascii: ",")) ? String(word.filter { $0 != "," }) : word),
           value.isFinite, value <= 1_000_000_000
        {
            // "2 1/2": two and a half.
            if i + 3 < lower.count, lower[i + 1] == "1", lower[i + 2] == "/", lower[i + 3] == "2", tokens[i + 2].isJoinedToPrevious, tokens[i + 3].isJoinedToPrevious,
               tokens[i + 3].sentence == tokens[i].sentence
            {
                return (value + 0.5, 4)
            }
            return (value, 1)
        }
        if Self.vagueNumbers.contains(word) {
            if word == "couple", i + 1 < lower.count, lower[i + 1] == "of" { return (2, 2) }
            return (nil, 1)
        }
        guard var value = Self.numberWords[word] else { return nil }
        var length = 1
        if value >= 20, value < 100, value.truncatingRemainder(dividingBy: 10) == 0 {
            var j = i + 1
            if j < lower.count, lower[j] == "-" { j += 1 }
            if j < lower.count, let unit = Self.numberWords[lower[j]], unit < 10, unit >= 1, lower[j] != "a", lower[j] != "an" {
                value += unit
                length = j - i + 1
            }
        }
        if i + length < lower.count, lower[i + length] == "hundred" { value *= 100; length += 1 }
        return (value, length)
    }

    func unit(_ word: String) -> (letter: String, precision: String, time: Bool, plural: Bool)? {
        if let unit = Self.units[word] { return (unit.letter, unit.precision, unit.time, false) }
        if word.hasSuffix("s"), let unit = Self.units[String(word.dropLast())] { return (unit.letter, unit.precision, unit.time, true) }
        if word == "centuries" { return ("CE", "century", false, true) }
        return nil
    }

    static func durationValue(_ amount: Double?, _ unit: (letter: String, precision: String, time: Bool, plural: Bool)) -> String {
        // A half in the next unit down: "2 1/2 years" → P2Y6M, "a minute and a half" → PT1M30S.
        if let amount, amount != amount.rounded(), amount - amount.rounded(.down) == 0.5,
           let half = ["Y": "6M", "H": "30M", "M": unit.time ? "30S" : "15D", "D": "T12H"][unit.letter]
        {
            let whole = Int(amount.rounded(.down))
            let wholeText = whole > 0 ? "\(whole)\(unit.letter)" : ""
            return unit.time ? "PT\(wholeText)\(half)" : "P\(wholeText)\(half)"
        }
        var amountText = "X"
        if let amount {
            amountText = amount == amount.rounded() ? String(Int(amount)) : String(amount)
        }
        if unit.letter == "WE" { return "P\(amountText)WE" }
        if let amount, unit.letter == "DE" || unit.letter == "CE" {
            return "P\(Int(amount * (unit.letter == "DE" ? 10 : 100)))Y"
        }
        return unit.time ? "PT\(amountText)\(unit.letter)" : "P\(amountText)\(unit.letter)"
    }

    /// Whether the clause around token `i` speaks of what lies ahead: the nearest tense cue before it in its
    /// sentence (a modal or a word of plans, an infinitive just before, "as soon as"; a verb in the past tense),
    /// else a modal or past-tense auxiliary after it; the past when there is none, as news mostly reports what
    /// happened.
    func looksAhead(_ i: Int, _ lower: [String], _ tokens: [Token]) -> Bool {
        let sentence = tokens[i].sentence
        var j = i - 1
        while j >= 0, j >= i - 24, tokens[j].sentence == sentence {
            if let ahead = self.tenseCue(at: j, nearby: i - j <= 4, lower, tokens) { return ahead }
            j -= 1
        }
        j = i + 1
        while j < tokens.count, j <= i + 8, tokens[j].sentence == sentence {
            if Self.pastCues.contains(lower[j]) { return false }
            if Self.modals.contains(lower[j]) { return true }
            j += 1
        }
        return false
    }

    /// Auxiliaries of the future, the only cues read after a time expression.
    static let modals: Set<String> = ["will", "'ll", "shall", "would"]

    /// What the word at `j` says of the tense: true for the future, false for the past, nil for nothing. An
    /// infinitive counts only `nearby` (right before the time expression it governs).
    func tenseCue(at j: Int, nearby: Bool, _ lower: [String], _ tokens: [Token]) -> Bool? {
        let word = lower[j]
        let next = j + 1 < tokens.count && tokens[j + 1].sentence == tokens[j].sentence ? j + 1 : nil
        if Self.pastCues.contains(word) { return false }
        if Self.futureCues.contains(word) {
            // "next to", "ahead of", "due to": places and causes, not times.
            if word == "next" || word == "ahead" || word == "due", let next, lower[next] == "to" || lower[next] == "of" { return nil }
            return true
        }
        // "set to resume Monday", "is to resume trading Tuesday": an infinitive (a lower-case word after "to" that
        // opens no noun phrase).
        if nearby, word == "to", let next, tokens[next].kind == .word, tokens[next].text == lower[next], !Self.nounPhraseStarts.contains(lower[next]) {
            return true
        }
        // "as early as Tuesday", "as soon as Monday".
        if word == "early" || word == "soon", j > 0, lower[j - 1] == "as", let next, lower[next] == "as" { return true }
        // A verb in the past tense: "announced Wednesday", "issued Thursday".
        // ("will be named" is a participle: the auxiliary before it decides.)
        if word.utf8.count >= 5, word.hasSuffix("ed"), !word.hasSuffix("eed"), tokens[j].text == word, !Self.notPastTense.contains(word),
           !(j > 0 && ["be", "been", "being"].contains(lower[j - 1]))
        {
            return false
        }
        return nil
    }

    /// Words ending in "-ed" that are no verb in the past tense.
    static let notPastTense: Set<String> = ["united", "limited", "proposed", "supposed", "hundred"]

    /// Words that open a noun phrase after "to" (a preposition there, not an infinitive's marker).
    static let nounPhraseStarts: Set<String> = [
        "the", "a", "an", "his", "her", "their", "its", "our", "my", "your", "this", "that", "these", "those", "some",
        "all", "any", "more", "less", "about", "date", "power", "office", "court", "death", "prison", "trial",
        "which", "whom", "what", "each", "every", "both", "one", "two", "three", "four", "five", "ten", "around",
    ]

    /// The year of a season named with `relation` on `reference`: "last" is the latest one over, "next" the first
    /// one not begun, "this" the current year's.
    static func year(ofSeason season: String, relation: String?, reference: CivilDate) -> Int {
        let start = { (year: Int) in Self.start(ofSeason: season, in: year) }
        switch relation {
        case "last", "past", "previous", "the last", "the past", "the previous":
            let end = { (year: Int) in start(year).adding(days: 91) }
            return end(reference.year) <= reference ? reference.year : reference.year - 1
        case "next", "coming", "the next", "the coming":
            return reference < start(reference.year) ? reference.year : reference.year + 1
        default:
            return reference.year
        }
    }

    static func weekValue(_ date: CivilDate) -> String {
        let week = date.isoWeek
        return "\(CivilDate.pad(week.year, 4))-W\(CivilDate.pad(week.week, 2))"
    }

    static func monthValue(_ year: Int, _ month: Int) -> String { "\(CivilDate.pad(year, 4))-\(CivilDate.pad(month, 2))" }

    static func shiftMonth(_ year: Int, _ month: Int, by delta: Int) -> (Int, Int) {
        let index = year * 12 + (month - 1) + delta
        return (index / 12, index % 12 + 1)
    }

    // MARK: - Matching

    func match(at start: Int, tokens: [Token], lower: [String], reference: CivilDate?) -> TaggedTime? {
        let n = tokens.count
        var i = start
        var modifier: String?
        if let candidates = Self.modifiersByFirstWord[lower[i]] {
            for (words, mod) in candidates where i + words.count < n && lower[i..<(i + words.count)].elementsEqual(words) {
                modifier = mod
                i += words.count
                break
            }
        }
        func result(_ last: Int, _ type: String, _ value: String, _ precision: String, mod: String? = nil) -> TaggedTime {
            TaggedTime(first: start, last: last, type: type, value: value, precision: precision, modifier: mod ?? modifier)
        }
        guard i < n else { return nil }
        let word = lower[i]
        // A local function, not a closure in a constant: a closure would box `i` and be allocated on every call.
        let sentence = tokens[i].sentence
        func sameSentence(_ j: Int) -> Bool { j < n && tokens[j].sentence == sentence }
        if let named = self.matchNamed(start: start, at: i, modifier: modifier, tokens: tokens, lower: lower, reference: reference) { return named }
        if modifier == nil, let narrative = self.matchNarrativeDay(start: start, at: i, tokens: tokens, lower: lower) { return narrative }

        // Reference words.
        if modifier == nil {
            switch word {
            case "now" where tokens[i].text == word, "currently", "nowadays":
                // Lower case only: a sentence-opening "Now" is most often a discourse marker.
                return result(i, "DATE", "PRESENT_REF", "reference")
            case "recently", "lately": return result(i, "DATE", "PAST_REF", "reference")
            case "current": return result(i, "DATE", "PRESENT_REF", "reference")
            case "recent":
                if sameSentence(i + 1), let unit = unit(lower[i + 1]), unit.plural {
                    if unit.precision == "year" { return result(i + 1, "DATE", "PAST_REF", "reference") }
                    return result(i + 1, "DURATION", Self.durationValue(nil, unit), "duration")
                }
            case "today", "yesterday", "tomorrow", "tonight":
                guard let reference else { return result(i, "DATE", word == "today" ? "PRESENT_REF" : "XXXX-XX-XX", "day") }
                let offset = word == "yesterday" ? -1 : (word == "tomorrow" ? 1 : 0)
                let date = reference.adding(days: offset)
                if word == "tonight" { return result(i, "TIME", "\(date)TNI", "day") }
                if sameSentence(i + 1), let part = Self.partsOfDay[lower[i + 1]] {
                    return result(i + 1, "TIME", "\(date)T\(part)", "day")
                }
                return result(i, "DATE", date.description, "day")
            default: break
            }
            if word == "the", sameSentence(i + 1) {
                if lower[i + 1] == "past", !(sameSentence(i + 2) && (number(at: i + 2, lower, tokens) != nil || unit(lower[i + 2]) != nil)) {
                    return result(i + 1, "DATE", "PAST_REF", "reference")
                }
                if lower[i + 1] == "future" { return result(i + 1, "DATE", "FUTURE_REF", "reference") }
                // "the quarter", "the latest quarter": the quarter just reported (the one before, early in a quarter).
                var q = i + 1
                if ["latest", "current", "recent", "most"].contains(lower[q]), sameSentence(q + 1) { q += lower[q] == "most" && sameSentence(q + 2) ? 2 : 1 }
                if lower[q] == "quarter" || (lower[q] == "period" && q > i + 1), let reference {
                    var quarter = (reference.month - 1) / 3 + 1
                    var year = reference.year
                    if lower[i + 1] != "current", (reference.month - 1) % 3 < 2 {
                        quarter -= 1
                        if quarter == 0 { quarter = 4; year -= 1 }
                    }
                    return result(q, "DATE", "\(CivilDate.pad(year, 4))-Q\(quarter)", "quarter")
                }
                if lower[i + 1] == "year", !(sameSentence(i + 2) && ["-", "'s", "ago", "earlier", "before"].contains(lower[i + 2])) {
                    // "earlier in the year", "the end of the year", "for the year": that year; "for the year ended
                    // June 30" (a fiscal year) and otherwise, a year's length.
                    let ended = sameSentence(i + 2) && ["ended", "ending"].contains(lower[i + 2])
                    if start > 0, ["in", "of"].contains(lower[start - 1]) || (lower[start - 1] == "for" && !ended), let reference {
                        return result(i + 1, "DATE", CivilDate.pad(reference.year, 4), "year")
                    }
                    return result(i + 1, "DURATION", "P1Y", "duration")
                }
                // "the current year", "the current fiscal year".
                if lower[i + 1] == "current", sameSentence(i + 2), let reference {
                    let y = lower[i + 2] == "fiscal" && sameSentence(i + 3) ? i + 3 : i + 2
                    if lower[y] == "year" { return result(y, "DATE", CivilDate.pad(reference.year, 4), "year") }
                }
                // "the weekend": the one just past on a weekday, this one on a weekend.
                if lower[i + 1] == "weekend", let reference {
                    let day = reference.weekday >= 6 ? reference : reference.adding(days: -7)
                    return result(i + 1, "DATE", Self.weekValue(day) + "-WE", "week")
                }
                // "the 1988 third quarter", "the year-earlier third quarter", "the 1988 quarter".
                var k = i + 1
                var year: Int?
                if tokens[k].kind == .number, lower[k].count == 4, let y = Int(lower[k]) {
                    year = y
                    k += 1
                } else if lower[k] == "year", sameSentence(k + 2), lower[k + 1] == "-", ["earlier", "ago"].contains(lower[k + 2]), let reference {
                    year = reference.year - 1
                    k += 3
                }
                if let year, sameSentence(k) {
                    var quarter: Int?
                    if let q = Self.ordinals[lower[k]], sameSentence(k + 1), lower[k + 1] == "quarter" {
                        quarter = q
                        k += 1
                    } else if lower[k] == "quarter", let reference {
                        quarter = (reference.month - 1) / 3 + 1
                        if (reference.month - 1) % 3 < 2 { quarter = quarter! == 1 ? 4 : quarter! - 1 }
                    }
                    if let quarter, lower[k] == "quarter" {
                        return result(k, "DATE", "\(CivilDate.pad(year, 4))-Q\(quarter)", "quarter")
                    }
                    // "the 1988 period": that year, until a quarter named before makes it that quarter.
                    if lower[k] == "period", tokens[i + 1].kind == .number { return result(k, "DATE", CivilDate.pad(year, 4), "year") }
                }
            }
        }

        // ISO and numeric dates: 2025-08-04, 8/4/2025.
        if tokens[i].kind == .number {
            if let date = Self.numericDate(tokens, i) {
                return result(date.last, "DATE", date.value, "day")
            }
        }

        // "this|last|next|the past|the coming|earlier this|..." + unit / weekday / month / season.
        var j = i
        var relation: String?  // "this", "last", "next", "past", "coming"
        var leading: String?   // "early", "late", "mid", "earlier", "later"
        if ["earlier", "later", "early", "late", "mid"].contains(lower[j]), sameSentence(j + 1),
           ["this", "last", "next", "in", "the"].contains(lower[j + 1]) || lower[j + 1] == "-"
        {
            leading = lower[j]
            j += 1
            // "mid-" or "late in" may end the text: nothing after them.
            if j < n, lower[j] == "-" { j += 1 }
            if j < n, lower[j] == "in" { j += sameSentence(j + 1) && lower[j + 1] == "the" ? 2 : 1 }
        }
        if j < n, ["this", "last", "next", "past", "coming", "previous", "following", "that"].contains(lower[j]) {
            relation = lower[j]
            j += 1
        } else if j < n, lower[j] == "the", sameSentence(j + 1),
                  ["past", "last", "next", "coming", "previous", "following"].contains(lower[j + 1])
        {
            relation = "the " + lower[j + 1]
            j += 2
        }
        let leadMod: String? = switch leading {
        case "early", "earlier": "START"
        case "late", "later": "END"
        case "mid": "MID"
        default: nil
        }

        // "this year's third quarter", "last year's fourth quarter", "next year's first quarter".
        if let relation, ["this", "last", "next"].contains(relation), let reference, j + 3 < n, sameSentence(j + 3),
           lower[j] == "year", lower[j + 1] == "'s", let q = Self.ordinals[lower[j + 2]], lower[j + 3] == "quarter"
        {
            let year = reference.year + (relation == "last" ? -1 : relation == "next" ? 1 : 0)
            return result(j + 3, "DATE", "\(CivilDate.pad(year, 4))-Q\(q)", "quarter")
        }
        if let relation, sameSentence(j) {
            // "the past three months", "the next few years", "the last 24 hours": durations.
            if relation.hasPrefix("the "), let amount = number(at: j, lower, tokens), sameSentence(j + amount.length),
               let unit = unit(lower[j + amount.length])
            {
                return result(j + amount.length, "DURATION", Self.durationValue(amount.value, unit), "duration")
            }
            if lower[j] == "night", relation == "last", let reference {
                return result(j, "TIME", "\(reference.adding(days: -1))TNI", "day")
            }
            if let unit = unit(lower[j]), !unit.plural {
                let last = j
                if relation.hasPrefix("the ") && relation != "the past" && relation != "the last" && relation != "the previous" && relation != "the coming" && relation != "the next" {
                    return nil
                }
                if relation == "that" || relation == "the following" || relation == "following" { return nil }
                let delta: Int
                switch relation {
                case "last", "the last", "past", "the past", "previous", "the previous": delta = -1
                case "next", "the next", "coming", "the coming": delta = 1
                default: delta = 0
                }
                if relation.hasPrefix("the ") || relation == "past" {
                    // "the past year": a duration.
                    return result(last, "DURATION", Self.durationValue(1, unit), "duration")
                }
                guard let reference else { return result(last, "DATE", delta < 0 ? "PAST_REF" : (delta > 0 ? "FUTURE_REF" : "PRESENT_REF"), "reference") }
                let mod = leadMod
                switch unit.precision {
                case "day": return result(last, "DATE", reference.adding(days: delta).description, "day", mod: mod)
                case "week":
                    if unit.letter == "WE" {
                        return result(last, "DATE", Self.weekValue(reference.adding(days: delta * 7)) + "-WE", "week", mod: mod)
                    }
                    return result(last, "DATE", Self.weekValue(reference.adding(days: delta * 7)), "week", mod: mod)
                case "month":
                    let (y, m) = Self.shiftMonth(reference.year, reference.month, by: delta)
                    return result(last, "DATE", Self.monthValue(y, m), "month", mod: mod)
                case "quarter":
                    var q = (reference.month - 1) / 3 + 1 + delta
                    var y = reference.year
                    if q < 1 { q = 4; y -= 1 } else if q > 4 { q = 1; y += 1 }
                    return result(last, "DATE", "\(CivilDate.pad(y, 4))-Q\(q)", "quarter", mod: mod)
                case "year": return result(last, "DATE", CivilDate.pad(reference.year + delta, 4), "year", mod: mod)
                case "decade": return result(last, "DATE", String(CivilDate.pad(reference.year + delta * 10, 4).prefix(3)), "decade", mod: mod)
                case "century": return result(last, "DATE", String(CivilDate.pad(reference.year + delta * 100, 4).prefix(2)), "century", mod: mod)
                default: break
                }
            }
            if let weekday = Self.weekdays[lower[j]], let reference {
                let date = Self.resolve(weekday: weekday, reference: reference, relation: relation, ahead: looksAhead(start, lower, tokens))
                if sameSentence(j + 1), let part = Self.partsOfDay[lower[j + 1]] {
                    return result(j + 1, "TIME", "\(date)T\(part)", "day")
                }
                return result(j, "DATE", date.description, "day")
            }
            if let part = Self.partsOfDay[lower[j]], relation == "this", let reference {
                return result(j, "TIME", "\(reference)T\(part)", "day")
            }
            // "this past spring": the last one.
            var seasonWord = j
            if relation == "this", lower[j] == "past", sameSentence(j + 1) { seasonWord = j + 1 }
            if let season = Self.seasons[lower[seasonWord]] {
                let year = reference.map { Self.year(ofSeason: season, relation: seasonWord > j ? "last" : relation, reference: $0) }
                return result(seasonWord, "DATE", "\(year.map { CivilDate.pad($0, 4) } ?? "XXXX")-\(season)", "season", mod: leadMod)
            }
            if let month = Self.months[lower[j]], tokens[j].isCapitalized, let reference {
                let year: Int
                switch relation {
                case "last", "past", "previous": year = month >= reference.month ? reference.year - 1 : reference.year
                case "next", "coming": year = month <= reference.month ? reference.year + 1 : reference.year
                default: year = reference.year
                }
                // "last Oct. 23", "next June 1": that day.
                if sameSentence(j + 1), tokens[j + 1].kind == .number, let day = Self.dayNumber(lower[j + 1]), CivilDate.isValid(year: year, month: month, day: day) {
                    return result(j + 1, "DATE", CivilDate.format(year, month, day), "day", mod: leadMod)
                }
                return result(j, "DATE", Self.monthValue(year, month), "month", mod: leadMod)
            }
        }

        // Weekdays: "Friday", "on Monday", "Monday night".
        if let weekday = Self.weekdays[word], tokens[i].isCapitalized {
            // "Friday, July 25", "Friday Oct. 13": the explicit date wins.
            let monthAt = sameSentence(i + 1) && lower[i + 1] == "," ? i + 2 : i + 1
            if sameSentence(monthAt), Self.months[lower[monthAt]] != nil, tokens[monthAt].isCapitalized,
               let explicit = match(at: monthAt, tokens: tokens, lower: lower, reference: reference), explicit.precision == "day"
            {
                return TaggedTime(first: start, last: explicit.last, type: explicit.type, value: explicit.value, precision: explicit.precision, modifier: modifier)
            }
            guard let reference else { return result(i, "DATE", "XXXX-WXX-\(weekday)", "day") }
            // "Wednesday's ruling": a day already spoken of, so one past.
            let possessive = sameSentence(i + 1) && lower[i + 1] == "'s"
            let date = Self.resolve(weekday: weekday, reference: reference, relation: nil, ahead: !possessive && looksAhead(i, lower, tokens))
            if sameSentence(i + 1), let part = Self.partsOfDay[lower[i + 1]] {
                return result(i + 1, "TIME", "\(date)T\(part)", "day")
            }
            return result(i, "DATE", date.description, "day")
        }

        // Month-led: "July 29", "August 4, 2025", "July 2025", "July", "mid-July".
        var m = i
        var monthMod = modifier
        if ["early", "late", "mid", "mid-"].contains(word), sameSentence(i + 1) {
            m = lower[i + 1] == "-" ? i + 2 : i + 1
            monthMod = word.hasPrefix("mid") ? "MID" : (word == "early" ? "START" : "END")
        }
        if m < n, sameSentence(m), let month = Self.months[lower[m]], tokens[m].isCapitalized,
           lower[m].count > 3 || lower[m].hasSuffix(".") || lower[m] == "may" || (sameSentence(m + 1) && tokens[m + 1].kind == .number)
        {
            let isMay = lower[m] == "may"
            // Day?
            var last = m
            var day: Int?
            if sameSentence(m + 1), tokens[m + 1].kind == .number, let d = Self.dayNumber(lower[m + 1]), d >= 1, d <= 31 {
                day = d
                last = m + 1
            }
            var year: Int?
            var k = last + 1
            if day != nil, sameSentence(k), lower[k] == "," { k += 1 }
            if sameSentence(k), tokens[k].kind == .number, tokens[k].text.count == 4, let y = Int(tokens[k].text), y >= 1000, y <= 2999 {
                year = y
                last = k
            } else if sameSentence(k), let spelled = self.spelledYear(at: k, lower, tokens) {
                year = spelled.year
                last = spelled.last
            }
            // "April next year", "February this year": that year (the words after are an expression of their own).
            if year == nil, let reference, sameSentence(last + 2), lower[last + 2] == "year", let delta = ["this": 0, "next": 1, "last": -1][lower[last + 1]] {
                year = reference.year + delta
            }
            if isMay, day == nil, year == nil {
                // "may" the verb: only after in/of/since/until/early/late/last/next.
                let before = start > 0 ? lower[start - 1] : ""
                if !["in", "of", "since", "until", "through", "by", "during", "from", "to"].contains(before) && m == i { return nil }
            }
            if let day {
                let y: Int? = year ?? reference.map { Self.inferYear(month: month, day: day, reference: $0, ahead: looksAhead(start, lower, tokens)) }
                guard let y, CivilDate.isValid(year: y, month: month, day: day) else {
                    return result(last, "DATE", "XXXX-\(CivilDate.pad(month, 2))-\(CivilDate.pad(day, 2))", "day", mod: monthMod)
                }
                return result(last, "DATE", CivilDate.format(y, month, day), "day", mod: monthMod)
            }
            let y: Int? = year ?? reference.map { ref in
                let delta = month - ref.month
                if looksAhead(start, lower, tokens) { return delta < -2 ? ref.year + 1 : ref.year }
                if delta > 1 { return ref.year - 1 }
                if delta < -9 { return ref.year + 1 }
                return ref.year
            }
            return result(last, "DATE", y.map { Self.monthValue($0, month) } ?? "XXXX-\(CivilDate.pad(month, 2))", "month", mod: monthMod)
        }
        // Day-led: "4 August 2025", "the 4th of July".
        if tokens[i].kind == .number, let d = Self.dayNumber(word), d >= 1, d <= 31, sameSentence(i + 1) {
            var k = i + 1
            if lower[k] == "of", sameSentence(k + 1) { k += 1 }
            if let month = Self.months[lower[k]], tokens[k].isCapitalized {
                var last = k
                var year: Int?
                if sameSentence(k + 1), tokens[k + 1].kind == .number, tokens[k + 1].text.count == 4, let y = Int(tokens[k + 1].text) {
                    year = y
                    last = k + 1
                }
                let y = year ?? reference.map { Self.inferYear(month: month, day: d, reference: $0, ahead: looksAhead(i, lower, tokens)) }
                if let y, CivilDate.isValid(year: y, month: month, day: d) {
                    return result(last, "DATE", CivilDate.format(y, month, d), "day")
                }
            }
        }

        // Quarters: "the third quarter", "the fourth quarter of 1997", "first-quarter".
        do {
            var k = i
            if lower[k] == "the", sameSentence(k + 1) { k += 1 }
            if let q = Self.ordinals[lower[k]], sameSentence(k + 1) {
                var u = k + 1
                if lower[u] == "-", sameSentence(u + 1) { u += 1 }
                if lower[u] == "quarter" {
                    var last = u
                    var year = reference.map { ref in q > (ref.month - 1) / 3 + 1 ? ref.year - 1 : ref.year }
                    if sameSentence(u + 2), lower[u + 1] == "of", let y = Int(lower[u + 2]), tokens[u + 2].text.count == 4 {
                        year = y
                        last = u + 2
                    } else if sameSentence(u + 1), let y = Int(lower[u + 1]), tokens[u + 1].text.count == 4 {
                        year = y
                        last = u + 1
                    }
                    return result(last, "DATE", "\(year.map { CivilDate.pad($0, 4) } ?? "XXXX")-Q\(q)", "quarter")
                }
            }
        }

        // Years, decades: "1998", "fiscal 1997", "the 1990s", "mid-1990s".
        do {
            var k = i
            var fiscal = false
            var yearMod = modifier ?? leadMod
            if lower[k] == "fiscal", sameSentence(k + 1) { fiscal = true; k += 1 }
            if ["early", "late", "mid"].contains(lower[k]), sameSentence(k + 1) {
                yearMod = lower[k] == "mid" ? "MID" : (lower[k] == "early" ? "START" : "END")
                k += 1
                if lower[k] == "-", sameSentence(k + 1) { k += 1 }
            }
            if lower[k] == "the", sameSentence(k + 1), lower[k + 1].count == 5, lower[k + 1].hasSuffix("s"), Int(lower[k + 1].dropLast()) != nil {
                k += 1
            }
            let text = lower[k]
            if tokens[k].kind == .number, text.count == 5, text.hasSuffix("s"), let y = Int(text.dropLast()), y >= 1000, y % 10 == 0 {
                return TaggedTime(first: start, last: k, type: "DATE", value: String(String(y).prefix(3)), precision: "decade", modifier: yearMod)
            }
            if tokens[k].kind == .number, text.count == 4, let y = Int(text), y >= 1900, y <= 2099 {
                let before = k > 0 ? lower[k - 1] : ""
                let after = k + 1 < n && tokens[k + 1].sentence == tokens[k].sentence ? lower[k + 1] : "."
                let yearish = fiscal || yearMod != nil || !["$", "#", "no.", "number", "about", "some", "nearly", "over", "than"].contains(before)
                if yearish, !["%", "percent", "people", "shares", "barrels", "tons", "tonnes", "units", "dollars", "yen", "marks", "members", "workers", "jobs", "cars", "employees"].contains(after) {
                    return TaggedTime(first: start, last: k, type: "DATE", value: String(y), precision: "year", modifier: yearMod)
                }
            }
        }

        // "N units ago", durations "ten days", "two-year", "24 hours".
        if let amount = number(at: i, lower, tokens) {
            var u = i + amount.length
            if sameSentence(u), lower[u] == "-" { u += 1 }
            if sameSentence(u), let unit = unit(lower[u]) {
                // "a day" / "an hour" must be a duration or a set, not "a day's work" quirks.
                if sameSentence(u + 1), lower[u + 1] == "ago" || (lower[u + 1] == "earlier" && unit.precision == "year" && amount.value == 1), let reference {
                    let amountValue = Int(amount.value ?? 0)
                    let last = u + 1
                    guard amount.value != nil else { return result(last, "DATE", "PAST_REF", "reference") }
                    switch unit.precision {
                    case "day": return result(last, "DATE", reference.adding(days: -amountValue).description, "day")
                    case "week": return result(last, "DATE", Self.weekValue(reference.adding(days: -7 * amountValue)), "week")
                    case "month":
                        let (y, m) = Self.shiftMonth(reference.year, reference.month, by: -amountValue)
                        return result(last, "DATE", Self.monthValue(y, m), "month")
                    case "year": return result(last, "DATE", CivilDate.pad(reference.year - amountValue, 4), "year")
                    case "decade": return result(last, "DATE", String(CivilDate.pad(reference.year - 10 * amountValue, 4).prefix(3)), "decade")
                    default: return result(last, "DURATION", Self.durationValue(amount.value, unit), "duration")
                    }
                }
                if (lower[i] == "a" || lower[i] == "an"), start == i, start > 0, tokens[start - 1].kind == .number || lower[start - 1].hasPrefix("$") || ["cents", "dollars", "percent", "times"].contains(lower[start - 1]) {
                    return result(u, "SET", Self.durationValue(1, unit), "duration")
                }
                if (lower[i] == "a" || lower[i] == "an") && unit.precision == "day" && !(sameSentence(u + 1) && ["long", "old", "later", "earlier"].contains(lower[u + 1])) {
                    // "a day" alone is too often not a time expression ("a day of protests").
                    if !(start > 0 && ["for", "in", "within", "than"].contains(lower[start - 1])) { return nil }
                }
                // Ages are not time expressions: "a 6-year-old", "52 years old".
                if sameSentence(u + 1), lower[u + 1] == "old" { return nil }
                if sameSentence(u + 2), lower[u + 1] == "-", lower[u + 2] == "old" { return nil }
                // "a minute and a half", "two years and a half".
                if let value = amount.value, value == value.rounded(), sameSentence(u + 3), lower[u + 1] == "and", lower[u + 2] == "a", lower[u + 3] == "half" {
                    return result(u + 3, "DURATION", Self.durationValue(value + 0.5, unit), "duration")
                }
                var last = u
                if sameSentence(u + 1), lower[u + 1] == "long" { last = u + 1 }
                return result(last, "DURATION", Self.durationValue(amount.value, unit), "duration")
            }
        }
        // Bare plural units after "for|in|over|within": "for years", "in months".
        if start == i, start > 0, ["for", "in", "over", "within"].contains(lower[start - 1]), let unit = unit(word), unit.plural, unit.precision != "second" {
            return result(i, "DURATION", Self.durationValue(nil, unit), "duration")
        }
        // Sets.
        switch word {
        case "yearly": return result(i, "SET", "P1Y", "year")
        case "monthly": return result(i, "SET", "P1M", "month")
        case "weekly": return result(i, "SET", "P1W", "week")
        case "daily": return result(i, "SET", "P1D", "day")
        default: break
        }
        if (word == "every" || word == "each"), sameSentence(i + 1), let unit = unit(lower[i + 1]), !unit.plural {
            return result(i + 1, "SET", Self.durationValue(1, unit), unit.precision)
        }
        // Clock times: "10:30 a.m.", "3 p.m.", "noon".
        if tokens[i].kind == .number, sameSentence(i + 1), ["a.m.", "p.m.", "am", "pm"].contains(lower[i + 1]) {
            let parts = word.split(separator: ":")
            if var hour = Int(parts[0]), hour <= 12 {
                let minute = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                if lower[i + 1].hasPrefix("p"), hour < 12 { hour += 12 }
                if lower[i + 1].hasPrefix("a"), hour == 12 { hour = 0 }
                let clock = "\(CivilDate.pad(hour, 2)):\(CivilDate.pad(minute, 2))"
                return self.clockTime(clock, start: start, last: i + 1, modifier: modifier, tokens: tokens, lower: lower, reference: reference)
            }
        }
        return nil
    }

    static func dayNumber(_ text: String) -> Int? {
        var digits = text
        for suffix in ["st", "nd", "rd", "th"] where digits.hasSuffix(suffix) { digits = String(digits.dropLast(2)) }
        guard digits.count <= 2 else { return nil }
        return Int(digits)
    }

    static func numericDate(_ tokens: [Token], _ i: Int) -> (value: String, last: Int)? {
        // 2025-08-04 tokenizes as 2025 - 08 - 04; 8/4/2025 as 8 / 4 / 2025.
        guard i + 4 < tokens.count else {
            let text = tokens[i].text
            if text.count == 8, let v = Int(text), v > 19_000_000, v < 21_000_000 {
                let y = v / 10000, m = v / 100 % 100, d = v % 100
                if CivilDate.isValid(year: y, month: m, day: d) { return (CivilDate.format(y, m, d), i) }
            }
            return nil
        }
        let a = tokens[i], s1 = tokens[i + 1], b = tokens[i + 2], s2 = tokens[i + 3], c = tokens[i + 4]
        guard b.kind == .number, c.kind == .number, s1.text == s2.text, s1.text == "-" || s1.text == "/",
              s1.isJoinedToPrevious, b.isJoinedToPrevious, s2.isJoinedToPrevious, c.isJoinedToPrevious,
              let x = Int(a.text), let y = Int(b.text), let z = Int(c.text)
        else {
            let text = a.text
            if text.count == 8, let v = Int(text), v > 19_000_000, v < 21_000_000 {
                let y = v / 10000, m = v / 100 % 100, d = v % 100
                if CivilDate.isValid(year: y, month: m, day: d) { return (CivilDate.format(y, m, d), i) }
            }
            return nil
        }
        if a.text.count == 4, CivilDate.isValid(year: x, month: y, day: z) { return (CivilDate.format(x, y, z), i + 4) }
        if c.text.count == 4, s1.text == "/", CivilDate.isValid(year: z, month: x, day: y) { return (CivilDate.format(z, x, y), i + 4) }
        return nil
    }

    /// The year of "July 29" written on `reference`: the nearest such date on the side the text looks to.
    static func inferYear(month: Int, day: Int, reference: CivilDate, ahead: Bool) -> Int {
        // The nearest such date; the text's tense decides only when it is far.
        let sameYear = CivilDate(year: reference.year, month: month, day: min(day, CivilDate.daysIn(month: month, year: reference.year)))
        let distance = sameYear.dayNumber - reference.dayNumber
        if ahead { return distance < -61 ? reference.year + 1 : (distance > 240 ? reference.year - 1 : reference.year) }
        if distance > 61 { return reference.year - 1 }
        if distance < -300 { return reference.year + 1 }
        return reference.year
    }

    /// The date a weekday names, written on `reference`.
    static func resolve(weekday: Int, reference: CivilDate, relation: String?, ahead: Bool) -> CivilDate {
        let current = reference.weekday
        switch relation {
        case "next", "coming", "the next", "the coming":
            var delta = weekday - current
            if delta <= 0 { delta += 7 }
            return reference.adding(days: delta)
        case "last", "past", "previous", "the last", "the past", "the previous":
            var delta = weekday - current
            if delta >= 0 { delta -= 7 }
            return reference.adding(days: delta)
        case "this":
            return reference.adding(days: weekday - current)
        default:
            if ahead {
                var delta = weekday - current
                if delta < 0 { delta += 7 }
                return reference.adding(days: delta)
            }
            var delta = weekday - current
            if delta > 0 { delta -= 7 }
            return reference.adding(days: delta)
        }
    }
}
