public import Foundation

/// What a backup directory holds, written last (atomically) so that a directory without one is an unfinished
/// backup and never restored.
///
/// A backup is the ingest log from offset 0 up to ``endOffset`` (exclusive), as it stood when the backup began:
/// chunk files of consecutive records, each a zlib-compressed protobuf `LogBatch` (`protocol/dateline.proto`),
/// named by their first offset, with their sizes and CRC-32 here. `MANIFEST.json`:
///
/// ```json
/// {"format": 1, "protocolVersion": 1, "createdAt": "2026-12-06T08:00:00Z", "createdBy": "dateline 0.1.0",
///  "source": {"address": "127.0.0.1:7400", "epoch": "3f9c0a1b2c3d4e5f"}, "endOffset": 21578, "articles": 21578,
///  "chunks": [{"file": "00000000000000000000.chunk", "firstOffset": 0, "records": 2048,
///              "storedBytes": 1912344, "rawBytes": 5033213, "crc32": 123456789}, ...]}
/// ```
public struct BackupManifest: Codable, Sendable, Equatable {
    /// The manifest's file name inside a backup directory.
    public static let fileName = "MANIFEST.json"
    /// The format this build writes; it reads this one and every earlier one.
    public static let currentFormat = 1

    /// Where the records came from.
    public struct Source: Codable, Sendable, Equatable {
        /// The dateline-ingest node the backup read from (HOST:PORT).
        public var address: String
        /// The log's epoch at the time: offsets below ``BackupManifest/endOffset`` name these records in it.
        public var epoch: String

        /// Names the node and its log's epoch.
        public init(address: String, epoch: String) {
            self.address = address
            self.epoch = epoch
        }
    }

    /// One chunk file: records `firstOffset ..< firstOffset + records`.
    public struct Chunk: Codable, Sendable, Equatable {
        /// The chunk file's name inside the backup directory (its first offset, 20 digits, `.chunk`).
        public var file: String
        /// The log offset of the chunk's first record.
        public var firstOffset: UInt64
        /// How many consecutive records it holds.
        public var records: Int
        /// The file's size (compressed).
        public var storedBytes: Int
        /// The encoded `LogBatch`'s size before compression.
        public var rawBytes: Int
        /// zlib's CRC-32 of the file's bytes.
        public var crc32: UInt32

        /// Describes one chunk file.
        public init(file: String, firstOffset: UInt64, records: Int, storedBytes: Int, rawBytes: Int, crc32: UInt32) {
            self.file = file
            self.firstOffset = firstOffset
            self.records = records
            self.storedBytes = storedBytes
            self.rawBytes = rawBytes
            self.crc32 = crc32
        }
    }

    /// A copy of `dateline-query`'s index (its latest commit point), under `index/`, taken before the log: it
    /// holds log offsets `0 ..< appliedOffset`, all in the backup, so a restored index replays only the rest.
    public struct IndexCopy: Codable, Sendable, Equatable {
        /// One file of the commit point, `index/<name>`.
        public struct File: Codable, Sendable, Equatable {
            /// The file's name inside the index directory.
            public var name: String
            /// Its size in bytes.
            public var size: Int
            /// zlib's CRC-32 of its bytes.
            public var crc32: UInt32

            /// Describes one file of the copy.
            public init(name: String, size: Int, crc32: UInt32) {
                self.name = name
                self.size = size
                self.crc32 = crc32
            }
        }

        /// The dateline-query node it was copied from.
        public var address: String
        /// One past the last log offset the index holds.
        public var appliedOffset: UInt64
        /// The id of the article at `appliedOffset - 1`.
        public var lastArticleID: String
        /// Every file, the manifest (`manifest`) last.
        public var files: [File]

        /// Describes a copy of the index.
        public init(address: String, appliedOffset: UInt64, lastArticleID: String, files: [File]) {
            self.address = address
            self.appliedOffset = appliedOffset
            self.lastArticleID = lastArticleID
            self.files = files
        }
    }

    /// The backup format (``currentFormat`` when written by this build).
    public var format: Int
    /// The wire protocol version whose `LogBatch` the chunks hold.
    public var protocolVersion: Int
    /// When the backup was finished.
    public var createdAt: Date
    /// The tool and version that wrote it (`dateline 0.1.0`).
    public var createdBy: String
    /// The node and log epoch the records came from.
    public var source: Source
    /// One past the last offset in the backup: the log's end when the backup began.
    public var endOffset: UInt64
    /// Articles in the backup (equal to ``endOffset``: the log holds one article per offset from 0).
    public var articles: Int
    /// The chunk files, in offset order.
    public var chunks: [Chunk]
    /// The query index, when the backup was taken with it.
    public var index: IndexCopy?

