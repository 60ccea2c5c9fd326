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
}
