internal import Foundation

/// A country from the gazetteer (derived from `countries.json`, ODbL).
public struct Country: Sendable, Hashable {
    /// ISO 3166-1 alpha-2.
    public var code: String
    public var name: String
    public var capitals: [String]
    public var demonyms: [String]
    public var region: String
    public var subregion: String

    /// How Dateline names it in an office's name: "US", "UK", else the common name.
    public var shortName: String {
        switch self.code {
        case "US": "US"
        case "GB": "UK"
        default: self.name
        }
    }
}

/// What a phrase of the lexicon is.
public enum LexiconEntry: Sendable, Hashable {
    case country(code: String)
    case demonym(code: String)
    case capital(code: String, name: String)
    case office(key: String, label: String, defaultCountry: String?)
    case honorific
    case place(name: String, country: String?)
    case organization(name: String, country: String?, acronym: String?)
    case designation(name: String, acronym: String)
}

/// Errors loading Dateline's data files.
public struct LexiconError: Error, CustomStringConvertible {
    public var description: String
}

/// Dateline's gazetteers and word lists: countries (with capitals and demonyms), offices, honorifics, places,
/// organisations, designations and the topic taxonomy. Loaded once from the data files that ship with the
/// module (`Data/countries.tsv`, `Data/lexicon.txt`).
public final class Lexicon: Sendable {
    public let countries: [String: Country]
    /// Phrases by their first token, longest first.
    let phrases: [String: [(tokens: [String], entries: [LexiconEntry])]]
    /// Per lower-case word: its ``WordClass``es and the topic cues it starts (exact words and multi-word phrases;
    /// prefix cues, from `word*`, are in `topicPrefixSlots`).
    let wordFacts: [String: WordFacts]
    /// Prefix cues (from `word*`) by their first three letters: `topicPrefixSlots[PrefixSlot(word)]` is an index
    /// into `topicPrefixGroups` or -1. An array, not a dictionary: every word of every article is asked, and
    /// most are no cue.
    let topicPrefixSlots: [Int32]
    let topicPrefixGroups: [[(prefix: String, topic: String)]]
    /// Countries by lower-cased common name.
    let countriesByLowercasedName: [String: String]
    public let topics: [String]
    /// Lower-cased words that are never a person's name (`[not-a-person]` in `lexicon.txt`).
    let notAPerson: Set<String>
    /// Last words that make a name an organisation's (`[organisation-head]` in `lexicon.txt`).
    let organisationHeads: Set<String>
    /// Organisations every country has ("Foreign Office", "Foreign Ministry", "Parliament"; country `*` in the
    /// lexicon): scoped to the country the text gives them ("Pakistan's Foreign Office" → org:PK:foreign-office).
    let nationalInstitutions: Set<String>
    /// Role nouns that may open a sentence before a name (`[role-word]` in `lexicon.txt`).
    let roleWords: Set<String>

    /// The lexicon shipped with the module.
    public static let shared: Lexicon = {
        do {
            return try Lexicon(
                countries: try Lexicon.resource("countries", "tsv"),
                lexicon: try Lexicon.resource("lexicon", "txt")
            )
        } catch {
            fatalError("Dateline's extraction data files are missing or corrupt: \(error)")
        }
    }()

