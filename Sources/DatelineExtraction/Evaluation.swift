internal import Foundation
import DatelineProtocol

/// Precision, recall and F1 from counts.
public struct Score: Sendable, Hashable, CustomStringConvertible {
    public var truePositives = 0
    public var predicted = 0
    public var gold = 0

    public init() {}

    public var precision: Double { self.predicted == 0 ? 0 : Double(self.truePositives) / Double(self.predicted) }
    public var recall: Double { self.gold == 0 ? 0 : Double(self.truePositives) / Double(self.gold) }
    public var f1: Double { self.precision + self.recall == 0 ? 0 : 2 * self.precision * self.recall / (self.precision + self.recall) }

    public var description: String {
        String(format: "P %5.1f  R %5.1f  F1 %5.1f  (%d gold, %d predicted, %d right)", self.precision * 100, self.recall * 100, self.f1 * 100, self.gold, self.predicted, self.truePositives)
    }
}

/// Scores the extractor's people, places and organisations against CoNLL-2003 (IOB2 `TOKEN POS CHUNK NER`
/// lines, `-DOCSTART-` between documents): exact spans and types, PER / LOC / ORG (MISC is not extracted).
public struct ConllEvaluation: Sendable {
    public var byType: [String: Score] = [:]
    public var overall = Score()
    /// The named-entity model alone, sentence by sentence (no rules).
    public var model = Score()
    public var documents = 0
    /// Spans where the extractor and the model alone disagree and one of them is right, for debugging:
    /// `(gold or predicted text with its type, who was right, what the other predicted there)`.
    public var disagreements: [String] = []

    public static func run(file path: String, extractor: ArticleExtractor = ArticleExtractor(), limit: Int? = nil) throws -> ConllEvaluation {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var evaluation = ConllEvaluation()
        var document: [[(token: String, tag: String)]] = []
        var sentence: [(token: String, tag: String)] = []
        func flushDocument() {
            if !sentence.isEmpty { document.append(sentence); sentence = [] }
            if !document.isEmpty, limit.map({ evaluation.documents < $0 }) ?? true {
                evaluation.score(document, extractor: extractor)
                evaluation.documents += 1
            }
            document = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-DOCSTART-") { flushDocument(); continue }
            let fields = line.split(separator: " ")
            if fields.count < 4 {
                if !sentence.isEmpty { document.append(sentence); sentence = [] }
                continue
            }
            sentence.append((String(fields[0]), String(fields[3])))
        }
        flushDocument()
        return evaluation
    }

    static func spans(_ tags: [String]) -> Set<[Int]> {
        var spans: Set<[Int]> = []
        var start: Int?
        var type = ""
        for (i, tag) in (tags + ["O"]).enumerated() {
            let begins = tag.hasPrefix("B-") || (tag.hasPrefix("I-") && (start == nil || String(tag.dropFirst(2)) != type))
            if start != nil, tag == "O" || begins {
                if ["PER", "LOC", "ORG"].contains(type) { spans.insert([start!, i - 1, ["PER": 0, "LOC": 1, "ORG": 2][type]!]) }
                start = nil
            }
            if begins {
                start = i
                type = String(tag.dropFirst(2))
            }
        }
        return spans
    }

