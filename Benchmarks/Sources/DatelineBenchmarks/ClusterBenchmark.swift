import DatelineArticles
import DatelineClient
import DatelineProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Dateline on several nodes, as `scripts/cluster.sh` runs it: real `dateline-ingest` and `dateline-query`
/// processes, the ingest log in a local file or in PostgreSQL, clients that know every node.
///
/// - Ingest: Reuters-21578 (extraction off: the log is measured, not the extractor) sent through the client
///   library in batches of 100, four batches in flight per ingest node; the file log, PostgreSQL with one node and
///   PostgreSQL with two, in the same run. Durable is the last acknowledgement; searchable is when a replica
///   following the log has applied it all.
/// - Queries: 8 clients against one replica, then against two (clients spread over them), two query sets.
/// - Failover (``failover(environment:)``, run by `scripts/bench.sh` once per fresh primary and synchronous
///   standby): the time from SIGKILL of the primary's processes to the first ingest acknowledged by the promoted
///   standby, with the promotion included.
///
/// PostgreSQL is started by `scripts/bench.sh` (`scripts/postgres.sh`); its URL comes in
/// `DATELINE_BENCH_POSTGRES`.
enum ClusterBenchmark {
    /// Some ingest nodes on one log and some replicas following all of them, over a fresh directory.
    final class Cluster {
        let root: String
        private(set) var processes: [Process] = []
        private(set) var ingestPorts: [Int] = []
        private(set) var queryPorts: [Int] = []

        init(ingestNodes: Int, replicas: Int, log: String?) async throws {
            self.root = NSTemporaryDirectory() + "dateline-bench-cluster-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
            do {
                for node in 0..<ingestNodes {
                    var arguments = ["--port", "0", "--port-file", "\(self.root)/ingest-\(node).port", "--data-dir", "\(self.root)/ingest-\(node)", "--extraction", "off"]
                    if let log { arguments += ["--log", log] }
                    // Quiet: a failover makes the node log every append that failed while it found the new primary.
                    self.processes.append(try ResourcesBenchmark.start("dateline-ingest", arguments, quiet: true))
                    self.ingestPorts.append(try await ResourcesBenchmark.waitForPort("\(self.root)/ingest-\(node).port"))
                }
                for _ in 0..<replicas { try await self.addReplica() }
            } catch {
                self.stop()
                throw error
            }
        }

        /// Starts one more replica following every ingest node.
        func addReplica() async throws {
            let replica = self.queryPorts.count
            let nodes = self.ingestPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",")
            self.processes.append(try ResourcesBenchmark.start("dateline-query", [
                "--port", "0", "--port-file", "\(self.root)/query-\(replica).port", "--ingest", nodes, "--data-dir", "\(self.root)/query-\(replica)",
            ]))
            self.queryPorts.append(try await ResourcesBenchmark.waitForPort("\(self.root)/query-\(replica).port"))
        }

        /// A client that knows every ingest node and every replica.
        func client() -> DatelineClient {
            var settings = DatelineClientSettings(ingest: ("127.0.0.1", self.ingestPorts[0]), query: ("127.0.0.1", self.queryPorts.first ?? 0), timeout: .seconds(120))
            settings.ingestFallbacks = self.ingestPorts.dropFirst().map { ("127.0.0.1", $0) }
            settings.queryFallbacks = self.queryPorts.dropFirst().map { ("127.0.0.1", $0) }
            return DatelineClient(settings: settings)
        }