    static func resource(_ name: String, _ ext: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Data")
            ?? Bundle.module.url(forResource: name, withExtension: ext)
        else {
            throw LexiconError(description: "\(name).\(ext) is not in the module's resource bundle")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// Builds a lexicon from the text of the two data files.
    public init(countries countryText: String, lexicon lexiconText: String) throws {
        var countries: [String: Country] = [:]
        var phrases: [String: [(tokens: [String], entries: [LexiconEntry])]] = [:]
        var index: [[String]: Int] = [:]
        var list: [(tokens: [String], entries: [LexiconEntry])] = []
        var countryNames: [String: [String]] = [:]
        func add(_ phrase: String, _ entry: LexiconEntry) {
            let tokens = TokenizedText(phrase).tokens.map(\.text)
            guard !tokens.isEmpty else { return }
            if let at = index[tokens] {
                if !list[at].entries.contains(entry) { list[at].entries.append(entry) }
            } else {
                index[tokens] = list.count
                list.append((tokens, [entry]))
            }
        }
        for line in countryText.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 9 else { throw LexiconError(description: "countries.tsv: bad line \(line.prefix(40))") }
            func items(_ s: String) -> [String] { s.split(separator: "|").map(String.init) }
            let country = Country(code: f[0], name: f[2], capitals: items(f[4]), demonyms: items(f[5]), region: f[7], subregion: f[8])
            countries[country.code] = country
            add(f[2], .country(code: f[0]))
            if !f[3].isEmpty { add(f[3], .country(code: f[0])) }
            for alternative in items(f[6]) where alternative.count > 2 || alternative == alternative.uppercased() {
                // Two-letter codes ("PK") are too ambiguous in running text, except "US"/"UK" which newsrooms use.
                if alternative.count <= 2, !["US", "UK"].contains(alternative) { continue }
                add(alternative, .country(code: f[0]))
            }
            for capital in country.capitals { add(capital, .capital(code: f[0], name: capital)) }
            for demonym in country.demonyms { add(demonym, .demonym(code: f[0])) }
            countryNames[f[0]] = [f[2], f[3]] + items(f[6])
        }
        // A demonym several countries share ("American": the United States and the Northern Mariana Islands) names
        // first the country one of whose names it starts from ("America"); between equals, the one whose name the
        // other's contains ("Dutch": the Netherlands before the Caribbean Netherlands), then the first listed.
        for at in list.indices where list[at].entries.count > 1 && list[at].entries.allSatisfy({ if case .demonym = $0 { true } else { false } }) {
            let codes = list[at].entries.compactMap { entry -> String? in if case .demonym(let code) = entry { code } else { nil } }
            let demonym = list[at].tokens.joined(separator: " ")
            func affinity(_ code: String) -> Int {
                (countryNames[code] ?? []).map { name in zip(name, demonym).prefix { $0 == $1 }.count }.max() ?? 0
            }
            func isParent(_ code: String) -> Int {
                guard let name = countries[code]?.name else { return 0 }
                return codes.contains { $0 != code && countries[$0]?.name.contains(name) == true } ? 1 : 0
            }
            let keys = codes.enumerated().map { (affinity($0.element), isParent($0.element), -$0.offset) }
            list[at].entries = zip(list[at].entries, keys).sorted { $0.1 > $1.1 }.map(\.0)
        }
        var topicWords: [String: String] = [:]
        var topicPrefixes: [(String, String)] = []
        var topicPhrases: [String: [(tokens: [String], topic: String)]] = [:]
        var topics: [String] = []
        var notAPerson = Set<String>()
        var organisationHeads = Set<String>()
        var nationalInstitutions = Set<String>()
        var roleWords = Set<String>()
        var section = ""
        for raw in lexiconText.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") { section = String(line.dropFirst().dropLast()); continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func items(_ i: Int) -> [String] { i < f.count ? f[i].split(separator: "|").map(String.init) : [] }
            func code(_ i: Int) -> String? { i < f.count && f[i] != "-" && f[i] != "*" && !f[i].isEmpty ? f[i] : nil }
            switch section {
            case "office":
                guard f.count >= 3 else { throw LexiconError(description: "lexicon.txt [office]: \(line)") }
                for form in items(1) { add(form, .office(key: f[0], label: f[2], defaultCountry: code(3))) }
            case "honorific":
                for form in items(0) { add(form, .honorific) }
            case "not-a-person":
                for word in items(0) { notAPerson.insert(word.lowercased()) }
            case "organisation-head":
                for word in items(0) { organisationHeads.insert(word) }
            case "role-word":
                for word in items(0) { roleWords.insert(word) }
            case "place":
                add(f[0], .place(name: f[0], country: code(1)))
                for alias in items(2) { add(alias, .place(name: f[0], country: code(1))) }
            case "organization":
                let acronyms = items(2)
                if f.count > 1, f[1] == "*" { nationalInstitutions.insert(f[0]) }
                add(f[0], .organization(name: f[0], country: code(1), acronym: acronyms.first))
                for acronym in acronyms { add(acronym, .organization(name: f[0], country: code(1), acronym: acronyms.first)) }
            case "designation":
                guard f.count >= 2 else { throw LexiconError(description: "lexicon.txt [designation]: \(line)") }
                add(f[0], .designation(name: f[0], acronym: f[1]))
                add(f[1], .designation(name: f[0], acronym: f[1]))
            case "topic":
                guard f.count >= 2 else { throw LexiconError(description: "lexicon.txt [topic]: \(line)") }
                topics.append(f[0])
                for cue in items(1) {
                    let words = cue.split(separator: " ").map(String.init)
                    if words.count > 1 {
                        topicPhrases[words[0], default: []].append((words, f[0]))
                    } else if cue.hasSuffix("*") {
                        topicPrefixes.append((String(cue.dropLast()), f[0]))
                    } else {
                        topicWords[cue] = f[0]
                    }
                }
            default:
                throw LexiconError(description: "lexicon.txt: unknown section [\(section)]")
            }
        }
        for entry in list { phrases[entry.tokens[0], default: []].append(entry) }
        for key in phrases.keys { phrases[key]!.sort { $0.tokens.count > $1.tokens.count } }
        self.countries = countries
        self.phrases = phrases
        var wordFacts = WordClass.table.mapValues { WordFacts(classes: $0) }
        for (word, topic) in topicWords { wordFacts[word, default: WordFacts()].topic = topic }
        for (word, phrases) in topicPhrases { wordFacts[word, default: WordFacts()].topicPhrases = phrases }
        self.wordFacts = wordFacts
        var slots = [Int32](repeating: -1, count: Self.prefixSlotCount)
        var groups: [[(prefix: String, topic: String)]] = []
        for (prefix, topic) in topicPrefixes {
            guard let slot = Self.prefixSlot(prefix) else {
                throw LexiconError(description: "lexicon.txt [topic]: a prefix cue must start with three letters a-z: \(prefix)*")
            }
            if slots[slot] < 0 {
                slots[slot] = Int32(groups.count)
                groups.append([])
            }
            groups[Int(slots[slot])].append((prefix, topic))
        }
        self.topicPrefixSlots = slots
        self.topicPrefixGroups = groups
        self.countriesByLowercasedName = Dictionary(countries.values.map { ($0.name.lowercased(), $0.code) }, uniquingKeysWith: { a, _ in a })
        self.topics = topics
        self.notAPerson = notAPerson
        self.organisationHeads = organisationHeads
        self.nationalInstitutions = nationalInstitutions
        self.roleWords = roleWords
    }

