internal import Foundation
import DatelineProtocol

/// What a sentence's trigger words say happened.
enum Trigger: Int, Comparable {
    case consult = 1
    case visit = 2
    case meet = 3
    case telephone = 4

    static func < (a: Trigger, b: Trigger) -> Bool { a.rawValue < b.rawValue }
}

extension ExtractionRun {
    static let telephoneWords: Set<String> = ["telephone", "phone", "telephoned", "phoned", "call", "calls", "phone-call"]
    static let meetWords: Set<String> = ["met", "meet", "meets", "meeting", "meetings", "talks", "summit"]
    static let visitWords: Set<String> = ["visit", "visits", "visited", "visiting", "trip", "tour"]
    static let consultWords: Set<String> = ["conversation", "discussions", "consultations", "interaction", "engagement", "exchanged", "consulted"]
    static let intentWords: Set<String> = ["will", "to", "would", "plans", "plan", "expected", "scheduled", "intends"]
    static let backWords: Set<String> = ["previous", "earlier", "last", "prior"]
    static let labels: [String: String] = [
        "036": "express intent to meet", "040": "consult", "041": "discuss by telephone", "042": "make a visit",
        "043": "host a visit", "044": "meet at a third location", "046": "negotiate", "010": "make a statement",
        "163": "designate or sanction", "057": "sign formal agreement", "180": "use unconventional violence",
        "183": "conduct bombing",
    ]

    struct Draft {
        var code: String
        var trigger: Trigger?
        var persons: [String]
        var others: [String]
        var place: String?
        var date: TaggedTime?
        var sentences: [Int]
        var isBackReference: Bool
        var hasVisit = false
        /// The sentences that speak of a visit in this engagement ("during Dar's official visit to Washington").
        var visitSentences: [Int] = []
        var killed: UInt32?

        /// Takes in what a later sentence says of the same attack: its perpetrators, place, date, toll and sentence
        /// (a bombing stays one).
        mutating func absorbAttack(_ other: Draft) {
            for id in other.others where !self.others.contains(id) { self.others.append(id) }
            self.place = self.place ?? other.place
            self.date = self.date ?? other.date
            self.killed = [self.killed, other.killed].compactMap { $0 }.filter { $0 > 0 }.max()
            if other.code == "183" { self.code = "183" }
            self.sentences.append(contentsOf: other.sentences)
        }
    }

    /// Whether sentence `s` speaks of an attack as of one already reported: "the attack", "this bombing".
    func namesAnAttackAgain(in s: Int) -> Bool {
        let range = self.text.sentences[s].tokens
        guard let at = range.first(where: { !self.inQuote[$0] && !self.wordClasses[$0].isDisjoint(with: .violence) }), at > range.lowerBound else { return false }
        return ["the", "this", "that"].contains(self.lower[at - 1])
    }

    /// Whether sentence `s` speaks of a visit that happened (not one intended, not a quoted one).
    func speaksOfAVisit(_ s: Int) -> Bool {
        self.sentenceClasses[s].contains(.visit) && self.text.sentences[s].tokens.contains { t in
            !self.inQuote[t] && self.wordClasses[t].contains(.visit) && !self.isIntent(t) && !self.isBackReference(t)
        }
    }

    /// The entities sentence `s` mentions outside quotations, in order; with `afterDateline`, not those of the
    /// dateline opening the body (where the story was filed, not where what it reports happened).
    func sentenceEntities(_ s: Int, prefix: String, afterDateline: Bool = false) -> [String] {
        var out: [String] = []
        let range = afterDateline ? self.afterDateline(self.text.sentences[s].tokens) : self.text.sentences[s].tokens
        for t in range where !self.inQuote[t] {
            for id in self.tokenEntities[t] where id.hasPrefix(prefix) && !out.contains(id) { out.append(id) }
        }
        return out
    }

    func sentenceDate(_ s: Int) -> TaggedTime? {
        self.times.first { time in
            self.tokens[time.first].sentence == s && !self.inQuote[time.first] && time.type != "DURATION" && time.type != "SET"
                && ["day", "week", "month"].contains(time.precision)
        }
    }

