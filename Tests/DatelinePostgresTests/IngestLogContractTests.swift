import DatelinePostgres
import DatelineStorage
import Testing

/// The ingest log's contract, run against every backend available (the file log always; PostgreSQL when
/// `DATELINE_TEST_POSTGRES` names a server, as `scripts/test.sh` arranges).
@Suite("Ingest log contract")
struct IngestLogContractTests {
    @Test(arguments: LogBackend.available)
    func appendsAndReadsBackAtDenseOffsets(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let log = try await place.open()
            #expect(log.backend == backend.rawValue)
            #expect(offsets(try await log.append([entry(0), entry(1)])) == [0, 1])
            #expect(offsets(try await log.append([entry(2)])) == [2])
            #expect(log.endOffset == 3)
            #expect(log.bounds == 0..<3)
            let records = try await log.read(from: 0, maximumRecords: 100, maximumBytes: 1 << 20)
            #expect(records.map(\.offset) == [0, 1, 2])
            #expect(records.map(\.payload) == [payload(0), payload(1), payload(2)])
            #expect(try await log.read(from: 1, maximumRecords: 100, maximumBytes: 1 << 20).map(\.offset) == [1, 2])
            #expect(try await log.read(from: 3, maximumRecords: 100, maximumBytes: 1 << 20).isEmpty)
            #expect(try await log.append([]).isEmpty)
            #expect(log.statistics.syncCount >= 1)
            try await log.close()
        }
    }

    @Test(arguments: LogBackend.available)
    func readsStopAtTheRecordAndByteLimitsButReturnAtLeastOne(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let log = try await place.open()
            _ = try await log.append((0..<20).map { entry($0, size: 1_000) })
            #expect(try await log.read(from: 5, maximumRecords: 4, maximumBytes: 1 << 20).map(\.offset) == [5, 6, 7, 8])
            let byBytes = try await log.read(from: 0, maximumRecords: 100, maximumBytes: 2_500)
            #expect(byBytes.count >= 2 && byBytes.count <= 4)
            #expect(try await log.read(from: 19, maximumRecords: 100, maximumBytes: 1).map(\.offset) == [19])
            try await log.close()
        }
    }

    @Test(arguments: LogBackend.available)
    func concurrentAppendsGetDistinctConsecutiveOffsets(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let log = try await place.open()
            let appended = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
                for index in 0..<40 {
                    group.addTask { (index, offsets(try await log.append([entry(index), entry(index + 1_000)]))) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(appended.flatMap(\.1).sorted() == Array(0..<80))
            let records = try await log.read(from: 0, maximumRecords: 1_000, maximumBytes: 1 << 30)
            #expect(records.count == 80)
            // Each append's records are adjacent and in the order given.
            for (index, pair) in appended {
                #expect(pair.count == 2 && pair[1] == pair[0] + 1)
                #expect(records[Int(pair[0])].payload == payload(index))
                #expect(records[Int(pair[1])].payload == payload(index + 1_000))
            }
            try await log.close()
        }
    }

    @Test(arguments: LogBackend.available)
    func survivesReopenWithItsEpochAndContinuesNumbering(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let epoch: String
            do {
                let log = try await place.open()
                _ = try await log.append((0..<10).map { entry($0) })
                epoch = log.epoch
                try await log.close()
            }
            let log = try await place.open()
            #expect(log.epoch == epoch)
            #expect(log.endOffset == 10)
            #expect(offsets(try await log.append([entry(10)])) == [10])
            #expect(try await log.read(from: 0, maximumRecords: 100, maximumBytes: 1 << 20).map(\.payload) == (0...10).map { payload($0) })
            try await log.close()
        }
    }

    @Test(arguments: LogBackend.available)
    func aNewLogHasANewEpoch(_ backend: LogBackend) async throws {
        var epochs: [String] = []
        for _ in 0..<2 {
            try await withLogPlace(backend) { place in
                let log = try await place.open()
                epochs.append(log.epoch)
                try await log.close()
            }
        }
        #expect(!epochs[0].isEmpty && epochs[0] != epochs[1])
    }

    @Test(arguments: LogBackend.available)
    func waitForRecordReturnsWhenOneIsCommittedOrTheWaitIsCancelled(_ backend: LogBackend) async throws {
        try await withLogPlace(backend) { place in
            let log = try await place.open()
            let waiter = Task { await log.waitForRecord(at: 0); return log.endOffset }
            _ = try await log.append([entry(0)])
            #expect(await waiter.value == 1)
            await log.waitForRecord(at: 0)  // one is committed: returns at once
            let cancelled = Task { await log.waitForRecord(at: 10) }
            cancelled.cancel()
            await cancelled.value
            // Closing ends the waits still pending.
            let pending = Task { await log.waitForRecord(at: 10) }
            try await log.close()
            await pending.value
        }
    }
}
