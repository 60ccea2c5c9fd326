/// What the event rules look for in a word, looked up once per token of an article: the rules for engagements,
/// attacks and agreements each used to hash every word of every sentence against sets of their own; now one
/// look-up per token gives them all, and a sentence none of whose words is of a class is skipped at once.
struct WordClass: OptionSet, Sendable {
    let rawValue: UInt16

    static let telephone = WordClass(rawValue: 1 << 0)
    static let meet = WordClass(rawValue: 1 << 1)
    static let visit = WordClass(rawValue: 1 << 2)
    static let consult = WordClass(rawValue: 1 << 3)
    static let attack = WordClass(rawValue: 1 << 4)
    static let bombing = WordClass(rawValue: 1 << 5)
    static let agreement = WordClass(rawValue: 1 << 6)
    static let agreementVerb = WordClass(rawValue: 1 << 7)

    /// The words that trigger an engagement (of any of the four kinds).
    static let engagement: WordClass = [.telephone, .meet, .visit, .consult]
    /// The words that name a violent event.
    static let violence: WordClass = [.attack, .bombing]

    /// Every classed word (lower case) and its classes.
    static let table: [String: WordClass] = {
        var table: [String: WordClass] = [:]
        func add(_ words: Set<String>, _ wordClass: WordClass) {
            for word in words { table[word, default: []].insert(wordClass) }
        }
        add(ExtractionRun.telephoneWords, .telephone)
        add(ExtractionRun.meetWords, .meet)
        add(ExtractionRun.visitWords, .visit)
        add(ExtractionRun.consultWords, .consult)
        add(ExtractionRun.attackWords, .attack)
        add(ExtractionRun.bombingWords, .bombing)
        add(ExtractionRun.agreementWords, .agreement)
        add(ExtractionRun.agreementVerbs, .agreementVerb)
        return table
    }()

    /// The classes of each lower-cased token.
    static func classes(of lower: [String]) -> [WordClass] {
        lower.map { Self.table[$0] ?? [] }
    }
}