    /// Whether `word`, capitalised, is a role noun that opens a sentence before a name ("Defender").
    public func isRoleWord(_ word: String) -> Bool {
        self.roleWords.contains(word)
    }

    /// Whether `word` alone is an honorific ("Mr", "Dr.", "Senator").
    public func isHonorificWord(_ word: String) -> Bool {
        self.phrases[word]?.contains { $0.tokens.count == 1 && $0.entries.contains(.honorific) } ?? false
    }

    /// Whether a capitalised name ending in `word` names an organisation ("European Commission", "Foreign
    /// Office", "British Airways Plc"), so that no rule makes it a person.
    public func isOrganisationHead(_ word: String) -> Bool {
        self.organisationHeads.contains(word)
    }

    /// Whether words can never be a person's name, whatever a tagger says: a weekday, a holiday, a news agency
    /// (the "Reuter" sign-off), or a contraction ("We've", "They're", "Don't").
    public func isNeverAPerson(_ words: [String]) -> Bool {
        guard words.count == 1, let word = words.first else { return false }
        var lowered = word.lowercased()
        if lowered.unicodeScalars.contains("\u{2019}") { lowered = String(lowered.map { $0 == "\u{2019}" ? "'" : $0 }) }
        if self.notAPerson.contains(lowered) { return true }
        return ["'ve", "'re", "'ll", "'m", "'d", "n't"].contains { lowered.hasSuffix($0) }
    }

