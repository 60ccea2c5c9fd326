import DatelinePostgres
import DatelineStorage
import Synchronization
import Testing

/// What only the shared PostgreSQL log does: deduplication by the database, several writers on one log, and
/// failures of the database.
@Suite("PostgreSQL log", .enabled(if: TestPostgres.isConfigured, "set DATELINE_TEST_POSTGRES (scripts/test.sh does)"))
struct PostgresLogTests {
    private func open(_ place: LogPlace) async throws -> PostgresLog {
        try await PostgresLog.open(configuration: try TestPostgres.configuration(schema: place.name), logger: quietLogger)
    }

    @Test func theDatabaseDecidesWhatIsADuplicate() async throws {
        try await withLogPlace(.postgres) { place in
            let log = try await self.open(place)
            #expect(log.deduplicatesByKey)
            #expect(try await log.append([entry(0, externalID: "wire-1"), entry(1)]) == [.appended(offset: 0), .appended(offset: 1)])
            let outcomes = try await log.append([
                entry(10, externalID: "wire-1"),  // the same external id, other content
                entry(11, content: "content-1"),  // the same content, no external id
                entry(12),  // new
                entry(13, content: "content-12"),  // a copy of the entry before it in this batch
                IngestLogEntry(payload: payload(14), keys: DeduplicationKeys(articleID: "article-0", externalID: nil, contentKey: "other")),  // a taken id
            ])
            #expect(outcomes == [
                .duplicate(of: "article-0", offset: 0), .duplicate(of: "article-1", offset: 1), .appended(offset: 2),
                .duplicate(of: "article-12", offset: 2), .idTaken,
            ])
            // Only the new one was stored, at the next dense offset.
            #expect(log.endOffset == 3)
            #expect(try await log.read(from: 0, maximumRecords: 10, maximumBytes: 1 << 20).map(\.payload) == [payload(0), payload(1), payload(12)])
            try await log.close()
        }
    }

    /// Entries that repeat no key of their batch are judged by one set-based statement, the rest one by one
    /// after them; the answers must be the ones judging each entry in turn gives: duplicates by external id
    /// before content, taken ids, and the new entries at dense offsets, wherever the others fall between them.
    @Test func aBatchIsJudgedAsJudgingEachEntryInTurnWould() async throws {
        try await withLogPlace(.postgres) { place in
            let log = try await self.open(place)
            #expect(try await log.append([entry(0, externalID: "wire-0"), entry(1), entry(2, externalID: "wire-2")]) == [.appended(offset: 0), .appended(offset: 1), .appended(offset: 2)])
            let outcomes = try await log.append([
                entry(20),  // new
                entry(21, externalID: "wire-2", content: "content-1"),  // the external id wins over the content
                entry(22, content: "content-0"),  // the same content as a stored article
                IngestLogEntry(payload: payload(23), keys: DeduplicationKeys(articleID: "article-1", externalID: "wire-23", contentKey: "other")),  // a taken id
                entry(24, externalID: "wire-24"),  // new
                entry(25),  // new
            ])
            #expect(outcomes == [
                .appended(offset: 3), .duplicate(of: "article-2", offset: 2), .duplicate(of: "article-0", offset: 0), .idTaken,
                .appended(offset: 4), .appended(offset: 5),
            ])
            #expect(log.endOffset == 6)
            #expect(try await log.read(from: 3, maximumRecords: 10, maximumBytes: 1 << 20).map(\.payload) == [payload(20), payload(24), payload(25)])
            // A batch of nothing but duplicates moves nothing.
            #expect(try await log.append([entry(30, externalID: "wire-0"), entry(31, content: "content-25")]) == [.duplicate(of: "article-0", offset: 0), .duplicate(of: "article-25", offset: 5)])
            #expect(log.endOffset == 6)
            // Repeats within a batch are judged after the rest, against everything stored before them.
            let repeats = try await log.append([
                entry(40, externalID: "wire-40", content: "content-0"),  // a stored article's content
                entry(41, externalID: "wire-40"),  // repeats 40's external id, which was not stored: new
                entry(42),  // new
                IngestLogEntry(payload: payload(43), keys: DeduplicationKeys(articleID: "article-42", externalID: nil, contentKey: "other-43")),  // repeats 42's id
                entry(44, content: "content-42"),  // repeats 42's content
            ])
            #expect(repeats == [.duplicate(of: "article-0", offset: 0), .appended(offset: 7), .appended(offset: 6), .idTaken, .duplicate(of: "article-42", offset: 6)])
            #expect(log.endOffset == 8)
            try await log.close()
            // Another node opening the log sees the end the set-based appends moved.
            let reopened = try await self.open(place)
            #expect(reopened.endOffset == 8)
            try await reopened.close()
        }
    }

    /// Appends that arrive while one is in flight wait and go together, in one transaction; each caller gets
    /// the outcomes of its own entries, including duplicates of entries another caller sent in the same call.
    @Test func appendsWaitingBehindOneInFlightAreCommittedTogether() async throws {
        try await withLogPlace(.postgres) { place in
            let log = try await self.open(place)
            _ = try await log.append([entry(0)])
            let (first, waiting) = try await TestPostgres.holdingTheHead(of: place.name) {
                // The first append is sent and waits for the head; the next 12 queue behind it.
                let first = Task { try await log.append([entry(1), entry(2)]) }
                while !(log.pendingAppends.inFlight && log.pendingAppends.queued == 0) { try await Task.sleep(for: .milliseconds(1)) }
                let waiting = (0..<12).map { caller in
                    // Caller k sends articles 10+k and 11+k: each but the first repeats an article of the one before.
                    Task { try await log.append([entry(10 + caller), entry(11 + caller)]) }
                }
                while log.pendingAppends.queued < 12 { try await Task.sleep(for: .milliseconds(1)) }
                return (first, waiting)
            }
            #expect(try await first.value == [.appended(offset: 1), .appended(offset: 2)])
            var stored: [Int: UInt64] = [:]
            var duplicates: [Int: UInt64] = [:]
            for (caller, task) in waiting.enumerated() {
                for (article, outcome) in zip([10 + caller, 11 + caller], try await task.value) {
                    switch outcome {
                    case .appended(let offset): stored[article] = offset
                    case .duplicate(let id, let offset):
                        #expect(id == "article-\(article)")
                        duplicates[article] = offset
                    case .idTaken: Issue.record("article \(article): id taken")
                    }
                }
            }
            // Articles 10...22 stored once each, at the offsets after the first append's; every repeat names its original.
            #expect(Set(stored.keys) == Set(10...22))
            #expect(Set(stored.values) == Set(3...15))
            for (article, offset) in duplicates { #expect(stored[article] == offset) }
            // Three transactions: the first entry, the append in flight, and all twelve waiting ones together.
            #expect(log.statistics.syncCount == 3)
            #expect(log.endOffset == 16)
            try await log.close()
        }
    }

    @Test func twoNodesWritingOverlappingBatchesStoreEachArticleOnceAtDenseOffsets() async throws {
        try await withLogPlace(.postgres) { place in
            let nodes = [try await self.open(place), try await self.open(place)]
            let follower = try await self.open(place)
            let articles = 300
            // A follower that must see every offset exactly once, in order, while the writers run.
            let seen = Task {
                var records: [DatelineLogRecord] = []
                while records.count < articles {
                    await follower.waitForRecord(at: UInt64(records.count))
                    records += try await follower.read(from: UInt64(records.count), maximumRecords: 64, maximumBytes: 1 << 20)
                }
                return records
            }
            // Each node gets every article, in batches of 10 starting at different places: most batches overlap.
            let outcomes = try await withThrowingTaskGroup(of: [(Int, IngestLogAppendOutcome)].self) { group in
                for (number, node) in nodes.enumerated() {
                    for batch in 0..<(articles / 10) {
                        let first = ((batch + number * 7) % (articles / 10)) * 10
                        group.addTask {
                            let indices = Array(first..<(first + 10))
                            return Array(zip(indices, try await node.append(indices.map { entry($0) })))
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let records = try await seen.value
            #expect(records.map(\.offset) == (0..<UInt64(articles)).map { $0 })
            #expect(Set(records.map(\.payload)) == Set((0..<articles).map { payload($0) }))
            // Every article was accepted exactly once, and its duplicate names where it is.
            let accepted = outcomes.filter { if case .appended = $0.1 { true } else { false } }
            #expect(accepted.count == articles)
            #expect(Set(accepted.map(\.0)).count == articles)
            for (index, outcome) in outcomes {
                guard case .duplicate(let id, let offset) = outcome else { continue }
                #expect(id == "article-\(index)")
                #expect(records[Int(offset)].payload == payload(index))
            }
            #expect(try await follower.read(from: UInt64(articles), maximumRecords: 10, maximumBytes: 1 << 20).isEmpty)
            for log in nodes + [follower] { try await log.close() }
        }
    }

    @Test func aNodeLearnsOfAnotherNodesAppendsWithoutAppendingItself() async throws {
        try await withLogPlace(.postgres) { place in
            let writer = try await self.open(place)
            let reader = try await self.open(place)
            let waiting = Task { await reader.waitForRecord(at: 2); return reader.endOffset }
            _ = try await writer.append([entry(0), entry(1)])
            _ = try await writer.append([entry(2)])
            #expect(await waiting.value == 3)
            #expect(await reader.currentBounds() == 0..<3)
            try await writer.close()
            try await reader.close()
        }
    }

    /// The connection a node LISTENs on is lost (its backend terminated, as a proxy or the server might): the
    /// node listens again and learns of another node's appends at once. The poll is made an hour long, so that
    /// only a notification can tell it.
    @Test(.timeLimit(.minutes(1)))
    func aNodeWhoseListeningConnectionIsLostListensAgain() async throws {
        try await withLogPlace(.postgres) { place in
            var configuration = try TestPostgres.configuration(schema: place.name)
            configuration.pollInterval = .seconds(3_600)
            let reader = try await PostgresLog.open(configuration: configuration, logger: quietLogger)
            let writer = try await self.open(place)
            _ = try await writer.append([entry(0)])
            await reader.waitForRecord(at: 0)
            let listening = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %dateline_log_\(place.name)%'"
            while try await TestPostgres.integer(listening) < 2 { try await Task.sleep(for: .milliseconds(5)) }  // both nodes
            #expect(try await TestPostgres.integer(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %dateline_log_\(place.name)%'"
            ) == 2)
            _ = try await writer.append([entry(1)])
            await reader.waitForRecord(at: 1)
            #expect(reader.endOffset == 2)
            try await reader.close()
            try await writer.close()
        }
    }

    @Test func noReachableServerIsAClearErrorNamingEveryHostTried() async throws {
        var configuration = try PostgresLogConfiguration(connectionString: "postgres://dateline@127.0.0.1:1,127.0.0.1:2/dateline")
        configuration.connectTimeout = .seconds(2)
        let error = await #expect(throws: DatelineStorageError.self) {
            _ = try await PostgresLog.open(configuration: configuration, logger: quietLogger)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("127.0.0.1:1") == true && error?.message.contains("127.0.0.1:2") == true)
    }

    @Test func aLogWrittenByANewerVersionIsRefused() async throws {
        try await withLogPlace(.postgres) { place in
            try await self.open(place).close()
            try await TestPostgres.execute("UPDATE \(place.name).log_head SET schema_version = 99")
            let error = await #expect(throws: DatelineStorageError.self) { _ = try await self.open(place) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("newer") == true)
        }
    }

    @Test func aGapInTheTableIsReportedAsDamageNotSkipped() async throws {
        try await withLogPlace(.postgres) { place in
            let log = try await self.open(place)
            _ = try await log.append((0..<5).map { entry($0) })
            try await TestPostgres.execute("DELETE FROM \(place.name).articles WHERE log_offset = 2")
            let error = await #expect(throws: DatelineStorageError.self) {
                _ = try await log.read(from: 0, maximumRecords: 10, maximumBytes: 1 << 20)
            }
            #expect(error?.code == .corrupt)
            try await log.close()
        }
    }

    @Test func aFailingStatementStoresNothingAndSaysSo() async throws {
        try await withLogPlace(.postgres) { place in
            let log = try await self.open(place)
            _ = try await log.append([entry(0)])
            // Make every insert fail, as a full disk or a broken constraint would.
            try await TestPostgres.execute("ALTER TABLE \(place.name).articles ADD CONSTRAINT no_more CHECK (log_offset < 1) NOT VALID")
            let error = await #expect(throws: DatelineStorageError.self) { _ = try await log.append([entry(1), entry(2)]) }
            #expect(error?.code == .unavailable)
            #expect(log.writeFailure?.code == .unavailable)
            #expect(log.endOffset == 1)
            try await TestPostgres.execute("ALTER TABLE \(place.name).articles DROP CONSTRAINT no_more")
            #expect(try await log.append([entry(1)]) == [.appended(offset: 1)])
            #expect(log.writeFailure == nil)
            try await log.close()
        }
    }
}
