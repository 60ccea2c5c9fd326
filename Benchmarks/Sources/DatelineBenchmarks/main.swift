import Foundation

// Prints a Markdown report of the protocol benchmarks. Build in release mode:
//   swift run -c release --package-path Benchmarks DatelineBenchmarks [--quick]
let quick = CommandLine.arguments.contains("--quick")
let onlyRoundTrips = CommandLine.arguments.contains("--round-trips")
let onlyCodec = CommandLine.arguments.contains("--codec")
var report = "## Dateline protocol benchmarks\n\n"
report += "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; \(quick ? "quick run" : "full run").\n\n"
if !onlyRoundTrips { report += try CodecBenchmark.report(quick: quick) }
print(report, terminator: "")
if !onlyCodec {
    let roundTrips = try await RoundTripBenchmark.report(quick: quick)
    print("\n" + roundTrips)
}
