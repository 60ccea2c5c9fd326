import DatelineArticles
import DatelineProtocol
import DatelineQuery
import Foundation
import Logging

/// The cost of a top-10 search with snippets per query shape — one term, two terms ANDed, two terms ORed, a
/// two-word phrase, each alone and within a date range — in Dateline (in process and over loopback) on two corpora
/// (Reuters-21578 as it is, and ten times as many distinct generated articles) and two query sets (words of
/// Reuters' titles, words of generated titles).
///
/// Dateline indexes each corpus into segments on disk (extraction off: it does not change what a search reads),
/// runs the merges a quiet service would, then times every query `rounds` times and keeps each query's median.
/// It writes the articles, the queries and its figures to `.build/peers/shapes-<corpus>.{jsonl,json}`, where
/// `peers/peers.py` times Tantivy on the same articles and queries (stored documents and a snippet for every hit)
/// and prints the table: the ratios are of one run.
enum ShapeBenchmark {
    struct Corpus {
        var name: String
        var submissions: [ArticleSubmission]
        /// The date range of the shapes that have one (a month or two where the corpus is dense).
        var range: (from: Date, to: Date)
    }

    struct QuerySet {
        var name: String
        var texts: [String]
    }

    /// "term", "AND", "OR" or "phrase" for a text the benchmarks' pairing built.
    static func shape(of text: String) -> String {
        if text.hasPrefix("\"") { return "phrase" }
        if text.contains(" OR ") { return "OR" }
        return text.contains(" ") ? "AND" : "term"
    }

