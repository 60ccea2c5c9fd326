public import DatelineProtocol
public import DatelineStorage
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Logging

/// Reads a backup directory without changing it: the manifest, then each chunk checked against its size and
/// CRC-32, inflated, decoded, and its offsets checked.
public struct BackupReader: Sendable {
    public let directory: String
    public let manifest: BackupManifest

    /// Reads and checks the manifest.
    /// - Throws: ``BackupError`` `not-a-backup` when there is no manifest (nothing there, or a backup that did not
    ///   finish), `unsupported-format` for a newer format, `damaged` when it cannot be read.
    public init(directory: String) throws(BackupError) {
        self.directory = directory
        let path = directory + "/" + BackupManifest.fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupError(.notABackup, "\(directory) holds no finished backup (no \(BackupManifest.fileName))")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            self.manifest = try decoder.decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError(.damaged, "the backup's manifest \(path) cannot be read: \(error)")
        }
        try self.manifest.validate()
    }

    /// The records of `chunk`, checked.
    public func entries(of chunk: BackupManifest.Chunk) throws(BackupError) -> [LogEntry] {
        let path = self.directory + "/" + chunk.file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupError(.damaged, "the backup's chunk \(chunk.file) is missing or unreadable")
        }
        let stored = [UInt8](data)
        guard stored.count == chunk.storedBytes else {
            throw BackupError(.damaged, "the backup's chunk \(chunk.file) has \(stored.count) bytes; the manifest says \(chunk.storedBytes)")
        }
        guard BackupFiles.crc32(stored) == chunk.crc32 else {
            throw BackupError(.damaged, "the backup's chunk \(chunk.file) fails its checksum: it was damaged after it was written")
        }
        let raw = try BackupFiles.inflate(stored, size: chunk.rawBytes, name: chunk.file)
        let batch: LogBatch
        do {
            batch = try DatelineBinaryDecoder().decode(LogBatch.self, from: raw)
        } catch {
            throw BackupError(.damaged, "the backup's chunk \(chunk.file) cannot be decoded: \(error)")
        }
        guard batch.entries.count == chunk.records,
            batch.entries.enumerated().allSatisfy({ $0.element.offset == chunk.firstOffset + UInt64($0.offset) })
        else {
            throw BackupError(.damaged, "the backup's chunk \(chunk.file) does not hold offsets \(chunk.firstOffset)..<\(chunk.firstOffset + UInt64(chunk.records))")
        }
        return batch.entries
    }

    /// Reads every chunk once: the backup is whole when this returns. With `maximumRecordBytes`, every article
    /// must also encode to at most that many bytes (the log it goes into takes no larger record).
    public func verify(maximumRecordBytes: Int? = nil) throws(BackupError) {
        let encoder = DatelineBinaryEncoder()
        for chunk in self.manifest.chunks {
            let entries = try self.entries(of: chunk)
            guard let maximumRecordBytes else { continue }
            for entry in entries {
                let size = (try? encoder.encode(entry.article).readableBytes) ?? Int.max
                guard size <= maximumRecordBytes else {
                    throw BackupError(.recordTooLarge, "the article at offset \(entry.offset) takes \(size) bytes, more than the \(maximumRecordBytes) this log takes per record: raise --max-body-size to at least what the backed-up service had")
                }
            }
        }
    }
}

/// Puts a backup's records into an empty ingest log (either backend), at the same offsets.
public enum LogRestore {
    /// What a restore did.
    public enum Outcome: Sendable, Equatable {
        /// `records` were appended (after `resumedAt` records a restore that was cut short had appended).
        case restored(records: UInt64, resumedAt: UInt64)
        /// The log already held exactly the backup (a service restarted with the same `--restore-from`).
        case alreadyRestored(records: UInt64)
    }