    func trigger(in s: Int) -> (trigger: Trigger, at: Int)? {
        guard !self.sentenceClasses[s].isDisjoint(with: .engagement) else { return nil }
        var best: (Trigger, Int)?
        for t in self.text.sentences[s].tokens where !self.inQuote[t] && self.tokens[t].kind == .word {
            let classes = self.wordClasses[t]
            var found: Trigger?
            if classes.contains(.telephone) {
                let word = self.lower[t]
                if word == "call" || word == "calls" {
                    let before = t > 0 ? self.lower[t - 1] : ""
                    let after = t + 1 < self.lower.count ? self.lower[t + 1] : ""
                    if ["the", "a", "phone", "telephone", "latest", "this", "video"].contains(before) || ["with", "between"].contains(after) { found = .telephone }
                } else {
                    found = .telephone
                }
            } else if classes.contains(.meet) {
                found = .meet
            } else if classes.contains(.visit) {
                found = .visit
            } else if classes.contains(.consult) {
                found = .consult
            }
            if let found, best == nil || found > best!.0 { best = (found, t) }
        }
        return best.map { ($0.0, $0.1) }
    }

    func isIntent(_ t: Int) -> Bool {
        var j = t - 1
        while j >= 0, t - j <= 3, self.tokens[j].sentence == self.tokens[t].sentence {
            if Self.intentWords.contains(self.lower[j]) { return self.lower[j] != "to" || self.lower[t] == "meet" || self.lower[t] == "visit" }
            j -= 1
        }
        return false
    }

    func isBackReference(_ t: Int) -> Bool {
        var j = t - 1
        while j >= 0, t - j <= 3, self.tokens[j].sentence == self.tokens[t].sentence {
            if Self.backWords.contains(self.lower[j]) { return true }
            j -= 1
        }
        return false
    }

    /// Countries and offices that go with a set of people.
    func affiliations(of persons: [String]) -> [String] {
        var out: [String] = []
        for person in persons {
            guard let entity = self.entities[person] else { continue }
            for office in entity.offices where !out.contains(office) { out.append(office) }
            if let country = entity.country, !out.contains("country:\(country)") { out.append("country:\(country)") }
        }
        return out
    }

