import Foundation
/// Runs `body` after a warm-up, `runs` times, and summarises the per-operation time.
struct Measurement {
    var median: Double
    var minimum: Double
    var maximum: Double

    /// Times `iterations` calls of `body` per run; the figures are seconds per call.
    static func time(runs: Int = 5, iterations: Int, _ body: () throws -> Void) rethrows -> Measurement {
        for _ in 0..<max(1, iterations / 10) { try body() }  // warm-up
        var samples: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            let start = clock.now
            for _ in 0..<iterations { try body() }
            samples.append((clock.now - start).seconds / Double(iterations))
        }
        return Measurement(samples)
    }

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        self.median = sorted[sorted.count / 2]
        self.minimum = sorted.first!
        self.maximum = sorted.last!
    }
}

extension Duration {
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}

func micros(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }

func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

import Synchronization

/// Dateline's figures from this run that a later section compares with a peer's.
enum PeerFigures {
    private static let figures = Mutex<[String: Double]>([:])

    static func record(_ values: [String: Double]) { self.figures.withLock { $0.merge(values) { $1 } } }
    static var all: [String: Double] { self.figures.withLock { $0 } }
}

/// Bytes the loopback interface has carried so far (Linux `/proc/net/dev`, received side: on loopback every byte
/// sent is received once), including TCP/IP headers and acknowledgements; nil elsewhere.
func loopbackBytes() -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("lo:") })
    else { return nil }
    return line.split(separator: ":")[1].split(separator: " ").first.flatMap { UInt64($0) }
}

/// Loopback bytes per call of `body`, averaged over `count` calls.
func loopbackBytesPerCall(_ count: Int, _ body: () async throws -> Void) async rethrows -> Double? {
    let before = loopbackBytes()
    try await body()
    guard let before, let after = loopbackBytes() else { return nil }
    return Double(after - before) / Double(count)
}
