/// Capped exponential backoff with jitter, for every reconnect and retry loop.
///
/// The n-th delay (from 0) is drawn uniformly from `[base/2, base]` where `base = min(maximum, initial · 2ⁿ)`
/// ("equal jitter"): it grows fast, never exceeds `maximum`, and many clients that failed together do not
/// retry together.
public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    /// Failures since the last ``reset()``.
    public private(set) var attempt = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before the next attempt, drawn with `generator`.
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        let base = self.base(attempt: self.attempt)
        self.attempt += 1
        let half = base / 2
        let jitter = Double.random(in: 0...1, using: &generator)
        return half + half * jitter
    }

    /// The delay before the next attempt.
    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return self.next(using: &generator)
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() { self.attempt = 0 }

    /// The upper bound of the delay after `attempt` failures.
    public func base(attempt: Int) -> Duration {
        var base = self.initial
        for _ in 0..<min(attempt, 62) {
            base = base * 2
            if base >= self.maximum { return self.maximum }
        }
        return min(base, self.maximum)
    }
}