    mutating func findEvents() -> [ExtractedEvent] {
        var drafts: [Draft] = []
        var current: Int?  // the engagement later sentences refer back to
        for s in self.text.sentences.indices {
            // Designations: "the U.S. designated The Resistance Front (TRF) ... as ... (FTO)".
            if let d = self.text.sentences[s].tokens.first(where: { ["designated", "designates", "sanctioned", "blacklisted"].contains(self.lower[$0]) && !self.inQuote[$0] }) {
                let actors = self.text.sentences[s].tokens.filter { $0 < d }.flatMap { self.tokenEntities[$0] }
                    .filter { $0.hasPrefix("country:") }
                    .reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
                let targets = self.text.sentences[s].tokens.filter { $0 > d }.flatMap { self.tokenEntities[$0] }.filter { $0.hasPrefix("org:") }
                let designations = self.text.sentences[s].tokens.filter { $0 > d }.flatMap { self.tokenEntities[$0] }.filter { $0.hasPrefix("designation:") }
                var uniqueTargets: [String] = []
                for target in targets where !uniqueTargets.contains(target) { uniqueTargets.append(target) }
                if let target = uniqueTargets.first {
                    for designation in designations where !(self.entities[target]?.designations.contains(designation) ?? true) {
                        self.entities[target]?.designations.append(designation)
                    }
                    var participants = actors
                    participants.append(target)
                    for designation in designations where !participants.contains(designation) { participants.append(designation) }
                    drafts.append(Draft(code: "163", trigger: nil, persons: [], others: participants, place: nil, date: self.sentenceDate(s), sentences: [s], isBackReference: false))
                }
            }
            // Statements: quotes with a speaker, and "a statement issued by X".
            for quote in self.quoteSentences where quote.sentence == s {
                guard let speaker = quote.speaker else { continue }
                if speaker.hasPrefix("person:") {
                    var others = self.affiliations(of: [speaker])
                    if let org = self.sentenceEntities(s, prefix: "org:").first, !others.contains(org) { others.append(org) }
                    drafts.append(Draft(code: "010", trigger: nil, persons: [speaker], others: others, place: nil, date: quote.date, sentences: [s], isBackReference: false))
                } else {
                    // An organisation, an office or a country speaking ("the Foreign Office highlighted that …").
                    var others = [speaker]
                    if let country = self.entities[speaker]?.country, !others.contains("country:\(country)") { others.append("country:\(country)") }
                    drafts.append(Draft(code: "010", trigger: nil, persons: [], others: others, place: nil, date: quote.date, sentences: [s], isBackReference: false))
                }
            }
            let sentenceTokens = self.text.sentences[s].tokens
            if let at = sentenceTokens.first(where: { self.lower[$0] == "statement" }), at + 2 < sentenceTokens.upperBound, self.lower[at + 1] == "issued" || self.lower[at + 1] == "released" {
                let orgs = sentenceTokens.filter { $0 > at }.flatMap { self.tokenEntities[$0] }.filter { $0.hasPrefix("org:") }
                // (Once: "according to a statement issued by X" is already X's statement.)
                if let org = orgs.first, !drafts.contains(where: { $0.code == "010" && $0.sentences == [s] && $0.others.first == org }) {
                    var others = [org]
                    if let country = self.entities[org]?.country { others.append("country:\(country)") }
                    drafts.append(Draft(code: "010", trigger: nil, persons: [], others: others, place: nil, date: self.sentenceDate(s), sentences: [s], isBackReference: false))
                }
            }
            if let attack = self.attack(in: s) {
                // "The attack in the town of Bannu … was claimed by …": the attack the story has reported already.
                if let earlier = drafts.lastIndex(where: { $0.code == "180" || $0.code == "183" }), self.namesAnAttackAgain(in: s),
                   attack.date == nil || attack.date?.value == drafts[earlier].date?.value
                {
                    drafts[earlier].absorbAttack(attack)
                } else {
                    drafts.append(attack)
                }
            } else if let agreement = self.agreement(in: s) {
                drafts.append(agreement)
            }
            // Engagements.
            guard let (trigger, at) = self.trigger(in: s) else { continue }
            var persons = self.sentenceEntities(s, prefix: "person:")
            if persons.isEmpty, let first = sentenceTokens.first, ["he", "she"].contains(self.lower[first]) {
                persons = self.lastPeople(before: self.tokens[first].start, count: 1)
            }
            let date = self.sentenceDate(s)
            let back = self.isBackReference(at)
            let places = self.sentenceEntities(s, prefix: "place:")
            let intent = self.isIntent(at)
            if !back, !intent, let c = current, date == nil || date?.value == drafts[c].date?.value,
               Set(persons).isSubset(of: Set(drafts[c].persons))
            {
                drafts[c].sentences.append(s)
                if trigger > (drafts[c].trigger ?? .consult) && drafts[c].trigger != .telephone { drafts[c].trigger = trigger }
                if trigger == .visit { drafts[c].hasVisit = true }
                if self.speaksOfAVisit(s) { drafts[c].visitSentences.append(s) }
                if drafts[c].place == nil, drafts[c].trigger != .telephone { drafts[c].place = places.first }
                continue
            }
            // No one named: the offices the sentence names take part ("Pakistan's foreign minister met ...");
            // dateline-query resolves them to whoever held them then.
            var others = self.affiliations(of: persons)
            if persons.isEmpty {
                for office in self.sentenceEntities(s, prefix: "office:") where !others.contains(office) {
                    others.append(office)
                    if let country = self.entities[office]?.country, !others.contains("country:\(country)") { others.append("country:\(country)") }
                }
                guard others.contains(where: { $0.hasPrefix("office:") }) else { continue }
            }
            var draft = Draft(
                code: intent ? "036" : "040", trigger: trigger, persons: persons, others: others,
                place: trigger == .telephone ? nil : places.first, date: date, sentences: [s], isBackReference: back
            )
            draft.hasVisit = trigger == .visit
            if !back, !intent, self.speaksOfAVisit(s) { draft.visitSentences = [s] }
            if draft.place == nil, trigger != .telephone, !back, s == 0, let dateline = self.datelinePlace {
                let name = dateline.replacingOccurrences(of: ", D.C.", with: "").replacingOccurrences(of: " D.C.", with: "")
                if self.entities["place:" + slug(name)] != nil { draft.place = "place:" + slug(name) }
            }
            drafts.append(draft)
            if !back && !intent { current = drafts.count - 1 }
        }
        // Codes for engagements, from the trigger and where it happened relative to who took part.
        var events: [ExtractedEvent] = []
        for var draft in drafts {
            // An attack reported from the dateline's place with no other place said happened there.
            if draft.code == "180" || draft.code == "183", draft.place == nil, draft.sentences.first == 0, self.bodyStart > 0 {
                draft.place = self.tokenEntities[0..<self.bodyStart].joined().first { $0.hasPrefix("place:") }
            }
            // A statement made "following the meeting" is dated by the engagement its sentence reports (not one
            // the text says was made "earlier").
            if draft.code == "010", draft.date == nil,
               !self.text.sentences[draft.sentences[0]].tokens.contains(where: { ["earlier", "previously"].contains(self.lower[$0]) }),
               let engagement = drafts.first(where: { $0.trigger != nil && !$0.isBackReference && $0.sentences.contains(draft.sentences[0]) })
            {
                draft.date = engagement.date
            }
            let code = self.code(of: draft)
            var participants = draft.persons
            for other in draft.others where !participants.contains(other) { participants.append(other) }
            if let place = draft.place, let country = self.entities[place]?.country, code == "043" || code == "042" {
                // The host country takes part in a hosted visit.
                if !participants.contains("country:\(country)") { participants.append("country:\(country)") }
            }
            // The visit a meeting took place during is an event of its own, before it: the visitors make it.
            if code != "042", let visit = self.visit(around: draft) { events.append(visit) }
            events.append(self.event(draft, code: code, participants: participants, sentences: draft.sentences))
        }
        for index in events.indices { events[index].id = "e\(index + 1)" }
        return events
    }

