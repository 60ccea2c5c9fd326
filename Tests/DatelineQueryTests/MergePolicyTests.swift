import DatelineTestSupport
import Foundation
import Testing

@testable import DatelineQuery

/// The merge policy rewrites every document about once per level, whatever the commits' sizes, and never merges
/// the archive's large segments with the small ones that keep arriving.
@Suite("The merge policy")
struct MergePolicyTests {
    /// Commits `flushes` (document counts) one after another, after each merging what the policy finds due until
    /// nothing is, as the service does; returns the segments' sizes and how many documents the merges wrote.
    static func simulate(_ policy: MergePolicy, flushes: [Int]) -> (segments: [Int], rewritten: Int) {
        var segments: [Int] = []
        var rewritten = 0
        for flush in flushes {
            segments.append(flush)
            while let run = policy.run(segments) {
                let merged = segments[run].reduce(0, +)
                rewritten += merged
                segments.replaceSubrange(run, with: [merged])
            }
        }
        return (segments, rewritten)
    }

    /// Buffers flushed nearly full, flushed by size or age, and a trickle flushed every commit interval (3,000
    /// commits each): each document is written again about once per level above the minimum — a trickle's up to
    /// eight times more, while its small segments are merged among themselves within level 0 — and the segments
    /// stay few. (The policy before this one merged the largest segment with every eight new ones: 214 rewrites
    /// per document here.)
    @Test(arguments: [(3_600...4_096, 0), (500...4_096, 0), (5...200, 8)])
    func everyDocumentIsRewrittenAboutOncePerLevel(flushSizes: ClosedRange<Int>, levelZeroChurn: Int) {
        let policy = MergePolicy(factor: 8, minimumDocuments: 4_096)
        var random = SeededGenerator(seed: UInt64(flushSizes.lowerBound))
        let flushes = (0..<3_000).map { _ in Int.random(in: flushSizes, using: &random) }
        let documents = flushes.reduce(0, +)
        let (segments, rewritten) = Self.simulate(policy, flushes: flushes)
        #expect(segments.reduce(0, +) == documents)
        let levels = log(Double(documents) / Double(policy.minimumDocuments)) / log(8)
        let perDocument = Double(rewritten) / Double(documents)
        #expect(perDocument <= levels + 1 + Double(levelZeroChurn), "\(perDocument) rewrites per document, \(levels) levels")
        #expect(segments.count <= 8 * (policy.level(documents) + 1), "\(segments.count) segments: \(segments)")
    }

    /// Eight flushes a little short of the minimum make one segment of the next level; the flushes after it are
    /// merged among themselves, never into it.
    @Test func aLargerSegmentIsNotMergedWithTheSmallOnesAfterIt() {
        let policy = MergePolicy(factor: 8, minimumDocuments: 4_096)
        var (segments, _) = Self.simulate(policy, flushes: Array(repeating: 3_600, count: 8))
        #expect(segments == [28_800])
        #expect(policy.level(28_800) == 1 && policy.level(3_600) == 0)
        (segments, _) = Self.simulate(policy, flushes: Array(repeating: 3_600, count: 15))
        #expect(segments == [28_800] + Array(repeating: 3_600, count: 7))
        (segments, _) = Self.simulate(policy, flushes: Array(repeating: 3_600, count: 16))
        #expect(segments == [28_800, 28_800])
        (segments, _) = Self.simulate(policy, flushes: Array(repeating: 3_600, count: 64))
        #expect(segments == [230_400])
        #expect(policy.run([1_000, 1_000]) == nil, "fewer segments than the factor")
        #expect(MergePolicy(factor: 2, minimumDocuments: 100).run([100, 100]) == 0..<2)
    }

    /// A quiet index merges its newest segments, as many as fit in the quiet merge's articles, into one; a segment
    /// that does not fit, and everything before it, stays; once merged, nothing more is due until new segments come.
    @Test func aQuietIndexMergesItsNewestSegmentsWithinTheLimit() {
        let limit = 1_000_000
        #expect(MergePolicy.quietRun([], maximumDocuments: limit) == nil)
        #expect(MergePolicy.quietRun([215_780], maximumDocuments: limit) == nil, "one segment: nothing to merge")
        #expect(MergePolicy.quietRun([32_768, 32_768, 28_000, 4_096, 900], maximumDocuments: limit) == 0..<5)
        #expect(MergePolicy.quietRun([2_097_152, 262_144, 32_768, 4_000], maximumDocuments: limit) == 1..<4)
        #expect(MergePolicy.quietRun([900_000, 262_144, 4_000], maximumDocuments: limit) == 1..<3, "the oldest would pass the limit")
        #expect(MergePolicy.quietRun([2_097_152, 1_500_000, 4_000], maximumDocuments: limit) == nil, "one small segment after large ones")
        // Quiet spells after merging: each run merged is stable until a new segment arrives.
        var segments = [2_097_152, 262_144, 32_768, 32_768, 4_000]
        for arriving in [0, 3_000, 0, 700_000, 0, 4_096] {
            if arriving > 0 { segments.append(arriving) }
            if let run = MergePolicy.quietRun(segments, maximumDocuments: limit) {
                #expect(segments[run].reduce(0, +) <= limit)
                segments.replaceSubrange(run, with: [segments[run].reduce(0, +)])
            }
            #expect(MergePolicy.quietRun(segments, maximumDocuments: limit) == nil, "\(segments)")
        }
        #expect(segments == [2_097_152, 334_680, 704_096], "the 700,000 not merged with the 334,680 before it: \(segments)")
    }
}
