internal import Foundation
public import DatelineProtocol

/// Reads structure out of an article's body: people with their titles and offices, offices, countries, places,
/// organisations (with acronyms and designations), time expressions normalized against the publication date,
/// topics, quotes with their speakers, and events between the participants.
///
/// Pure Swift, deterministic, rules and gazetteers only (see `Data/`). Safe to share between threads.
public struct ArticleExtractor: Sendable {
    /// Bumped whenever the same text may be read differently.
    public static let version: UInt32 = 5

    public let lexicon: Lexicon
    /// The statistical tagger that finds the people, places and organisations no rule knows; nil for rules only.
    public let model: NamedEntityModel?
    let timeTagger = TimeTagger()

    public init(lexicon: Lexicon = .shared, model: NamedEntityModel? = .shared) {
        self.lexicon = lexicon
        self.model = model
    }

    /// Extracts everything from `body`, resolving relative dates against `published` and using `datelinePlace`
    /// (the place the article was filed from) as the default place of what it reports. The title and the
    /// dateline's place, when given, are read too: their mentions and time expressions say so in `field`.
    public func extract(body: String, published: CivilDate?, datelinePlace: String? = nil, title: String? = nil) -> ArticleExtraction {
        var run = ExtractionRun(extractor: self, text: TokenizedText(body), published: published)
        run.datelinePlace = datelinePlace
        var extraction = run.run()
        if let title, !title.isEmpty { HeaderReading(extractor: self, text: title, field: .title, published: published).add(to: &extraction) }
        if let datelinePlace, !datelinePlace.isEmpty {
            HeaderReading(extractor: self, text: datelinePlace, field: .dateline, published: published).add(to: &extraction)
        }
        return extraction
    }

    /// Extracts from a stored article (its body, title, publication date and dateline).
    public func extract(_ article: StoredArticle) -> ArticleExtraction {
        let published = article.publishedAt.map { CivilDate(dayNumber: Int(($0.timeIntervalSince1970 / 86_400).rounded(.down))) }
        return self.extract(body: article.body, published: published, datelinePlace: article.datelinePlace, title: article.title)
    }
}

/// Lower-cased ASCII words joined by hyphens: "Ishaq Dar" → "ishaq-dar".
func slug(_ text: String) -> String {
    var out = ""
    var pendingHyphen = false
    for scalar in text.lowercased().unicodeScalars {
        if scalar.properties.isAlphabetic || (scalar.value >= 48 && scalar.value <= 57) {
            if pendingHyphen, !out.isEmpty { out.append("-") }
            pendingHyphen = false
            out.unicodeScalars.append(scalar)
        } else if scalar != "'" && scalar != "\u{2019}" && scalar != "." {
            pendingHyphen = true
        }
    }
    return out
}

/// One extraction: the working state while reading an article.
struct ExtractionRun {
    let extractor: ArticleExtractor
    let text: TokenizedText
    let published: CivilDate?
    var datelinePlace: String?
    /// The body's first token after the dateline that opens it (0 when it opens with none; set when the run starts).
    var bodyStart = 0
    let lower: [String]

    var entities: [String: ExtractedEntity] = [:]
    var entityOrder: [String] = []
    /// A mention while the run lasts, by entity id (the result refers to entities by index).
    struct RunMention {
        var entity: String
        var start: UInt32
        var end: UInt32
        var text: String
    }

    var mentions: [RunMention] = []
    /// Entity ids mentioned by each token (first token of a mention), for sentence-level look-ups.
    var tokenEntities: [[String]]
    var covered: [Bool]
    var inQuote: [Bool]
    var times: [TaggedTime] = []
    var timeAt: [Int?]
    /// Person ids by the names they can be referred to by (full name, surname, first name).
    var personNames: [String: String] = [:]
    var acronyms: [String: String] = [:]
    /// Offices of an organisation the text gives no country (their keys, "nato-secretary-general"): they keep none,
    /// never taking the article's.
    var countrylessOrganisationOffices: Set<String> = []
    /// Organisation ids by the short names they can be referred to by ("Magna" for Magna International Inc).
    var organisationNames: [String: String] = [:]
    var orgCountries: [String: String] = [:]
    var quotes: [ExtractedQuote] = []
    var quoteSentences: [(sentence: Int, speaker: String?, date: TaggedTime?)] = []
    /// The tagger's spans (token ranges and PER/LOC/ORG/MISC), sentence by sentence, tagged before any rule runs.
    var modelSpans: [(first: Int, last: Int, type: String)] = []
    /// Tokens of a tagger span that holds a place the lexicon knows and more words besides ("Air France", "New
    /// York Stock Exchange", "Real Madrid", "Anthony Washington"): one name, as the tagger says, not the place
    /// inside it, so the rules leave them alone.
    var claimedByModel: [Bool]
    /// What the event rules look for in each token, and in each sentence (the union of its tokens' classes).
    let wordClasses: [WordClass]
    let sentenceClasses: [WordClass]
    /// The topic cue starting at each word (the article's topics and every event's read them).
    let topicCues: [(length: Int, topic: String)?]
    /// The longest lexicon phrase at each token (within its sentence), looked up once.
    var lexiconMatches: [(length: Int, entries: [LexiconEntry])?] = []

    static let nameStopWords: Set<String> = [
        "The", "This", "That", "These", "Those", "While", "During", "After", "Before", "Both", "Their", "His", "Her",
        "He", "She", "It", "They", "We", "I", "A", "An", "In", "On", "At", "For", "But", "And", "Or", "As", "By",
        "Further", "Beyond", "Diplomatic", "Officials", "According", "Meanwhile", "However", "Also", "With",
    ]
    static let speechVerbs: Set<String> = [
        "said", "says", "stated", "states", "told", "tells", "added", "adds", "noted", "wrote", "posted", "declared",
        "announced", "tweeted", "remarked", "explained", "insisted", "warned", "stressed", "argued", "asserted",
    ]

    init(extractor: ArticleExtractor, text: TokenizedText, published: CivilDate?) {
        self.extractor = extractor
        self.text = text
        self.published = published
        self.lower = text.tokens.map { $0.text.lowercased() }
        // One look-up per token for every per-word table (word classes, topic cues, time openers).
        let lower = self.lower
        let facts = lower.map { extractor.lexicon.wordFacts[$0] }
        let wordClasses = facts.map { $0?.classes ?? [] }
        self.wordClasses = wordClasses
        self.sentenceClasses = text.sentences.map { sentence in sentence.tokens.reduce(into: WordClass()) { $0.formUnion(wordClasses[$1]) } }
        self.topicCues = text.tokens.indices.map { i in text.tokens[i].kind == .word ? extractor.lexicon.topicCue(in: lower, at: i, facts: facts[i]) : nil }
        self.tokenEntities = Array(repeating: [], count: text.tokens.count)
        self.covered = Array(repeating: false, count: text.tokens.count)
        self.inQuote = Array(repeating: false, count: text.tokens.count)
        self.timeAt = Array(repeating: nil, count: text.tokens.count)
        self.claimedByModel = Array(repeating: false, count: text.tokens.count)
        self.lexiconMatches = text.tokens.indices.map { i in
            extractor.lexicon.longestMatch(in: text.tokens, at: i, sentenceEnd: text.sentences[text.tokens[i].sentence].tokens.upperBound)
        }
    }

