import ArgumentParser
import DatelineBackup
import DatelineClient
import DatelineProtocol
import Foundation

extension Dateline {
    /// `dateline backup DIR`: an online, consistent copy of the ingest log, read over the protocol.
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the ingest log, as it stands now, into a new backup directory while the services run.",
            discussion: """
                The backup holds every article from offset 0 to the log's end when the backup began (articles \
                ingested meanwhile are not in it): checksummed, zlib-compressed chunks of protocol LogBatch records \
                and a MANIFEST.json written last, so a directory without one is an unfinished backup. Any \
                dateline-ingest node of a cluster will do (they share one log). Restore with \
                'dateline-ingest --restore-from DIR' into an empty data directory (or PostgreSQL schema); \
                with --with-index, 'dateline-query --restore-from DIR' starts from the backup's index, otherwise it \
                rebuilds its index from the restored log. 'dateline backup --verify DIR' reads a backup back and \
                checks every chunk.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A directory that does not exist yet or is empty (with --verify: an existing backup).")
        var directory: String

        @Flag(help: "Check an existing backup instead of writing one: every chunk's size, checksum, records and offsets.")
        var verify = false

        @Flag(name: .customLong("with-index"), help: "Also copy dateline-query's index (its latest commit point, taken first), so that a restored dateline-query replays only the log after it instead of rebuilding.")
        var withIndex = false

        @Option(name: .customLong("chunk-size"), help: "Uncompressed bytes of records per chunk file, e.g. 4M.")
        var chunkSize: String = "4M"

        struct Report: Encodable {
            var directory: String
            var source: String
            var epoch: String
            var articles: Int
            var endOffset: UInt64
            var chunks: Int
            var storedBytes: Int
            var indexAppliedOffset: UInt64?
            var indexFiles: Int?
            var seconds: Double
        }

        func validate() throws {
            guard Self.bytes(self.chunkSize) != nil else { throw ValidationError("--chunk-size '\(self.chunkSize)' is not a size (e.g. 512K, 4M)") }
        }

        /// A positive size: `512K`, `4M`.
        static func bytes(_ text: String) -> Int? { ByteSize.parse(text).flatMap { $0 > 0 ? $0 : nil } }

        func run() async throws {
            let started = ContinuousClock.now
            let manifest: BackupManifest
            let address: String
            do {
                if self.verify {
                    let backup = try BackupReader(directory: self.directory)
                    try backup.verify()
                    (manifest, address) = (backup.manifest, backup.manifest.source.address)
                } else {
                    (manifest, address) = try await self.write()
                }
            } catch let error as BackupError {
                printError("backup: \(error.message)")
                throw error.code == .directoryNotEmpty ? ExitStatus.usage : ExitStatus.serverError
            }
            let elapsed = ContinuousClock.now - started
            let report = Report(
                directory: self.directory, source: address, epoch: manifest.source.epoch, articles: manifest.articles,
                endOffset: manifest.endOffset, chunks: manifest.chunks.count, storedBytes: manifest.storedBytes,
                indexAppliedOffset: manifest.index?.appliedOffset, indexFiles: manifest.index?.files.count,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            )
            if self.global.output == .json {
                try printJSON(report)
            } else {
                let verb = self.verify ? "verified" : "backed up"
                print(String(
                    format: "%@ %d articles (offsets 0..<%llu, log epoch %@ of %@) in %@: %d chunks, %.1f MB, %.2f s",
                    verb, report.articles, report.endOffset, report.epoch, report.source, report.directory, report.chunks,
                    Double(report.storedBytes) / 1e6, report.seconds
                ))
                if let index = manifest.index {
                    print("with dateline-query's index from \(index.address): \(index.files.count) files, holding offsets 0..<\(index.appliedOffset)")
                }
            }
        }

        /// Subscribes from offset 0, learns the log's end from the first batch, and writes records until it.
        func write() async throws -> (BackupManifest, String) {
            let writer = try BackupWriter(directory: self.directory, chunkBytes: Self.bytes(self.chunkSize)!)
            let client = self.global.client
            var result: (BackupManifest, String)?
            defer { if result == nil { writer.abandon() } }
            try await reportingErrors {
                if self.withIndex {
                    // The index first: it then holds no record the log's copy lacks.
                    let (chunks, queryAddress) = try await client.stream(IndexBackupRequest(), to: .query)
                    for try await chunk in chunks { try writer.addIndex(chunk, from: queryAddress) }
                    try writer.finishIndex()
                }
                let request = SubscribeRequest(fromOffset: 0, maximumBatchRecords: 1024, follower: "dateline-backup")
                let (stream, address) = try await client.stream(request, to: .ingest)
                var end: UInt64?
                var epoch = ""
                for try await batch in stream {
                    if end == nil {
                        // A node of a shared log may learn of others' appends a moment late: the log's copy
                        // reaches at least what the index copied before it holds.
                        end = max(batch.endOffset, writer.indexAppliedOffset ?? 0)
                        epoch = batch.epoch
                    }
                    guard batch.epoch == epoch else {
                        throw BackupError(.sourceInconsistent, "the log's epoch changed from \(epoch) to \(batch.epoch) during the backup (it was replaced): try again")
                    }
                    try writer.add(batch.entries.filter { $0.offset < end! })
                    if writer.nextOffset >= end! { break }
                }
                guard let end, writer.nextOffset == end else {
                    throw BackupError(.sourceInconsistent, "the log's stream ended at offset \(writer.nextOffset) before its end \(end ?? 0): try again")
                }
                let manifest = try writer.finish(source: .init(address: address, epoch: epoch), createdBy: "dateline 0.1.0")
                result = (manifest, address)
            }
            await client.close()
            guard let result else { throw ExitStatus.serverError }
            return result
        }
    }
}
