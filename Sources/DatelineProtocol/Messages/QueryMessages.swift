internal import Foundation
/// Fetches one article from `dateline-query`.
public struct GetArticleRequest: DatelineRequest, Hashable {
    public typealias Response = GetArticleResponse
    public static let messageType = DatelineMessageType.getArticleRequest

    /// An article id, or an external id as the publisher gave it (ids are tried first).
    public var id: String
    /// Read-your-writes: answer only once this log offset is applied.
    public var minimumOffset: UInt64?

    public init(id: String, minimumOffset: UInt64? = nil) {
        self.id = id
        self.minimumOffset = minimumOffset
    }

    enum CodingKeys: Int, CodingKey { case id = 1, minimumOffset }
}

/// One article in full, with everything the ingest service stored about it.
public struct GetArticleResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.getArticleResponse

    public var article: StoredArticle
    /// Its offset in the ingest log.
    public var offset: UInt64

    public init(article: StoredArticle, offset: UInt64) {
        self.article = article
        self.offset = offset
    }

    enum CodingKeys: Int, CodingKey { case article = 1, offset }
}

/// Asks `dateline-query` for its figures.
public struct QueryStatsRequest: DatelineRequest, Hashable {
    public typealias Response = QueryStatsResponse
    public static let messageType = DatelineMessageType.queryStatsRequest
    public init() {}
}

/// `dateline-query`'s figures.
public struct QueryStatsResponse: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.queryStatsResponse

    public var articleCount: UInt64
    /// One past the last log offset applied to the index.
    public var appliedOffset: UInt64
    /// The ingest log's end, as last reported by dateline-ingest.
    public var ingestEndOffset: UInt64
    /// ingestEndOffset − appliedOffset.
    public var lag: UInt64
    /// Whether the service is connected to dateline-ingest and following its log.
    public var following: Bool
    public var indexTerms: UInt64
    /// Approximate memory held by the index and the stored articles, in bytes.
    public var indexBytes: UInt64
    public var queries: UInt64
    public var queryP50Microseconds: Double
    public var queryP95Microseconds: Double
    public var queryP99Microseconds: Double
    public var uptimeSeconds: Double
    /// The process's memory, when the platform tells.
    public var memory: ProcessMemory?
    /// Log records applied since the process started (a restart replays only what the last commit lacks).
    public var recordsAppliedSinceStart: UInt64

    public init(
        articleCount: UInt64, appliedOffset: UInt64, ingestEndOffset: UInt64, lag: UInt64, following: Bool, indexTerms: UInt64,
        indexBytes: UInt64, queries: UInt64, queryP50Microseconds: Double, queryP95Microseconds: Double,
        queryP99Microseconds: Double, uptimeSeconds: Double, memory: ProcessMemory? = nil, recordsAppliedSinceStart: UInt64 = 0
    ) {
        self.recordsAppliedSinceStart = recordsAppliedSinceStart
        self.articleCount = articleCount
        self.appliedOffset = appliedOffset
        self.ingestEndOffset = ingestEndOffset
        self.lag = lag
        self.following = following
        self.indexTerms = indexTerms
        self.indexBytes = indexBytes
        self.queries = queries
        self.queryP50Microseconds = queryP50Microseconds
        self.queryP95Microseconds = queryP95Microseconds
        self.queryP99Microseconds = queryP99Microseconds
        self.uptimeSeconds = uptimeSeconds
        self.memory = memory
    }

    enum CodingKeys: Int, CodingKey {
        case articleCount = 1, appliedOffset, ingestEndOffset, lag, following, indexTerms, indexBytes, queries
        case queryP50Microseconds, queryP95Microseconds, queryP99Microseconds, uptimeSeconds, memory, recordsAppliedSinceStart
    }
}

/// A process's memory: resident now and at its peak.
public struct ProcessMemory: Codable, Sendable, Hashable {
    public var residentBytes: UInt64
    public var peakResidentBytes: UInt64

    public init(residentBytes: UInt64, peakResidentBytes: UInt64) {
        self.residentBytes = residentBytes
        self.peakResidentBytes = peakResidentBytes
    }

    /// This process's figures, from `/proc/self/status` (VmRSS, VmHWM); nil where there is no such file.
    public static func current() -> ProcessMemory? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        func kilobytes(_ field: String) -> UInt64? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
            return line.split(separator: " ").compactMap { UInt64($0) }.first
        }
        guard let resident = kilobytes("VmRSS"), let peak = kilobytes("VmHWM") else { return nil }
        return ProcessMemory(residentBytes: resident * 1024, peakResidentBytes: peak * 1024)
    }

    enum CodingKeys: Int, CodingKey { case residentBytes = 1, peakResidentBytes }
}

/// Asks `dateline-query` for a copy of its index's latest commit point (`dateline backup --with-index`).
///
/// Answered by a stream of ``IndexBackupChunk`` frames ending with END_STREAM: every file the commit point
/// names, each in order of position, then its manifest (named `manifest`). `FAILED_PRECONDITION` when the
/// service keeps no index on disk.
public struct IndexBackupRequest: DatelineStreamingRequest, Hashable {
    public typealias Element = IndexBackupChunk
    public static let messageType = DatelineMessageType.indexBackupRequest

    /// The most file bytes per chunk; 0 lets the service choose (1 MiB).
    public var maximumChunkBytes: UInt32

    public init(maximumChunkBytes: UInt32 = 0) {
        self.maximumChunkBytes = maximumChunkBytes
    }

    enum CodingKeys: Int, CodingKey { case maximumChunkBytes = 1 }
}

/// One piece of one file of an index commit point; the stream's first chunk carries the commit point's figures.
public struct IndexBackupChunk: DatelineMessage, Hashable {
    public static let messageType = DatelineMessageType.indexBackupChunk

    /// A file name inside the index directory (no directories).
    public var file: String
    /// Where ``data`` goes in the file.
    public var position: UInt64
    public var data: [UInt8]
    /// The whole file's size.
    public var fileSize: UInt64
    /// zlib's CRC-32 of the whole file, on the file's last chunk (0 on the others).
    public var fileCRC32: UInt32
    /// First chunk: one past the last log offset the commit point holds.
    public var appliedOffset: UInt64
    /// First chunk: the id of the article at `appliedOffset - 1` (empty for an empty index).
    public var lastArticleID: String
    /// First chunk: how many files the stream carries, the manifest included.
    public var files: UInt32

    public init(
        file: String, position: UInt64, data: [UInt8], fileSize: UInt64, fileCRC32: UInt32 = 0,
        appliedOffset: UInt64 = 0, lastArticleID: String = "", files: UInt32 = 0
    ) {
        self.file = file
        self.position = position
        self.data = data
        self.fileSize = fileSize
        self.fileCRC32 = fileCRC32
        self.appliedOffset = appliedOffset
        self.lastArticleID = lastArticleID
        self.files = files
    }

    enum CodingKeys: Int, CodingKey { case file = 1, position, data, fileSize, fileCRC32, appliedOffset, lastArticleID, files }
}
