import DatelineArticles
import DatelineProtocol
import Foundation

/// `--scale-articles N`: the real executables with N *distinct* articles made from Reuters-21578's sentences,
/// against a 1× run (as many generated articles as Reuters has) in the same process, so every figure is a ratio.
///
/// The generator is seeded and documented: article n draws, from a SplitMix64 stream seeded with n, a title (a
/// Reuters title with two of its words swapped for words of other titles), 4 to 12 sentences drawn from every
/// Reuters body (grouped 2 to 4 to a paragraph), a publication time within 2024, one of 40 sources and up to two
/// of Reuters' topics as tags; external id `gen-<n>`. No two articles share their text, so posting lists and match
/// counts grow as a real archive's would, and deduplication keeps every one.
enum GeneratedScaleBenchmark {
    /// SplitMix64: small, seedable, the same on every machine.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Generator: Sendable {
        let sentences: [String]
        let titles: [[Substring]]
        let topics: [String]

        init(items: [ReutersReader.Item]) {
            var sentences: [String] = []
            for item in items {
                let flat = item.body.replacingOccurrences(of: "\n", with: " ")
                for sentence in flat.components(separatedBy: ". ") where sentence.split(separator: " ").count >= 5 {
                    sentences.append(sentence.trimmingCharacters(in: .whitespaces) + ".")
                }
            }
            self.sentences = sentences
            self.titles = items.compactMap(\.title).map { $0.split(separator: " ") }.filter { $0.count >= 3 }
            self.topics = Array(Set(items.flatMap(\.topics))).sorted()
        }

