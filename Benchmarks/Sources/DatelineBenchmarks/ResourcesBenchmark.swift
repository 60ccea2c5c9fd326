import DatelineArticles
import DatelineProtocol
import Foundation

/// The real executables, as a user runs them: `dateline-ingest` and `dateline-query` as processes, the Reuters
/// corpus sent by `dateline ingest DIR --wait` (time until everything is searchable), then each service's peak
/// memory, the bytes on disk, and `dateline-query`'s restart to ready (stopped with SIGTERM, which commits its
/// index, then started again).
enum ResourcesBenchmark {
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

    static func start(_ name: String, _ arguments: [String], quiet: Bool = false) throws -> Process {
        let process = Process()
        process.executableURL = self.binaries.appendingPathComponent(name)
        // DATELINE_BENCH_LOG_LEVEL=debug: every service's log on the benchmark's standard error (for diagnosing a run).
        let level = ProcessInfo.processInfo.environment["DATELINE_BENCH_LOG_LEVEL"]
        process.arguments = arguments + ["--log-level", level ?? "error"]
        process.standardOutput = FileHandle.nullDevice
        if quiet, level == nil { process.standardError = FileHandle.nullDevice }
        try process.run()
        return process
    }

    static func waitForPort(_ file: String) async throws -> Int {
        for _ in 0..<2_000 {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return port }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw DatelineError(code: .unavailable, message: "no port in \(file)")
    }