    mutating func score(_ document: [[(token: String, tag: String)]], extractor: ArticleExtractor) {
        // Rebuild the text: tokens separated by spaces, sentences by line breaks; remember each token's offsets.
        var body = String.UnicodeScalarView()
        var starts: [Int: Int] = [:]
        var ends: [Int: Int] = [:]
        var tags: [String] = []
        var offset = 0
        var index = 0
        for sentence in document {
            for (k, item) in sentence.enumerated() {
                if k > 0 { body.append(" "); offset += 1 }
                starts[offset] = index
                body.append(contentsOf: item.token.unicodeScalars)
                offset += item.token.unicodeScalars.count
                ends[offset] = index
                tags.append(item.tag)
                index += 1
            }
            body.append("\n")
            offset += 1
        }
        let gold = Self.spans(tags)
        let words = document.flatMap { $0.map(\.token) }
        var modelPredicted: Set<[Int]> = []
        if let ner = extractor.model {
            var base = 0
            var predicted: Set<[Int]> = []
            for (sentence, labels) in zip(document, ner.tag(document: document.map { $0.map(\.token) }, lexicon: extractor.lexicon)) {
                for span in NamedEntityModel.spans(labels) {
                    if let type = ["PER": 0, "LOC": 1, "ORG": 2][span.type] { predicted.insert([base + span.first, base + span.last, type]) }
                }
                base += sentence.count
            }
            self.model.gold += gold.count
            self.model.predicted += predicted.count
            self.model.truePositives += gold.intersection(predicted).count
            modelPredicted = predicted
        }
        let extraction = extractor.extract(body: String(body), published: nil)
        var predicted: Set<[Int]> = []
        for mention in extraction.mentions {
            guard let first = starts[Int(mention.start)], let last = ends[Int(mention.end)],
                  Int(mention.entityIndex) < extraction.entities.count else { continue }
            let entity = extraction.entities[Int(mention.entityIndex)]
            let type: Int
            switch entity.kind {
            case .person: type = 0
            case .place: type = 1
            case .country:
                // Demonyms ("German") are MISC in CoNLL.
                if let match = extractor.lexicon.longestMatch(in: TokenizedText(mention.text).tokens, at: 0, sentenceEnd: TokenizedText(mention.text).tokens.count),
                   match.entries.contains(where: { if case .demonym = $0 { return true }; return false }),
                   !match.entries.contains(where: { if case .country = $0 { return true }; return false })
                {
                    continue
                }
                type = 1
            case .organization: type = 2
            default: continue
            }
            // A capital standing for its country is one LOC mention, not two.
            predicted.insert([first, last, type])
        }
        func describe(_ span: [Int]) -> String { words[span[0]...span[1]].joined(separator: " ") + "/" + ["PER", "LOC", "ORG"][span[2]] }
        func overlapping(_ span: [Int], _ set: Set<[Int]>) -> String {
            set.filter { $0[0] <= span[1] && span[0] <= $0[1] }.map(describe).sorted().joined(separator: ", ")
        }
        for span in gold where modelPredicted.contains(span) != predicted.contains(span) {
            let modelRight = modelPredicted.contains(span)
            self.disagreements.append("\(self.documents)\t\(describe(span))\t\(modelRight ? "model" : "extractor") right\tother: \(overlapping(span, modelRight ? predicted : modelPredicted))")
        }
        for span in predicted.subtracting(gold).subtracting(modelPredicted) {
            self.disagreements.append("\(describe(span))\textractor spurious\tgold: \(overlapping(span, gold))\tmodel: \(overlapping(span, modelPredicted))")
        }
        for (name, type) in [("PER", 0), ("LOC", 1), ("ORG", 2)] {
            let g = gold.filter { $0[2] == type }, p = predicted.filter { $0[2] == type }
            self.byType[name, default: Score()].gold += g.count
            self.byType[name, default: Score()].predicted += p.count
            self.byType[name, default: Score()].truePositives += g.intersection(p).count
        }
        self.overall.gold += gold.count
        self.overall.predicted += predicted.count
        self.overall.truePositives += gold.intersection(predicted).count
    }
}

/// Scores time expressions against TimeML (TimeBank 1.2, AQUAINT): spans found (overlap) and TIMEX3 values
/// (overlap and the same value), with each document's creation time as the reference date.
public struct TimeBankEvaluation: Sendable {
    public var spans = Score()
    public var values = Score()
    public var documents = 0
    /// Wrong values, for debugging: (text, expected, got, context: the creation time and the words around).
    public var mistakes: [(text: String, expected: String, got: String, context: String)] = []
    /// Gold expressions not found, and found expressions that are not gold.
    public var missed: [String] = []
    public var spurious: [String] = []

    public static func run(directories: [String], tagger: TimeTagger = TimeTagger()) throws -> TimeBankEvaluation {
        var evaluation = TimeBankEvaluation()
        for directory in directories {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tml") }.sorted()
            for file in files {
                let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
                evaluation.score(text, tagger: tagger)
                evaluation.documents += 1
            }
        }
        return evaluation
    }

    struct Gold {
        var start: Int
        var end: Int
        var value: String
        var text: String
    }

    /// The TEXT section without tags (entities decoded), and its TIMEX3 annotations by scalar offsets.
    static func parse(_ document: String) -> (dct: CivilDate?, text: String, gold: [Gold]) {
        var dct: CivilDate?
        if let range = document.range(of: "functionInDocument=\"CREATION_TIME\""),
           let tagStart = document[..<range.lowerBound].range(of: "<TIMEX3", options: .backwards),
           let tagEnd = document[range.upperBound...].firstIndex(of: ">"),
           let valueRange = document[tagStart.lowerBound..<tagEnd].range(of: "value=\"")
        {
            let value = document[valueRange.upperBound...].prefix(10)
            let parts = value.split(separator: "-").compactMap { Int($0) }
            if parts.count == 3 { dct = CivilDate(year: parts[0], month: parts[1], day: parts[2]) }
        }
        guard let open = document.range(of: "<TEXT>"), let close = document.range(of: "</TEXT>") else { return (dct, "", []) }
        let section = Array(document[open.upperBound..<close.lowerBound].unicodeScalars)
        var out = String.UnicodeScalarView()
        var count = 0
        var gold: [Gold] = []
        var openTimex: (start: Int, value: String)?
        var i = 0
        while i < section.count {
            let c = section[i]
            if c == "<" {
                var j = i
                while j < section.count, section[j] != ">" { j += 1 }
                let tag = String(String.UnicodeScalarView(section[i...min(j, section.count - 1)]))
                if tag.hasPrefix("<TIMEX3") {
                    var value = ""
                    if let r = tag.range(of: "value=\"") { value = String(tag[r.upperBound...].prefix { $0 != "\"" }) }
                    openTimex = (count, value)
                } else if tag.hasPrefix("</TIMEX3"), let t = openTimex {
                    let scalars = Array(out)
                    gold.append(Gold(start: t.start, end: count, value: t.value, text: String(String.UnicodeScalarView(scalars[t.start..<count]))))
                    openTimex = nil
                }
                i = j + 1
                continue
            }
            if c == "&" {
                var j = i
                while j < section.count, section[j] != ";", j - i < 8 { j += 1 }
                let entity = String(String.UnicodeScalarView(section[i...min(j, section.count - 1)]))
                let decoded: Unicode.Scalar? = ["&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&apos;": "'"][entity]
                if let decoded {
                    out.append(decoded)
                    count += 1
                    i = j + 1
                    continue
                }
            }
            out.append(c)
            count += 1
            i += 1
        }
        return (dct, String(out), gold)
    }

