import ArgumentParser
import DatelineArticles
import DatelineClient
import DatelineProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `dateline`: send articles to dateline-ingest and questions to dateline-query.
@main
struct Dateline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dateline",
        abstract: "Send news articles to dateline-ingest and ask dateline-query about them.",
        discussion: """
            Exit status: 0 success, 1 a service reported an error, 2 some articles were rejected (or inputs \
            could not be read or held no article), 64 bad arguments, 65 decode found bytes that are not valid \
            Dateline traffic, 69 a service could not be reached, 75 a \
            service went away mid-request, was shutting down, overloaded or too slow, or could not store some \
            articles now: retry the command (for ingest that is safe: articles already stored are detected as \
            duplicates).
            """,
        subcommands: [
            Ingest.self, Search.self, Get.self, Entities.self, Timeline.self, Extract.self, Evaluate.self, TrainNER.self, Stats.self, Health.self,
            Ping.self, Backup.self, Decode.self,
        ]
    )
}

extension Dateline {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send articles: files, directories (recursively), or - for standard input.",
            discussion: """
                Formats: plain text as news sites publish it, JSON (an object or an array), JSON Lines, Reuters-21578 SGML (.sgm). \
                Inside a directory, names starting with a dot are skipped; a path given here is always read (../corpus/ too). \
                A path in which no article is found is an error (exit status 2). \
                With -o json: the counts, and every article's source, externalID, articleID, status (accepted, \
                duplicate, rejected, unavailable) and offset, duplicateOf or reason and reasonCode. Articles the \
                service could not store now (unavailable) make the exit status 75: retry.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Files, directories or - (standard input).")
        var paths: [String]

        @Option(help: "The input format; auto decides by file extension and content.")
        var format: InputFormat = .auto

        @Option(help: "Articles per request.")
        var batch: Int = 100

        @Flag(help: "Return only when dateline-query (every replica given to --query) has indexed everything sent (read-your-writes).")
        var wait = false

        func validate() throws {
            guard !self.paths.isEmpty else { throw ValidationError("give at least one file, directory or -") }
            guard (1...10_000).contains(self.batch) else { throw ValidationError("--batch must be between 1 and 10000") }
        }

        /// Waits until every query replica has indexed up to `offset` (offsets are the same on every replica of
        /// one log). A replica that cannot be asked is reported and passed over; if none can, that is the error.
        func waitUntilIndexed(_ offset: UInt64, by client: DatelineClient) async throws {
            let replicas = client.settings.nodes(of: .query)
            let deadline = ContinuousClock.now + .seconds(max(60, self.global.timeout))
            var lastError: DatelineClientError?
            var confirmed = 0
            for index in replicas.indices {
                do {
                    while try await client.send(QueryStatsRequest(), to: .query, node: index).appliedOffset < offset {
                        guard ContinuousClock.now < deadline else {
                            throw DatelineClientError(
                                service: .query,
                                address: "\(replicas[index].host):\(replicas[index].port)",
                                underlying: DatelineError(
                                    code: .deadlineExceeded,
                                    message: "has not indexed up to offset \(offset) yet; everything sent is stored (see dateline stats)"
                                )
                            )
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    confirmed += 1
                } catch let error as DatelineClientError where error.failsOver && replicas.count > 1 {
                    printError("warning: could not confirm that \(error.address) has indexed the articles: \(error.underlying.message)")
                    lastError = error
                }
            }
            if confirmed == 0, let lastError { throw lastError }
        }

        func run() async throws {
            let (articles, problems) = ArticleFiles.read(self.paths, format: self.format.format)
            for problem in problems { printError(problem.description) }
            let client = self.global.client
            var summary = IngestSummary()
            let interactive = isatty(STDERR_FILENO) == 1
            let total = articles.count
            try await reportingErrors {
                // A progress bar ends its line before anything else is printed, an error included.
                defer { if interactive, total > 0 { FileHandle.standardError.write(Data("\n".utf8)) } }
                summary = try await client.ingest(articles, batchSize: self.batch) { progress in
                    let rate = Double(progress.articles) / max(progress.seconds, 0.001)
                    let line = String(format: "%d/%d articles, %.0f articles/s, %.1f MB/s, ETA %.0f s", progress.articles, total, rate,
                                      Double(progress.bytes) / max(progress.seconds, 0.001) / 1e6, Double(total - progress.articles) / max(rate, 1))
                    if interactive {
                        let width = 30
                        let filled = total == 0 ? width : width * progress.articles / total
                        FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(line)  ".utf8))
                    } else if progress.articles == total || progress.articles % 5_000 < 100 {
                        FileHandle.standardError.write(Data("\(line)\n".utf8))
                    }
                }
                if self.wait, summary.endOffset > 0 {
                    try await self.waitUntilIndexed(summary.endOffset, by: client)
                }
            }
            await client.close()
            let unavailable = summary.results.filter { $0.status == .unavailable }
            if self.global.output == .json {
                try printJSON(summary)
            } else {
                let notStored = unavailable.isEmpty ? "" : ", not stored now \(unavailable.count)"
                print("accepted \(summary.accepted), duplicates \(summary.duplicates), rejected \(summary.rejected)\(notStored) of \(summary.articles) articles in \(String(format: "%.2f", summary.seconds)) s\(self.wait ? "; indexed and searchable" : "")")
                for rejection in summary.rejections.prefix(20) { print("  rejected \(rejection)") }
                if summary.rejections.count > 20 { print("  ... and \(summary.rejections.count - 20) more") }
                for article in unavailable.prefix(20) { print("  not stored now \(article.source): \(article.reason ?? "unavailable")") }
                if unavailable.count > 20 { print("  ... and \(unavailable.count - 20) more") }
            }
            if !unavailable.isEmpty {
                let codes = Set(unavailable.map { $0.reasonCode ?? "unavailable" }).sorted().joined(separator: ", ")
                printError("dateline-ingest at \(self.global.ingest) could not store \(unavailable.count) of \(summary.articles) articles now (\(codes)); \(DatelineClientError.ingestRetryAdvice)")
                throw ExitStatus.retryable
            }
            if summary.rejected > 0 || !problems.isEmpty { throw ExitStatus.partialIngest }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search articles.",
            discussion: """
                Query language: words (all must match), "a phrase", OR, NOT or -word, prefix* and (grouping). \
                Example: dateline search '"rare earth" OR minerals -cocoa' --from 2025-07-01
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The query (may be empty when filters are given: then every article that passes them, newest first).")
        var query: String = ""

