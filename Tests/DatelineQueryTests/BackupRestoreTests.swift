import DatelineBackup
import DatelineClient
import DatelineProtocol
import DatelineTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `dateline backup DIR` against running services and `dateline-ingest --restore-from DIR`, all real processes:
/// a backup taken under ingest load is a consistent prefix of the log, and a pair restored from it answers as the
/// original did; damaged or unfinished backups and non-empty targets are refused without harm.
@Suite("Backup and restore", .serialized)
struct BackupRestoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-backup-\(UUID().uuidString)").path

    /// A short story with its own external id and words.
    static func story(_ index: Int) -> ArticleSubmission {
        ArticleSubmission(
            externalID: "backup-\(index)",
            title: "Ministers of country \(index % 13) and country \(index % 7) meet",
            body: "Foreign Minister Anna Weber of country \(index % 13) met Secretary Tom Reyes in Geneva on Monday to discuss trade item \(index), officials said.",
            source: "wire-\(index % 3)",
            publishedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(index) * 3_600)
        )
    }

    /// One ingest process and one query process following it.
    struct Pair {
        var ingest: ServiceProcess
        var query: ServiceProcess
        var ports: (Int, Int)

        init(ingest: ServiceProcess, query: ServiceProcess, ports: (Int, Int)) {
            self.ingest = ingest
            self.query = query
            self.ports = ports
        }

        init(root: String, name: String, ingestArguments: [String] = []) async throws {
            self.ingest = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", "\(root)/\(name)/ingest"] + ingestArguments)
            let ingestPort = try await self.ingest.port()
            self.query = try ServiceProcess("dateline-query", arguments: [
                "--data-dir", "\(root)/\(name)/query", "--ingest", "127.0.0.1:\(ingestPort)", "--commit-interval", "0.05",
            ])
            self.ports = (ingestPort, try await self.query.port())
        }

        func stop() {
            self.query.kill(SIGTERM)
            self.ingest.kill(SIGTERM)
        }

        var client: DatelineClient {
            DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", self.ports.0), query: ("127.0.0.1", self.ports.1), timeout: .seconds(30)))
        }

        /// Waits (read-your-writes) until the query process has indexed everything below `offset`.
        func waitUntilIndexed(_ offset: UInt64) async throws {
            let client = self.client
            _ = try await client.send(SearchRequest(query: "geneva", limit: 1, minimumOffset: offset), to: .query)
            await client.close()
        }

        /// The log's records below `end`, in order, as the ingest process streams them.
        func records(below end: UInt64) async throws -> [LogEntry] {
            guard end > 0 else { return [] }
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: self.ports.0)
            var entries: [LogEntry] = []
            for try await batch in try connection.stream(SubscribeRequest(fromOffset: 0)) {
                entries += batch.entries.filter { $0.offset < end }
                if entries.count >= Int(end) { break }
            }
            try? await connection.close()
            return entries
        }
    }

    /// Runs `dateline backup` (with `-o json`) and returns its report.
    func backup(_ directory: String, ingestPort: Int) async throws -> (status: Int32, report: [String: Any]?, errors: String) {
        let result = try await CLI.run(["backup", directory, "-o", "json"], ports: (ingestPort, 1))
        let report = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return (result.status, report, result.errors)
    }

    /// Searches whose pages a restored pair must answer exactly as the original does.
    static let searches: [SearchRequest] = [
        SearchRequest(query: "geneva trade", limit: 20),
        SearchRequest(query: "\"country 3\" OR \"country 5\"", limit: 15),
        SearchRequest(query: "item", limit: 10, sort: .date),
        SearchRequest(query: "ministers meet", limit: 10, sources: ["wire-1"]),
        SearchRequest(query: "", limit: 10, entities: ["Anna Weber"]),
        SearchRequest(query: "officials", limit: 5, facets: true),
    ]

    @Test(.timeLimit(.minutes(4)))
    func aBackupTakenUnderLoadRestoresIntoServicesThatAnswerAsTheOriginalDid() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.root) }
        let original = try await Pair(root: self.root, name: "original")
        defer { original.stop() }
        let client = original.client
        defer { Task { await client.close() } }
        let first = try await client.send(IngestRequest(articles: (0..<300).map(Self.story)), to: .ingest)
        #expect(first.results.allSatisfy { $0.status == .accepted })
        let acknowledgedBefore: UInt64 = 300

        // 1. A backup while batches keep arriving: it holds a prefix of the log, at least what was acknowledged
        // before it began, offsets dense from 0.
        let load = Task {
            for start in stride(from: 300, to: 600, by: 10) {
                let response = try await client.send(IngestRequest(articles: (start..<(start + 10)).map(Self.story)), to: .ingest)
                #expect(response.results.allSatisfy { $0.status == .accepted })
            }
        }
        let underLoad = try await self.backup(self.root + "/under-load", ingestPort: original.ports.0)
        try await load.value
        #expect(underLoad.status == 0, "\(underLoad.errors)")
        let end = try #require((underLoad.report?["endOffset"] as? NSNumber)?.uint64Value)
        #expect(end >= acknowledgedBefore && end <= 600)
        #expect((underLoad.report?["articles"] as? NSNumber)?.uint64Value == end)
        let verified = try await CLI.run(["backup", "--verify", self.root + "/under-load"], ports: nil)
        #expect(verified.status == 0, "\(verified.errors)")

        // Restored: the same articles at the same offsets, and nothing else.
        let restoredPrefix = try await Pair(root: self.root, name: "restored-prefix", ingestArguments: ["--restore-from", self.root + "/under-load"])
        defer { restoredPrefix.stop() }
        let stats = try await restoredPrefix.client.send(IngestStatsRequest(), to: .ingest)
        #expect(stats.endOffset == end && stats.articleCount == end)
        let originalRecords = try await original.records(below: end)
        let restoredRecords = try await restoredPrefix.records(below: end)
        #expect(restoredRecords.count == Int(end))
        #expect(restoredRecords == originalRecords, "every article restored at its offset, unchanged")
        try await restoredPrefix.waitUntilIndexed(end)

        // 2. A backup of the whole log once the load is over: a pair restored from it answers every search, entity
        // look-up and timeline as the original does.
        try await original.waitUntilIndexed(600)
        let whole = try await self.backup(self.root + "/whole", ingestPort: original.ports.0)
        #expect(whole.status == 0, "\(whole.errors)")
        #expect((whole.report?["endOffset"] as? NSNumber)?.uint64Value == 600)
        let restored = try await Pair(root: self.root, name: "restored", ingestArguments: ["--restore-from", self.root + "/whole"])
        defer { restored.stop() }
        try await restored.waitUntilIndexed(600)
        let restoredClient = restored.client
        defer { Task { await restoredClient.close() } }
        for search in Self.searches {
            let expected = try await client.send(search, to: .query)
            let actual = try await restoredClient.send(search, to: .query)
            #expect(expected.total > 0, "\(search.query)")
            #expect(actual.total == expected.total, "\(search.query)")
            #expect(actual.hits == expected.hits, "\(search.query)")
            #expect(actual.facets == expected.facets, "\(search.query)")
        }
        let entities = EntitiesRequest(kinds: [.person], limit: 10)
        let expectedEntities = try await client.send(entities, to: .query)
        #expect(!expectedEntities.entities.isEmpty)
        #expect(try await restoredClient.send(entities, to: .query) == expectedEntities)
        let timeline = TimelineRequest(actors: ["Anna Weber", "Tom Reyes"])
        let expectedTimeline = try await client.send(timeline, to: .query)
        #expect(try await restoredClient.send(timeline, to: .query) == expectedTimeline)

        // The flag may stay set (a configuration file): started again with it after taking new articles, the
        // restored node keeps its log; so it does when the backup is gone by then.
        _ = try await restoredClient.send(IngestRequest(articles: [Self.story(600)]), to: .ingest)
        restored.ingest.kill(SIGTERM)
        for round in 0..<2 {
            if round == 1 { try FileManager.default.removeItem(atPath: self.root + "/whole") }
            let again = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", "\(self.root)/restored/ingest", "--restore-from", self.root + "/whole"])
            let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await again.port())
            #expect(try await connection.send(IngestStatsRequest()).endOffset == 601, "round \(round)")
            try? await connection.close()
            again.kill(SIGTERM)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aRestoreUnderWayIsFinishedBeforeTheLogIsServed() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.root) }
        let original = try await Pair(root: self.root, name: "original")
        defer { original.stop() }
        let client = original.client
        _ = try await client.send(IngestRequest(articles: (0..<30).map(Self.story)), to: .ingest)
        await client.close()
        #expect(try await CLI.run(["backup", self.root + "/backup"], ports: (original.ports.0, 1)).status == 0)

        // What a restore killed before its first append leaves: the marker, an empty log.
        let data = self.root + "/restoring"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try (self.root + "/backup\n").write(toFile: data + "/" + RestoreMarker.fileName, atomically: true, encoding: .utf8)
        let refused = try self.runToExit("dateline-ingest", ["--data-dir", data, "--port", "0"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("a restore from \(self.root)/backup was cut short"), "\(refused.errors)")
        let finished = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", data, "--restore-from", self.root + "/backup"])
        defer { finished.kill(SIGTERM) }
        let pair = Pair(ingest: finished, query: finished, ports: (try await finished.port(), 1))
        #expect(try await pair.records(below: 30) == (try await original.records(below: 30)))
        #expect(!FileManager.default.fileExists(atPath: data + "/" + RestoreMarker.fileName), "the marker goes once the restore is done")
    }

    @Test(.timeLimit(.minutes(2)))
    func damagedUnfinishedOrMisplacedBackupsAreRefusedWithoutHarm() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.root) }
        let original = try await Pair(root: self.root, name: "original")
        defer { original.stop() }
        let client = original.client
        _ = try await client.send(IngestRequest(articles: (0..<50).map(Self.story)), to: .ingest)
        await client.close()
        let backup = self.root + "/backup"
        let made = try await CLI.run(["backup", backup, "--chunk-size", "4K"], ports: (original.ports.0, 1))
        #expect(made.status == 0, "\(made.errors)")
        #expect(made.output.hasPrefix("backed up 50 articles"), "\(made.output)")
        let manifest = try BackupReader(directory: backup).manifest
        try #require(manifest.chunks.count > 1, "4K chunks split 50 articles")

        // Into a directory that is not empty: refused, and what was there is untouched.
        let again = try await CLI.run(["backup", backup], ports: (original.ports.0, 1))
        #expect(again.status == 64)
        #expect(again.errors.contains("is not empty"), "\(again.errors)")
        #expect(try BackupReader(directory: backup).manifest == manifest)

        // Restoring into a log that holds other articles: refused, naming why.
        let busy = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", "\(self.root)/original/ingest-copy", "--extraction", "off"])
        let busyPort = try await busy.port()
        let busyClient = DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", busyPort), query: ("127.0.0.1", 1)))
        _ = try await busyClient.send(IngestRequest(articles: [Self.story(999)]), to: .ingest)
        await busyClient.close()
        busy.kill(SIGTERM)
        let refused = try self.runToExit("dateline-ingest", ["--data-dir", "\(self.root)/original/ingest-copy", "--restore-from", backup, "--port", "0"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("already holds 1 records of its own"), "\(refused.errors)")

        // A chunk damaged after it was written: verify names it, and a restore starts nothing and stores nothing.
        let chunk = backup + "/" + manifest.chunks[1].file
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: chunk)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: chunk))
        let verify = try await CLI.run(["backup", "--verify", backup], ports: nil)
        #expect(verify.status == 1)
        #expect(verify.errors.contains(manifest.chunks[1].file) && verify.errors.contains("checksum"), "\(verify.errors)")
        let damaged = try self.runToExit("dateline-ingest", ["--data-dir", "\(self.root)/fresh", "--restore-from", backup, "--port", "0"])
        #expect(damaged.status != 0)
        #expect(damaged.errors.contains("fails its checksum"), "\(damaged.errors)")
        let fresh = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", "\(self.root)/fresh"])
        defer { fresh.kill(SIGTERM) }
        let connection = try await DatelineClientConnection.connect(host: "127.0.0.1", port: try await fresh.port())
        #expect(try await connection.send(IngestStatsRequest()).endOffset == 0, "nothing of a damaged backup is restored")
        try? await connection.close()

        // No manifest (a backup that did not finish): refused before anything starts, exit 64.
        try FileManager.default.removeItem(atPath: backup + "/" + BackupManifest.fileName)
        let unfinished = try self.runToExit("dateline-ingest", ["--data-dir", "\(self.root)/fresh2", "--restore-from", backup, "--port", "0"])
        #expect(unfinished.status == 64)
        #expect(unfinished.errors.contains("holds no finished backup"), "\(unfinished.errors)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aRestoreCutShortGoesOnFromWhereItStopped() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.root) }
        let original = try await Pair(root: self.root, name: "original")
        defer { original.stop() }
        let client = original.client
        _ = try await client.send(IngestRequest(articles: (0..<40).map(Self.story)), to: .ingest)
        #expect(try await CLI.run(["backup", self.root + "/early"], ports: (original.ports.0, 1)).status == 0)
        _ = try await client.send(IngestRequest(articles: (40..<90).map(Self.story)), to: .ingest)
        await client.close()
        #expect(try await CLI.run(["backup", self.root + "/late"], ports: (original.ports.0, 1)).status == 0)

        // A log holding the first 40 of the late backup's 90 records is what a restore cut short leaves.
        let data = self.root + "/restored"
        let first = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", data, "--restore-from", self.root + "/early"])
        _ = try await first.port()
        first.kill(SIGTERM)
        let second = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", data, "--restore-from", self.root + "/late"])
        defer { second.kill(SIGTERM) }
        let restored = Pair(ingest: second, query: second, ports: (try await second.port(), 1))
        let records = try await restored.records(below: 90)
        #expect(records == (try await original.records(below: 90)), "the other 50 appended after the first 40, each at its offset")
        #expect(try await restored.client.send(IngestStatsRequest(), to: .ingest).endOffset == 90)

        // A log whose records are not a beginning of the backup is refused.
        let other = self.root + "/other"
        let unrelated = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", other])
        let unrelatedClient = DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", try await unrelated.port()), query: ("127.0.0.1", 1)))
        _ = try await unrelatedClient.send(IngestRequest(articles: (500..<510).map(Self.story)), to: .ingest)
        await unrelatedClient.close()
        unrelated.kill(SIGTERM)
        let refused = try self.runToExit("dateline-ingest", ["--data-dir", other, "--restore-from", self.root + "/late", "--port", "0"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("already holds 10 records of its own"), "\(refused.errors)")
    }

    /// The figures of the query process of `pair`.
    func queryStats(_ pair: Pair) async throws -> QueryStatsResponse {
        let client = pair.client
        defer { Task { await client.close() } }
        return try await client.send(QueryStatsRequest(), to: .query)
    }

    @Test(.timeLimit(.minutes(4)))
    func aBackupWithTheIndexRestoresAQueryNodeThatReplaysOnlyTheLogAfterIt() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.root) }
        let original = try await Pair(root: self.root, name: "original")
        defer { original.stop() }
        let client = original.client
        defer { Task { await client.close() } }
        _ = try await client.send(IngestRequest(articles: (0..<300).map(Self.story)), to: .ingest)
        try await original.waitUntilIndexed(300)

        // Taken while batches keep arriving: the index is copied first, so it holds no record the log's copy lacks.
        let load = Task {
            for start in stride(from: 300, to: 450, by: 10) {
                _ = try await client.send(IngestRequest(articles: (start..<(start + 10)).map(Self.story)), to: .ingest)
            }
        }
        let result = try await CLI.run(["backup", self.root + "/backup", "--with-index", "-o", "json"], ports: original.ports)
        try await load.value
        #expect(result.status == 0, "\(result.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
        let end = try #require((report["endOffset"] as? NSNumber)?.uint64Value)
        let indexed = try #require((report["indexAppliedOffset"] as? NSNumber)?.uint64Value)
        #expect(indexed >= 300 && indexed <= end, "index \(indexed), log \(end)")
        let verified = try await CLI.run(["backup", "--verify", self.root + "/backup"], ports: nil)
        #expect(verified.status == 0, "\(verified.errors)")

        // Restored with the index: the query node applies only the records after the index's commit point.
        let restored = try await Pair(root: self.root, name: "restored", ingestArguments: ["--restore-from", self.root + "/backup"])
        defer { restored.stop() }
        restored.query.kill(SIGTERM)
        let query = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", "\(self.root)/restored/query-from-backup", "--ingest", "127.0.0.1:\(restored.ports.0)",
            "--restore-from", self.root + "/backup",
        ])
        defer { query.kill(SIGTERM) }
        var fromBackup = restored
        fromBackup.query = query
        fromBackup.ports.1 = try await query.port()
        try await fromBackup.waitUntilIndexed(end)
        let stats = try await self.queryStats(fromBackup)
        #expect(stats.articleCount == end)
        #expect(stats.recordsAppliedSinceStart == end - indexed, "only the log after the index's commit point is replayed")

        // ... and answers as a node that rebuilt its index from the restored log.
        let rebuilt = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", "\(self.root)/restored/query-rebuilt", "--ingest", "127.0.0.1:\(restored.ports.0)",
        ])
        defer { rebuilt.kill(SIGTERM) }
        var fromLog = restored
        fromLog.query = rebuilt
        fromLog.ports.1 = try await rebuilt.port()
        try await fromLog.waitUntilIndexed(end)
        #expect(try await self.queryStats(fromLog).recordsAppliedSinceStart == end)
        let (a, b) = (fromBackup.client, fromLog.client)
        for search in Self.searches {
            let expected = try await b.send(search, to: .query)
            let actual = try await a.send(search, to: .query)
            #expect(expected.total > 0 && actual.total == expected.total && actual.hits == expected.hits && actual.facets == expected.facets, "\(search.query)")
        }
        await a.close()
        await b.close()

        // An index that records no last article (committed by an older build) is not used: the node rebuilds.
        let manifestPath = self.root + "/backup/" + BackupManifest.fileName
        var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any])
        var indexSection = try #require(document["index"] as? [String: Any])
        indexSection["lastArticleID"] = ""
        document["index"] = indexSection
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: manifestPath + ".edited"))
        try FileManager.default.copyItem(atPath: self.root + "/backup", toPath: self.root + "/backup-old")
        try FileManager.default.removeItem(atPath: self.root + "/backup-old/" + BackupManifest.fileName)
        try FileManager.default.moveItem(atPath: manifestPath + ".edited", toPath: self.root + "/backup-old/" + BackupManifest.fileName)
        let unchecked = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", "\(self.root)/restored/query-old", "--ingest", "127.0.0.1:\(restored.ports.0)", "--restore-from", self.root + "/backup-old",
        ])
        defer { unchecked.kill(SIGTERM) }
        var fromOld = restored
        fromOld.query = unchecked
        fromOld.ports.1 = try await unchecked.port()
        try await fromOld.waitUntilIndexed(end)
        #expect(try await self.queryStats(fromOld).recordsAppliedSinceStart == end, "rebuilt from the log")

        // The same index pointed at another log (whose record at the index's last offset is another article) is
        // rebuilt from that log rather than mixed with it.
        let other = try ServiceProcess("dateline-ingest", arguments: ["--data-dir", "\(self.root)/other/ingest", "--extraction", "off"])
        defer { other.kill(SIGTERM) }
        let otherPort = try await other.port()
        let otherClient = DatelineClient(settings: DatelineClientSettings(ingest: ("127.0.0.1", otherPort), query: ("127.0.0.1", 1)))
        _ = try await otherClient.send(IngestRequest(articles: (1_000..<(1_000 + Int(end))).map(Self.story)), to: .ingest)
        await otherClient.close()
        let mismatched = try ServiceProcess("dateline-query", arguments: [
            "--data-dir", "\(self.root)/other/query", "--ingest", "127.0.0.1:\(otherPort)", "--restore-from", self.root + "/backup",
        ])
        defer { mismatched.kill(SIGTERM) }
        let otherPair = Pair(ingest: other, query: mismatched, ports: (otherPort, try await mismatched.port()))
        try await otherPair.waitUntilIndexed(end)
        let otherStats = try await self.queryStats(otherPair)
        #expect(otherStats.articleCount == end, "the backup's articles are gone, the other log's are there")
        let search = otherPair.client
        let hits = try await search.send(SearchRequest(query: "\"item 1005\"", limit: 5), to: .query)
        #expect(hits.total == 1)
        #expect(try await search.send(SearchRequest(query: "\"item 5\"", limit: 5), to: .query).total == 0)
        await search.close()
    }

    /// Runs a service that is expected to exit by itself (its start refused), returning its status and standard error.
    func runToExit(_ service: String, _ arguments: [String]) throws -> (status: Int32, errors: String) {
        let exit = try ServiceProcess.runToExit(service, arguments: arguments)
        return (exit.status, exit.errors)
    }
}
