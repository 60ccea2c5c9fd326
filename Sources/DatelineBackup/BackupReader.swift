public import DatelineProtocol
public import DatelineStorage
import Foundation
import NIOCore
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

    /// Reads every chunk once: the backup is whole when this returns.
    public func verify() throws(BackupError) {
        for chunk in self.manifest.chunks { _ = try self.entries(of: chunk) }
    }
}

/// Puts a backup's records into an empty ingest log (either backend), at the same offsets.
public enum LogRestore {
    /// What a restore did.
    public enum Outcome: Sendable, Equatable {
        /// `records` were appended.
        case restored(records: UInt64)
        /// The log already held exactly the backup (a service restarted with the same `--restore-from`).
        case alreadyRestored(records: UInt64)
    }

    /// Checks the whole backup, then appends its records to `log`, which must be empty, and checks that each
    /// landed at its offset. A log that already holds exactly the backup's records is left as it is.
    /// - Throws: ``BackupError`` `log-not-empty` when the log holds other records; `damaged` when a chunk fails
    ///   its checks (found before anything is appended).
    public static func restore(_ backup: BackupReader, into log: any IngestLog, logger: Logger) async throws -> Outcome {
        let end = backup.manifest.endOffset
        let logEnd = await log.currentBounds().upperBound
        if logEnd != 0 {
            if logEnd == end, try await Self.lastRecordMatches(backup, log: log) {
                logger.info("the log already holds this backup; not restoring again", metadata: ["dateline.backup": "\(backup.directory)", "dateline.log.end": "\(logEnd)"])
                return .alreadyRestored(records: end)
            }
            throw BackupError(.logNotEmpty, "cannot restore \(backup.directory) into a log that already holds \(logEnd) records: start from an empty data directory (or an empty PostgreSQL schema)")
        }
        try backup.verify()
        let encoder = DatelineBinaryEncoder()
        for chunk in backup.manifest.chunks {
            try Task.checkCancellation()
            let entries = try backup.entries(of: chunk)
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
        logger.notice("restored the log from a backup", metadata: ["dateline.backup": "\(backup.directory)", "dateline.records": "\(end)", "dateline.backup.epoch": "\(backup.manifest.source.epoch)"])
        return .restored(records: end)
    }

    private static func lastRecordMatches(_ backup: BackupReader, log: any IngestLog) async throws -> Bool {
        guard let chunk = backup.manifest.chunks.last, let last = try backup.entries(of: chunk).last else { return false }
        guard let record = try await log.read(from: last.offset, maximumRecords: 1, maximumBytes: 64 << 20).first else { return false }
        let stored = try DatelineBinaryDecoder().decode(StoredArticle.self, from: record.payload)
        return stored.id == last.article.id && stored.contentKey == last.article.contentKey
    }
}