    /// The longest lexicon phrase at `i` that ends before `end`.
    func lexiconMatch(at i: Int, end: Int) -> (length: Int, entries: [LexiconEntry])? {
        guard i < end, let cached = self.lexiconMatches[i] else { return nil }
        if i + cached.length <= end { return cached }
        return self.extractor.lexicon.longestMatch(in: self.tokens, at: i, sentenceEnd: end)
    }

    var tokens: [Token] { self.text.tokens }

    // MARK: Entities and mentions

    @discardableResult
    mutating func entity(_ id: String, _ kind: EntityKind, _ name: String, country: String? = nil) -> String {
        if var existing = self.entities[id] {
            // The longer name, and a name as written in running text over one in capitals ("CHICAGO BOARD OF
            // TRADE" in a heading, "Chicago Board of Trade" after).
            let replacesCapitals = existing.name == existing.name.uppercased() && name != name.uppercased() && name.count >= existing.name.count - 2
            if name.count > existing.name.count || replacesCapitals, kind != .office { existing.name = name }
            if existing.country == nil { existing.country = country }
            self.entities[id] = existing
        } else {
            self.entities[id] = ExtractedEntity(id: id, kind: kind, name: kind == .place ? Self.placeName(name) : name, country: country)
            self.entityOrder.append(id)
        }
        return id
    }

    /// A place first met in capitals (a wire dateline's "WASHINGTON", "NEW YORK") is named in title case; short
    /// capitals, likelier an acronym ("LA", "TTP"), are left as written. A later mention in running text names it
    /// as written there.
    static func placeName(_ written: String) -> String {
        guard !written.contains(where: \.isLowercase), written.split(separator: " ").contains(where: { $0.count > 3 }) else { return written }
        return HeaderReading.titleCased(written)
    }

    mutating func mention(_ id: String, _ first: Int, _ last: Int) {
        let start = self.tokens[first].start
        let end = self.tokens[last].end
        if self.mentions.contains(where: { $0.entity == id && $0.start == UInt32(start) }) { return }
        self.mentions.append(RunMention(entity: id, start: UInt32(start), end: UInt32(end), text: self.text.text(start..<end)))
        self.entities[id]?.mentionCount += 1
        if !self.tokenEntities[first].contains(id) { self.tokenEntities[first].append(id) }
        for t in first...last { self.covered[t] = true }
    }

    func sentenceEnd(_ i: Int) -> Int { self.text.sentences[self.tokens[i].sentence].tokens.upperBound }

    func isPossessive(_ i: Int) -> Bool {
        i < self.tokens.count && (self.tokens[i].text == "'s" || self.tokens[i].text == "\u{2019}s")
    }

    // MARK: The run

    mutating func run() -> ArticleExtraction {
        self.findTimes()
        self.bodyStart = self.datelineEnd()
        self.coverDatelineCredit()
        self.findQuoteSpans()
        self.findAcronymDefinitions()
        self.tagModelSpans()
        self.findFirmNames()
        self.findNamedThings()
        self.findKnownNames()
        self.findModelEntities()
        self.mergeSurnameReferences()
        self.resolveOfficeCountries()
        self.findGroupReferences()
        self.findQuotes()
        self.findReportedSpeech()
        let topics = self.articleTopics()
        let events = self.findEvents()
        var times: [TimeExpression] = []
        for time in self.times {
            let start = self.tokens[time.first].start, end = self.tokens[time.last].end
            times.append(TimeExpression(
                text: self.text.text(start..<end), start: UInt32(start), end: UInt32(end), type: time.type,
                value: time.value, precision: time.precision, modifier: time.modifier
            ))
        }
        let entities = self.entityOrder.compactMap { self.entities[$0] }
        var positions: [String: UInt32] = [:]
        for (position, entity) in entities.enumerated() { positions[entity.id] = UInt32(position) }
        let mentions = self.mentions.sorted { ($0.start, $0.end, $0.entity) < ($1.start, $1.end, $1.entity) }.compactMap { mention in
            positions[mention.entity].map { EntityMention(entityIndex: $0, start: mention.start, end: mention.end, text: mention.text) }
        }
        return ArticleExtraction(
            version: ArticleExtractor.version,
            entities: entities,
            mentions: mentions,
            times: times,
            topics: topics,
            quotes: self.quotes,
            events: events
        )
    }

    mutating func findTimes() {
        self.times = self.extractor.timeTagger.tag(self.text, lower: self.lower, classes: self.wordClasses, reference: self.published)
        for (index, time) in self.times.enumerated() {
            for t in time.first...time.last { self.timeAt[t] = index }
        }
    }

    mutating func findQuoteSpans() {
        var open: Int?
        for (i, token) in self.tokens.enumerated() {
            switch token.text {
            case "\u{201C}": open = i
            case "\u{201D}":
                if let o = open { for t in o...i { self.inQuote[t] = true } }
                open = nil
            case "\"":
                if let o = open { for t in o...i { self.inQuote[t] = true }; open = nil } else { open = i }
            default:
                if token.followsLineBreak { open = nil }
            }
        }
    }

    /// Acronyms defined where a name is written: in brackets or between commas right after it ("the Chicago
    /// Board of Trade (CBT)", "…, CBT, said"), or as its other name ("Tehrik-e-Taliban Pakistan, known as the
    /// Pakistani Taliban or TTP"): the name is an organisation (or a lexicon designation) and the acronym its
    /// mention wherever it recurs.
    mutating func findAcronymDefinitions() {
        let tokens = self.tokens
        var i = 1
        while i + 2 < tokens.count {
            defer { i += 1 }
            let bracketed = tokens[i].text == "(" && tokens[i + 2].text == ")"
            let apposed = tokens[i].text == "," && [",", ".", ";"].contains(tokens[i + 2].text) && tokens[i + 1].isAllCaps
            guard bracketed || apposed, tokens[i + 1].kind == .word else { continue }
            guard let first = self.nameDefining(tokens[i + 1].text, endingBefore: i) else { continue }
            self.defineAcronym(at: i + 1, name: first, i - 1)
        }
        // "X, known as Y or ACR", "X, also known as ACR", "X, called ACR".
        for k in tokens.indices where tokens[k].kind == .word && tokens[k].isAllCaps && k >= 4 {
            guard ["or", "as", "called"].contains(self.lower[k - 1]) else { continue }
            var q = k - 1
            while q > max(0, k - 10), tokens[q].sentence == tokens[k].sentence, !["known", "called"].contains(self.lower[q]) { q -= 1 }
            guard ["known", "called"].contains(self.lower[q]), tokens[q].sentence == tokens[k].sentence else { continue }
            var comma = q - 1
            if comma > 0, self.lower[comma] == "also" { comma -= 1 }
            guard comma > 0, tokens[comma].text == ",", self.acronyms[tokens[k].text] == nil,
                  let first = self.nameDefining(tokens[k].text, endingBefore: comma) else { continue }
            self.defineAcronym(at: k, name: first, comma - 1)
            // The other name between ("known as the Pakistani Taliban or TTP") is the organisation's too.
            var alias = q + 2
            if alias < k, self.lower[alias] == "the" { alias += 1 }
            if self.lower[q] == "known", self.lower[q + 1] == "as", self.lower[k - 1] == "or", alias <= k - 2, k - 2 - alias < 5,
               (alias...(k - 2)).allSatisfy({ tokens[$0].kind == .word && tokens[$0].isCapitalized }), let id = self.acronyms[tokens[k].text] {
                self.mention(id, alias, k - 2)
            }
        }
    }