    /// TIMEX3 values that mean the same: week numbers with or without a leading zero ("2000-W7", "2000-W07").
    static func sameValue(_ a: String, _ b: String) -> Bool {
        func normalized(_ value: String) -> String {
            guard let w = value.range(of: "-W") else { return value }
            let digits = value[w.upperBound...].prefix { $0.isNumber }
            guard let week = Int(digits) else { return value }
            return value[..<w.upperBound] + CivilDate.pad(week, 2) + value[digits.endIndex...]
        }
        return a == b || normalized(a) == normalized(b)
    }

    mutating func score(_ document: String, tagger: TimeTagger) {
        let (dct, text, gold) = Self.parse(document)
        let tokenized = TokenizedText(text)
        let found = tagger.tag(tokenized, reference: dct).map { time in
            (start: tokenized.tokens[time.first].start, end: tokenized.tokens[time.last].end, value: time.value)
        }
        self.spans.gold += gold.count
        self.values.gold += gold.count
        self.spans.predicted += found.count
        self.values.predicted += found.count
        let scalars = Array(text.unicodeScalars)
        for f in found where !gold.contains(where: { f.start < $0.end && $0.start < f.end }) {
            self.spurious.append(String(String.UnicodeScalarView(scalars[f.start..<f.end])) + "\t" + f.value)
        }
        for g in gold {
            guard let match = found.first(where: { $0.start < g.end && g.start < $0.end }) else {
                self.missed.append(g.text + "\t" + g.value)
                continue
            }
            self.spans.truePositives += 1
            if Self.sameValue(match.value, g.value) {
                self.values.truePositives += 1
            } else if self.mistakes.count < 5000 {
                let from = max(0, g.start - 70), to = min(scalars.count, g.end + 50)
                let around = String(String.UnicodeScalarView(scalars[from..<to])).split(whereSeparator: \.isNewline).joined(separator: " ")
                self.mistakes.append((g.text, g.value, match.value, "DCT \(dct?.description ?? "?"): …\(around)…"))
            }
        }
    }
}

/// Sentences of a CoNLL-2003 file as words and IOB2 label ids.
public enum ConllCorpus {
    /// The file's documents (split at `-DOCSTART-`), each a list of sentences.
    public static func documents(file path: String) throws -> [[(words: [String], labels: [Int])]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var documents: [[(words: [String], labels: [Int])]] = [[]]
        var words: [String] = []
        var labels: [Int] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ")
            if fields.count < 4 || line.hasPrefix("-DOCSTART-") {
                if !words.isEmpty { documents[documents.count - 1].append((words, labels)) }
                words = []
                labels = []
                if line.hasPrefix("-DOCSTART-"), !documents[documents.count - 1].isEmpty { documents.append([]) }
                continue
            }
            words.append(String(fields[0]))
            labels.append(NamedEntityModel.labels.firstIndex(of: String(fields[3])) ?? 0)
        }
        if !words.isEmpty { documents[documents.count - 1].append((words, labels)) }
        return documents.filter { !$0.isEmpty }
    }

    public static func sentences(file path: String) throws -> [(words: [String], labels: [Int])] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var sentences: [(words: [String], labels: [Int])] = []
        var words: [String] = []
        var labels: [Int] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ")
            if fields.count < 4 || line.hasPrefix("-DOCSTART-") {
                if !words.isEmpty { sentences.append((words, labels)) }
                words = []
                labels = []
                continue
            }
            words.append(String(fields[0]))
            labels.append(NamedEntityModel.labels.firstIndex(of: String(fields[3])) ?? 0)
        }
        if !words.isEmpty { sentences.append((words, labels)) }
        return sentences
    }
}
