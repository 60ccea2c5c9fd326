import DatelineQuery
import Foundation
import Logging

// Prints a Markdown report of the protocol benchmarks. Build in release mode:
//   swift run -c release --package-path Benchmarks DatelineBenchmarks [--quick]
let quick = CommandLine.arguments.contains("--quick")
let onlyRoundTrips = CommandLine.arguments.contains("--round-trips")
let onlyCodec = CommandLine.arguments.contains("--codec")
let onlyIngest = CommandLine.arguments.contains("--ingest")
if CommandLine.arguments == [CommandLine.arguments[0], "--resources"] {
    print(try await ResourcesBenchmark.report(corpus: IngestBenchmark.corpus))
    exit(0)
}
if let index = CommandLine.arguments.firstIndex(of: "--scale-articles"), index + 1 < CommandLine.arguments.count, let count = Int(CommandLine.arguments[index + 1]) {
    print(try await GeneratedScaleBenchmark.report(count: count, extraction: !CommandLine.arguments.contains("--extraction-off")))
    exit(0)
}
if let index = CommandLine.arguments.firstIndex(of: "--profile-queries"), index + 1 < CommandLine.arguments.count, let count = Int(CommandLine.arguments[index + 1]) {
    try await GeneratedScaleBenchmark.profileQueries(count: count, rounds: CommandLine.arguments.contains("--entities") ? 200 : 20, entities: CommandLine.arguments.contains("--entities"))
    exit(0)
}
if CommandLine.arguments == [CommandLine.arguments[0], "--cluster"] {
    // Several nodes on PostgreSQL (scripts/bench.sh starts it and sets DATELINE_BENCH_POSTGRES).
    guard let url = ProcessInfo.processInfo.environment["DATELINE_BENCH_POSTGRES"] else {
        print("### Several nodes\n\nSkipped: set DATELINE_BENCH_POSTGRES (scripts/bench.sh starts a PostgreSQL server and does).\n")
        exit(0)
    }
    print(try await ClusterBenchmark.report(postgres: url))
    exit(0)
}
if CommandLine.arguments == [CommandLine.arguments[0], "--cluster-failover"] {
    // One failover of a primary to its synchronous standby, both set up by scripts/bench.sh: "seconds acknowledged lost promotion".
    print(try await ClusterBenchmark.failover(environment: ProcessInfo.processInfo.environment))
    exit(0)
}
if CommandLine.arguments.contains("--metrics") {
    // What the request metrics cost: echo, metrics off and metrics on, in one run.
    print(try await MetricsBenchmark.report(quick: quick))
    exit(0)
}
if CommandLine.arguments.contains("--tls") {
    // Round trips with TLS beside plain TCP only.
    print(try await TLSBenchmark.report(quick: quick))
    exit(0)
}
if CommandLine.arguments == [CommandLine.arguments[0], "--protection"] {
    print(try await ProtectionBenchmark.report())
    exit(0)
}
if let index = CommandLine.arguments.firstIndex(of: "--profile-pings"), index + 1 < CommandLine.arguments.count, let window = Int(CommandLine.arguments[index + 1]) {
    // Pings with WINDOW in flight for 20 s, for perf to watch.
    try await RoundTripBenchmark.profilePings(window: window, seconds: 20)
    exit(0)
}
if CommandLine.arguments.contains("--ingest-rate") {
    // Durable and searchable rates of the whole corpus through the protocol, three runs; extraction off unless
    // `--with-extraction` (for profiling either).
    let submissions = try GeneratedScaleBenchmark.reutersItems().map(\.submission)
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let extraction = CommandLine.arguments.contains("--with-extraction")
    for _ in 0..<3 {
        let run = try await IngestBenchmark.ingestRun(submissions, extraction: extraction, logger: logger) { service, query in
            // A second follower replaying the whole log alone: the follower's own rate.
            let replaying = QueryService(configuration: QueryServiceConfiguration(ingestPort: query.configuration.ingestPort), logger: logger)
            let clock = ContinuousClock()
            let start = clock.now
            let task = Task { try await replaying.run() }
            let end = service.stats().endOffset
            while replaying.appliedOffset < end { try await Task.sleep(for: .milliseconds(1)) }
            let seconds = (clock.now - start).seconds
            task.cancel()
            _ = await task.result
            return Int(Double(end) / seconds)
        }
        print("\(submissions.count) articles: durable \(Int(Double(submissions.count) / run.durable))/s, searchable \(Int(Double(submissions.count) / run.searchable))/s; a follower replaying the log alone \(run.result)/s")
    }
    exit(0)
}
if CommandLine.arguments.contains("--reply-path") {
    // Where a search's time goes between the index and the caller.
    let rounds = CommandLine.arguments.firstIndex(of: "--rounds").flatMap { Int(CommandLine.arguments[$0 + 1]) } ?? 3
    print(try await ReplyPathBenchmark.report(rounds: rounds, onDisk: CommandLine.arguments.contains("--on-disk")))
    exit(0)
}
if CommandLine.arguments.contains("--shapes") {
    // Per-shape query cost only (peers.py adds Tantivy's figures beside it).
    print(try await ShapeBenchmark.report(items: GeneratedScaleBenchmark.reutersItems(), quick: quick))
    exit(0)
}
if CommandLine.arguments.contains("--extraction") {
    // In-process extraction rates only (for profiling).
    print(await IngestBenchmark.extractionOnlyReport())
    exit(0)
}
var report = "## Dateline protocol benchmarks\n\n"
report += "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; \(quick ? "quick run" : "full run").\n\n"
if !onlyRoundTrips && !onlyIngest { report += try CodecBenchmark.report(quick: quick) }
print(report, terminator: "")
if !onlyCodec && !onlyRoundTrips {
    print("\n" + (try await IngestBenchmark.report(quick: quick)))
    print(try await ReplyPathBenchmark.report(rounds: quick ? 1 : 3, onDisk: true))
    // scripts/bench.sh times the shapes in a step of their own, right before Tantivy's (--no-shapes here).
    if !CommandLine.arguments.contains("--no-shapes") {
        print(try await ShapeBenchmark.report(items: GeneratedScaleBenchmark.reutersItems(), quick: quick))
    }
    if !quick || CommandLine.arguments.contains("--resources") {
        print(try await ResourcesBenchmark.report(corpus: IngestBenchmark.corpus))
    }
    print(try await ProtectionBenchmark.report())
}
if onlyCodec && CommandLine.arguments.contains("--grpc") {
    // The codec against swift-protobuf's generated code (and gRPC's round trips, without ours to compare).
    print(try await GRPCBenchmark.report(quick: quick, dateline: PeerFigures.all))
}
if !onlyCodec && !onlyIngest {
    let roundTrips = try await RoundTripBenchmark.report(quick: quick)
    print("\n" + roundTrips)
    print(try await TLSBenchmark.report(quick: quick))
    print(try await MetricsBenchmark.report(quick: quick))
    if !onlyRoundTrips || CommandLine.arguments.contains("--grpc") {
        print(try await GRPCBenchmark.report(quick: quick, dateline: PeerFigures.all))
    }
}