    /// The first token of the capitalised name ending right before token `end` whose initials spell `acronym`
    /// (all its words', its capitalised words', or its words but the small ones), within the sentence.
    func nameDefining(_ acronym: String, endingBefore end: Int) -> Int? {
        let tokens = self.tokens
        let capitals = acronym.unicodeScalars.filter { $0.properties.isUppercase }.count
        guard capitals >= 2, acronym.count <= 8, acronym.first!.isUppercase else { return nil }
        let target = acronym.uppercased().replacingOccurrences(of: ".", with: "")
        // Words before the bracket, skipping hyphens; the name must start with a capital.
        var words: [Int] = []
        var j = end - 1
        while j >= 0, words.count < 10, tokens[j].sentence == tokens[end].sentence {
            if tokens[j].text == "-" { j -= 1; continue }
            guard tokens[j].kind == .word else { break }
            words.insert(j, at: 0)
            j -= 1
        }
        for length in 1...max(1, words.count) where length <= words.count {
            let span = words.suffix(length)
            guard tokens[span.first!].isCapitalized else { continue }
            let all = span.map { String(tokens[$0].text.first!).uppercased() }.joined()
            let capitalsOnly = span.filter { tokens[$0].isCapitalized }.map { String(tokens[$0].text.first!) }.joined()
            // A name in capitals ("CHICAGO BOARD OF TRADE, CBT") leaves out its small words too.
            let contentWords = span.filter { !Self.acronymSmallWords.contains(self.lower[$0]) }.map { String(tokens[$0].text.first!).uppercased() }.joined()
            if all == target || capitalsOnly == target || contentWords == target { return span.first! }
        }
        return nil
    }

    /// Records the name at tokens `first...last` as what the acronym at `at` stands for.
    mutating func defineAcronym(at acronymToken: Int, name first: Int, _ last: Int) {
        let acronym = self.tokens[acronymToken].text
        let name = self.text.text(tokens: first, last)
        var kind = EntityKind.organization
        var id = "org:" + slug(name)
        var country: String?
        if let match = self.lexiconMatch(at: first, end: last + 1) {
            for entry in match.entries {
                if case .designation(_, let acr) = entry { kind = .designation; id = "designation:" + slug(acr) }
                if case .organization(let canonical, let c, _) = entry { id = "org:" + slug(canonical); country = c }
            }
        }
        self.entity(id, kind, name, country: country)
        self.entities[id]?.acronym = acronym
        self.acronyms[acronym] = id
        self.mention(id, first, last)
        self.mention(id, acronymToken, acronymToken)
    }

    /// Words an acronym leaves out ("Chicago Board of Trade" is CBT).
    static let acronymSmallWords: Set<String> = ["of", "and", "the", "for", "de", "du", "la", "le", "on", "in", "&"]

    /// The country a country reference at `i` names ("U.S.", "Pakistan", "Pakistani", "Pakistan's"), and where it ends.
    func countryReference(at i: Int, end: Int) -> (code: String, last: Int, isCapital: Bool)? {
        guard let match = self.lexiconMatch(at: i, end: end) else { return nil }
        for entry in match.entries {
            switch entry {
            case .country(let code), .demonym(let code):
                var last = i + match.length - 1
                if self.isPossessive(last + 1) { last += 1 }
                return (code, last, false)
            case .capital(let code, _):
                return (code, i + match.length - 1, true)
            default: continue
            }
        }
        return nil
    }

    func officeMatch(at i: Int, end: Int) -> (key: String, label: String, defaultCountry: String?, length: Int)? {
        guard let match = self.lexiconMatch(at: i, end: end) else { return nil }
        for entry in match.entries {
            if case .office(let key, let label, let defaultCountry) = entry { return (key, label, defaultCountry, match.length) }
        }
        return nil
    }

    func isHonorific(at i: Int, end: Int) -> Int? {
        guard let match = self.lexiconMatch(at: i, end: end) else { return nil }
        return match.entries.contains(.honorific) ? match.length : nil
    }

    /// The last token of an organisation's name that starts with a country, demonym or capital the gazetteer
    /// knows and ends in an organisation word ("British Airways Plc", "Pakistan Telecommunication Company"),
    /// when no organisation of the lexicon lies inside it ("Indian Foreign Office" is the lexicon's Foreign
    /// Office, scoped to India).
    func organisationNamedAfterAPlace(at i: Int, end: Int) -> Int? {
        guard let place = self.countryReference(at: i, end: end) else { return nil }
        var j = place.last + 1
        var last: Int?
        while j < end, j - i < 6 {
            let token = self.tokens[j]
            guard token.kind == .word, token.isCapitalized, !self.covered[j], self.timeAt[j] == nil else { break }
            if let match = self.lexiconMatch(at: j, end: end), match.entries.contains(where: { if case .organization = $0 { true } else { false } }) {
                return nil
            }
            if self.extractor.lexicon.isOrganisationHead(token.text) { last = j }
            j += 1
        }
        return last
    }

    /// Capitalized name tokens from `i`: "Ishaq Dar", "George W. Bush". Stops at anything the lexicon knows.
    func nameSpan(at i: Int, end: Int) -> Int? {
        var j = i
        while j < end, j - i < 5 {
            let token = self.tokens[j]
            // Particles inside a name ("Ursula von der Leyen", "Vincent van Gogh"), before a capitalised word.
            if j > i, Self.nameParticles.contains(token.text) {
                var k = j
                while k < end, k - j < 2, Self.nameParticles.contains(self.tokens[k].text) { k += 1 }
                guard k < end, self.tokens[k].kind == .word, self.tokens[k].isCapitalized, !self.covered[k] else { break }
                j = k
                continue
            }
            guard token.kind == .word, token.isCapitalized, !Self.nameStopWords.contains(token.text),
                  !self.covered[j], self.timeAt[j] == nil, !self.inQuote[j] || self.inQuote[i]
            else { break }
            if self.lexiconMatch(at: j, end: end) != nil { break }
            if TimeTagger.months[token.text.lowercased()] != nil || TimeTagger.weekdays[token.text.lowercased()] != nil { break }
            if token.isAllCaps, token.text.count > 1, !token.text.hasSuffix(".") { break }
            j += 1
        }
        return j > i ? j - 1 : nil
    }

    /// Country of an organisation that has none in the lexicon ("Foreign Office"): the one the text gives, the
    /// one given earlier in the article, or the country the article is filed from.
    func contextCountry() -> String? {
        if let written = self.datelinePlace, let country = [written, HeaderReading.titleCased(written)].lazy.compactMap({ self.extractor.lexicon.country(named: $0, acceptsCodes: false) }).first {
            return country.code
        }
        if let place = self.datelinePlace, let comma = place.firstIndex(of: ","),
           let country = self.extractor.lexicon.country(named: String(place[..<comma]), acceptsCodes: false)
        {
            return country.code
        }
        var counts: [String: Int] = [:]
        for mention in self.mentions where mention.entity.hasPrefix("country:") { counts[String(mention.entity.dropFirst(8)), default: 0] += 1 }
        return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }

    mutating func officeEntity(country: String?, key: String, label: String, orgName: String? = nil) -> String {
        let countryName = country.flatMap { self.extractor.lexicon.countries[$0]?.shortName }
        var name = [countryName, orgName, label].compactMap { $0 }.joined(separator: " ")
        if orgName != nil { name = [countryName, orgName.map { "\($0) \(label.lowercased())" }].compactMap { $0 }.joined(separator: " ") }
        let keyed = orgName.map { slug($0) + "-" + key } ?? key
        // An organisation's office it gives no country keeps none (NATO's is no country's).
        if orgName != nil, country == nil { self.countrylessOrganisationOffices.insert(keyed) }
        let id = "office:\(country ?? "XX"):\(keyed)"
        return self.entity(id, .office, name, country: country)
    }

