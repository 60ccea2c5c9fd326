public import DatelineProtocol

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
        for (words, entity) in Self.names(of: extraction) {
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
        // Countries, capitals and places of the lexicon (read in title case when the header is in capitals).
        let headerCase = tokens.allSatisfy { $0.kind != .word || $0.isAllCaps } ? Self.titleCased(self.text) : self.text
        let places = ArticleExtractor(lexicon: self.extractor.lexicon, model: nil).extract(body: headerCase, published: self.published)
        for mention in places.mentions {
            let entity = places.entities[Int(mention.entityIndex)]
            guard [.country, .place, .designation].contains(entity.kind),
                  let first = tokens.firstIndex(where: { $0.start == Int(mention.start) }),
                  let last = tokens.firstIndex(where: { $0.end == Int(mention.end) }), !(first...last).contains(where: { covered[$0] })
            else { continue }
            let index = Self.index(of: entity, in: &extraction)
            found.append((index, first, last))
        }
        for (entity, first, last) in found.sorted(by: { ($0.first, $0.entity) < ($1.first, $1.entity) }) {
            let start = tokens[first].start, end = tokens[last].end
            extraction.mentions.append(EntityMention(
                entityIndex: UInt32(entity), start: UInt32(start), end: UInt32(end), text: tokenized.text(start..<end), field: self.field
            ))
            extraction.entities[entity].mentionCount += 1
        }
        for time in self.extractor.timeTagger.tag(tokenized, reference: self.published) {
            let start = tokens[time.first].start, end = tokens[time.last].end
            extraction.times.append(TimeExpression(
                text: tokenized.text(start..<end), start: UInt32(start), end: UInt32(end), type: time.type, value: time.value,
                precision: time.precision, modifier: time.modifier, field: self.field
            ))
        }
    }

    /// Lower-cased word sequences naming the body's entities, longest first: full names, the surname of a person
    /// no other person of the body shares, acronyms.
    static func names(of extraction: ArticleExtraction) -> [(words: [String], entity: Int)] {
        var names: [(words: [String], entity: Int)] = []
        var surnames: [String: [Int]] = [:]
        for (index, entity) in extraction.entities.enumerated() where entity.kind != .office {
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

    /// "ISLAMABAD, PAKISTAN" → "Islamabad, Pakistan".
    static func titleCased(_ text: String) -> String {
        var out = ""
        var startOfWord = true
        for character in text {
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
