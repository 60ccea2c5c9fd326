import Foundation

/// Reads an article as a news site publishes it: optional header lines (outlet, tagline, title, date,
/// categories), an optional dateline (`Islamabad — August 4, 2025:`), then body paragraphs.
///
/// Both layouts of `samples/` are handled: a dateline opening straight into the body with no title, and an
/// outlet / tagline / title / date / categories header before the body.
public enum PlainTextArticleParser {
    /// Parses `text`. Never fails: what cannot be found is reported in ``ParsedArticle/missingFields``;
    /// an empty body is for validation to reject.
    public static func parse(_ text: String) -> ParsedArticle {
        let lines = TextNormalization.tidy(text).split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        var article = ParsedArticle()
        var header: [String] = []
        var bodyStart = lines.count
        var index = 0
        // Header lines come before the first body-like line; a dateline or date line ends the header.
        while index < lines.count {
            let line = lines[index]
            if let (place, date, rest) = self.datelineWithDate(line) {
                article.datelinePlace = place
                self.apply(date, to: &article)
                if !rest.isEmpty {
                    return self.finish(article, header: header, body: [rest] + lines[(index + 1)...])
                }
                index += 1
                bodyStart = index
                continue
            }
            if article.publishedAt == nil, let date = ArticleDates.parse(line) {
                self.apply(date, to: &article)
                index += 1
                bodyStart = index
                continue
            }
            if let categories = self.categories(line) {
                article.categories = categories
                index += 1
                bodyStart = index
                continue
            }
            if self.looksLikeBody(line) {
                bodyStart = index
                break
            }
            // A short line before the body: outlet, tagline or title (sorted out in `finish`).
            if article.publishedAt != nil || !article.categories.isEmpty {
                // After the date or categories, a short line is already body (a one-line paragraph).
                bodyStart = index
                break
            }
            header.append(line)
            index += 1
            bodyStart = index
        }
        return self.finish(article, header: header, body: Array(lines[min(bodyStart, lines.count)...]))
    }

    private static func finish(_ article: ParsedArticle, header: [String], body: some Collection<String>) -> ParsedArticle {
        var article = article
        var header = header
        if let taglineIndex = header.firstIndex(where: self.isTagline) {
            article.tagline = header.remove(at: taglineIndex)
        }
        switch header.count {
        case 0: break
        case 1: article.title = header[0]
        default:
            article.source = header.first
            article.title = header.last
        }
        article.paragraphs = Array(body)
        if article.datelinePlace == nil, let first = article.paragraphs.first, let dateline = self.leadingDatelineParts(first) {
            article.datelinePlace = dateline.place
            if article.publishedAt == nil, let date = dateline.date { self.apply(date, to: &article) }
        }
        article.language = LanguageGuess.guess(article.paragraphs.joined(separator: " "))
        article.recordMissingFields()
        return article
    }

    static func apply(_ date: ArticleDates.Parsed, to article: inout ParsedArticle) {
        article.publishedAt = date.date
        article.publishedAtPrecision = date.precision
        article.timeZone = date.timeZone
    }

    static let dashes: Set<Character> = ["—", "–", "-", "―", "‒"]

    /// `Islamabad — August 4, 2025: rest` → (place, date, rest).
    static func datelineWithDate(_ line: String) -> (String, ArticleDates.Parsed, String)? {
        guard let dash = line.firstIndex(where: { self.dashes.contains($0) }), dash > line.startIndex else { return nil }
        let place = line[..<dash].trimmingCharacters(in: .whitespaces)
        guard self.isPlace(place) else { return nil }
        let afterDash = line[line.index(after: dash)...]
        // The date ends at a colon, at a spaced dash, or at the end of the line: take the longest that parses
        // (ISO times contain colons themselves). Dates are short: only the first 64 characters are considered,
        // so a pathological line costs linear time.
        let window = afterDash.prefix(64)
        var ends: [Substring.Index] = window.endIndex == afterDash.endIndex ? [afterDash.endIndex] : []
        var index = window.startIndex
        while index < window.endIndex {
            let character = window[index]
            if character == ":" || (self.dashes.contains(character) && index > window.startIndex && window[window.index(before: index)] == " ") {
                ends.append(index)
            }
            index = window.index(after: index)
        }
        var found: (ArticleDates.Parsed, Substring.Index)?
        for end in ends where found == nil || end > found!.1 {
            if let date = ArticleDates.parse(String(afterDash[..<end])) { found = (date, end) }
        }
        guard let (date, dateEnd) = found else { return nil }
        let rest = dateEnd < afterDash.endIndex ? afterDash[afterDash.index(after: dateEnd)...].trimmingCharacters(in: .whitespaces) : ""
        return (place, date, rest)
    }