    mutating func registerPerson(_ first: Int, _ last: Int, titles: [String], offices: [String], country: String?) -> String {
        var nameLast = last
        if self.isPossessive(nameLast) { nameLast -= 1 }
        let name = self.text.text(tokens: first, nameLast)
        let parts = (first...nameLast).map { self.tokens[$0].text }.filter { $0.count > 2 || !$0.hasSuffix(".") }
        let id = self.personNames[name] ?? "person:" + slug(name)
        self.entity(id, .person, name, country: country)
        for title in titles where !self.entities[id]!.titles.contains(where: { $0 == title || $0.hasPrefix(title + " ") }) {
            self.entities[id]!.titles.append(title)
        }
        for office in offices where !(self.entities[id]!.offices.contains(office)) { self.entities[id]!.offices.append(office) }
        self.personNames[name] = id
        // Any part of the name can refer back to them ("Ishaq"; "Wang" for Wang Yi) unless it already names
        // someone else; the last part ("Dar", "Rubio") always does.
        for part in parts where part.count >= 3 && self.personNames[part] == nil { self.personNames[part] = id }
        if let surname = parts.last { self.personNames[surname] = id }
        // Where the family name comes first ("Xi Jinping", "Li Qiang", "Ma Ying-jeou"), a two-letter one too: a
        // known one, for a person of such a country or in an article that has named one.
        if parts.count >= 2, let family = parts.first, Self.twoLetterFamilyNames.contains(family), self.personNames[family] == nil,
           (country ?? self.entities[id]?.country).map(Self.familyNameFirst.contains)
            ?? self.mentions.contains(where: { $0.entity.hasPrefix("country:") && Self.familyNameFirst.contains(String($0.entity.dropFirst(8))) })
        {
            self.personNames[family] = id
        }
        self.mention(id, first, nameLast)
        return id
    }

    /// Countries, capitals, places, organisations, offices and the people who hold them.
    mutating func findNamedThings() {
        let tokens = self.tokens
        var i = 0
        while i < tokens.count {
            let end = self.sentenceEnd(i)
            if self.covered[i] || self.timeAt[i] != nil || self.claimedByModel[i] {
                i += 1
                continue
            }
            let start = i
            if let last = self.organisationNamedAfterAPlace(at: i, end: end) {
                // "British Airways Plc", "Pakistan Telecommunication Company": one organisation, not a country.
                let name = self.text.text(tokens: i, last)
                self.mention(self.entity("org:" + slug(name), .organization, name), i, last)
                i = last + 1
                continue
            }
            // [CountryRef] [Org] Office (and Office)* [of CountryRef] [,] [Honorific]* [Name]
            var country: (code: String, last: Int, isCapital: Bool)?
            var countryFirst = i
            var j = i
            if let ref = self.countryReference(at: j, end: end), !ref.isCapital || self.officeMatch(at: ref.last + 1, end: end) != nil {
                country = ref
                j = ref.last + 1
            }
            var org: (id: String, name: String, first: Int, last: Int)?
            if let match = self.lexiconMatch(at: j, end: end) {
                for entry in match.entries {
                    guard case .organization(let name, let orgCountry, let acronym) = entry else { continue }
                    if tokens[j].isAllCaps, acronym != nil, self.acronyms[tokens[j].text] == nil, tokens[j].text != acronym { continue }
                    let scoped = orgCountry == nil && self.extractor.lexicon.nationalInstitutions.contains(name)
                    let code = scoped ? (country?.code ?? self.orgCountries[name] ?? self.contextCountry()) : (orgCountry ?? country?.code)
                    let id = scoped ? "org:\(code ?? "XX"):\(slug(name))" : "org:" + slug(name)
                    let display = scoped ? [code.flatMap { self.extractor.lexicon.countries[$0]?.shortName }, name].compactMap { $0 }.joined(separator: " ") : name
                    if let code, scoped { self.orgCountries[name] = code }
                    org = (id, display, j, j + match.length - 1)
                    self.entity(id, .organization, display, country: orgCountry ?? code)
                    if let acronym { self.entities[id]?.acronym = acronym }
                    j += match.length
                    break
                }
            }
            var offices: [(key: String, label: String, defaultCountry: String?, first: Int, last: Int)] = []
            // "the French president", "Germany's chancellor": a head of state in lower case, after a country.
            if country != nil, org == nil, j < end, tokens[j].text == lower[j], let office = Self.officesAfterACountry[lower[j]] {
                offices.append((office.key, office.label, nil, j, j))
                j += 1
            }
            while let office = self.officeMatch(at: j, end: end) {
                offices.append((office.key, office.label, office.defaultCountry, j, j + office.length - 1))
                j += office.length
                if j + 1 < end, lower[j] == "and", self.officeMatch(at: j + 1, end: end) != nil { j += 1 } else { break }
            }
            // "Apple chief executive Tim Cook", "Siemens Chairman Jim Snabe": a company's office, the company named
            // right before it (its capitalised words, which no lexicon entry or earlier mention claims).
            if org == nil, country == nil, offices.count == 1, Self.companyOffices.contains(offices[0].key), let first = self.companyName(before: start) {
                let name = self.text.text(tokens: first, start - 1)
                org = ("org:" + slug(name), name, first, start - 1)
                self.entity(org!.id, .organization, name)
            }
            if !offices.isEmpty, j + 1 < end, lower[j] == "of" || lower[j] == "for", let ref = self.countryReference(at: j + 1, end: end), country == nil {
                country = ref
                countryFirst = j + 1
                j = ref.last + 1
            }
            var honorifics: [String] = []
            var k = j
            if !offices.isEmpty || org != nil, k < end, tokens[k].text == "," { k += 1 }
            while let length = self.isHonorific(at: k, end: end), self.officeMatch(at: k, end: end).map({ _ in offices.isEmpty }) ?? true {
                honorifics.append(self.text.text(tokens: k, k + length - 1))
                k += length
            }
            if offices.isEmpty, honorifics.isEmpty, org == nil, country == nil {
                // Lexicon things that are not titles: capitals, places, designations.
                if self.markPlainMatch(at: i, end: end) { continue }
                i += 1
                continue
            }
            // Offices given after an honorific-only start ("Secretary Rubio") are plain honorifics. A name ending in a
            // company's legal form or an institution's head word ("General Electric Co.", "General Services
            // Administration") is an organisation's, not a titled person's.
            let nameLast = self.nameSpan(at: k, end: end).flatMap { self.extractor.lexicon.isOrganisationHead(tokens[$0].text) ? nil : $0 }
            // The country the text gives, the organisation's, or the office's own (an unqualified "Secretary of
            // State" is the US one).
            let countryCode = country?.code ?? (org != nil ? self.entities[org!.id]?.country : nil)
                ?? (offices.count == 1 ? offices[0].defaultCountry : nil)
            if let country { self.mentionCountry(country.code, countryFirst, country.last, isCapital: country.isCapital) }
            if let org { self.mention(org.id, org.first, org.last) }
            var officeIDs: [String] = []
            for office in offices {
                let id = self.officeEntity(country: countryCode, key: office.key, label: office.label, orgName: org.map { tokens[$0.first...$0.last].map(\.text).joined(separator: " ") })
                officeIDs.append(id)
                if nameLast == nil { self.mention(id, office.first, office.last) }
            }
            if let nameLast, !offices.isEmpty || !honorifics.isEmpty {
                let titles = offices.map { org != nil ? "\(self.text.text(tokens: org!.first, org!.last)) \($0.label.lowercased())" : $0.label } + honorifics.filter { !Self.formsOfAddress.contains($0.lowercased()) }
                _ = self.registerPerson(k, nameLast, titles: titles, offices: officeIDs, country: countryCode)
                // The whole title phrase refers to the office(s) too.
                for (index, office) in offices.enumerated() { self.mention(officeIDs[index], office.first, office.last) }
                i = nameLast + 1
            } else {
                i = max(j, k, start + 1)
            }
        }
    }

