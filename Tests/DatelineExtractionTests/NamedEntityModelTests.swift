@testable import DatelineExtraction
import Foundation
import Testing

@Suite struct NamedEntityModelTests {
    @Test func theShippedModelLoadsAndTagsAHeadlineSentence() throws {
        let model = try #require(NamedEntityModel.shared, "Data/ner.model is missing or corrupt")
        let words = ["German", "Chancellor", "Helmut", "Kohl", "met", "Boris", "Yeltsin", "in", "Moscow", "on", "Tuesday", ",", "the", "European", "Commission", "said", "."]
        let spans = NamedEntityModel.spans(model.tag(words: words)).map { "\(words[$0.first...$0.last].joined(separator: " ")):\($0.type)" }
        #expect(spans.contains("Helmut Kohl:PER"))
        #expect(spans.contains("Boris Yeltsin:PER"))
        #expect(spans.contains("Moscow:LOC"))
        #expect(spans.contains("European Commission:ORG"))
    }

    @Test(arguments: NamedEntityTagScheme.allCases)
    func trainingSerializingAndLoadingGiveTheSameTags(scheme: NamedEntityTagScheme) throws {
        // A tiny corpus: the model must learn it, and survive a round trip through its file format.
        let sentences: [(words: [String], labels: [Int])] = [
            (["Alice", "Walker", "visited", "Paris", "."], [1, 2, 0, 3, 0]),
            (["Bob", "Stone", "joined", "Acme", "Corp", "."], [1, 2, 0, 5, 6, 0]),
            (["Paris", "welcomed", "Alice", "Walker", "."], [3, 0, 1, 2, 0]),
            (["Acme", "hired", "Carol", "Ann", "Dee", "in", "Rome"], [5, 0, 1, 2, 2, 0, 3]),
        ]
        let clusters = WordClusters.learn(sentences: sentences.map(\.words), coarse: 2, fine: 3, minimumCount: 1)
        let model = NamedEntityModel.train(sentences: sentences, scheme: scheme, epochs: 10, minimumCount: 1, clusters: clusters)
        #expect(model.scheme == scheme)
        // The sentences were learnt as one document: tagged as one, each lends the others its context.
        #expect(model.tag(document: sentences.map(\.words)) == sentences.map(\.labels))
        let loaded = try NamedEntityModel(serialized: model.serialized())
        #expect(loaded.scheme == scheme)
        #expect(loaded.tag(document: sentences.map(\.words)) == sentences.map(\.labels))
        #expect(loaded.clusters.wordCount == clusters.wordCount)
        for word in ["Alice", "Paris", "Corp", "."] { #expect(loaded.clusters.classes(of: word)! == clusters.classes(of: word)!) }
        #expect(throws: (any Error).self) { try NamedEntityModel(serialized: Array("not a model".utf8)) }
        var corrupt = model.serialized()
        corrupt[corrupt.count - 3] ^= 0xFF
        #expect(throws: (any Error).self) { try NamedEntityModel(serialized: corrupt) }
    }
}

/// BILOU and IOB2 labels: conversions both ways and the transitions the tagger may take.
@Suite struct NamedEntityTagSchemeTests {
    /// Every IOB2 sequence over two types and four words (B-PER 1, I-PER 2, B-LOC 3, I-LOC 4), including ill-formed
    /// ones where an I follows O or another type.
    static func iob2Sequences(length: Int = 4) -> [[Int]] {
        (0..<length).reduce([[]]) { sequences, _ in sequences.flatMap { sequence in (0...4).map { sequence + [$0] } } }
    }

    /// The same sequence written well: an I that continues no name of its type begins one.
    static func wellFormed(_ labels: [Int]) -> [Int] {
        labels.indices.map { i in
            let label = labels[i]
            guard label > 0, label % 2 == 0 else { return label }
            return i > 0 && (labels[i - 1] == label || labels[i - 1] == label - 1) ? label : label - 1
        }
    }

    @Test func bilouLabelsConvertBackToTheSameNames() {
        for iob2 in Self.iob2Sequences() {
            let bilou = NamedEntityTagScheme.bilou.labels(fromIOB2: iob2)
            #expect(NamedEntityTagScheme.bilou.iob2Labels(bilou) == Self.wellFormed(iob2), "\(iob2) → \(bilou)")
            #expect(NamedEntityModel.spans(NamedEntityTagScheme.bilou.iob2Labels(bilou)).count == NamedEntityModel.spans(Self.wellFormed(iob2)).count)
            // A converted sentence is one the tagger may produce.
            for i in bilou.indices {
                #expect(NamedEntityTagScheme.bilou.allows(bilou[i], after: i > 0 ? bilou[i - 1] : 0, isLast: i == bilou.count - 1), "\(iob2) → \(bilou) at \(i)")
            }
        }
    }

