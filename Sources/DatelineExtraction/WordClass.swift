/// What the rules look for in a word, looked up once per token of an article: the rules for engagements,
/// attacks, agreements and time expressions each used to hash every word of every sentence against sets of their
/// own; now one look-up per token (`Lexicon.wordFacts`) gives them all, and a sentence none of whose words is of a
/// class is skipped at once.
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
    /// A word a time expression can start with (``TimeTagger/openers``).
    static let timeOpener = WordClass(rawValue: 1 << 8)
    /// A function word that opens a time expression only with a word of time after it (``TimeTagger/leadWords``).
    static let timeLead = WordClass(rawValue: 1 << 9)
    /// A word of time a lead word needs after it (``TimeTagger/anchors``).
    static let timeAnchor = WordClass(rawValue: 1 << 10)

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
        add(TimeTagger.openers, .timeOpener)
        add(TimeTagger.leadWords, .timeLead)
        add(TimeTagger.anchors, .timeAnchor)
        return table
    }()

    /// The classes of each lower-cased token (without a lexicon's topics: `Lexicon.wordFacts` gives both).
    static func classes(of lower: [String]) -> [WordClass] {
        lower.map { Self.table[$0] ?? [] }
    }
}

/// Everything the extractor's per-word tables say about one lower-case word: its classes and the topic cues it
/// starts.
struct WordFacts: Sendable {
    var classes: WordClass = []
    /// The topic the word alone signals.
    var topic: String?
    /// Multi-word topic cues starting with the word, longest first as the lexicon lists them.
    var topicPhrases: [(tokens: [String], topic: String)] = []
}