    mutating func mentionCountry(_ code: String, _ first: Int, _ last: Int, isCapital: Bool) {
        guard let country = self.extractor.lexicon.countries[code] else { return }
        var nameLast = last
        if self.isPossessive(nameLast) { nameLast -= 1 }
        let id = self.entity("country:\(code)", .country, country.name, country: code)
        if isCapital {
            var name = self.text.text(tokens: first, nameLast)
            for suffix in [", D.C.", " D.C."] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
            let place = self.entity("place:" + slug(name), .place, name, country: code)
            self.mention(place, first, nameLast)
        }
        self.mention(id, first, nameLast)
    }

    /// Marks a lexicon match at `i` that is not part of a title: country, capital, place, organisation,
    /// designation. Returns whether it consumed tokens (and advanced nothing: the caller loops again).
    mutating func markPlainMatch(at i: Int, end: Int) -> Bool {
        guard let match = self.lexiconMatch(at: i, end: end) else { return false }
        let last = i + match.length - 1
        for entry in match.entries {
            switch entry {
            case .capital(let code, _):
                self.mentionCountry(code, i, last, isCapital: true)
                return true
            case .place(let name, let country):
                let id = self.entity("place:" + slug(name), .place, name, country: country)
                self.mention(id, i, last)
                if let country, self.entities["country:\(country)"] == nil {
                    _ = self.entity("country:\(country)", .country, self.extractor.lexicon.countries[country]?.name ?? country, country: country)
                }
                return true
            case .designation(let name, let acronym):
                let id = self.entity("designation:" + slug(acronym), .designation, name)
                self.entities[id]?.acronym = acronym
                self.mention(id, i, last)
                return true
            default: continue
            }
        }
        return false
    }

    /// Later mentions of people already named ("Dar", "Secretary Rubio", "Ishaq Dar's") and of acronyms, and
    /// people introduced by a speech verb ("Jane Doe said").
    mutating func findKnownNames() {
        let tokens = self.tokens
        var insideName = -1  // the last token of a longer name already looked at: its words are not names alone
        for i in tokens.indices where !self.covered[i] && !self.claimedByModel[i] && tokens[i].kind == .word && tokens[i].isCapitalized {
            if let id = self.acronyms[tokens[i].text] {
                self.mention(id, i, i)
                continue
            }
            guard i > insideName else { continue }
            let end = self.sentenceEnd(i)
            guard let last = self.nameSpan(at: i, end: end) else { continue }
            insideName = last
            let name = self.text.text(tokens: i, last)
            if let id = self.personNames[name] ?? self.personNames[tokens[last].text] {
                if self.personNames[name] != nil || last == i || self.personNames[tokens[i].text] == id {
                    self.mention(id, i, last)
                    continue
                }
            }
            if let id = self.organisationNames[name] {  // an organisation's short name ("Merrill Lynch said")
                self.mention(id, i, last)
                continue
            }
            if last > i, last + 1 < end, Self.speechVerbs.contains(self.lower[last + 1]),
               !self.extractor.lexicon.isOrganisationHead(tokens[last].text)
            {
                _ = self.registerPerson(i, last, titles: [], offices: [], country: nil)
            }
        }
    }

    /// The tagger's gazetteer class of each word: a lexicon phrase counts when it covers whole one-token words
    /// (in training a hyphenated word never matched a phrase either).
    func modelGazetteer(_ words: [ClosedRange<Int>]) -> [UInt8] {
        var classes = [UInt8](repeating: 0, count: words.count)
        var w = 0
        while w < words.count {
            let token = words[w].lowerBound
            guard words[w].count == 1, let match = self.lexiconMatches[token], w + match.length <= words.count,
                  words[w..<(w + match.length)].allSatisfy({ $0.count == 1 })
            else { w += 1; continue }
            let value = NamedEntityModel.gazetteerClass(match.entries[0])
            for m in 0..<match.length { classes[w + m] = m == 0 ? value : value + 10 }
            w += match.length
        }
        return classes
    }

    /// Tags every sentence with the named-entity model and marks the tokens its spans claim from the rules.
    mutating func tagModelSpans() {
        guard let model = self.extractor.model else { return }
        let sentences = self.text.sentences.map { self.text.conllWords($0.tokens) }
        let texts = sentences.map { words in words.map { $0.count == 1 ? self.tokens[$0.lowerBound].text : self.text.text(tokens: $0.lowerBound, $0.upperBound) } }
        let lower = zip(sentences, texts).map { words, texts in words.allSatisfy { $0.count == 1 } ? words.map { self.lower[$0.lowerBound] } : texts.map { $0.lowercased() } }
        let flags = NamedEntityModel.DocumentContext.flags(texts, lower: lower)
        for (s, words) in sentences.enumerated() {
            let labels = model.tag(words: texts[s], lower: lower[s], gazetteer: self.modelGazetteer(words), documentFlags: flags[s])
            for span in NamedEntityModel.spans(labels) {
                let first = words[span.first].lowerBound, last = words[span.last].upperBound
                self.modelSpans.append((first, last, span.type))
                if self.holdsAPlaceAndMore(first, last) || self.namesAPlaceOtherwise(first, last, type: span.type) {
                    for k in first...last { self.claimedByModel[k] = true }
                }
            }
        }
    }

    /// Whether tokens `first...last` are exactly a capital or place of the lexicon that the tagger, reading the
    /// sentence, takes for an organisation or a person: a club or team named after its city ("Florida beat New
    /// York 5-3"), a person sharing a city's name ("Washington won the 400 metres").
    func namesAPlaceOtherwise(_ first: Int, _ last: Int, type: String) -> Bool {
        guard type == "ORG" || type == "PER", let match = self.lexiconMatches[first], match.length == last - first + 1 else { return false }
        return match.entries.allSatisfy { entry in
            switch entry {
            case .capital, .place: true
            default: false
            }
        }
    }

    /// Whether tokens `first...last` hold a country, capital, demonym or place of the lexicon and words outside
    /// it, and no office or honorific (a title phrase stays with the rules that tie people to offices).
    func holdsAPlaceAndMore(_ first: Int, _ last: Int) -> Bool {
        // A hyphenated compound ("Pakistan-US", "Pakistan-based") is read by the rules, word by word.
        if (first...last).contains(where: { self.tokens[$0].text == "-" && self.tokens[$0].isJoinedToPrevious }) { return false }
        var holdsAPlace = false
        var k = first
        while k <= last {
            guard let match = self.lexiconMatches[k] else { k += 1; continue }
            for entry in match.entries {
                switch entry {
                case .office, .honorific: return false
                case .country, .capital, .demonym, .place: if match.length < last - first + 1 { holdsAPlace = true }
                default: break
                }
            }
            k += match.length
        }
        return holdsAPlace
    }