        @Option(help: "Only articles published on or after this date: 2025-07-01, 2025-07, 2025-W30, yesterday, 7d, '3 weeks ago', 'last monday', 'this month' (resolved by dateline-query against its clock, in UTC).")
        var from: String?

        @Option(help: "Only articles published within this date's span or before: a day, month or week includes all of it (--to 2025-07 is up to the end of July); now, today, 24h ...")
        var to: String?

        @Option(help: "Same as --from: --since 7d is the last seven days.")
        var since: String?

        @Option(help: "Only this source (repeatable).")
        var source: [String] = []

        @Option(help: "Only articles with this tag or category (repeatable).")
        var tag: [String] = []

        @Option(help: "Only articles mentioning this entity: a name ('Rubio', 'Pakistan', 'US Secretary of State') or an id (repeatable: all must be mentioned).")
        var entity: [String] = []

        @Option(help: "Only articles on this topic, e.g. trade, counterterrorism (repeatable: any).")
        var topic: [String] = []

        @Option(name: .customLong("event-from"), help: "Only articles reporting an event dated on or after this date.")
        var eventFrom: String?

        @Option(name: .customLong("event-to"), help: "Only articles reporting an event dated on or before this date.")
        var eventTo: String?

        @Option(help: "relevance, date, or recent (relevance with a recency decay).")
        var sort: String = "relevance"

        @Option(help: "Hits per page.")
        var limit: Int = 10

        @Option(help: "The cursor printed after a page, for the next page.")
        var after: String?

        @Flag(help: "Also count all matches by source, by tag and by date.")
        var facets = false

        @Option(help: "The date histogram's buckets with --facets: day, week or month.")
        var histogram: String = "month"