    static func directorySize(_ path: String) -> UInt64 {
        let files = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
        return files.reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + file)[.size] as? UInt64) ?? 0)
        }
    }

    struct Run {
        var searchable: Double
        var restartToReady: Double
        var ingestStats: IngestStatsResponse
        var queryStats: QueryStatsResponse
        var restartedStats: QueryStatsResponse
        var snapshotBytes: UInt64
        /// dateline-query's VmRSS and RssAnon after the ingest, after the restart, and once the restarted entity
        /// index is rebuilt; and the restart's time to that point.
        var queryMemory: (resident: Int, anonymous: Int)
        var restartedMemory: (resident: Int, anonymous: Int)
        var warmMemory: (resident: Int, anonymous: Int)
        var restartToEntitiesReady: Double
        var restartToEntities: Double
    }

    static func report(corpus: URL, runs: Int = 3) async throws -> String {
        let required = ["dateline-ingest", "dateline-query", "dateline"]
        guard required.allSatisfy({ FileManager.default.isExecutableFile(atPath: self.binaries.appendingPathComponent($0).path) }) else {
            return "### Resources with the real executables\n\nSkipped: build them beside the benchmark (scripts/bench.sh does).\n"
        }
        // The article text the corpus holds, for MB/s.
        var textBytes = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: corpus.path) where file.hasSuffix(".sgm") {
            for item in ReutersReader.items(in: try Data(contentsOf: corpus.appendingPathComponent(file))) {
                textBytes += item.body.utf8.count + (item.title?.utf8.count ?? 0)
            }
        }
        let textMegabytes = Double(textBytes) / 1e6
        var results: [Run] = []
        for _ in 0..<max(1, runs) { results.append(try await self.run(corpus: corpus)) }
        var withoutExtraction: [Run] = []
        for _ in 0..<max(1, runs) { withoutExtraction.append(try await self.run(corpus: corpus, extraction: false)) }
        let last = results[results.count - 1]
        func spread(_ values: [Double], _ format: (Double) -> String) -> String {
            let sorted = values.sorted()
            let median = format(sorted[sorted.count / 2])
            return sorted.count > 1 ? "\(median) (\(format(sorted.first!))–\(format(sorted.last!)))" : median
        }
        let count = Double(last.ingestStats.articleCount)
        func megabytes(_ memory: ProcessMemory?, peak: Bool) -> String {
            guard let memory else { return "—" }
            return String(format: "%.0f MB", Double(peak ? memory.peakResidentBytes : memory.residentBytes) / 1e6)
        }
        let articles = max(1, last.ingestStats.articleCount)
        func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }
        return """
            ### Resources with the real executables (`dateline ingest reuters21578/*.sgm --wait` against `dateline-ingest` and `dateline-query` processes; median of \(results.count) runs, min–max)

            | measurement | figure |
            |---|---|
            | the CLI, from start until all \(last.ingestStats.articleCount) articles are searchable (extraction on, fsync always), articles/s | \(spread(results.map { count / $0.searchable }) { "\(Int($0))" }) |
            | ... with `dateline-ingest --extraction off` | \(spread(withoutExtraction.map { count / $0.searchable }) { "\(Int($0))" }) |
            | ... in MB of article text per second (extraction on / off) | \(spread(results.map { textMegabytes / $0.searchable }) { String(format: "%.1f", $0) }) / \(spread(withoutExtraction.map { textMegabytes / $0.searchable }) { String(format: "%.1f", $0) }) |
            | dateline-ingest memory, resident / peak | \(megabytes(last.ingestStats.memory, peak: false)) / \(megabytes(last.ingestStats.memory, peak: true)) |
            | dateline-query memory, resident / peak | \(megabytes(last.queryStats.memory, peak: false)) / \(megabytes(last.queryStats.memory, peak: true)) |
            | dateline-query memory after ingest, VmRSS / RssAnon (anonymous: the heap, not the mapped index) | \(mb(last.queryMemory.resident)) / \(mb(last.queryMemory.anonymous)) |
            | dateline-query memory after a restart from its index, VmRSS / RssAnon; after it answered an entity look-up and a timeline | \(mb(last.restartedMemory.resident)) / \(mb(last.restartedMemory.anonymous)); \(mb(last.warmMemory.resident)) / \(mb(last.warmMemory.anonymous)) |
            | bytes on disk per article: ingest log / query index | \(last.ingestStats.bytesOnDisk / articles) / \(last.snapshotBytes / articles) |
            | dateline-query restart (process start) to answering searches, from its index on disk | \(spread(results.map(\.restartToReady)) { String(format: "%.3f s", $0) }) |
            | ... to answering an entity look-up (the 20 most reported of every entity) | \(spread(results.map(\.restartToEntities)) { String(format: "%.3f s", $0) }) |
            | ... and then a timeline of Reagan and Baker (read from the segments, nothing rebuilt) | \(spread(results.map(\.restartToEntitiesReady)) { String(format: "%.3f s", $0) }) |

            """
    }

    static func run(corpus: URL, extraction: Bool = true) async throws -> Run {
        let clock = ContinuousClock()
        let services = try await ServicePair(name: "resources", extraction: extraction)
        defer { services.stop() }
        let (root, ingestPort) = (services.root, services.ingestPort)

        // The CLI, as a user runs it, until everything is searchable.
        let cli = Process()
        cli.executableURL = self.binaries.appendingPathComponent("dateline")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".sgm") }.sorted()
            .map { corpus.appendingPathComponent($0).path }
        cli.arguments = ["ingest"] + files + ["--wait", "--ingest", "127.0.0.1:\(ingestPort)", "--query", "127.0.0.1:\(services.queryPort)"]
        cli.standardOutput = FileHandle.nullDevice
        cli.standardError = FileHandle.nullDevice
        let start = clock.now
        try cli.run()
        cli.waitUntilExit()
        let searchable = (clock.now - start).seconds

        let ingestClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: ingestPort)
        let ingestStats = try await ingestClient.send(IngestStatsRequest())
        var queryClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: services.queryPort)
        let queryStats = try await queryClient.send(QueryStatsRequest())
        try await queryClient.close()
        let afterIngest = ProtectionBenchmark.memory(of: services.query.processIdentifier)

        // Restart dateline-query: SIGTERM commits its index; time from start to answering a search.
        services.stopQuery()
        let restart = clock.now
        try await services.startQuery()
        queryClient = try await DatelineClientConnection.connect(host: "127.0.0.1", port: services.queryPort)
        var answered = try await queryClient.send(SearchRequest(query: "cocoa"))
        while answered.appliedOffset < ingestStats.endOffset {
            try await Task.sleep(for: .milliseconds(5))
            answered = try await queryClient.send(SearchRequest(query: "cocoa"))
        }
        let restartToReady = (clock.now - restart).seconds
        let restartedStats = try await queryClient.send(QueryStatsRequest())
        let afterRestart = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        // Entity look-ups and timelines read the segments' annexes: answered at once, nothing is rebuilt.
        _ = try await queryClient.send(EntitiesRequest(limit: 20))
        let restartToEntities = (clock.now - restart).seconds
        _ = try? await queryClient.send(TimelineRequest(actors: ["Reagan", "Baker"]))
        let restartToEntitiesReady = (clock.now - restart).seconds
        let warm = ProtectionBenchmark.memory(of: services.query.processIdentifier)
        try await queryClient.close()
        try await ingestClient.close()
        services.stopProcesses()

        return Run(
            searchable: searchable, restartToReady: restartToReady, ingestStats: ingestStats, queryStats: queryStats,
            restartedStats: restartedStats, snapshotBytes: self.directorySize(root + "/query"),
            queryMemory: (afterIngest.resident, afterIngest.anonymous), restartedMemory: (afterRestart.resident, afterRestart.anonymous),
            warmMemory: (warm.resident, warm.anonymous), restartToEntitiesReady: restartToEntitiesReady, restartToEntities: restartToEntities
        )
    }
}