    /// People, places and organisations the named-entity model finds where no rule did.
    mutating func findModelEntities() {
        // The words the text writes in lower case, gathered when a span first asks.
        var lowercaseWords: Set<String>?
        for span in self.modelSpans { self.adoptModelSpan(span, lowercaseWords: &lowercaseWords) }
    }

    /// Whether the one-word name at `first...last`, which no lexicon entry knows, is joined by "and" to a person
    /// named just before or after ("Rubio and Dar met", "Dar and Rubio"): then it names a person too.
    func coordinatedWithAPerson(_ first: Int, _ last: Int) -> Bool {
        guard first == last, self.lexiconMatches[first] == nil else { return false }
        let sentence = self.tokens[first].sentence
        func isPerson(_ k: Int) -> Bool {
            guard k >= 0, k < self.tokens.count, self.tokens[k].sentence == sentence else { return false }
            let end = UInt32(self.tokens[k].end), start = UInt32(self.tokens[k].start)
            return self.mentions.contains { $0.entity.hasPrefix("person:") && ($0.end == end || $0.start == start) }
                || self.modelSpans.contains { $0.type == "PER" && ($0.last == k || $0.first == k) }
        }
        if first >= 2, self.lower[first - 1] == "and", isPerson(first - 2) { return true }
        return first + 2 < self.tokens.count && self.lower[first + 1] == "and" && isPerson(first + 2)
    }

    /// Legal forms and words a company's short name drops ("Magna International Inc" is "Magna").
    static let organisationSuffixes: Set<String> = [
        "Inc", "Inc.", "Corp", "Corp.", "Co", "Co.", "Ltd", "Ltd.", "Plc", "PLC", "plc", "AG", "SA", "NV", "BV", "GmbH",
        "Group", "International", "Holdings", "Cos", "LLC", "Company", "Corporation", "Limited",
    ]

    /// The short names a multi-word organisation is referred to by later in the article: its name without the
    /// legal form ("Magna International"), and its first word when that is what is left ("Magna"), unless they
    /// name someone already.
    mutating func registerOrganisationNames(_ id: String, _ first: Int, _ last: Int) {
        var end = last
        while end > first, Self.organisationSuffixes.contains(self.tokens[end].text) { end -= 1 }
        guard end < last else { return }
        var names = [self.text.text(tokens: first, end)]
        if end > first, (first + 1...end).allSatisfy({ Self.organisationSuffixes.contains(self.tokens[$0].text) }) { names.append(self.tokens[first].text) }
        if end == first { names = [self.tokens[first].text] }
        for name in names where self.personNames[name] == nil && self.organisationNames[name] == nil { self.organisationNames[name] = id }
    }

    /// Whether the text writes `word` (lower-cased) in lower case somewhere; `words` keeps the text's lower-case
    /// words once gathered.
    func writesInLowerCase(_ word: String, words: inout Set<String>?) -> Bool {
        if words == nil {
            words = Set(self.tokens.indices.filter { self.tokens[$0].kind == .word && self.tokens[$0].text == self.lower[$0] }.map { self.lower[$0] })
        }
        return words!.contains(word)
    }

    /// Makes a tagger span a mention unless a rule covered its words, a time expression holds them, or it is a
    /// capitalised word opening a sentence that the text also writes in lower case.
    mutating func adoptModelSpan(_ span: (first: Int, last: Int, type: String), lowercaseWords: inout Set<String>?) {
        let range = self.text.sentences[self.tokens[span.first].sentence].tokens
        var first = span.first
        var last = span.last
        // Punctuation the tagger took into a name ("Jorge Luis Leao Franco ," before "told Reuters") is not part of it.
        while last > first, self.tokens[last].kind == .punctuation, self.tokens[last].text != "." { last -= 1 }
        // "Defender Hassan Abbas scored": the role noun opening the sentence is not part of the name.
        if span.type == "PER", last > first, first == range.lowerBound, self.extractor.lexicon.isRoleWord(self.tokens[first].text) {
            first += 1
        }
        // Titles ("Senator", "Foreign Minister") are the rules' to read, never part of a name.
        while first <= last, let match = self.lexiconMatches[first],
              match.entries.contains(where: { if case .office = $0 { true } else { $0 == .honorific } })
        {
            first += match.length
        }
        guard first <= last, (first...last).allSatisfy({ !self.covered[$0] && self.timeAt[$0] == nil }),
              self.tokens[first].kind == .word, self.tokens[first].isCapitalized || self.tokens[first].isAllCaps
        else { return }
        let name = self.text.text(tokens: first, last)
        // A capitalized word opening a sentence or a quote is often just a word ("Grateful for ..."): trust
        // the model there only if the text never writes the word in lower case.
        if first == last, first == range.lowerBound || ["\u{201C}", "\"", "\u{2018}"].contains(self.tokens[first - 1].text),
           self.writesInLowerCase(self.lower[first], words: &lowercaseWords)
            || (last + 1 < range.upperBound && self.tokens[last + 1].text == self.lower[last + 1]
                && ["for", "to", "of", "that", "with", "in", "on", "at", "by", "from", "about", "as"].contains(self.lower[last + 1]))
        {
            return
        }
        // A name the article already gave a person ("Jean-Luc Brassard" … "Brassard said") is that person,
        // whatever the tagger makes of it alone.
        if let known = self.personNames[name] ?? self.organisationNames[name], span.type == "PER" || span.type == "ORG" {
            self.mention(known, first, last)
            return
        }
        var type = span.type
        // A name in the dateline opening the body ("LONDON (Reuters) -", "MOSCOW, Dec 6 -") is where the story was
        // filed (the credit and the date are covered already), whatever the tagger makes of its capitals.
        if self.bodyStart > 0, last < self.bodyStart - 1 {
            type = "LOC"
            // A capital in capitals ("LONDON", "NEW DELHI") is its country's, as the lexicon knows it in title case.
            let titled = TokenizedText(HeaderReading.titleCased(name)).tokens
            if let match = self.extractor.lexicon.longestMatch(in: titled, at: 0, sentenceEnd: titled.count), match.length == titled.count,
               let code = match.entries.lazy.compactMap({ entry -> String? in if case .capital(let code, _) = entry { code } else { nil } }).first,
               let country = self.extractor.lexicon.countries[code]
            {
                let place = self.entity("place:" + slug(name), .place, Self.placeName(name), country: code)
                self.mention(place, first, last)
                self.mention(self.entity("country:\(code)", .country, country.name, country: code), first, last)
                return
            }
        }
        if type == "LOC", !self.tokens[first].isAllCaps, self.coordinatedWithAPerson(first, last) { type = "PER" }
        if type == "PER" {
            let words = (first...last).map { self.tokens[$0].text }
            let lexicon = self.extractor.lexicon
            // Never a person: a weekday or an agency, initials alone ("N.A.", "S.P.A."), a company's legal form alone
            // ("Inc."); a name ending in one ("Marshall Drummond McCall Inc.", "Drug Administration") is an
            // organisation's.
            if lexicon.isNeverAPerson(words) || lexicon.isInitialsOnly(words) { return }
            if lexicon.isOrganisationHead(words[words.count - 1]) {
                guard words.count > 1 else { return }
                type = "ORG"
            }
        }
        switch type {
        case "PER":
            _ = self.registerPerson(first, last, titles: [], offices: [], country: nil)
        case "LOC":
            if let country = self.extractor.lexicon.country(named: name, acceptsCodes: false) {
                self.mentionCountry(country.code, first, last, isCapital: false)
            } else {
                let id = self.entity("place:" + slug(name), .place, name)
                self.mention(id, first, last)
            }
        case "ORG":
            let id = self.acronyms[name] ?? self.entity("org:" + slug(name), .organization, name)
            self.mention(id, first, last)
            self.registerOrganisationNames(id, first, last)
        default:
            return
        }
    }