    static var peersDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/peers")
    }

    /// Runs both corpora (the generated one only without `quick`) and returns a line for the report; the table is
    /// peers.py's.
    static func report(items: [ReutersReader.Item], quick: Bool) async throws -> String {
        let generator = GeneratedScaleBenchmark.Generator(items: items)
        let sets = [
            QuerySet(name: "Reuters titles", texts: IngestBenchmark.texts(pairing: IngestBenchmark.titleWords(items), start: 0, end: 400)),
            QuerySet(name: "generated titles", texts: IngestBenchmark.texts(pairing: GeneratedScaleBenchmark.generatedTitleWords(generator), start: 1, end: 260)),
        ]
        var corpora = [
            Corpus(
                name: "reuters-1x", submissions: items.filter { !$0.body.isEmpty }.map(\.submission),
                range: (Date(timeIntervalSince1970: 541_555_200), Date(timeIntervalSince1970: 544_233_599)))  // March 1987
        ]
        if !quick {
            corpora.append(Corpus(
                name: "generated-10x", submissions: (0..<(items.count * 10)).map(generator.article),
                range: (Date(timeIntervalSince1970: 1_714_521_600), Date(timeIntervalSince1970: 1_719_791_999))))  // May and June 2024
        }
        try? FileManager.default.removeItem(at: self.peersDirectory.appendingPathComponent("shapes.json"))
        var written: [[String: Any]] = []
        // For profiling one corpus: DATELINE_SHAPES_CORPUS=generated-10x runs that one alone.
        if let only = ProcessInfo.processInfo.environment["DATELINE_SHAPES_CORPUS"] { corpora = corpora.filter { $0.name == only } }
        for corpus in corpora {
            let rounds = ProcessInfo.processInfo.environment["DATELINE_SHAPES_ROUNDS"].flatMap(Int.init) ?? (quick ? 3 : 5)  // more for profiling
            written.append(try await self.run(corpus, sets: sets, rounds: rounds))
        }
        try FileManager.default.createDirectory(at: self.peersDirectory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["corpora": written], options: [.prettyPrinted, .sortedKeys])
            .write(to: self.peersDirectory.appendingPathComponent("shapes.json"))
        return "(Per-shape query figures: Tantivy's are timed next, on the same \(corpora.count) corpora and \(sets.count) query sets, and printed beside these.)\n"
    }

    /// Indexes `corpus`, times every query of `sets` with and without the corpus's date range, and writes the
    /// articles; returns the corpus's entry of shapes.json.
    static func run(_ corpus: Corpus, sets: [QuerySet], rounds: Int) async throws -> [String: Any] {
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let indexDirectory = NSTemporaryDirectory() + "dateline-bench-shapes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: indexDirectory) }
        let run = try await IngestBenchmark.ingestRun(corpus.submissions, extraction: false, logger: logger, indexDirectory: indexDirectory) { _, query in
            try await self.settle(query)
            let disk = (self.bytesByKind(indexDirectory), self.committedSegments(indexDirectory).count)
            let server = DatelineServer(configuration: .init(port: 0, serviceName: "dateline-query"), router: query.router, logger: logger)
            let serverTask = Task { try await server.run() }
            defer { serverTask.cancel() }
            let client = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await server.listeningAddress().port!)
            var entries: [[String: Any]] = []
            for set in sets {
                for text in set.texts {
                    for ranged in [false, true] {
                        let label = self.shape(of: text) + (ranged ? " + date range" : "")
                        // For profiling one shape: DATELINE_SHAPES_ONLY="OR + date range" times that shape alone.
                        if let only = ProcessInfo.processInfo.environment["DATELINE_SHAPES_ONLY"], only != label { continue }
                        // And one query: DATELINE_SHAPES_QUERY='"opec measures"' times the queries with that text alone.
                        if let only = ProcessInfo.processInfo.environment["DATELINE_SHAPES_QUERY"], only != text { continue }
                        let request = SearchRequest(
                            query: text, limit: 10, from: ranged ? corpus.range.from : nil, to: ranged ? corpus.range.to : nil)
                        entries.append(try await self.time(request, query: query, client: client, rounds: rounds).merging([
                            "set": set.name, "shape": label, "query": text,
                            "from": ranged ? corpus.range.from.timeIntervalSince1970 : NSNull(),
                            "to": ranged ? corpus.range.to.timeIntervalSince1970 : NSNull(),
                        ]) { a, _ in a })
                    }
                }
            }
            try await client.close()
            return (entries, query.stats().articleCount, disk)
        }
        try self.writeArticles(corpus)
        let rawText = corpus.submissions.reduce(0) { $0 + ($1.title ?? "").utf8.count + $1.body.utf8.count }
        return [
            "name": corpus.name, "articles": "shapes-\(corpus.name).jsonl", "indexed": run.result.1, "queries": run.result.0,
            "indexBytes": run.result.2.0, "segments": run.result.2.1, "rawTextBytes": rawText,
        ]
    }

    /// The index's bytes by segment file kind (suffix without its dot: "post", "posn", "stor", ...): the files of
    /// the segments the last commit names, and the manifest. A merge's inputs stay in the directory until no
    /// search holds them, and are not counted.
    static func bytesByKind(_ directory: String) -> [String: Int] {
        var bytes: [String: Int] = [:]
        let committed = self.committedSegments(directory)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let kind = name.split(separator: ".").last.map(String.init) ?? name
            guard name == "manifest" || committed.contains(String(name.split(separator: ".").first ?? "")) else { continue }
            bytes[kind, default: 0] += (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
        }
        return bytes
    }

    /// The names of the segments the last commit of the index in `directory` names.
    static func committedSegments(_ directory: String) -> Set<String> {
        // The manifest: a 12-byte header, JSON naming the segments, a 16-byte footer.
        guard let file = FileManager.default.contents(atPath: directory + "/manifest"), file.count > 28,
            let manifest = try? JSONSerialization.jsonObject(with: file.subdata(in: 12..<(file.count - 16))) as? [String: Any],
            let segments = manifest["segments"] as? [[String: Any]]
        else { return [] }
        return Set(segments.compactMap { $0["name"] as? String })
    }

    /// Commits and runs the merges the policy finds due until none is, then the quiet merge, as a service does
    /// once no article has arrived for its quiet-merge delay (a minute by default).
    static func settle(_ query: QueryService) async throws {
        // For comparisons: DATELINE_SHAPES_NO_QUIET_MERGE=1 stops at the merge policy's segments.
        let quiet = ProcessInfo.processInfo.environment["DATELINE_SHAPES_NO_QUIET_MERGE"] == nil
        try query.commit()
        // The service's own commits may have started a merge: wait for it, then merge until nothing is due.
        repeat {
            while query.isMerging { try await Task.sleep(for: .milliseconds(20)) }
        } while query.mergeIfDue(quiet: quiet)
        while query.isMerging { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// One query's median time in process and over loopback, and its top 10 (external ids) for the ranking
    /// comparison.
    static func time(_ request: SearchRequest, query: QueryService, client: DatelineClientConnection, rounds: Int) async throws -> [String: Any] {
        let clock = ContinuousClock()
        var inProcess: [Double] = []
        var loopback: [Double] = []
        var response = try query.search(request)  // warm-up
        for _ in 0..<rounds {
            let begin = clock.now
            response = try query.search(request)
            inProcess.append((clock.now - begin).seconds)
        }
        for _ in 0..<rounds {
            let begin = clock.now
            _ = try await client.send(request)
            loopback.append((clock.now - begin).seconds)
        }
        let top = try response.hits.map { try query.article($0.articleID).article.externalID ?? "" }
        return [
            "inProcess": inProcess.sorted()[rounds / 2], "loopback": loopback.sorted()[rounds / 2],
            "total": response.total, "top10": top,
        ]
    }

    static func writeArticles(_ corpus: Corpus) throws {
        try FileManager.default.createDirectory(at: self.peersDirectory, withIntermediateDirectories: true)
        var lines = Data()
        for submission in corpus.submissions {
            var object: [String: Any] = ["id": submission.externalID ?? "", "title": submission.title ?? "", "body": submission.body]
            if let date = submission.publishedAt { object["date"] = Int(date.timeIntervalSince1970) }
            lines.append(try JSONSerialization.data(withJSONObject: object))
            lines.append(0x0A)
        }
        try lines.write(to: self.peersDirectory.appendingPathComponent("shapes-\(corpus.name).jsonl"))
    }
}