        func article(_ number: Int) -> ArticleSubmission {
            var random = Random(state: UInt64(number) &* 0x2545_F491_4F6C_DD1D ^ 0xDA7E_11AE)
            var title = self.titles.randomElement(using: &random)!
            for _ in 0..<2 {
                let donor = self.titles.randomElement(using: &random)!
                title[Int.random(in: 0..<title.count, using: &random)] = donor.randomElement(using: &random)!
            }
            var paragraphs: [String] = []
            var remaining = Int.random(in: 4...12, using: &random)
            while remaining > 0 {
                let take = min(remaining, Int.random(in: 2...4, using: &random))
                paragraphs.append((0..<take).map { _ in self.sentences.randomElement(using: &random)! }.joined(separator: " "))
                remaining -= take
            }
            let published = Date(timeIntervalSince1970: 1_704_067_200 + Double(Int.random(in: 0..<(366 * 86_400), using: &random)))
            return ArticleSubmission(
                externalID: "gen-\(number)", title: title.joined(separator: " "), body: paragraphs.joined(separator: "\n\n"),
                source: "Feed \(Int.random(in: 1...40, using: &random))", publishedAt: published, language: "en",
                tags: (0..<Int.random(in: 0...2, using: &random)).map { _ in self.topics.randomElement(using: &random)! }
            )
        }
    }

    struct Run {
        var count: Int
        var accepted: UInt64
        var searchable: Double
        var queryMemory: (resident: Int, anonymous: Int)
        /// dateline-query's RssAnon sampled every 250 ms while articles were sent and indexed: median and peak.
        var ingestMemory: (median: Int, peak: Int)
        /// The two most reported people, whose timeline is timed after the restart.
        var people: [String]
        var restartedMemory: (resident: Int, anonymous: Int)
        var entitiesMemory: (resident: Int, anonymous: Int)
        var timelineMemory: (resident: Int, anonymous: Int)
        var servedMemory: (resident: Int, anonymous: Int)
        var logBytes: UInt64
        var indexBytes: UInt64
        var storeBytes: UInt64
        var latency: [IngestBenchmark.Latency]
        var restartToSearch: Double
        var restartToEntities: Double
        var restartToTimeline: Double
    }

    static func run(count: Int, generator: Generator, querySets: [[SearchRequest]], extraction: Bool) async throws -> Run {
        let clock = ContinuousClock()
        let services = try await ServicePair(name: "scale", extraction: extraction)
        defer { services.stop() }
        let (root, ingestPort) = (services.root, services.ingestPort)
        let ingestClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
        let start = clock.now
        // RssAnon every 250 ms while the corpus is sent and indexed (a snapshot alone depends on where the
        // buffers and merges happen to be).
        let queryProcess = services.query.processIdentifier
        let sampler = Task {
            var samples: [Int] = []
            while !Task.isCancelled {
                samples.append(ProtectionBenchmark.memory(of: queryProcess).anonymous)
                try? await Task.sleep(for: .milliseconds(250))
            }
            return samples.sorted()
        }
        // Four lanes of batches of 200, each generated as it is sent (the corpus is never held whole).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for batchStart in stride(from: lane * 200, to: count, by: 800) {
                        let batch = (batchStart..<min(batchStart + 200, count)).map(generator.article)
                        _ = try await ingestClient.send(IngestRequest(articles: batch), timeout: .seconds(600))
                    }
                }
            }
            try await group.waitForAll()
        }
        let ingestStats = try await ingestClient.send(IngestStatsRequest())
        var queryClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: services.queryPort)
        _ = try await queryClient.send(SearchRequest(query: "trade", minimumOffset: ingestStats.endOffset), timeout: .seconds(3_600))
        let searchable = (clock.now - start).seconds
        let afterIngest = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        sampler.cancel()
        let samples = await sampler.value
        let ingestMemory = samples.isEmpty ? (0, 0) : (samples[samples.count / 2], samples[samples.count - 1])
        var latency: [IngestBenchmark.Latency] = []
        for queries in querySets { latency.append(try await IngestBenchmark.measureQueries(queries, port: services.queryPort, clients: 1, rounds: 1)) }
        let people = try await queryClient.send(EntitiesRequest(kinds: [.person], limit: 2)).entities.map(\.name)
        try await queryClient.close()

        // Restart: SIGTERM commits; time from process start to a search, an entity look-up and a timeline.
        services.stopQuery()
        let restart = clock.now
        try await services.startQuery()
        queryClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: services.queryPort)
        _ = try await queryClient.send(SearchRequest(query: "trade"))
        let restartToSearch = (clock.now - restart).seconds
        let restartedMemory = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        _ = try await queryClient.send(EntitiesRequest(limit: 20))
        let restartToEntities = (clock.now - restart).seconds
        let entitiesMemory = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        if !people.isEmpty { _ = try? await queryClient.send(TimelineRequest(actors: people)) }
        let restartToTimeline = (clock.now - restart).seconds
        let timelineMemory = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        for queries in querySets { _ = try await IngestBenchmark.measureQueries(queries, port: services.queryPort, clients: 1, rounds: 1) }
        let served = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        try await queryClient.close()
        try await ingestClient.close()
        let storeBytes = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/query")) ?? []).filter { $0.hasSuffix(".stor") }
            .reduce(UInt64(0)) { $0 + ((try? FileManager.default.attributesOfItem(atPath: root + "/query/" + $1)[.size] as? UInt64) ?? 0) }
        return Run(
            count: count, accepted: ingestStats.articleCount, searchable: searchable,
            queryMemory: (afterIngest.resident, afterIngest.anonymous), ingestMemory: ingestMemory, people: people, restartedMemory: (restartedMemory.resident, restartedMemory.anonymous),
            entitiesMemory: (entitiesMemory.resident, entitiesMemory.anonymous), timelineMemory: (timelineMemory.resident, timelineMemory.anonymous),
            servedMemory: (served.resident, served.anonymous), logBytes: ResourcesBenchmark.directorySize(root + "/ingest"),
            indexBytes: ResourcesBenchmark.directorySize(root + "/query"), storeBytes: storeBytes, latency: latency,
            restartToSearch: restartToSearch, restartToEntities: restartToEntities, restartToTimeline: restartToTimeline
        )
    }

    /// For profiling: indexes `count` generated articles with real processes (extraction off unless `entities`),
    /// prints dateline-query's process id to standard error, then sends both query sets `rounds` times, or with
    /// `entities` an entity listing and a timeline of the two most reported people (attach `perf record -p PID`
    /// meanwhile).
    static func profileQueries(count: Int, rounds: Int, entities: Bool = false) async throws {
        let items = try self.reutersItems()
        let generator = Generator(items: items)
        let queries = IngestBenchmark.queries(from: items) + self.generatedQueries(generator)
        let services = try await ServicePair(name: "profile", extraction: entities)
        defer { services.stop() }
        let (ingestPort, queryPort, query) = (services.ingestPort, services.queryPort, services.query)
        let ingestClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
        var end: UInt64 = 0
        for batchStart in stride(from: 0, to: count, by: 500) {
            end = try await ingestClient.send(IngestRequest(articles: (batchStart..<min(batchStart + 500, count)).map(generator.article)), timeout: .seconds(600)).endOffset
        }
        let queryClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: queryPort)
        _ = try await queryClient.send(SearchRequest(query: "trade", minimumOffset: end), timeout: .seconds(3_600))
        FileHandle.standardError.write(Data("dateline-query pid \(query.processIdentifier)\n".utf8))
        if entities {
            let clock = ContinuousClock()
            for round in 0..<rounds {
                let start = clock.now
                let people = try await queryClient.send(EntitiesRequest(kinds: [.person], limit: 2)).entities.map(\.name)
                let listed = clock.now
                _ = try await queryClient.send(TimelineRequest(actors: people))
                print("round \(round): entity listing \(listed - start), timeline of \(people) \(clock.now - listed)")
            }
        }
        for round in 0..<(entities ? 0 : rounds) {
            let latency = try await IngestBenchmark.measureQueries(queries, port: queryPort, clients: 1, rounds: 1)
            print("round \(round): p50 \(micros(latency.p50)), p99 \(micros(latency.p99))")
        }
        try await queryClient.close()
        try await ingestClient.close()
    }

    /// Every article of Reuters-21578, the generator's material.
    static func reutersItems() throws -> [ReutersReader.Item] {
        var items: [ReutersReader.Item] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: IngestBenchmark.corpus.path).sorted() where file.hasSuffix(".sgm") {
            items += ReutersReader.items(in: try Data(contentsOf: IngestBenchmark.corpus.appendingPathComponent(file)))
        }
        return items
    }

    /// Words of the generated titles, for a second query set the corpus's own titles did not pick.
    static func generatedQueries(_ generator: Generator) -> [SearchRequest] {
        IngestBenchmark.queries(pairing: self.generatedTitleWords(generator), start: 1, end: 260, from: Date(timeIntervalSince1970: 1_714_521_600))  // May 2024
    }

    /// The words of some generated titles (four letters or more, each once).
    static func generatedTitleWords(_ generator: Generator) -> [String] {
        var seen = Set<String>()
        var words: [String] = []
        for number in stride(from: 7, to: 40_000, by: 97) {
            for word in (generator.article(number).title ?? "").split(separator: " ") {
                let word = word.lowercased().filter(\.isLetter)
                if word.count >= 4, seen.insert(word).inserted { words.append(word) }
            }
        }
        return words
    }

    static func report(count: Int, extraction: Bool) async throws -> String {
        let items = try self.reutersItems()
        let generator = Generator(items: items)
        let querySets = [IngestBenchmark.queries(from: items), self.generatedQueries(generator)]
        let base = try await self.run(count: items.count, generator: generator, querySets: querySets, extraction: extraction)
        let scaled = try await self.run(count: count, generator: generator, querySets: querySets, extraction: extraction)
        func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }
        func row(_ name: String, _ a: String, _ b: String, _ ratio: Double?) -> String {
            "| \(name) | \(a) | \(b) | \(ratio.map { String(format: "%.2f×", $0) } ?? "") |"
        }
        var rows = [
            row("articles sent / accepted", "\(base.count) / \(base.accepted)", "\(scaled.count) / \(scaled.accepted)", Double(scaled.accepted) / Double(max(1, base.accepted))),
            row("durable and searchable, articles/s", "\(Int(Double(base.accepted) / base.searchable))", "\(Int(Double(scaled.accepted) / scaled.searchable))",
                (Double(scaled.accepted) / scaled.searchable) / (Double(base.accepted) / base.searchable)),
            row("dateline-query RssAnon after ingest (VmRSS)", "\(mb(base.queryMemory.anonymous)) (\(mb(base.queryMemory.resident)))",
                "\(mb(scaled.queryMemory.anonymous)) (\(mb(scaled.queryMemory.resident)))", Double(scaled.queryMemory.anonymous) / Double(max(1, base.queryMemory.anonymous))),
            row("... while articles were indexed (sampled every 250 ms): median / peak", "\(mb(base.ingestMemory.median)) / \(mb(base.ingestMemory.peak))",
                "\(mb(scaled.ingestMemory.median)) / \(mb(scaled.ingestMemory.peak))", Double(scaled.ingestMemory.peak) / Double(max(1, base.ingestMemory.peak))),
            row("... after a restart", "\(mb(base.restartedMemory.anonymous)) (\(mb(base.restartedMemory.resident)))",
                "\(mb(scaled.restartedMemory.anonymous)) (\(mb(scaled.restartedMemory.resident)))", Double(scaled.restartedMemory.anonymous) / Double(max(1, base.restartedMemory.anonymous))),
            row("... after the restart answered an entity look-up", "\(mb(base.entitiesMemory.anonymous)) (\(mb(base.entitiesMemory.resident)))",
                "\(mb(scaled.entitiesMemory.anonymous)) (\(mb(scaled.entitiesMemory.resident)))", Double(scaled.entitiesMemory.anonymous) / Double(max(1, base.entitiesMemory.anonymous))),
            row("... and a timeline", "\(mb(base.timelineMemory.anonymous)) (\(mb(base.timelineMemory.resident)))",
                "\(mb(scaled.timelineMemory.anonymous)) (\(mb(scaled.timelineMemory.resident)))", Double(scaled.timelineMemory.anonymous) / Double(max(1, base.timelineMemory.anonymous))),
            row("... and both query sets", "\(mb(base.servedMemory.anonymous)) (\(mb(base.servedMemory.resident)))",
                "\(mb(scaled.servedMemory.anonymous)) (\(mb(scaled.servedMemory.resident)))", Double(scaled.servedMemory.anonymous) / Double(max(1, base.servedMemory.anonymous))),
            row("bytes per article: ingest log / query index (of which stored articles)",
                "\(base.logBytes / max(1, base.accepted)) / \(base.indexBytes / max(1, base.accepted)) (\(base.storeBytes / max(1, base.accepted)))",
                "\(scaled.logBytes / max(1, scaled.accepted)) / \(scaled.indexBytes / max(1, scaled.accepted)) (\(scaled.storeBytes / max(1, scaled.accepted)))", nil),
            row("restart to answering a search", String(format: "%.3f s", base.restartToSearch), String(format: "%.3f s", scaled.restartToSearch), scaled.restartToSearch / base.restartToSearch),
            row("... an entity look-up", String(format: "%.3f s", base.restartToEntities), String(format: "%.3f s", scaled.restartToEntities), scaled.restartToEntities / base.restartToEntities),
            row("... a timeline of the two most reported people (\(base.people.joined(separator: " and ")); \(scaled.people.joined(separator: " and ")))",
                String(format: "%.3f s", base.restartToTimeline), String(format: "%.3f s", scaled.restartToTimeline), scaled.restartToTimeline / base.restartToTimeline),
        ]
        for (index, name) in ["Reuters titles' queries", "generated titles' queries"].enumerated() {
            rows.append(row("\(name), top 10 with snippets over loopback, p50", micros(base.latency[index].p50), micros(scaled.latency[index].p50), scaled.latency[index].p50 / base.latency[index].p50))
            rows.append(row("... p99", micros(base.latency[index].p99), micros(scaled.latency[index].p99), scaled.latency[index].p99 / base.latency[index].p99))
        }
        return """
            ### Scale: \(count) distinct generated articles against \(base.count) (real processes, extraction \(extraction ? "on" : "off"))

            | measurement | \(base.count) | \(count) | ratio |
            |---|---|---|---|
            \(rows.joined(separator: "\n"))

            """
    }
}