        func validate() throws {
            let filtered = !self.entity.isEmpty || !self.topic.isEmpty || self.eventFrom != nil || self.eventTo != nil
                || self.from != nil || self.since != nil || self.to != nil || !self.source.isEmpty || !self.tag.isEmpty
            if self.query.allSatisfy(\.isWhitespace), !filtered {
                throw ValidationError("give a query, or at least one filter (--entity, --topic, --from, ...)")
            }
            guard self.from == nil || self.since == nil else { throw ValidationError("--since is another name for --from: give one") }
            for (name, value) in [("--from", self.from), ("--since", self.since), ("--to", self.to), ("--event-from", self.eventFrom), ("--event-to", self.eventTo)] {
                if let value, DateBound.forServer(value) == nil {
                    throw ValidationError("\(name) '\(value)' is not a date (e.g. 2025-07-26, 'July 26, 2025', 2025-07, 7d, yesterday, 'last monday')")
                }
            }
            guard ["relevance", "date", "recent"].contains(self.sort) else { throw ValidationError("--sort must be relevance, date or recent") }
            guard (1...100).contains(self.limit) else { throw ValidationError("--limit must be between 1 and 100") }
            guard ["day", "week", "month"].contains(self.histogram) else { throw ValidationError("--histogram must be day, week or month") }
        }