/// `dateline-ingest` and `dateline-query` as processes over fresh directories (removed by ``stop()``), the query
/// service following the ingest service; the query service can be restarted over the same index.
final class ServicePair {
    let root: String
    let ingest: Process
    let ingestPort: Int
    private(set) var query: Process
    private(set) var queryPort: Int

    init(name: String, extraction: Bool) async throws {
        self.root = NSTemporaryDirectory() + "dateline-bench-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        self.ingest = try ResourcesBenchmark.start(
            "dateline-ingest", ["--port", "0", "--port-file", self.root + "/ingest.port", "--data-dir", self.root + "/ingest", "--extraction", extraction ? "on" : "off"]
        )
        do {
            self.ingestPort = try await ResourcesBenchmark.waitForPort(self.root + "/ingest.port")
            self.query = try ResourcesBenchmark.start("dateline-query", Self.queryArguments(root: self.root, ingestPort: self.ingestPort))
            self.queryPort = try await ResourcesBenchmark.waitForPort(self.root + "/query.port")
        } catch {
            self.ingest.terminate()
            throw error
        }
    }

    private static func queryArguments(root: String, ingestPort: Int) -> [String] {
        ["--port", "0", "--port-file", root + "/query.port", "--ingest", "127.0.0.1:\(ingestPort)", "--data-dir", root + "/query"]
    }

    /// Stops dateline-query with SIGTERM (it commits its index) and waits for it to exit.
    func stopQuery() {
        self.query.terminate()
        self.query.waitUntilExit()
        try? FileManager.default.removeItem(atPath: self.root + "/query.port")
    }

    /// Starts dateline-query again over its index; returns once it listens.
    func startQuery() async throws {
        self.query = try ResourcesBenchmark.start("dateline-query", Self.queryArguments(root: self.root, ingestPort: self.ingestPort))
        self.queryPort = try await ResourcesBenchmark.waitForPort(self.root + "/query.port")
    }

    /// Stops both services (if running) and waits for them to exit; their directories stay.
    func stopProcesses() {
        for process in [self.query, self.ingest] where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Stops both services and removes their directories.
    func stop() {
        self.stopProcesses()
        try? FileManager.default.removeItem(atPath: self.root)
    }
}
