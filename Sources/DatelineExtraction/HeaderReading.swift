internal import DatelineProtocol

/// Reads an article's title or dateline place beside its body: headlines are written in Title Case or capitals,
/// where the tagger cannot tell names from words, so a header names
/// - the body's own entities, by full name, by a surname the body gives one person, or by acronym, matched
///   without regard to case ("Rubio, Ishaq Dar Hold Talks in Washington"; "ISLAMABAD"), and
/// - the countries, capitals and places of the lexicon, and time expressions ("Islamabad — August 4, 2025"),
/// each mention with offsets into the header and its `field`.
struct HeaderReading {
    let extractor: ArticleExtractor
    let text: String
    let field: ArticleField
    let published: CivilDate?

    /// Adds the header's mentions (and any country or place the body did not have) to `extraction`.
    func add(to extraction: inout ArticleExtraction) {
        let tokenized = TokenizedText(self.text)
        let tokens = tokenized.tokens
        guard !tokens.isEmpty else { return }
        var covered = [Bool](repeating: false, count: tokens.count)
        var found: [(entity: Int, first: Int, last: Int)] = []
        // The body's entities by their names, longest first.
        let lower = tokens.map { $0.text.lowercased() }
        for (words, entity) in Self.names(of: extraction, among: Set(lower)) {
            var i = 0
            while i + words.count <= tokens.count {
                if !covered[i], lower[i..<(i + words.count)].elementsEqual(words), !covered[i + words.count - 1] {
                    found.append((entity, i, i + words.count - 1))
                    for k in i..<(i + words.count) { covered[k] = true }
                    i += words.count
                } else {
                    i += 1
                }
            }
        }
        // Countries, capitals, places and designations of the lexicon (read in title case when the header is in
        // capitals, provided that keeps every token where it was).
        var lexiconTokens = tokens
        var readInTitleCase = false
        if tokens.allSatisfy({ $0.kind != .word || $0.isAllCaps }) {
            let retokenized = TokenizedText(Self.titleCased(self.text)).tokens
            if retokenized.map(\.start) == tokens.map(\.start), retokenized.map(\.end) == tokens.map(\.end) {
                lexiconTokens = retokenized
                readInTitleCase = true
            }
        }
        var i = 0
        while i < tokens.count {
            guard !covered[i], let match = self.extractor.lexicon.longestMatch(in: lexiconTokens, at: i, sentenceEnd: tokens.count) else { i += 1; continue }
            let last = i + match.length - 1
            guard !(i...last).contains(where: { covered[$0] }) else { i += 1; continue }
            let written = tokenized.text(tokens[i].start..<tokens[last].end)
            for entity in self.entities(for: match.entries, written: readInTitleCase ? Self.titleCased(written) : written) {
                found.append((Self.index(of: entity, in: &extraction), i, last))
            }
            i = last + 1
        }
        for (entity, first, last) in found.sorted(by: { ($0.first, $0.entity) < ($1.first, $1.entity) }) {
            let start = tokens[first].start, end = tokens[last].end
            extraction.mentions.append(EntityMention(
                entityIndex: UInt32(entity), start: UInt32(start), end: UInt32(end), text: tokenized.text(start..<end), field: self.field
            ))
            extraction.entities[entity].mentionCount += 1
        }
        for time in self.extractor.timeTagger.tag(tokenized, lower: lower, reference: self.published) {
            let start = tokens[time.first].start, end = tokens[time.last].end
            extraction.times.append(TimeExpression(
                text: tokenized.text(start..<end), start: UInt32(start), end: UInt32(end), type: time.type, value: time.value,
                precision: time.precision, modifier: time.modifier, field: self.field
            ))
        }
    }

    /// Lower-cased word sequences naming the body's entities, longest first: full names, the surname of a person
    /// no other person of the body shares, acronyms. Only entities with a word among `headerWords` are read.
    static func names(of extraction: ArticleExtraction, among headerWords: Set<String>) -> [(words: [String], entity: Int)] {
        var names: [(words: [String], entity: Int)] = []
        var surnames: [String: [Int]] = [:]
        for (index, entity) in extraction.entities.enumerated() where entity.kind != .office {
            let written = entity.name.lowercased()
            guard written.split(separator: " ").contains(where: { headerWords.contains(String($0)) || headerWords.contains(String($0.prefix { $0 != "'" && $0 != "’" })) })
                || entity.acronym.map({ headerWords.contains($0.lowercased()) }) == true
            else { continue }
            let words = TokenizedText(entity.name).tokens.map { $0.text.lowercased() }
            guard !words.isEmpty else { continue }
            names.append((words, index))
            if entity.kind == .person, words.count > 1, let surname = words.last { surnames[surname, default: []].append(index) }
            if let acronym = entity.acronym { names.append(([acronym.lowercased()], index)) }
        }
        for (surname, people) in surnames where people.count == 1 && !names.contains(where: { $0.words == [surname] }) {
            names.append(([surname], people[0]))
        }
        return names.sorted { ($0.words.count, $1.entity) > ($1.words.count, $0.entity) }
    }

    /// The entities a lexicon phrase names as the body's rules name them: a country (or the country of a
    /// demonym), a capital (its place and its country), a place, a designation.
    func entities(for entries: [LexiconEntry], written: String) -> [ExtractedEntity] {
        let lexicon = self.extractor.lexicon
        func country(_ code: String) -> ExtractedEntity? {
            lexicon.countries[code].map { ExtractedEntity(id: "country:\(code)", kind: .country, name: $0.name, country: code) }
        }
        for entry in entries {
            switch entry {
            case .country(let code), .demonym(let code):
                if let country = country(code) { return [country] }
            case .capital(let code, _):
                var name = written
                for suffix in [", D.C.", " D.C."] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
                return [ExtractedEntity(id: "place:" + slug(name), kind: .place, name: name, country: code)] + (country(code).map { [$0] } ?? [])
            case .place(let name, let code):
                return [ExtractedEntity(id: "place:" + slug(name), kind: .place, name: name, country: code)]
            case .designation(let name, let acronym):
                return [ExtractedEntity(id: "designation:" + slug(acronym), kind: .designation, name: name, acronym: acronym)]
            default:
                continue
            }
        }
        return []
    }

    /// "ISLAMABAD, PAKISTAN" → "Islamabad, Pakistan".
    static func titleCased(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var startOfWord = true
        for character in text {
            if character.utf8.count == 1, let ascii = character.utf8.first {
                // ASCII without Character's Unicode machinery (most headers).
                let isLetter = (ascii >= 65 && ascii <= 90) || (ascii >= 97 && ascii <= 122)
                out.unicodeScalars.append(Unicode.Scalar(!startOfWord && ascii >= 65 && ascii <= 90 ? ascii + 32 : ascii))
                startOfWord = !isLetter && ascii != UInt8(ascii: "'")
                continue
            }
            out.append(startOfWord ? character : Character(character.lowercased()))
            startOfWord = !character.isLetter && character != "'"
        }
        return out
    }

    /// The position of `entity` in the extraction, added when the body did not have it.
    static func index(of entity: ExtractedEntity, in extraction: inout ArticleExtraction) -> Int {
        if let index = extraction.entities.firstIndex(where: { $0.id == entity.id }) { return index }
        var added = entity
        added.mentionCount = 0
        extraction.entities.append(added)
        return extraction.entities.count - 1
    }
}