    /// The dateline opening a paragraph, up to its spaced dash: the place, and the date when the dateline has one
    /// with its year. Besides `Washington, D.C. – …` (→ `Washington, D.C.`), the wire services' shapes: `WASHINGTON, March 5 - …`,
    /// `LONDON, Aug 4, 2025 (Reuters) - …`, `PARIS (AFP) — …` (the date and the agency's credit are not the place).
    package static func leadingDatelineParts(_ paragraph: String) -> (place: String, date: ArticleDates.Parsed?)? {
        for (offset, character) in paragraph.prefix(80).enumerated() where self.dashes.contains(character) {
            let index = paragraph.index(paragraph.startIndex, offsetBy: offset)
            // A dateline dash has spaces around it ("Lashkar-e-Taiba" does not).
            guard offset > 0, paragraph[paragraph.index(before: index)] == " " else { continue }
            var place = Self.withoutCredit(paragraph[..<index].trimmingCharacters(in: .whitespaces))
            var date: ArticleDates.Parsed?
            // The first comma after which the rest is a date ("Washington, D.C., March 5": the second).
            var comma = place.firstIndex(of: ",")
            while let found = comma {
                let rest = place[place.index(after: found)...].trimmingCharacters(in: .whitespaces)
                if rest.contains(where: \.isLetter), ArticleDates.isDayOfMonth(rest) || ArticleDates.parse(rest) != nil {
                    date = ArticleDates.parse(rest)
                    place = place[..<found].trimmingCharacters(in: .whitespaces)
                    break
                }
                comma = place[place.index(after: found)...].firstIndex(of: ",")
            }
            return self.isPlace(place) ? (place, date) : nil
        }
        return nil
    }

    /// `PARIS (AFP)` → `PARIS`: a credit of one to three words in parentheses at the end is dropped.
    static func withoutCredit(_ text: String) -> String {
        guard text.hasSuffix(")"), let open = text.lastIndex(of: "(") else { return text }
        let credit = text[text.index(after: open)..<text.index(before: text.endIndex)]
        let words = credit.split(separator: " ")
        guard (1...3).contains(words.count), credit.count <= 24, words.allSatisfy({ $0.first?.isLetter == true }) else { return text }
        return text[..<open].trimmingCharacters(in: .whitespaces)
    }

    /// A place name: 1-5 capitalised words (commas, periods and "and"/"of" allowed), no sentence.
    static func isPlace(_ text: String) -> Bool {
        let words = text.split(separator: " ")
        guard (1...5).contains(words.count), text.count <= 40, !text.hasSuffix(":") else { return false }
        return words.allSatisfy { word in
            let letters = word.trimmingCharacters(in: CharacterSet(charactersIn: ".,()"))
            return letters.first?.isUppercase == true || ["and", "of", "de", "al", "el"].contains(letters)
        }
    }

    /// `– Categories: General News, Politics` → ["General News", "Politics"].
    static func categories(_ line: String) -> [String]? {
        var text = Substring(line)
        while let first = text.first, self.dashes.contains(first) || first == " " || first == "•" { text = text.dropFirst() }
        for label in ["categories:", "category:", "section:", "filed under:"] where text.lowercased().hasPrefix(label) {
            return text.dropFirst(label.count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return nil
    }

    /// `Transparent. Unbiased. Yours.`: two or more very short sentences.
    static func isTagline(_ line: String) -> Bool {
        let sentences = line.split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return sentences.count >= 2 && line.hasSuffix(".") && sentences.allSatisfy { $0.split(separator: " ").count <= 3 }
    }

    /// A line that reads as prose rather than a heading: long, or ends a sentence with several words.
    static func looksLikeBody(_ line: String) -> Bool {
        let words = line.split(separator: " ").count
        if words >= 20 { return true }
        if let last = line.last, ".!?”\"".contains(last), words >= 8, !self.isTagline(line) { return true }
        return false
    }
}

/// A deliberately small language guess: English when its most common words are common enough.
public enum LanguageGuess {
    static let english: Set<String> = ["the", "and", "of", "to", "in", "a", "is", "that", "for", "on", "with", "was", "said", "by", "as", "at", "its", "from"]

    /// `en`, or nil when the text does not look English (or is too short to tell).
    public static func guess(_ text: String) -> String? {
        // The first 300 words are plenty.
        let words = text.utf8.prefix(2_000).split(whereSeparator: { !(($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A) && $0 < 0x80 })
        guard words.count >= 8 else { return nil }
        let hits = words.reduce(0) { $0 + (self.english.contains(String(decoding: $1, as: UTF8.self).lowercased()) ? 1 : 0) }
        return Double(hits) / Double(words.count) >= 0.12 ? "en" : nil
    }
}