        /// Returns once every replica has applied the log up to `offset`.
        func waitUntilApplied(_ offset: UInt64) async throws {
            for port in self.queryPorts {
                let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: port)
                while try await connection.send(QueryStatsRequest()).appliedOffset < offset { try await Task.sleep(for: .milliseconds(2)) }
                try await connection.close()
            }
        }

        func stop() {
            for process in self.processes where process.isRunning { process.terminate() }
            for process in self.processes { process.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: self.root)
        }
    }

    struct IngestRun {
        var durable: Double
        var searchable: Double
        /// Cores kept busy while the articles were made durable: the whole machine, and of that the ingest nodes
        /// and this client (the rest: PostgreSQL, the replica following the log, anything else running).
        var machineCores: Double
        var nodeCores: Double
        var clientCores: Double
    }

    /// CPU seconds the whole machine has spent busy so far (`/proc/stat`: user, nice, system, irq and softirq of
    /// every core; idle, iowait and steal are not work done here).
    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 7 else { return 0 }
        return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// `url` with its own schema, so that every run starts from an empty log.
    static func postgresLog(_ url: String, schema: String) -> String {
        url + (url.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    static func ingestRun(_ submissions: [(source: String, submission: ArticleSubmission)], log: String?, nodes: Int) async throws -> IngestRun {
        let cluster = try await Cluster(ingestNodes: nodes, replicas: 1, log: log)
        defer { cluster.stop() }
        let client = cluster.client()
        let nodes = cluster.processes.prefix(nodes).map(\.processIdentifier)
        func cpu() -> (machine: Double, nodes: Double, client: Double) {
            (self.machineBusySeconds(), nodes.reduce(0) { $0 + ProtectionBenchmark.cpuSeconds(of: $1) }, ProtectionBenchmark.cpuSeconds(of: getpid()))
        }
        let clock = ContinuousClock()
        let cpuBefore = cpu()
        let start = clock.now
        let summary = try await client.ingest(submissions, batchSize: 100, concurrency: 4 * nodes.count)
        let durable = (clock.now - start).seconds
        let cpuAfter = cpu()
        try await cluster.waitUntilApplied(summary.endOffset)
        let searchable = (clock.now - start).seconds
        await client.close()
        guard summary.accepted + summary.duplicates + summary.rejected == submissions.count, summary.unavailable == 0 else {
            throw DatelineError(code: .internal, message: "ingest ended with \(summary.accepted) accepted, \(summary.duplicates) duplicates, \(summary.rejected) rejected, \(summary.unavailable) unavailable of \(submissions.count)")
        }
        return IngestRun(
            durable: durable, searchable: searchable, machineCores: (cpuAfter.machine - cpuBefore.machine) / durable,
            nodeCores: (cpuAfter.nodes - cpuBefore.nodes) / durable, clientCores: (cpuAfter.client - cpuBefore.client) / durable
        )
    }

    static func report(postgres url: String, runs: Int = 3) async throws -> String {
        let items = try GeneratedScaleBenchmark.reutersItems()
        let submissions = items.enumerated().map { (source: "reuters-\($0.offset)", submission: $0.element.submission) }
        let configurations: [(name: String, nodes: Int, log: (Int) -> String?)] = [
            ("file log, one node", 1, { _ in nil }),
            ("PostgreSQL, one node", 1, { run in self.postgresLog(url, schema: "bench_one_\(run)_\(UInt32.random(in: 0...UInt32.max))") }),
            ("PostgreSQL, two nodes", 2, { run in self.postgresLog(url, schema: "bench_two_\(run)_\(UInt32.random(in: 0...UInt32.max))") }),
        ]
        var ingest: [[IngestRun]] = Array(repeating: [], count: configurations.count)
        for run in 0..<runs {
            // Interleaved, so that a busy moment of the machine falls on every configuration alike.
            for (index, configuration) in configurations.enumerated() {
                ingest[index].append(try await self.ingestRun(submissions, log: configuration.log(run), nodes: configuration.nodes))
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func rate(_ runs: [IngestRun], _ key: KeyPath<IngestRun, Double>) -> Double { Double(submissions.count) / median(runs.map { $0[keyPath: key] }) }
        func spread(_ runs: [IngestRun], _ key: KeyPath<IngestRun, Double>) -> String {
            let rates = runs.map { Double(submissions.count) / $0[keyPath: key] }.sorted()
            return "\(Int(median(rates))) (\(Int(rates.first!))–\(Int(rates.last!)))"
        }
        var text = """
            ### Several nodes: the ingest log on PostgreSQL, two ingest nodes, two query replicas

            Real processes on loopback; PostgreSQL 15 on the same machine (started by scripts/bench.sh, fsync on, \
            synchronous_commit on, no standby); Reuters-21578 (\(submissions.count) articles) through the client \
            library, extraction off, batches of 100, four in flight per ingest node. Median of \(runs) runs (min–max).

            | log | articles/s durable | articles/s searchable | durable, × the file log | durable, × one PostgreSQL node | cores busy while ingesting: machine (ingest nodes, client) | machine CPU per article |
            |---|---|---|---|---|---|---|

            """
        let file = rate(ingest[0], \.durable)
        let one = rate(ingest[1], \.durable)
        var machineCores: [Double] = []
        var cpuPerArticle: [Double] = []
        for (index, configuration) in configurations.enumerated() {
            let durable = rate(ingest[index], \.durable)
            machineCores.append(median(ingest[index].map(\.machineCores)))
            cpuPerArticle.append(machineCores[index] / durable)
            text += "| \(configuration.name) | \(spread(ingest[index], \.durable)) | \(spread(ingest[index], \.searchable)) | "
            text += String(format: "%.2f× | %@ | ", durable / file, index == 0 ? "" : String(format: "%.2f×", durable / one))
            text += String(format: "%.2f (%.2f, %.2f) | %.0f µs |\n", machineCores[index], median(ingest[index].map(\.nodeCores)), median(ingest[index].map(\.clientCores)), cpuPerArticle[index] * 1e6)
        }
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        text += """

            Targets: PostgreSQL one node ≥ 0.5× the file log; two nodes ≥ 1.6× one. On this machine the client, both \
            nodes and PostgreSQL share \(Int(cores)) cores. Cores busy are the machine's (`/proc/stat`: user, nice, \
            system, irq, softirq) and the processes' own (`/proc/PID/stat`) CPU time over the time to durable. The \
            ceiling this machine puts on two nodes: at one node's CPU per article, \(Int(cores)) cores carry at most \
            \(String(format: "%.2f", cores / machineCores[1]))× one node's rate (\(Int(cores)) ÷ \(String(format: "%.2f", machineCores[1])) \
            cores busy); two nodes spent \(String(format: "%.2f", cpuPerArticle[2] / cpuPerArticle[1]))× one node's CPU per article.

            """
        text += try await self.replicaReport(submissions: submissions, items: items, postgres: url, runs: runs)
        return text
    }

    /// 8 clients' searches against one replica and against two, on two query sets.
    static func replicaReport(submissions: [(source: String, submission: ArticleSubmission)], items: [ReutersReader.Item], postgres url: String, runs: Int) async throws -> String {
        let cluster = try await Cluster(ingestNodes: 2, replicas: 2, log: self.postgresLog(url, schema: "bench_replicas_\(UInt32.random(in: 0...UInt32.max))"))
        defer { cluster.stop() }
        let client = cluster.client()
        let summary = try await client.ingest(submissions, batchSize: 100, concurrency: 8)
        await client.close()
        try await cluster.waitUntilApplied(summary.endOffset)
        let generator = GeneratedScaleBenchmark.Generator(items: items)
        let march1987 = Date(timeIntervalSince1970: 541_555_200)
        let sets: [(name: String, queries: [SearchRequest])] = [
            ("Reuters titles", IngestBenchmark.queries(from: items)),
            ("generated titles", IngestBenchmark.queries(pairing: GeneratedScaleBenchmark.generatedTitleWords(generator), start: 1, end: 260, from: march1987)),
        ]
        var text = """

            Queries: top 10 with snippets, 8 clients each sending every query of the set in turn, against one replica \
            and against two (clients spread over them), both following the PostgreSQL log written by two nodes. \
            Median of \(runs) runs.

            | query set | queries | one replica, queries/s (p50 / p99) | two replicas, queries/s (p50 / p99) | two ÷ one |
            |---|---|---|---|---|

            """
        for set in sets {
            var one: [IngestBenchmark.Latency] = []
            var two: [IngestBenchmark.Latency] = []
            for _ in 0..<runs {
                one.append(try await IngestBenchmark.measureQueries(set.queries, ports: [cluster.queryPorts[0]], clients: 8, rounds: 2))
                two.append(try await IngestBenchmark.measureQueries(set.queries, ports: cluster.queryPorts, clients: 8, rounds: 2))
            }
            let (a, b) = (IngestBenchmark.LatencyRuns(runs: one), IngestBenchmark.LatencyRuns(runs: two))
            text += "| \(set.name) | \(set.queries.count) | \(Int(a.median.rate)) (\(micros(a.median.p50)) / \(micros(a.median.p99))) | "
            text += "\(Int(b.median.rate)) (\(micros(b.median.p50)) / \(micros(b.median.p99))) | \(String(format: "%.2f×", b.median.rate / a.median.rate)) |\n"
        }
        text += """

            Target: two replicas ≥ 1.8× one with 8 clients, on a machine with a core per replica and cores for the \
            clients. Here the 8 clients, both replicas and their followers share \(ProcessInfo.processInfo.activeProcessorCount) cores: \
            one replica already keeps them busy, so a second one cannot add throughput, only share it.

            """
        return text
    }

    // MARK: Failover

    /// One failover, measured: an ingest node on a primary and its synchronous standby (`DATELINE_BENCH_POSTGRES`
    /// lists both), single-article batches one after another; after 200 acknowledgements the primary's processes
    /// (its data directory `DATELINE_BENCH_PRIMARY_DIR`) are SIGKILLed by `DATELINE_BENCH_POSTGRES_SCRIPT kill`
    /// and the standby (`DATELINE_BENCH_STANDBY_DIR`) promoted by `... promote`. Prints the seconds
    /// from the kill to the first acknowledgement of a batch sent after it, and how many acknowledged articles
    /// the promoted standby lacks (must be 0).
    static func failover(environment: [String: String]) async throws -> String {
        guard let url = environment["DATELINE_BENCH_POSTGRES"], let primary = environment["DATELINE_BENCH_PRIMARY_DIR"],
            let standby = environment["DATELINE_BENCH_STANDBY_DIR"], let script = environment["DATELINE_BENCH_POSTGRES_SCRIPT"]
        else {
            throw DatelineError(code: .invalidArgument, message: "set DATELINE_BENCH_POSTGRES, DATELINE_BENCH_PRIMARY_DIR, DATELINE_BENCH_STANDBY_DIR and DATELINE_BENCH_POSTGRES_SCRIPT (scripts/bench.sh does)")
        }
        let cluster = try await Cluster(ingestNodes: 1, replicas: 0, log: url)
        defer { cluster.stop() }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: cluster.ingestPorts[0])
        let clock = ContinuousClock()
        var acknowledged = Set<String>()
        var killed: ContinuousClock.Instant?
        var promotion: Task<(status: Int32, seconds: Double), any Error>?
        var failover: Duration?
        var index = 0
        while failover == nil {
            if acknowledged.count == 200, killed == nil {
                guard try self.runScript(script, ["kill", primary]) == 0 else {
                    throw DatelineError(code: .internal, message: "\(script) kill \(primary) failed")
                }
                killed = clock.now
                promotion = Task.detached {
                    // Timed on its own: PostgreSQL's part of the failover (pg_ctl promote waits until it is done).
                    let start = ContinuousClock.now
                    let status = try self.runScript(script, ["promote", standby])
                    return (status, (ContinuousClock.now - start).seconds)
                }
            }
            let sentAfterKill = killed != nil
            let article = ArticleSubmission(externalID: "failover-\(index)", body: "Failover story \(index): the trade ministers met in Geneva on item \(index).")
            do {
                let response = try await connection.send(IngestRequest(articles: [article]), timeout: .seconds(20))
                guard let result = response.results.first, result.status == .accepted || result.status == .duplicate else {
                    throw DatelineError(code: .internal, message: "article \(index) was not stored: \(response.results)")
                }
                acknowledged.insert(article.externalID!)
                index += 1
                if sentAfterKill, let killed { failover = clock.now - killed }
            } catch let error as DatelineError where error.isRetryable || error.code == .deadlineExceeded {
                try await Task.sleep(for: .milliseconds(5))  // the node is finding the new primary; the same article again
            }
        }
        guard let promoted = try await promotion?.value, promoted.status == 0 else {
            throw DatelineError(code: .internal, message: "\(script) promote \(standby) failed")
        }
        // Every acknowledged article is on the promoted standby, once: offsets are dense and duplicates are stored
        // once, so the log's end is the number of distinct articles it holds (every append went through this node,
        // which therefore knows the end).
        let stats = try await connection.send(IngestStatsRequest())
        try await connection.close()
        let lost = acknowledged.count - Int(stats.endOffset)
        return String(format: "%.3f %d %d %.3f", failover!.seconds, acknowledged.count, lost, promoted.seconds)
    }

    /// Runs `postgres.sh` with `arguments`; its exit status.
    static func runScript(_ script: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