    /// Offices an organisation's title names ("Apple chief executive", "European Commission President", "FIFA
    /// Secretary-General"): its, not a country's.
    static let companyOffices: Set<String> = ["chief-executive", "chairman", "president", "secretary-general"]

    /// Lower-case words inside a person's name ("von der Leyen", "van Gogh", "da Silva", "bin Salman").
    static let nameParticles: Set<String> = ["von", "van", "der", "den", "de", "da", "di", "del", "della", "dos", "du", "la", "le", "bin", "ibn", "al"]

    /// The first token of the company named right before token `end`: a name the tagger reads as an organisation,
    /// ending there, that no lexicon entry or earlier mention claims.
    func companyName(before end: Int) -> Int? {
        guard end > 0 else { return nil }
        let free = { (k: Int) in !self.covered[k] && self.tokenEntities[k].isEmpty && self.lexiconMatches[k] == nil }
        if let span = self.modelSpans.first(where: { $0.last == end - 1 && $0.type == "ORG" }), (span.first...span.last).allSatisfy(free) {
            return span.first
        }
        // Or capitalised words ending in an institution's head word ("European Commission", "Security Council").
        guard self.extractor.lexicon.isOrganisationHead(self.tokens[end - 1].text) else { return nil }
        var first = end - 1
        while first > 0, end - first < 4, self.tokens[first - 1].sentence == self.tokens[end].sentence,
              self.tokens[first - 1].kind == .word, self.tokens[first - 1].isCapitalized, free(first - 1),
              first - 1 != self.text.sentences[self.tokens[end].sentence].tokens.lowerBound || !Self.nameStopWords.contains(self.tokens[first - 1].text)
        {
            first -= 1
        }
        return first < end - 1 && free(end - 1) ? first : nil
    }

    /// Offices met without a country ("Prime Minister Tony Blair" in a London story) take the article's: the
    /// dateline's country, else the country it mentions most; their holders take it too when they have none.
    /// Offices of an organisation keep theirs, and one the text ties to a country never gets here.
    mutating func resolveOfficeCountries() {
        guard let code = self.contextCountry(), let country = self.extractor.lexicon.countries[code] else { return }
        for id in self.entityOrder where id.hasPrefix("office:XX:") {
            let key = String(id.dropFirst("office:XX:".count))
            guard !self.countrylessOrganisationOffices.contains(key), var office = self.entities.removeValue(forKey: id) else { continue }
            let target = "office:\(code):\(key)"
            office.id = target
            office.country = code
            office.name = "\(country.shortName) \(office.name)"
            if var existing = self.entities[target] {
                existing.mentionCount += office.mentionCount
                self.entities[target] = existing
                self.entityOrder.removeAll { $0 == id }
            } else {
                self.entities[target] = office
                self.entityOrder = self.entityOrder.map { $0 == id ? target : $0 }
            }
            self.repoint(id, to: target)
            for person in self.entityOrder where self.entities[person]?.offices.contains(id) == true {
                self.entities[person]!.offices = self.entities[person]!.offices.map { $0 == id ? target : $0 }
                if self.entities[person]!.country == nil { self.entities[person]!.country = code }
            }
        }
    }