    @Test func bilouNamesTheLastAndTheOnlyWordOfAName() {
        let scheme = NamedEntityTagScheme.bilou
        let names = scheme.labelNames
        // "Carol Ann Dee visited Rome" : B-PER I-PER L-PER O U-LOC
        #expect(scheme.labels(fromIOB2: [1, 2, 2, 0, 3]).map { names[$0] } == ["B-PER", "I-PER", "L-PER", "O", "U-LOC"])
        // Two names side by side, and an I-LOC right after a person, as IOB1 would write it.
        #expect(scheme.labels(fromIOB2: [1, 1, 2, 4]).map { names[$0] } == ["U-PER", "B-PER", "L-PER", "U-LOC"])
        #expect(scheme.labelCount == 17 && NamedEntityTagScheme.iob2.labelCount == 9)
        #expect(NamedEntityTagScheme.iob2.labelNames == NamedEntityModel.labels)
    }

    @Test func theTaggerMayNotLeaveANameOpen() {
        let scheme = NamedEntityTagScheme.bilou
        let names = scheme.labelNames
        func allowed(after previous: String, isLast: Bool) -> Set<String> {
            Set(names.indices.filter { scheme.allows($0, after: names.firstIndex(of: previous)!, isLast: isLast) }.map { names[$0] })
        }
        #expect(allowed(after: "B-ORG", isLast: false) == ["I-ORG", "L-ORG"])
        #expect(allowed(after: "I-ORG", isLast: true) == ["L-ORG"])
        #expect(allowed(after: "L-ORG", isLast: true) == ["O", "U-PER", "U-LOC", "U-ORG", "U-MISC"])
        #expect(allowed(after: "O", isLast: false) == Set(["O"] + NamedEntityTagScheme.types.flatMap { ["B-\($0)", "U-\($0)"] }))
        // IOB2: I-X only after B-X or I-X; the last word changes nothing.
        let iob2 = NamedEntityTagScheme.iob2
        #expect(!iob2.allows(2, after: 0, isLast: false) && iob2.allows(2, after: 1, isLast: true) && !iob2.allows(4, after: 1, isLast: false))
    }

