import DatelineProtocol

/// Firms named after their partners: "Dean Witter Reynolds and Co.", "Smith Barney, Harris Upham and Co",
/// "Merrill Lynch and Co Inc", "Procter and Gamble Co". Read before the tagger's spans are adopted, which take
/// the partners' names for people ("Dean Witter Reynolds" said nothing; his firm did).
extension ExtractionRun {
    /// What may follow "and" or "&" to close a firm's name on its own ("Merrill Lynch and Co").
    static let firmClosers: Set<String> = ["Co", "Co.", "Company", "Sons", "Cos", "Cos."]

    /// Legal forms that close a name of two partners joined by "and" ("Procter and Gamble Co", "Marks and
    /// Spencer Plc"), and that may follow a closer ("and Co Inc").
    static let firmLegalForms: Set<String> = [
        "Inc", "Inc.", "Corp", "Corp.", "Co", "Co.", "Ltd", "Ltd.", "Plc", "PLC", "plc", "LLC", "AG", "SA", "NV",
        "GmbH", "Cos", "Cos.", "Company", "Corporation", "Limited",
    ]

    /// Marks every firm name of the text as an organisation (its tokens covered, so no rule or tagger span takes
    /// a partner's name for a person), and registers its partners' names as short names of the firm.
    mutating func findFirmNames() {
        var k = 0
        while k < self.tokens.count {
            guard self.lower[k] == "and" || self.tokens[k].text == "&", let firm = self.firmName(around: k) else {
                k += 1
                continue
            }
            let name = self.text.text(tokens: firm.first, firm.last)
            let id = self.entity("org:" + slug(name), .organization, name)
            self.mention(id, firm.first, firm.last)
            let shortName = self.text.text(tokens: firm.first, firm.firstPartnerLast)
            if self.personNames[shortName] == nil, self.organisationNames[shortName] == nil { self.organisationNames[shortName] = id }
            k = firm.last + 1
        }
    }

    /// The firm whose name has its connector ("and", "&") at `k`: its first and last tokens, and where its first
    /// partner's name ends. Nil unless the connector is followed by a closer ("and Co", "and Sons") or by one
    /// partner's name and a legal form ("and Gamble Co"), and preceded by partners' names.
    func firmName(around k: Int) -> (first: Int, last: Int, firstPartnerLast: Int)? {
        let sentence = self.tokens[k].sentence
        let end = self.sentenceEnd(k)
        guard k > 0, k + 1 < end else { return nil }
        var last: Int
        var allowsList: Bool
        if Self.firmClosers.contains(self.tokens[k + 1].text), !self.covered[k + 1] {
            last = k + 1
            allowsList = true  // "Smith Barney, Harris Upham and Co"
        } else if let partnerLast = self.partnerName(from: k + 1, end: end), partnerLast + 1 < end, partnerLast - k <= 3,
                  Self.firmLegalForms.contains(self.tokens[partnerLast + 1].text), !self.covered[partnerLast + 1]
        {
            last = partnerLast + 1
            allowsList = false
        } else {
            return nil
        }
        // A legal form after the closer ("Merrill Lynch and Co Inc", "and Co., Ltd").
        if last + 1 < end, Self.firmLegalForms.contains(self.tokens[last + 1].text), !self.covered[last + 1] {
            last += 1
        } else if last + 2 < end, self.tokens[last + 1].text == ",", Self.firmLegalForms.contains(self.tokens[last + 2].text),
                  self.tokens[last + 2].text != "Co", self.tokens[last + 2].text != "Co.", !self.covered[last + 2]
        {
            last += 2
        }
        // The partners before the connector: a name, and in a list more names each after a comma.
        guard var (first, firstPartnerLast) = self.partnersBefore(k, sentence: sentence, allowsList: allowsList) else { return nil }
        // Where the tagger reads an organisation across the connector, it knows better where the name starts
        // ("Lead Underwriter Bear Stearns & Co Inc": capitalised words of a heading before it).
        if let span = self.modelSpans.first(where: { $0.type == "ORG" && $0.first > first && $0.first < k && $0.last >= k }) {
            first = span.first
            firstPartnerLast = max(firstPartnerLast, first)
        }
        return (first, last, firstPartnerLast)
    }

    /// The partners' names ending just before `k`: the first token of the first, and the last token of the first.
    private func partnersBefore(_ k: Int, sentence: Int, allowsList: Bool) -> (first: Int, firstPartnerLast: Int)? {
        var groupLast = k - 1
        var found: (first: Int, firstPartnerLast: Int)?
        for _ in 0..<(allowsList ? 3 : 1) {
            var first = groupLast + 1
            while first - 1 >= 0, groupLast - (first - 1) < 4, self.tokens[first - 1].sentence == sentence, self.isPartnerWord(first - 1) {
                first -= 1
            }
            guard first <= groupLast else { break }
            found = (first, groupLast)
            // Another partner before a comma ("Smith Barney, Harris Upham and Co").
            guard first >= 2, self.tokens[first - 1].text == ",", self.tokens[first - 2].sentence == sentence, self.isPartnerWord(first - 2) else { break }
            groupLast = first - 2
        }
        return found
    }

    /// The last token of a partner's name of one to three words starting at `i`.
    private func partnerName(from i: Int, end: Int) -> Int? {
        var j = i
        while j < end, j - i < 3, self.isPartnerWord(j) { j += 1 }
        return j > i ? j - 1 : nil
    }

    /// Whether token `i` can be a word of a partner's name: a capitalised word no rule has read, no time, no
    /// word that opens a sentence as a function word, and nothing the lexicon knows but an organisation.
    private func isPartnerWord(_ i: Int) -> Bool {
        let token = self.tokens[i]
        // Initials count ("Edward D. Jones & Co", "A.G. Edwards & Sons"); other all-capital words do not.
        guard token.kind == .word, token.isCapitalized, !token.isAllCaps || token.text.count <= 1 || token.text.hasSuffix("."),
              !self.covered[i], self.timeAt[i] == nil, !Self.nameStopWords.contains(token.text),
              !Self.firmLegalForms.contains(token.text), !Self.firmClosers.contains(token.text)
        else { return false }
        let lowered = token.text.lowercased()
        if TimeTagger.months[lowered] != nil || TimeTagger.weekdays[lowered] != nil { return false }
        if let match = self.lexiconMatches[i], !match.entries.contains(where: { if case .organization = $0 { true } else { false } }) {
            return false
        }
        return true
    }
}