    /// Makes every mention of, and every reference to, entity `id` one of `target` (which absorbed it).
    mutating func repoint(_ id: String, to target: String) {
        for index in self.mentions.indices where self.mentions[index].entity == id { self.mentions[index].entity = target }
        for index in self.tokenEntities.indices where self.tokenEntities[index].contains(id) {
            self.tokenEntities[index] = self.tokenEntities[index].map { $0 == id ? target : $0 }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        for (name, person) in self.personNames where person == id { self.personNames[name] = target }
    }

    /// Offices written in lower case that are offices only after a country ("the French president"; alone,
    /// "president" is as often a company's or a club's).
    static let officesAfterACountry: [String: (key: String, label: String)] = [
        "president": ("president", "President"), "premier": ("prime-minister", "Prime Minister"),
        "chancellor": ("chancellor", "Chancellor"), "king": ("king", "King"), "queen": ("queen", "Queen"),
    ]

    /// Countries whose people's names are written family name first.
    static let familyNameFirst: Set<String> = ["CN", "TW", "HK", "MO", "KR", "KP", "VN", "SG"]
    /// Two-letter family names of those countries ("He" is left out: it opens sentences).
    static let twoLetterFamilyNames: Set<String> = [
        "Li", "Xi", "Hu", "Wu", "Ma", "Yu", "Lu", "Xu", "Su", "Fu", "Ye", "Qi", "Ji", "Yi", "Ko", "Oh", "Le", "Vu", "Ng", "Ho",
    ]

    /// Honorifics that are forms of address, not titles: "Mr Blair" gives Tony Blair no title.
    static let formsOfAddress: Set<String> = ["mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "mx", "mx."]

    /// "Ms Hewitt" met before "Patricia Hewitt", "Mr Blair" where the tagger kept the honorific: a person whose
    /// name is one surname (after any honorifics) is the one full-named person of the article with that surname,
    /// when there is exactly one; their mentions, titles and offices move to that person.
    mutating func mergeSurnameReferences() {
        let lexicon = self.extractor.lexicon
        func words(_ name: String) -> [String] { TokenizedText(name).tokens.map(\.text) }
        var fullNamed: [String: [String]] = [:]  // surname -> ids of people named with two words or more
        var short: [(id: String, surname: String, honorifics: [String])] = []
        for id in self.entityOrder where id.hasPrefix("person:") {
            guard let entity = self.entities[id] else { continue }
            var parts = words(entity.name)
            var honorifics: [String] = []
            while parts.count > 1, lexicon.isHonorificWord(parts[0]) { honorifics.append(parts.removeFirst()) }
            guard let surname = parts.last else { continue }
            if parts.count == 1 { short.append((id, surname, honorifics)) } else if honorifics.isEmpty { fullNamed[surname, default: []].append(id) }
        }
        for (id, surname, honorifics) in short {
            guard let candidates = fullNamed[surname], candidates.count == 1, let target = candidates.first, target != id,
                  let merged = self.entities.removeValue(forKey: id)
            else { continue }
            self.entityOrder.removeAll { $0 == id }
            var person = self.entities[target]!
            person.mentionCount += merged.mentionCount
            let titles = merged.titles + honorifics.filter { !Self.formsOfAddress.contains($0.lowercased()) }
            for title in titles where !person.titles.contains(title) { person.titles.append(title) }
            for office in merged.offices where !person.offices.contains(office) { person.offices.append(office) }
            if person.country == nil { person.country = merged.country }
            self.entities[target] = person
            self.repoint(id, to: target)
        }
    }

    /// "the two leaders", "Their", "both nations": the last two people (or their countries).
    mutating func findGroupReferences() {
        let tokens = self.tokens
        for i in tokens.indices where !self.covered[i] {
            var last: Int?
            var countries = false
            if ["the", "both"].contains(self.lower[i]), i + 1 < tokens.count {
                var j = i + 1
                if self.lower[i] == "the", j < tokens.count, self.lower[j] == "two" { j += 1 } else if self.lower[i] == "the" { continue }
                if j < tokens.count {
                    switch self.lower[j] {
                    case "leaders", "ministers", "officials", "diplomats", "men", "sides": last = j
                    case "nations", "countries", "governments": last = j; countries = true
                    default: break
                    }
                }
            } else if self.lower[i] == "their", i + 1 < tokens.count, ["previous", "last", "latest", "first", "meeting", "talks", "call"].contains(self.lower[i + 1]) {
                last = i
            }
            guard let last else { continue }
            // "The two diplomats" are the last two people whose offices are diplomatic, if two such are named
            // before (not the president met in between); otherwise the last two people.
            let role = self.lower[last]
            var people = self.lastPeople(before: tokens[i].start, count: 2) { self.holdsAnOffice($0, fitting: role) }
            if people.count < 2 { people = self.lastPeople(before: tokens[i].start, count: 2) }
            guard people.count == 2 else { continue }
            if countries {
                let codes = people.compactMap { self.entities[$0]?.country }
                guard Set(codes).count == 2 else { continue }
                for code in codes { self.mention("country:\(code)", i, last) }
            } else {
                for person in people { self.mention(person, i, last) }
            }
        }
    }

    /// Words of the titles that a group noun ("the two diplomats", "both leaders", "the ministers") names; a
    /// group noun not listed ("officials", "men", "sides") fits anyone.
    static let groupTitleWords: [String: [String]] = [
        "diplomats": ["foreign", "secretary of state", "ambassador", "envoy", "diplomat"],
        "ministers": ["minister", "secretary"],
        "leaders": ["president", "prime minister", "premier", "chancellor", "king", "queen", "emir", "leader", "head of state", "supreme"],
    ]

    /// Whether the person's titles fit a group noun (see ``groupTitleWords``).
    func holdsAnOffice(_ person: String, fitting group: String) -> Bool {
        guard let words = Self.groupTitleWords[group] else { return true }
        guard let titles = self.entities[person]?.titles else { return false }
        return titles.contains { title in
            let title = title.lowercased()
            return words.contains { title.contains($0) } && !(group == "leaders" && title.contains("vice"))
        }
    }

    func lastPeople(before offset: Int, count: Int, where fits: (String) -> Bool = { _ in true }) -> [String] {
        var seen: [String] = []
        for mention in self.mentions.sorted(by: { $0.start > $1.start }) where mention.start < offset && mention.entity.hasPrefix("person:") && fits(mention.entity) {
            if !seen.contains(mention.entity) { seen.append(mention.entity) }
            if seen.count == count { break }
        }
        return seen.reversed()
    }

    /// Quotations, their speakers ("…,” Rubio stated", "Khan said: “…”") and when they were said.
    mutating func findQuotes() {
        let tokens = self.tokens
        var i = 0
        while i < tokens.count {
            guard tokens[i].text == "\u{201C}" || tokens[i].text == "\"" else { i += 1; continue }
            var close = i + 1
            while close < tokens.count, self.inQuote[close], !(tokens[close].text == "\u{201D}" || tokens[close].text == "\"") { close += 1 }
            guard close < tokens.count, close > i + 1, self.inQuote[i] else { i += 1; continue }
            let start = tokens[i].end
            var end = tokens[close].start
            var quoteText = self.text.text(start..<end)
            // "…,” Rubio stated": the comma before the closing quote is not part of what was said; `end` follows
            // the text, so that body[start..<end] is the quote's text.
            while let lastCharacter = quoteText.last, [",", " "].contains(lastCharacter) {
                end -= lastCharacter.unicodeScalars.count
                quoteText.removeLast()
            }
            var speaker: String?
            var speakerText: String?
            var verb: String?
            // After: "…,” Rubio stated" / "…,” said Rubio".
            var k = close + 1
            if k < tokens.count, tokens[k].text == "," { k += 1 }
            let sentence = tokens[close].sentence
            var v = k
            while v < tokens.count, v - k <= 8, tokens[v].sentence == sentence, !Self.speechVerbs.contains(self.lower[v]) { v += 1 }
            if v < tokens.count, v - k <= 8, tokens[v].sentence == sentence, Self.speechVerbs.contains(self.lower[v]) {
                verb = self.lower[v]
                let span = v > k ? (k, v - 1) : (v + 1, min(v + 4, self.sentenceEnd(v) - 1))
                if span.0 <= span.1 {
                    speakerText = self.text.text(tokens: span.0, span.1)
                    speaker = self.person(in: span.0...span.1)
                    if v > k, speaker == nil, ["he", "she"].contains(self.lower[span.0]) {
                        speaker = self.lastPeople(before: tokens[i].start, count: 1).first
                    }
                    if v == k, let s = speaker, let m = self.mentions.first(where: { $0.entity == s && $0.start >= UInt32(tokens[span.0].start) }) {
                        speakerText = m.text
                    }
                }
            } else if i >= 2, tokens[i - 1].text == ":" || tokens[i - 1].text == ",", Self.speechVerbs.contains(self.lower[i - 2]) {
                // Before: "Rubio said: “…”".
                verb = self.lower[i - 2]
                var s = i - 3
                while s > 0, tokens[s - 1].sentence == tokens[i].sentence, i - s < 7, tokens[s - 1].isCapitalized { s -= 1 }
                // (Nothing before the verb, as in a text opening "said: “…”": no speaker.)
                if i >= 3, s <= i - 3 {
                    speakerText = self.text.text(tokens: s, i - 3)
                    speaker = self.person(in: s...(i - 3))
                }
            }
            // Inside a reporting clause: "Wang told Blinken that ties were “beginning to stabilize” but warned …".
            if speaker == nil, speakerText.map({ !$0.contains(where: \.isUppercase) && !["he", "she", "they", "we"].contains($0.lowercased()) }) ?? true,
               let clause = self.reportingSpeaker(before: i)
            {
                (verb, speaker, speakerText) = (clause.verb, clause.speaker, clause.speakerText)
            }
            let date = self.times.first { $0.first > close && tokens[$0.first].sentence == sentence && $0.type != "DURATION" }
            self.quotes.append(ExtractedQuote(text: quoteText, start: UInt32(start), end: UInt32(end), speaker: speaker, speakerText: speakerText, verb: verb, date: date?.value))
            self.quoteSentences.append((sentence, speaker, date))
            i = close + 1
        }
    }

    func person(in range: ClosedRange<Int>) -> String? {
        var found: String?
        for t in range { for id in self.tokenEntities[t] where id.hasPrefix("person:") { found = id } }
        return found
    }

    // MARK: Topics

    func topics(inTokens range: Range<Int>) -> [String: Int] {
        var counts: [String: Int] = [:]
        var i = range.lowerBound
        while i < range.upperBound {
            if let cue = self.topicCues[i] {
                counts[cue.topic, default: 0] += 1
                i += cue.length
            } else {
                i += 1
            }
        }
        return counts
    }

    func ordered(_ counts: [String: Int]) -> [String] {
        let order = self.extractor.lexicon.topics
        return counts.keys.sorted { a, b in
            if counts[a]! != counts[b]! { return counts[a]! > counts[b]! }
            return (order.firstIndex(of: a) ?? 0) < (order.firstIndex(of: b) ?? 0)
        }
    }

    func articleTopics() -> [String] { self.ordered(self.topics(inTokens: 0..<self.tokens.count)) }
}