    @Test func anEarlierIOB2ModelFileStillLoads() throws {
        let sentences: [(words: [String], labels: [Int])] = [
            (["Alice", "Walker", "visited", "Paris", "."], [1, 2, 0, 3, 0]),
            (["Paris", "welcomed", "Bob", "."], [3, 0, 1, 0]),
        ]
        let model = NamedEntityModel.train(sentences: sentences, scheme: .iob2, epochs: 10, minimumCount: 1)
        let earlier = model.serialized(earlierFormat: true)
        #expect(Array(earlier.prefix(7)) == Array("DLNER2\n".utf8))
        let loaded = try NamedEntityModel(serialized: earlier)
        #expect(loaded.scheme == .iob2)
        for sentence in sentences { #expect(loaded.tag(words: sentence.words) == sentence.labels) }
        // Cut short anywhere after the header, either format is an error, never a trap.
        for bytes in [earlier, model.serialized()] {
            for cut in stride(from: 16, to: bytes.count, by: max(1, bytes.count / 40)) {
                #expect(throws: (any Error).self) { try NamedEntityModel(serialized: Array(bytes.prefix(cut))) }
            }
        }
    }
}

/// Word classes from unlabelled text: words that follow the same words share a class.
@Suite struct WordClustersTests {
    @Test func wordsUsedAlikeShareAClass() throws {
        var sentences: [[String]] = []
        for day in ["Monday", "Tuesday", "Friday"] {
            for name in ["Smith", "Jones", "Brown"] {
                sentences.append(["the", "talks", "on", day, "ended", "."])
                sentences.append(["Mr", name, "said", "the", "talks", "ended", "on", day, "."])
                sentences.append(["Mr", name, "said", "."])
            }
        }
        let clusters = WordClusters.learn(sentences: sentences, coarse: 4, fine: 6, minimumCount: 1)
        let monday = try #require(clusters.classes(of: "Monday")), smith = try #require(clusters.classes(of: "Smith"))
        for day in ["Tuesday", "Friday"] { #expect(clusters.classes(of: day)?.coarse == monday.coarse, "\(day)") }
        for name in ["Jones", "Brown"] { #expect(clusters.classes(of: name)?.coarse == smith.coarse, "\(name)") }
        #expect(monday.coarse != smith.coarse)
        #expect(clusters.classes(of: "Wednesday") == nil, "a word never seen has no class")
        // A word seen fewer times than the minimum is pooled, not classed.
        #expect(WordClusters.learn(sentences: sentences, coarse: 4, fine: 6, minimumCount: 10).classes(of: "Monday") == nil)
    }
}

/// The measured quality, on the public corpora when they are beside the checkout (deterministic figures, so a
/// floor well below them guards against regressions without depending on the machine).
@Suite struct ExtractionQualityTests {
    static let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora").path

    @Test func conllValidPeoplePlacesOrganisations() throws {
        let path = Self.corpora + "/conll2003/valid.txt"
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipped: \(path) not found")
            return
        }
        let result = try ConllEvaluation.run(file: path)
        print("CoNLL-2003 valid PER/LOC/ORG: \(result.overall)")
        #expect(result.overall.f1 >= 0.87)
        // The rules must add to the tagger, not cost it points (issue 15, item 1).
        #expect(result.overall.f1 >= result.model.f1)
    }

    @Test func timeBankValues() throws {
        let directories = ["TimeBank", "AQUAINT"].map { Self.corpora + "/timebank/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
        guard !directories.isEmpty else {
            print("skipped: \(Self.corpora)/timebank not found")
            return
        }
        let result = try TimeBankEvaluation.run(directories: directories)
        print("TimeBank + AQUAINT values: \(result.values)")
        #expect(result.values.f1 >= 0.79)
    }
}

/// The tagger labels O, without weighing it, a word outside any name that has no capital letter and is followed by
/// none (`NamedEntityModel.isOutsideByCase`). That may only save work: names that begin with a lower-case particle
/// or prefix, and text written all in lower case, are tagged as if every word were weighed.
@Suite struct NamedEntityCaseGateTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared").path

    func labels(_ model: NamedEntityModel, _ words: [String], gated: Bool) -> [Int] {
        model.tag(NamedEntityModel.SentenceView(words: words, gazetteer: NamedEntityModel.gazetteer(words: words, lexicon: .shared), clusters: model.clusters), gated: gated)
    }

    func spans(_ model: NamedEntityModel, _ text: String, gated: Bool) -> [String] {
        let words = text.split(separator: " ").map(String.init)
        return NamedEntityModel.spans(self.labels(model, words, gated: gated)).map { "\(words[$0.first...$0.last].joined(separator: " ")):\($0.type)" }
    }

    @Test func namesWithLowerCaseParticlesAndPrefixesAreWeighed() throws {
        let model = try #require(NamedEntityModel.shared, "Data/ner.model is missing or corrupt")
        let sentences = [
            "Bowling figures : Vass 7-0-29-0 , de Silva 4-0-25-0 , Muralitharan 10-1-36-2 .",
            "The driver was 10. Gil de Ferran of Brazil , ahead of the rest .",
            "Thousands prayed at the al-Aqsa mosque in Jerusalem on Friday .",
            "The former England captain and ex-England fast bowler Martin McCague were there .",
            "South Africa 's Jan van der Merwe scored twice against the visitors on Saturday .",
        ]
        for sentence in sentences {
            #expect(self.spans(model, sentence, gated: true) == self.spans(model, sentence, gated: false), "\(sentence)")
        }
        #expect(self.spans(model, sentences[0], gated: true).contains("de Silva:PER"))
    }

    @Test func textInLowerCaseIsWeighedWordByWord() {
        // The shipped model finds no names in lower-case text; one trained on lower-case text does, and the gate
        // (which would skip "alice" and "walker": neither they nor the words after them have a capital) must not
        // hide them.
        let sentences: [(words: [String], labels: [Int])] = [
            (["alice", "walker", "visited", "paris", "."], [1, 2, 0, 3, 0]),
            (["bob", "stone", "joined", "acme", "corp", "."], [1, 2, 0, 5, 6, 0]),
            (["paris", "welcomed", "alice", "walker", "."], [3, 0, 1, 2, 0]),
        ]
        let model = NamedEntityModel.train(sentences: sentences, scheme: .iob2, epochs: 10, minimumCount: 1, clusters: .empty)
        for sentence in sentences {
            let view = NamedEntityModel.SentenceView(words: sentence.words, gazetteer: NamedEntityModel.gazetteer(words: sentence.words, lexicon: .shared), clusters: model.clusters)
            #expect(model.tag(view) == sentence.labels)
            #expect(!view.hasCapital.contains(true))
            #expect(NamedEntityModel.isOutsideByCase(view, 0, previous: 0))
        }
    }

    /// Over CoNLL-2003's valid split (when `../shared` has it), the gate changes at most one word in 5,000 of those
    /// it skips, and only from a name label to O.
    @Test func theGateChangesAlmostNothingOnCoNLLValid() throws {
        let model = try #require(NamedEntityModel.shared, "Data/ner.model is missing or corrupt")
        let path = Self.shared + "/corpora/conll2003/valid.txt"
        guard FileManager.default.fileExists(atPath: path) else { return }
        let documents = try ConllCorpus.documents(file: path)
        var skipped = 0, changed = 0
        for sentence in documents.joined() where !sentence.words.isEmpty {
            let view = NamedEntityModel.SentenceView(words: sentence.words, gazetteer: NamedEntityModel.gazetteer(words: sentence.words, lexicon: .shared), clusters: model.clusters)
            let gated = model.tag(view), every = model.tag(view, gated: false)
            for i in gated.indices where gated[i] != every[i] {
                changed += 1
                #expect(gated[i] == 0, "\(sentence.words)")
            }
            if view.hasCapital.contains(true) {
                var previous = 0
                for i in every.indices {
                    if NamedEntityModel.isOutsideByCase(view, i, previous: previous) { skipped += 1 }
                    previous = every[i]
                }
            }
        }
        #expect(skipped > 20_000)
        #expect(changed * 5_000 <= skipped, "\(changed) of \(skipped) skipped words changed")
    }
}
