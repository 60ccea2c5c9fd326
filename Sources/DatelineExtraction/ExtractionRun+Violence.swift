import DatelineProtocol

/// Attacks (CAMEO 180, bombings 183) and agreements (057): events that are not engagements between officials
/// but that news reports about them name ("the April 22 attack in India's Jammu and Kashmir region, which killed
/// 26 civilians"; "the announcement of a recent trade agreement").
extension ExtractionRun {
    static let attackWords: Set<String> = ["attack", "attacks", "massacre", "ambush", "shooting", "assault", "raid"]
    static let bombingWords: Set<String> = ["bombing", "bombings", "blast", "blasts", "explosion", "explosions", "bomb", "bomber", "bombers"]
    static let agreementWords: Set<String> = ["agreement", "agreements", "accord", "accords", "treaty", "pact", "deal"]
    static let agreementVerbs: Set<String> = ["signed", "sign", "signing", "reached", "concluded", "announced", "announcement", "struck", "ratified"]

    /// An attack or bombing the sentence reports: its perpetrators (organisations), place, date and the number
    /// killed. Nil when the sentence names no place, organisation or casualties to tie it to.
    func attack(in s: Int) -> Draft? {
        let range = self.text.sentences[s].tokens
        guard !self.sentenceClasses[s].isDisjoint(with: .violence),
              let at = range.first(where: { !self.inQuote[$0] && !self.wordClasses[$0].isDisjoint(with: .violence) })
        else { return nil }
        // "attack" as a verb of speech ("attacked the policy") or in "heart attack" is no violent event.
        if at > range.lowerBound, ["heart", "verbal", "cyber", "panic"].contains(self.lower[at - 1]) { return nil }
        let code = self.wordClasses[at].contains(.bombing) ? "183" : "180"
        let killed = self.killed(in: range)
        let organisations = self.sentenceEntities(s, prefix: "org:")
        // Where the attack happened, not where the story was filed (a later sentence may say; else the dateline).
        let places = self.sentenceEntities(s, prefix: "place:", afterDateline: true)
        guard killed != nil || !organisations.isEmpty || !places.isEmpty else { return nil }
        var others = organisations
        for place in places { if let country = self.entities[place]?.country, !others.contains("country:\(country)") { others.append("country:\(country)") } }
        var draft = Draft(code: code, trigger: nil, persons: [], others: others, place: places.first, date: self.sentenceDate(s), sentences: [s], isBackReference: false)
        draft.killed = killed
        return draft
    }

    /// "killed 26 civilians", "26 people were killed", "killing at least 12".
    func killed(in range: Range<Int>) -> UInt32? {
        for k in range where ["killed", "killing", "kills", "dead"].contains(self.lower[k]) {
            // After: "killed 26 (civilians)", "killing at least 12".
            var j = k + 1
            while j < range.upperBound, ["at", "least", "about", "some", "more", "than", "nearly", "around"].contains(self.lower[j]) { j += 1 }
            if j < range.upperBound, let count = self.count(at: j) { return count }
            // Before: "26 people were killed", "12 dead".
            var b = k - 1
            while b > range.lowerBound, ["were", "was", "have", "had", "been", "are", "people", "civilians", "soldiers", "police", "persons", "others"].contains(self.lower[b]) { b -= 1 }
            if b >= range.lowerBound, b < k, let count = self.count(at: b) { return count }
        }
        return nil
    }

    func count(at k: Int) -> UInt32? {
        if self.tokens[k].kind == .number, let value = UInt32(self.lower[k].filter { $0 != "," }) { return value }
        if let value = TimeTagger.numberWords[self.lower[k]], value >= 2, value == value.rounded(), !["a", "an", "single", "half", "dozen"].contains(self.lower[k]) {
            return UInt32(value)
        }
        return nil
    }

    /// An agreement the sentence reports signed, reached or announced, between the countries, people and
    /// organisations it names.
    func agreement(in s: Int) -> Draft? {
        let range = self.text.sentences[s].tokens
        guard self.sentenceClasses[s].contains(.agreement),
              let at = range.first(where: { !self.inQuote[$0] && self.wordClasses[$0].contains(.agreement) }),
              range.contains(where: { self.wordClasses[$0].contains(.agreementVerb) && abs($0 - at) <= 8 }) || (at > range.lowerBound && ["trade", "peace", "ceasefire", "nuclear", "security", "defence", "defense"].contains(self.lower[at - 1]))
        else { return nil }
        // "any potential agreements", "no agreement": nothing was agreed.
        if at > range.lowerBound, ["potential", "possible", "any", "no", "proposed", "future"].contains(self.lower[at - 1]) { return nil }
        let persons = self.sentenceEntities(s, prefix: "person:")
        var others = self.affiliations(of: persons)
        for prefix in ["country:", "org:"] {
            for id in self.sentenceEntities(s, prefix: prefix) where !others.contains(id) { others.append(id) }
        }
        guard !persons.isEmpty || !others.isEmpty else { return nil }
        let places = self.sentenceEntities(s, prefix: "place:")
        return Draft(code: "057", trigger: nil, persons: persons, others: others, place: places.first, date: self.sentenceDate(s), sentences: [s], isBackReference: false)
    }
}