        func run() async throws {
            let from = (self.from ?? self.since).flatMap(DateBound.forServer)
            let to = self.to.flatMap(DateBound.forServer)
            let eventFrom = self.eventFrom.flatMap(DateBound.forServer)
            let eventTo = self.eventTo.flatMap(DateBound.forServer)
            let request = SearchRequest(
                query: self.query,
                limit: UInt32(self.limit),
                cursor: self.after,
                from: from?.date,
                to: to?.endDate,
                sources: self.source,
                tags: self.tag,
                sort: ["relevance": .relevance, "date": .date, "recent": .recent][self.sort]!,
                facets: self.facets,
                histogramInterval: ["day": .day, "week": .week, "month": .month][self.histogram]!,
                entities: self.entity,
                topics: self.topic,
                eventFrom: eventFrom?.date,
                eventTo: eventTo?.endDate,
                fromText: from?.text,
                toText: to?.text,
                eventFromText: eventFrom?.text,
                eventToText: eventTo?.text
            )
            guard let response = try await self.global.ask(request, of: .query) else { return }
            var described = self.query.allSatisfy(\.isWhitespace) ? [] : [self.query]
            described += self.entity.map { "entity \($0)" } + self.topic.map { "topic \($0)" }
            func day(_ date: Date) -> String {
                ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime])
            }
            if let from = response.resolvedFrom { described.append("published from \(day(from))") }
            if let to = response.resolvedTo { described.append("published to \(day(to))") }
            if let from = response.resolvedEventFrom { described.append("events from \(day(from))") }
            if let to = response.resolvedEventTo { described.append("events to \(day(to))") }
            print("\(response.total) \(response.total == 1 ? "article matches" : "articles match"): \(described.joined(separator: ", "))")
            let colors = self.global.colors
            for (rank, hit) in response.hits.enumerated() {
                let date = hit.publishedAt.map { String(ISO8601DateFormatter.string(from: $0, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])) } ?? "(no date)"
                print("")
                print("\(rank + 1). \(colors ? "\u{1B}[1m" : "")\(hit.title.isEmpty ? "(untitled)" : hit.title)\(colors ? "\u{1B}[0m" : "")")
                print("   \(date) · \(hit.source.isEmpty ? "(unknown source)" : hit.source) · score \(String(format: "%.2f", hit.score)) · id \(hit.articleID)")
                for snippet in hit.snippets.prefix(2) {
                    let shown = colors
                        ? snippet.replacingOccurrences(of: "[[", with: "\u{1B}[1;33m").replacingOccurrences(of: "]]", with: "\u{1B}[0m")
                        : snippet
                    print("   \(shown)")
                }
            }
            if let next = response.nextCursor { print("\nmore: dateline search \"\(self.query)\" --after \(next)") }
            if let facets = response.facets {
                print("")
                for (name, counts) in [
                    ("sources", facets.sources), ("tags", facets.tags), ("dates", facets.dates), ("entities", facets.entities),
                    ("topics", facets.topics),
                ] where !counts.isEmpty {
                    print("\(name): " + counts.map { "\($0.value) (\($0.count))" }.joined(separator: ", "))
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one article in full.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The article's id (from search or ingest).")
        var id: String

        func run() async throws {
            guard let response = try await self.global.ask(GetArticleRequest(id: self.id), of: .query) else { return }
            let article = response.article
            let rows: [[String]] = [
                ["id", article.id], ["offset", "\(response.offset)"], ["title", article.title ?? "(none)"],
                ["source", article.source ?? "(none)"], ["published", article.publishedAt.map { "\($0)" } ?? "(unknown)"],
                ["dateline", article.datelinePlace ?? "(none)"], ["categories", article.categories.joined(separator: ", ")],
                ["tags", article.tags.joined(separator: ", ")], ["language", article.language ?? "(unknown)"],
                ["missing", article.missingFields.joined(separator: ", ")],
            ]
            print(table(rows))
            print("")
            print(article.paragraphs.joined(separator: "\n\n"))
        }
    }

    struct Entities: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the people, offices, organisations, places and countries the articles mention, most mentioned first.",
            discussion: "Example: dateline entities --type person --match dar"
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "person, office, organization, place, country or designation (repeatable).") var type: [String] = []
        @Option(help: "Only entities whose name, id or acronym contains this (case-insensitive).") var match: String = ""
        @Option(help: "How many.") var limit: Int = 20

        func validate() throws {
            for kind in self.type where EntityKind(name: kind) == nil {
                throw ValidationError("--type '\(kind)' must be one of: " + EntityKind.allCases.map(\.description).joined(separator: ", "))
            }
            guard (1...1000).contains(self.limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        }

        func run() async throws {
            let request = EntitiesRequest(match: self.match, kinds: self.type.compactMap(EntityKind.init(name:)), limit: UInt32(self.limit))
            guard let response = try await self.global.ask(request, of: .query) else { return }
            var rows = [["id", "type", "name", "country", "articles", "mentions", "titles / offices"]]
            for entity in response.entities {
                let details = (entity.titles + entity.offices.filter { !$0.hasPrefix("office:") || entity.kind != .person } + (entity.acronym.map { ["(\($0))"] } ?? []))
                rows.append([
                    entity.id, entity.kind.description, entity.name, entity.country ?? "", "\(entity.articleCount)", "\(entity.mentionCount)",
                    details.joined(separator: ", "),
                ])
            }
            print(table(rows))
            print("\(response.entities.count) of \(response.total) entities")
        }
    }

    struct Timeline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Engagements involving all the named actors, in date order, with type, place, topics, sources and conflicts.",
            discussion: """
                Actors are people ("Rubio", "Ishaq Dar"), offices ("US Secretary of State": the office and whoever holds it), \
                organisations or countries ("Pakistan", "US"), by name or id. Example: dateline timeline Rubio Dar
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "People, offices, organisations or countries.") var actors: [String]
        @Option(help: "Only events on or after this date.") var from: String?
        @Option(help: "Only events on or before this date.") var to: String?
        @Option(help: "Only these event codes, comma-separated (e.g. 041,043), or names: call, meeting, visit, consult, statement, designation.") var type: String?
        @Option(help: "The most engagements shown (the latest).") var limit: Int = 100

        static let typeNames: [String: [String]] = [
            "call": ["041"], "meeting": ["043", "044", "040"], "meet": ["043", "044", "040"], "visit": ["042", "043"],
            "consult": ["040"], "statement": ["010"], "designation": ["163"], "intent": ["036"], "negotiate": ["046"],
        ]

        var codes: [String] {
            (self.type ?? "").split(separator: ",").flatMap { part in
                let text = part.trimmingCharacters(in: .whitespaces)
                return Self.typeNames[text.lowercased()] ?? [text]
            }
        }

        func validate() throws {
            guard !self.actors.isEmpty else { throw ValidationError("name at least one actor") }
            for (name, value) in [("--from", self.from), ("--to", self.to)] {
                if let value, DateBound.resolved(value, now: Date()) == nil {
                    throw ValidationError("\(name) '\(value)' is not a date (e.g. 2025-07-26, 2025-07, 30d, 'last monday')")
                }
            }
            for code in self.codes where !(code.count == 3 && code.allSatisfy(\.isNumber)) {
                throw ValidationError("--type '\(code)' is neither a 3-digit event code nor one of: " + Self.typeNames.keys.sorted().joined(separator: ", "))
            }
            guard (1...1000).contains(self.limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        }

        func run() async throws {
            let request = TimelineRequest(
                actors: self.actors,
                from: self.from.flatMap { DateBound.resolved($0, now: Date()) }?.start,
                to: self.to.flatMap { DateBound.resolved($0, now: Date()) }?.end,
                codes: self.codes,
                limit: UInt32(self.limit)
            )
            guard let response = try await self.global.ask(request, of: .query) else { return }
            print("Engagements of " + response.actors.map { "\($0.name) [\($0.ids.prefix(3).joined(separator: ", "))]" }.joined(separator: " and ") + ": \(response.total)")
            for actor in response.actors where !actor.alternatives.isEmpty {
                let others = actor.alternatives.map { "\($0.name) (\($0.articleCount) article\($0.articleCount == 1 ? "" : "s"))" }
                print("   '\(actor.query)' also matches \(others.joined(separator: ", ")): name one in full to choose it")
            }
            let bold = self.global.colors ? "\u{1B}[1m" : "", reset = self.global.colors ? "\u{1B}[0m" : ""
            for engagement in response.engagements {
                print("")
                let place = engagement.placeName.map { " in \($0)" } ?? ""
                print("\(bold)\(engagement.date ?? "(undated)")  \(engagement.label) [\(engagement.code)]\(place)\(reset)")
                let people = zip(engagement.participants, engagement.participantNames).filter { $0.0.hasPrefix("person:") || $0.0.hasPrefix("org:") }.map(\.1)
                if !people.isEmpty { print("   with: " + people.joined(separator: ", ")) }
                if !engagement.topics.isEmpty { print("   topics: " + engagement.topics.joined(separator: ", ")) }
                for report in engagement.reports {
                    let published = report.publishedAt.map { ISO8601DateFormatter.string(from: $0, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate]) } ?? "?"
                    let source = report.source.isEmpty ? "article \(report.articleID)" : "\(report.source) (\(report.articleID))"
                    let dated = report.dateText.map { " — \"\($0)\" = \(report.date ?? "?")" } ?? ""
                    print("   reported by \(source), published \(published)\(report.isBackReference ? ", as an earlier engagement" : "")\(dated)")
                }
                for conflict in engagement.conflicts { print("   ⚠ \(conflict)") }
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        func memory(_ memory: ProcessMemory?) -> String {
            guard let memory else { return "—" }
            return String(format: "%.1f / %.1f MB", Double(memory.residentBytes) / 1e6, Double(memory.peakResidentBytes) / 1e6)
        }

        static let configuration = CommandConfiguration(abstract: "Both services' figures, side by side.")
        @OptionGroup var global: GlobalOptions

        struct Both: Encodable {
            var ingest: IngestStatsResponse?
            var query: QueryStatsResponse?
            var errors: [String]
        }

        func run() async throws {
            let client = self.global.client
            var both = Both(errors: [])
            var failures: [DatelineClientError] = []
            do { both.ingest = try await client.send(IngestStatsRequest(), to: .ingest) } catch let error as DatelineClientError {
                failures.append(error)
            }
            do { both.query = try await client.send(QueryStatsRequest(), to: .query) } catch let error as DatelineClientError {
                failures.append(error)
            }
            both.errors = failures.map(\.description)
            await client.close()
            if self.global.output == .json {
                try printJSON(both)
            } else {
                let i = both.ingest
                let q = both.query
                func show(_ value: (some CustomStringConvertible)?) -> String { value.map(\.description) ?? "—" }
                print(table([
                    ["", "dateline-ingest", "dateline-query"],
                    ["articles", show(i?.articleCount), show(q?.articleCount)],
                    ["offset", show(i?.endOffset), show(q?.appliedOffset)],
                    ["lag", "", show(q?.lag)],
                    ["following", "", show(q?.following)],
                    ["bytes", show(i?.bytesOnDisk), show(q?.indexBytes)],
                    ["segments / terms", show(i?.segments), show(q?.indexTerms)],
                    ["accepted / dup / rejected", i.map { "\($0.accepted) / \($0.duplicates) / \($0.rejected)" } ?? "—", ""],
                    ["ingest rate (1 min)", i.map { String(format: "%.1f/s", $0.ingestRatePerSecond) } ?? "—", ""],
                    ["fsync", i.map { String(format: "%d, mean %.0f µs (%@)", $0.fsyncCount, $0.fsyncMeanMicroseconds, $0.durability) } ?? "—", ""],
                    ["followers", i.map { $0.followers.map { "\($0.name)@\($0.position)" }.joined(separator: ", ") } ?? "—", ""],
                    ["queries, p50 / p99", "", q.map { String(format: "%d, %.0f / %.0f µs", $0.queries, $0.queryP50Microseconds, $0.queryP99Microseconds) } ?? "—"],
                    ["memory (resident / peak)", memory(i?.memory), memory(q?.memory)],
                ]))
                for error in both.errors { printError(error) }
            }
            if !failures.isEmpty { throw ExitStatus.of(failures) }
        }
    }

    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether both services are up.")
        @OptionGroup var global: GlobalOptions

        struct Report: Encodable {
            var service: String
            var status: String
            var version: String?
            var uptimeSeconds: Double?
            var details: [String: String]
            var error: String?
        }

        func run() async throws {
            let client = self.global.client
            var reports: [Report] = []
            var failures: [DatelineClientError] = []
            for service in [DatelineService.ingest, .query] {
                do {
                    let health = try await client.send(HealthRequest(), to: service)
                    reports.append(Report(service: service.rawValue, status: "\(health.status)", version: health.version, uptimeSeconds: health.uptimeSeconds, details: health.details))
                } catch let error as DatelineClientError {
                    failures.append(error)
                    reports.append(Report(service: service.rawValue, status: error.isUnreachable ? "unreachable" : "error", details: [:], error: error.description))
                }
            }
            await client.close()
            if self.global.output == .json {
                try printJSON(reports)
            } else {
                print(table([["service", "status", "version", "uptime", "details"]] + reports.map {
                    [$0.service, $0.status, $0.version ?? "", $0.uptimeSeconds.map { String(format: "%.0f s", $0) } ?? "",
                     $0.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")]
                }))
                for report in reports { if let error = report.error { printError(error) } }
            }
            if !failures.isEmpty { throw ExitStatus.of(failures) }
        }
    }

    struct Ping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Round-trip times to both services.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Pings per service.") var count: Int = 3

        func run() async throws {
            let client = self.global.client
            struct Result: Encodable { var service: String; var roundTripMicroseconds: [Double]; var error: String? }
            var results: [Result] = []
            var failures: [DatelineClientError] = []
            for service in [DatelineService.ingest, .query] {
                var times: [Double] = []
                do {
                    for _ in 0..<max(1, self.count) {
                        let start = ContinuousClock.now
                        _ = try await client.send(DatelineProtocol.Ping(payload: Data("dateline".utf8)), to: service)
                        let elapsed = ContinuousClock.now - start
                        times.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                    }
                    results.append(Result(service: service.rawValue, roundTripMicroseconds: times))
                } catch let error as DatelineClientError {
                    failures.append(error)
                    results.append(Result(service: service.rawValue, roundTripMicroseconds: times, error: error.description))
                }
            }
            await client.close()
            if self.global.output == .json {
                try printJSON(results)
            } else {
                for result in results {
                    if let error = result.error { printError(error); continue }
                    print("\(result.service): " + result.roundTripMicroseconds.map { String(format: "%.0f µs", $0) }.joined(separator: ", "))
                }
            }
            if !failures.isEmpty { throw ExitStatus.of(failures) }
        }
    }
}

/// The `--format` values of `ingest`.
enum InputFormat: String, ExpressibleByArgument, CaseIterable {
    case auto, text, json, jsonl, reuters

    var format: ArticleFiles.Format { ArticleFiles.Format(rawValue: self.rawValue)! }
}

/// How the CLI passes a date the user typed.
enum DateBound {
    /// What a search sends: text the server resolves against its clock (``DateExpression``), or, for the forms
    /// only the article-date reader knows (`July 26, 2025`), the date itself (`endDate`: the end of that day).
    struct Search {
        var text: String?
        var date: Date?
        var endDate: Date?
    }

    static func forServer(_ value: String) -> Search? {
        if (try? DateExpression(parsing: value)) != nil { return Search(text: value) }
        guard let parsed = ArticleDates.parse(value) else { return nil }
        return Search(date: parsed.date, endDate: parsed.precision == .day ? parsed.date.addingTimeInterval(86_399.999) : parsed.date)
    }

    /// The span `value` names, resolved here (requests without date text: timelines).
    static func resolved(_ value: String, now: Date) -> DateExpression.DateSpan? {
        if let expression = try? DateExpression(parsing: value) { return expression.resolve(now: now) }
        guard let parsed = ArticleDates.parse(value) else { return nil }
        return DateExpression.DateSpan(start: parsed.date, end: parsed.precision == .day ? parsed.date.addingTimeInterval(86_399.999) : parsed.date)
    }
}