    /// Whether a name is initials alone ("N.A.", "C.", "R.J.", "S.P.A.", "N.Y."): capital letters each followed by a
    /// full stop. An abbreviation ("not available", a state, a company's legal form), never a person's whole name.
    public func isInitialsOnly(_ words: [String]) -> Bool {
        !words.isEmpty && words.allSatisfy { word in
            let scalars = Array(word.unicodeScalars)
            guard scalars.count >= 2, scalars.count % 2 == 0 else { return false }
            return stride(from: 0, to: scalars.count, by: 2).allSatisfy { k in
                scalars[k].properties.isUppercase && scalars[k + 1] == "."
            }
        }
    }

    /// The longest lexicon phrase starting at token `i`: its length in tokens and what it is.
    public func longestMatch(in tokens: [Token], at i: Int, sentenceEnd: Int) -> (length: Int, entries: [LexiconEntry])? {
        guard let candidates = self.phrases[tokens[i].text] else { return nil }
        for candidate in candidates where i + candidate.tokens.count <= sentenceEnd {
            var ok = true
            for (k, text) in candidate.tokens.enumerated().dropFirst() where tokens[i + k].text != text {
                ok = false
                break
            }
            if ok { return (candidate.tokens.count, candidate.entries) }
        }
        return nil
    }

    /// The topic a cue starting at token `i` signals, and the cue's length in tokens; `facts` are the word's `wordFacts`.
    func topicCue(in lowered: [String], at i: Int, facts: WordFacts?) -> (length: Int, topic: String)? {
        if let facts {
            for phrase in facts.topicPhrases where i + phrase.tokens.count <= lowered.count {
                if lowered[i..<(i + phrase.tokens.count)].elementsEqual(phrase.tokens) { return (phrase.tokens.count, phrase.topic) }
            }
            if let topic = facts.topic { return (1, topic) }
        }
        let word = lowered[i]
        guard let slot = Self.prefixSlot(word), case let group = self.topicPrefixSlots[slot], group >= 0 else { return nil }
        for (prefix, topic) in self.topicPrefixGroups[Int(group)] where word.hasPrefix(prefix) { return (1, topic) }
        return nil
    }

    static let prefixSlotCount = 26 * 26 * 26

    /// The slot of a word's first three letters, when they are all a–z (any other byte, "Пр…" included: nil).
    static func prefixSlot(_ word: String) -> Int? {
        var utf8 = word.utf8.makeIterator()
        var slot = 0
        for _ in 0..<3 {
            guard let byte = utf8.next(), byte >= UInt8(ascii: "a"), byte <= UInt8(ascii: "z") else { return nil }
            slot = slot * 26 + Int(byte - UInt8(ascii: "a"))
        }
        return slot
    }

    /// The country a name, code, capital or demonym refers to.
    /// - Parameter acceptsCodes: whether a bare two-letter code ("PK") names its country, as when a user types
    ///   it. In running text it does not ("MP" is a member of parliament, not the Northern Mariana Islands):
    ///   only the forms newsrooms write ("US", "UK", "U.S.") do, through the gazetteer.
    public func country(named text: String, acceptsCodes: Bool = true) -> Country? {
        if acceptsCodes, let country = self.countries[text.uppercased()], text.count == 2 { return country }
        let tokens = TokenizedText(text).tokens
        guard !tokens.isEmpty, let match = self.longestMatch(in: tokens, at: 0, sentenceEnd: tokens.count), match.length == tokens.count else {
            return self.countriesByLowercasedName[text.lowercased()].flatMap { self.countries[$0] }
        }
        for entry in match.entries {
            switch entry {
            case .country(let code), .demonym(let code), .capital(let code, _): return self.countries[code]
            default: continue
            }
        }
        return nil
    }
}
