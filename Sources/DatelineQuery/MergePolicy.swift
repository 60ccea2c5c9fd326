import Foundation

/// Which adjacent segments a merge combines: a log-structured policy over their sizes, as Lucene's and Tantivy's
/// log merge policies. Segments sit on levels by document count — level n holds segments of about
/// `minimumDocuments × factorⁿ` — and `factor` adjacent segments of one level are merged into one of the next.
/// Every document is then rewritten once per level, about log_factor(N / minimum) times in all, and the segments
/// number at most about `factor` per level.
///
/// A merge never takes a segment of a higher level with smaller ones: the archive's largest segment is not
/// rewritten every few commits, so neither the work nor the memory of a merge grows with the archive until a
/// level fills.
struct MergePolicy: Sendable, Equatable {
    /// How many adjacent segments of one level are merged into one.
    var factor: Int
    /// The size of level 0: about what one commit of a full buffer writes.
    var minimumDocuments: Int

    /// The level of a segment of `documents`: the nearest whole power of `factor` of its size over the minimum,
    /// 0 at the least. Rounded to the nearest, not down, so that `factor` flushes a little short of the minimum
    /// make a segment of the next level rather than a large one of the same level.
    func level(_ documents: Int) -> Int {
        let ratio = Double(max(documents, 1)) / Double(max(self.minimumDocuments, 1))
        return max(0, Int((log(ratio) / log(Double(max(self.factor, 2)))).rounded()))
    }

    /// The oldest run of `factor` adjacent segments on one level, as indices into `documentCounts` (the segments'
    /// document counts, oldest first), or nil when there is none.
    func run(_ documentCounts: [Int]) -> Range<Int>? {
        guard self.factor >= 2, documentCounts.count >= self.factor else { return nil }
        let levels = documentCounts.map(self.level)
        var start = 0
        while start + self.factor <= levels.count {
            let run = start..<(start + self.factor)
            if levels[run].allSatisfy({ $0 == levels[start] }) { return run }
            start += 1
        }
        return nil
    }

    /// The run a quiet index merges (see ``QueryServiceConfiguration/quietMergeAfter``): the newest segments,
    /// as many as fit together in `maximumDocuments`, when that is two or more; else nil. A segment of that size or
    /// more, and everything before it, is left alone, so each quiet spell rewrites at most `maximumDocuments`
    /// articles, and an index that has merged its quiet run has none until new articles arrive.
    static func quietRun(_ documentCounts: [Int], maximumDocuments: Int) -> Range<Int>? {
        var start = documentCounts.count
        var total = 0
        while start > 0, total + documentCounts[start - 1] <= maximumDocuments {
            total += documentCounts[start - 1]
            start -= 1
        }
        return documentCounts.count - start >= 2 ? start..<documentCounts.count : nil
    }
}