    /// A draft's CAMEO code: an engagement's from its trigger and where it happened relative to who took part.
    func code(of draft: Draft) -> String {
        guard let trigger = draft.trigger, draft.code == "040" else { return draft.code }
        let countries = Set(draft.others.filter { $0.hasPrefix("country:") }.map { String($0.dropFirst(8)) })
        let placeCountry = draft.place.flatMap { self.entities[$0]?.country }
        switch trigger {
        case .telephone: return "041"
        case .meet, .visit:
            if let placeCountry, countries.count >= 2 { return countries.contains(placeCountry) ? "043" : "044" }
            return draft.hasVisit || trigger == .visit ? "042" : "040"
        case .consult: return "040"
        }
    }

    /// "The meeting took place during Dar's official visit to Washington": the visit (042, make a visit) by the
    /// engagement's people from another country than the place's, with their countries and the host's; nil when
    /// no sentence of the engagement speaks of a visit or its place or visitors are unknown.
    func visit(around draft: Draft) -> ExtractedEvent? {
        guard !draft.visitSentences.isEmpty, let place = draft.place, let host = self.entities[place]?.country else { return nil }
        let visitors = draft.persons.filter { person in self.entities[person]?.country.map { $0 != host } ?? false }
        guard !visitors.isEmpty else { return nil }
        var participants = visitors
        for visitor in visitors {
            if let country = self.entities[visitor]?.country, !participants.contains("country:\(country)") { participants.append("country:\(country)") }
        }
        if !participants.contains("country:\(host)") { participants.append("country:\(host)") }
        return self.event(draft, code: "042", participants: participants, sentences: draft.visitSentences)
    }

    /// The event a draft describes, over `sentences` (its id is set once every event is known).
    func event(_ draft: Draft, code: String, participants: [String], sentences: [Int]) -> ExtractedEvent {
        var topicCounts: [String: Int] = [:]
        for s in sentences {
            for (topic, count) in self.topics(inTokens: self.text.sentences[s].tokens) { topicCounts[topic, default: 0] += count }
        }
        return ExtractedEvent(
            id: "",
            code: code,
            label: Self.labels[code] ?? code,
            participants: participants,
            place: draft.place,
            date: draft.date?.value,
            datePrecision: draft.date?.precision,
            dateText: draft.date.map { self.text.text(tokens: $0.first, $0.last) },
            topics: self.ordered(topicCounts),
            sentences: sentences.map { s in
                let sentence = self.text.sentences[s]
                return EventSentence(text: self.text.text(sentence.start..<sentence.end), start: UInt32(sentence.start), end: UInt32(sentence.end))
            },
            isBackReference: draft.isBackReference,
            killed: draft.killed
        )
    }
}