    /// A manifest of the current format for `chunks` (and the index copy, if any).
    public init(createdAt: Date, createdBy: String, source: Source, endOffset: UInt64, chunks: [Chunk], index: IndexCopy? = nil) {
        self.index = index
        self.format = Self.currentFormat
        self.protocolVersion = 1
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.source = source
        self.endOffset = endOffset
        self.articles = chunks.reduce(0) { $0 + $1.records }
        self.chunks = chunks
    }

    /// The most bytes `stored` bytes of zlib data can inflate to (deflate's best ratio is about 1032:1): a manifest
    /// giving more is damaged, and nothing that large is allocated.
    static func maximumInflation(of stored: Int) -> Int {
        stored > Int.max / 1_100 ? Int.max : stored * 1_100 + 1_024
    }

    /// Bytes of all chunk files.
    public var storedBytes: Int { self.chunks.reduce(0) { $0 + $1.storedBytes } }

    /// Checks what can be checked without reading the chunks: a format this build reads, chunks that follow one
    /// another from offset 0 to ``endOffset``, file names without directories.
    public func validate() throws(BackupError) {
        guard (1...Self.currentFormat).contains(self.format) else {
            throw BackupError(.unsupportedFormat, "the backup is in format \(self.format); this build reads formats 1 to \(Self.currentFormat)")
        }
        guard self.protocolVersion == 1 else {
            throw BackupError(.unsupportedFormat, "the backup's records are protocol version \(self.protocolVersion); this build speaks 1")
        }
        var next: UInt64 = 0
        for chunk in self.chunks {
            guard chunk.firstOffset == next, chunk.records > 0, chunk.storedBytes >= 0, chunk.rawBytes >= 0,
                chunk.rawBytes <= Self.maximumInflation(of: chunk.storedBytes)
            else {
                throw BackupError(.damaged, "the manifest's chunk \(chunk.file) does not fit its neighbours (offset \(chunk.firstOffset) where \(next) was expected, or impossible sizes)")
            }
            guard !chunk.file.isEmpty, !chunk.file.contains("/"), !chunk.file.hasPrefix(".") else {
                throw BackupError(.damaged, "the manifest names a chunk outside the backup: \(chunk.file)")
            }
            let (sum, overflow) = next.addingReportingOverflow(UInt64(chunk.records))
            guard !overflow else { throw BackupError(.damaged, "the manifest's chunk \(chunk.file) holds more records than a log can") }
            next = sum
        }
        guard next == self.endOffset, UInt64(exactly: self.articles) == self.endOffset else {
            throw BackupError(.damaged, "the manifest's chunks hold offsets 0..<\(next) but it says \(self.endOffset) records (\(self.articles) articles)")
        }
        if let index = self.index {
            guard index.appliedOffset <= self.endOffset else {
                throw BackupError(.damaged, "the backup's index holds offsets up to \(index.appliedOffset), past its log's end \(self.endOffset)")
            }
            guard index.files.last?.name == "manifest", index.files.allSatisfy({ !$0.name.contains("/") && !$0.name.hasPrefix(".") && !$0.name.isEmpty }) else {
                throw BackupError(.damaged, "the backup's index names files it cannot hold")
            }
        }
    }
}

/// Why a backup could not be written, read or restored. ``code`` is stable; ``message`` is for people.
public struct BackupError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The backup directory exists and is not empty.
        public static let directoryNotEmpty = Code(rawValue: "directory-not-empty")
        /// There is no backup there (no manifest): nothing, or a backup that did not finish.
        public static let notABackup = Code(rawValue: "not-a-backup")
        /// A chunk or the manifest does not hold what it should (size, checksum, offsets, decoding).
        public static let damaged = Code(rawValue: "damaged")
        /// Written by a newer Dateline.
        public static let unsupportedFormat = Code(rawValue: "unsupported-format")
        /// The log to restore into already holds other records.
        public static let logNotEmpty = Code(rawValue: "log-not-empty")
        /// The source's records did not arrive as a log's records do (a gap, another epoch).
        public static let sourceInconsistent = Code(rawValue: "source-inconsistent")
        /// An article is larger than the log being restored into takes.
        public static let recordTooLarge = Code(rawValue: "record-too-large")
        /// Reading or writing a file failed.
        public static let io = Code(rawValue: "io")

        public var description: String { self.rawValue }
    }

    /// What kind of failure it is (stable, for scripts and tests).
    public var code: Code
    /// What happened, naming the file or offset.
    public var message: String

    /// An error with its code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