    /// Checks the whole backup, then appends its records to `log` and checks that each landed at its offset.
    ///
    /// The log must be empty, or hold a beginning of the backup: a restore that was cut short (the process died)
    /// goes on from where it stopped, and a log that already holds the whole backup is left as it is. Whether the
    /// log's records are the backup's is judged by the article at the log's last offset.
    /// `marker`, when given, is written once the backup is checked and before the first append, and removed after
    /// the last (or at once when the log already holds the whole backup).
    /// - Throws: ``BackupError`` `log-not-empty` when the log holds other records; `damaged` when a chunk fails
    ///   its checks, `record-too-large` when an article is larger than `maximumRecordBytes` (both found before
    ///   anything is appended).
    public static func restore(
        _ backup: BackupReader,
        into log: any IngestLog,
        maximumRecordBytes: Int? = nil,
        marker: RestoreMarker? = nil,
        logger: Logger
    ) async throws -> Outcome {
        let end = backup.manifest.endOffset
        let logEnd = await log.currentBounds().upperBound
        if logEnd != 0 {
            // The log's record where the backup (or the log, if shorter) ends must be the backup's article there.
            let probe = min(logEnd, end) - 1
            guard end > 0, try await Self.record(at: probe, of: log, matches: backup) else {
                throw BackupError(.logNotEmpty, "cannot restore \(backup.directory) into a log that already holds \(logEnd) records of its own: start from an empty data directory (or an empty PostgreSQL schema)")
            }
            if logEnd >= end {
                logger.info("the log already holds this backup; not restoring again", metadata: ["dateline.backup": "\(backup.directory)", "dateline.log.end": "\(logEnd)"])
                try marker?.remove()
                return .alreadyRestored(records: end)
            }
            logger.notice("the log holds the beginning of this backup (a restore cut short); going on from there", metadata: ["dateline.log.end": "\(logEnd)"])
        }
        try backup.verify(maximumRecordBytes: maximumRecordBytes)
        // From the first append to the last, the log holds only part of the backup: say so where the next start
        // will look.
        try marker?.write(backup: backup.directory)
        let encoder = DatelineBinaryEncoder()
        for chunk in backup.manifest.chunks where chunk.firstOffset + UInt64(chunk.records) > logEnd {
            try Task.checkCancellation()
            let entries = try backup.entries(of: chunk).filter { $0.offset >= logEnd }
            let logEntries = try entries.map { entry in
                IngestLogEntry(
                    payload: Array(try encoder.encode(entry.article).readableBytesView),
                    keys: DeduplicationKeys(articleID: entry.article.id, externalID: entry.article.externalID, contentKey: entry.article.contentKey)
                )
            }
            let outcomes = try await log.append(logEntries)
            for (index, outcome) in outcomes.enumerated() {
                guard case .appended(let offset) = outcome, offset == entries[index].offset else {
                    throw BackupError(.sourceInconsistent, "the article at offset \(entries[index].offset) of the backup was not appended there (\(outcome)): the log was written to during the restore, or the backup holds a duplicate")
                }
            }
        }
        try marker?.remove()
        logger.notice("restored the log from a backup", metadata: [
            "dateline.backup": "\(backup.directory)", "dateline.records": "\(end)", "dateline.resumed_at": "\(logEnd)",
            "dateline.backup.epoch": "\(backup.manifest.source.epoch)",
        ])
        return .restored(records: end, resumedAt: logEnd)
    }

    /// Whether the log's record at `offset` is the backup's article there.
    private static func record(at offset: UInt64, of log: any IngestLog, matches backup: BackupReader) async throws -> Bool {
        guard let chunk = backup.manifest.chunks.last(where: { $0.firstOffset <= offset }),
            let expected = try backup.entries(of: chunk).first(where: { $0.offset == offset })
        else { return false }
        guard let record = try await log.read(from: offset, maximumRecords: 1, maximumBytes: 64 << 20).first, record.offset == offset else { return false }
        let stored = try DatelineBinaryDecoder().decode(StoredArticle.self, from: record.payload)
        return stored.id == expected.article.id && stored.contentKey == expected.article.contentKey
    }
}

/// A file in the restoring node's data directory that says a restore is under way: written before the first
/// append and removed after the last, so that a restore cut short is never served as a whole log.
public struct RestoreMarker: Sendable {
    /// The marker's file name.
    public static let fileName = "RESTORE-IN-PROGRESS"
    public let path: String

    public init(dataDirectory: String) {
        self.path = dataDirectory + "/" + Self.fileName
    }

    /// The backup directory of the restore under way, if one is.
    public var pendingBackup: String? {
        FileManager.default.contents(atPath: self.path).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Records (durably) that a restore from `backup` is under way.
    public func write(backup: String) throws(BackupError) {
        try BackupFiles.write(Array((backup + "\n").utf8), to: self.path)
        try BackupFiles.syncDirectory((self.path as NSString).deletingLastPathComponent)
    }

    /// Records that the restore is complete.
    public func remove() throws(BackupError) {
        guard unlink(self.path) == 0 || errno == ENOENT else {
            throw BackupError(.io, "cannot remove \(self.path): \(String(cString: strerror(errno)))")
        }
        try BackupFiles.syncDirectory((self.path as NSString).deletingLastPathComponent)
    }
}
