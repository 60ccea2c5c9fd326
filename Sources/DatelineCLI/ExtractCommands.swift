import ArgumentParser
import DatelineArticles
import DatelineExtraction
import DatelineProtocol
import Foundation

extension Dateline {
    /// `dateline extract`: what Dateline reads in an article, without ingesting it.
    struct Extract: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the extractor on an article without ingesting it, and print every mention with its type, normalized value and offsets.",
            discussion: """
                The input is an article as plain text (title, source, date and dateline are recognised as dateline-ingest \
                recognises them). Offsets are Unicode scalar offsets into the body. Example: dateline extract samples/000_840db5600f595d32.txt
                """
        )

        @Argument(help: "The article's file, or - for standard input.")
        var path: String

        @Option(help: "The publication date relative dates resolve against (default: the article's own).")
        var published: String?

        @Option(name: [.short, .long], help: "table or json.")
        var output: OutputFormat = .table

        @Flag(help: "Take the whole input as the body: no title, source, date or dateline is looked for.")
        var bodyOnly = false

        func validate() throws {
            if let published, ArticleDates.parse(published) == nil { throw ValidationError("--published '\(published)' is not a date (e.g. 2025-08-04)") }
        }

        struct Output: Encodable {
            var title: String?
            var published: String?
            var datelinePlace: String?
            var body: String
            var extraction: ArticleExtraction
        }

        func run() throws {
            let data: Data
            do {
                data = self.path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: self.path))
            } catch {
                printError("cannot read \(self.path): \(error.localizedDescription)")
                throw ExitStatus.usage
            }
            guard let text = String(data: data, encoding: .utf8) else {
                printError("\(self.path) is not UTF-8 text")
                throw ExitStatus.usage
            }
            var article = PlainTextArticleParser.parse(text)
            if article.paragraphs.isEmpty || self.bodyOnly {
                // A line or two of text, not an article: all of it is the body.
                article.title = nil
                article.paragraphs = [text.trimmingCharacters(in: .whitespacesAndNewlines)]
            }
            let body = article.paragraphs.joined(separator: "\n\n")
            let date = self.published.flatMap(ArticleDates.parse)?.date ?? article.publishedAt
            let reference = date.map { CivilDate(dayNumber: Int(($0.timeIntervalSince1970 / 86_400).rounded(.down))) }
            let extraction = ArticleExtractor().extract(body: body, published: reference, datelinePlace: article.datelinePlace, title: article.title)
            if self.output == .json {
                try printJSON(Output(title: article.title, published: reference?.description, datelinePlace: article.datelinePlace, body: body, extraction: extraction))
                return
            }
            print("reference date: \(reference?.description ?? "(none: relative dates stay unresolved)")  dateline: \(article.datelinePlace ?? "(none)")")
            var rows = [["field", "start", "end", "type", "text", "value"]]
            // Title first, then the dateline, then the body; by offset within each.
            var items: [(ArticleField, Int, [String])] = []
            let order: [ArticleField: Int] = [.title: 0, .dateline: 1, .body: 2]
            for mention in extraction.mentions {
                let id = extraction.entityID(of: mention)
                items.append((mention.field, Int(mention.start), ["\(mention.start)", "\(mention.end)", extraction.entity(id)?.kind.description ?? "?", mention.text, id]))
            }
            for time in extraction.times {
                items.append((time.field, Int(time.start), ["\(time.start)", "\(time.end)", time.type.lowercased(), time.text, time.value + (time.modifier.map { " (\($0))" } ?? "")]))
            }
            for quote in extraction.quotes {
                let text = quote.text.count > 50 ? quote.text.prefix(47) + "..." : Substring(quote.text)
                items.append((.body, Int(quote.start), ["\(quote.start)", "\(quote.end)", "quote", "“\(text)”", "\(quote.speaker ?? quote.speakerText.map { "\"\($0)\"" } ?? "?") \(quote.verb ?? "")"]))
            }
            for item in items.sorted(by: { (order[$0.0]!, $0.1) < (order[$1.0]!, $1.1) }) { rows.append(["\(item.0)"] + item.2) }
            print(table(rows))
            print("")
            print("entities:")
            for entity in extraction.entities {
                let extra = (entity.titles + entity.offices + entity.designations + (entity.acronym.map { ["(\($0))"] } ?? [])).joined(separator: ", ")
                print("  \(entity.id)  \(entity.name)\(entity.country.map { " [\($0)]" } ?? "")\(extra.isEmpty ? "" : "  " + extra)")
            }
            print("topics: \(extraction.topics.joined(separator: ", "))")
            print("events:")
            for event in extraction.events {
                print("  \(event.id) \(event.code) \(event.label)  date: \(event.date ?? "?")\(event.dateText.map { " (\"\($0)\")" } ?? "")  place: \(event.place ?? "-")\(event.isBackReference ? "  (earlier engagement)" : "")")
                print("     participants: \(event.participants.joined(separator: ", "))")
                if let killed = event.killed { print("     killed: \(killed)") }
                if !event.topics.isEmpty { print("     topics: \(event.topics.joined(separator: ", "))") }
            }
        }
    }

    /// `dateline evaluate`: the extractor's measured quality on public corpora.
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the extractor: PER/LOC/ORG on CoNLL-2003, TIMEX3 values on TimeBank and AQUAINT.",
            discussion: """
                Reads the corpora from ../shared/corpora (or --corpora DIR) and prints precision, recall and F1. \
                Corpora that are missing are skipped with a message.
                """
        )

        @Argument(help: "What to evaluate: conll, timebank, or all.")
        var what: String = "all"

        @Option(help: "The directory holding conll2003/ and timebank/.")
        var corpora: String = "../shared/corpora"

        @Option(help: "CoNLL-2003 split: valid or train.")
        var split: String = "valid"

        @Flag(help: "Print the mistakes: wrong TIMEX values (expected, got), missed and spurious expressions, and the entity spans where the extractor and the model alone disagree.")
        var mistakes = false

        @Option(help: "A named-entity model to measure instead of the shipped one (a file written by train-ner).")
        var model: String?

        func validate() throws {
            guard ["conll", "timebank", "all"].contains(self.what) else { throw ValidationError("evaluate conll, timebank or all") }
            guard ["valid", "train"].contains(self.split) else { throw ValidationError("--split must be valid or train") }
        }

        /// The extractor to measure: with `--model`, that model instead of the shipped one.
        func extractor() throws -> ArticleExtractor {
            guard let path = self.model else { return ArticleExtractor() }
            guard let data = FileManager.default.contents(atPath: path) else {
                printError("\(path): no such model file")
                throw ExitStatus.usage
            }
            do {
                return ArticleExtractor(model: try NamedEntityModel(serialized: Array(data)))
            } catch {
                printError("\(path): \(error)")
                throw ExitStatus.usage
            }
        }

        func run() throws {
            let files = FileManager.default
            let extractor = try self.extractor()
            var ran = false
            if self.what != "timebank" {
                let path = "\(self.corpora)/conll2003/\(self.split).txt"
                if files.fileExists(atPath: path) {
                    let started = Date()
                    let result = try ConllEvaluation.run(file: path, extractor: extractor)
                    print("CoNLL-2003 \(self.split) (\(result.documents) documents, exact spans, \(String(format: "%.1f", Date().timeIntervalSince(started))) s):")
                    for type in ["PER", "LOC", "ORG"] { print("  \(type)  \(result.byType[type] ?? Score())") }
                    print("  all  \(result.overall)")
                    print("  (the named-entity model alone: \(result.model))")
                    if self.mistakes { for line in result.disagreements { print("  \(line)") } }
                    ran = true
                } else {
                    print("CoNLL-2003: skipped, \(path) not found")
                }
            }
            if self.what != "conll" {
                let directories = ["TimeBank", "AQUAINT"].map { "\(self.corpora)/timebank/\($0)" }.filter { files.fileExists(atPath: $0) }
                if directories.isEmpty {
                    print("TimeBank: skipped, \(self.corpora)/timebank not found")
                } else {
                    let result = try TimeBankEvaluation.run(directories: directories)
                    print("TimeBank + AQUAINT (\(result.documents) documents, reference = each document's creation time):")
                    print("  spans (overlap)          \(result.spans)")
                    print("  values (overlap + value) \(result.values)")
                    if self.mistakes {
                        for mistake in result.mistakes {
                            print("  \(mistake.text)\texpected \(mistake.expected)\tgot \(mistake.got)\t\(mistake.context)")
                        }
                        for text in result.missed { print("  MISSED \(text)") }
                        for text in result.spurious { print("  SPURIOUS \(text)") }
                    }
                    ran = true
                }
            }
            if !ran { throw ExitStatus.usage }
        }
    }

    /// `dateline train-ner`: trains the named-entity model shipped as `Data/ner.model`.
    struct TrainNER: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-ner",
            abstract: "Train the named-entity model (averaged perceptron) on CoNLL-2003's train split and write it.",
            discussion: "Word classes are learnt first from Reuters-21578's bodies and the train split's text (unlabelled). Dateline ships the result as Sources/DatelineExtraction/Data/ner.model; run this after changing the features."
        )

        @Option(help: "The directory holding conll2003/.")
        var corpora: String = "../shared/corpora"

        @Option(help: "Where to write the model.")
        var model: String = "Sources/DatelineExtraction/Data/ner.model"

        @Option(help: "Passes over the training data.")
        var epochs: Int = 8

        @Option(help: "How the tagger labels the words of a name: iob2 (begin, inside, outside) or bilou (begin, inside, last, outside, unit; as good end to end on CoNLL-2003 valid, a larger model).")
        var tags: TagSchemeArgument = .iob2

        @Option(help: "Drop features whose averaged weights are all below this (smaller, faster model).")
        var prune: Float = 0.005

        @Option(help: "Drop features seen fewer times than this in training.")
        var minimumCount: Int = 2

        @Option(help: "Coarse word classes to learn from unlabelled news (0: no word classes).")
        var coarseClasses: Int = 64

        @Option(help: "Fine word classes to learn from unlabelled news.")
        var fineClasses: Int = 300

        @Option(help: "Passes of the word-class exchange algorithm.")
        var classPasses: Int = 8

        func validate() throws {
            guard self.epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard self.minimumCount >= 1 else { throw ValidationError("--minimum-count must be at least 1") }
            guard self.prune >= 0 else { throw ValidationError("--prune must not be negative") }
            guard (0...4096).contains(self.coarseClasses), (1...4096).contains(self.fineClasses) else {
                throw ValidationError("--coarse-classes must be 0...4096 and --fine-classes 1...4096")
            }
            guard self.classPasses >= 1 else { throw ValidationError("--class-passes must be at least 1") }
        }

        /// Sentences of unlabelled news to learn word classes from: Reuters-21578's bodies and CoNLL-2003's train
        /// text (never the valid split, which measures the result), as CoNLL-style words.
        func unlabelledSentences(_ training: [(words: [String], labels: [Int])]) throws -> [[String]] {
            var sentences = training.map(\.words)
            let reuters = "\(self.corpora)/reuters21578"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: reuters))?.filter { $0.hasSuffix(".sgm") }.sorted() ?? []
            if files.isEmpty { print("word classes: \(reuters) not found, learning from CoNLL-2003's train text only") }
            for file in files {
                for item in ReutersReader.items(in: try Data(contentsOf: URL(fileURLWithPath: "\(reuters)/\(file)"))) {
                    sentences += TokenizedText(item.body).conllSentences
                }
            }
            return sentences
        }

        func run() throws {
            let path = "\(self.corpora)/conll2003/train.txt"
            guard FileManager.default.fileExists(atPath: path) else {
                printError("\(path) not found: train-ner needs CoNLL-2003's train split")
                throw ExitStatus.usage
            }
            let documents = try ConllCorpus.documents(file: path)
            let sentences = documents.flatMap { $0 }
            print("training a \(self.tags) tagger on \(documents.count) documents, \(sentences.count) sentences, \(sentences.reduce(0) { $0 + $1.words.count }) tokens")
            let started = Date()
            var clusters = WordClusters.empty
            if self.coarseClasses > 0 {
                let unlabelled = try self.unlabelledSentences(sentences)
                print("learning word classes from \(unlabelled.count) sentences, \(unlabelled.reduce(0) { $0 + $1.count }) words")
                clusters = WordClusters.learn(sentences: unlabelled, coarse: self.coarseClasses, fine: self.fineClasses, iterations: self.classPasses) { print("  \($0)") }
                print("word classes for \(clusters.wordCount) words in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            }
            let trained = NamedEntityModel.train(documents: documents, scheme: self.tags.scheme, epochs: self.epochs, minimumCount: self.minimumCount, pruneBelow: self.prune, clusters: clusters) { epoch, accuracy in
                print("epoch \(epoch): token accuracy \(String(format: "%.2f", accuracy * 100))%")
            }
            let bytes = trained.serialized()
            try Data(bytes).write(to: URL(fileURLWithPath: self.model))
            print("wrote \(self.model): \(trained.featureCount) features, \(bytes.count) bytes in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}

/// `train-ner --tags`: the tag scheme the tagger learns.
enum TagSchemeArgument: String, ExpressibleByArgument, CaseIterable {
    case bilou, iob2

    var scheme: NamedEntityTagScheme { self == .bilou ? .bilou : .iob2 }
}
