import Foundation
import Synchronization
import Testing
import enum DatelineTestSupport.TmpfsMount

@testable import DatelineStorage

#if canImport(Glibc)
import Glibc
#endif

/// Damage, full disks, timed fsyncs and the log's identity.
@Suite("Segmented log under faults")
struct LogFaultTests {
    /// Writes `count` records and returns the segment's bytes and each record's start.
    static func writeRecords(_ count: Int, in directory: String) async throws -> (bytes: Data, starts: [Int]) {
        let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
        for index in 0..<count { _ = try await log.append([payload(index, size: 30 + index)]) }
        try await log.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/00000000000000000000.log"))
        var starts: [Int] = []
        var position = 0
        for index in 0..<count {
            starts.append(position)
            position += RecordFormat.headerSize + payload(index, size: 30 + index).count
        }
        #expect(position == bytes.count)
        return (bytes, starts)
    }

    @Test func everyBitFlipInAMiddleRecordsHeaderIsRefusedNeverTruncated() async throws {
        try await withTemporaryDirectory { directory in
            let original = directory + "/original"
            let (bytes, starts) = try await Self.writeRecords(9, in: original)
            let victim = 4
            let segment = "/00000000000000000000.log"
            // Every bit of the length (0..<4), CRC (4..<8) and offset (8..<16) fields of record 4 of 9.
            for byte in 0..<RecordFormat.headerSize {
                for bit in 0..<8 {
                    let copy = directory + "/flip-\(byte)-\(bit)"
                    try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
                    var damaged = bytes
                    damaged[starts[victim] + byte] ^= UInt8(1 << bit)
                    try damaged.write(to: URL(fileURLWithPath: copy + segment))
                    let error = #expect(throws: DatelineStorageError.self, "byte \(byte) bit \(bit)") {
                        try DatelineLog(configuration: .init(directory: copy), logger: quietLogger)
                    }
                    #expect(error?.code == .corrupt)
                    #expect(error?.byteOffset == starts[victim], "byte \(byte) bit \(bit): \(String(describing: error))")
                    #expect(error?.intactRecordsAfter == 9 - victim - 1, "byte \(byte) bit \(bit)")
                    #expect(error?.description.contains("00000000000000000000.log") == true)
                    let after = try Data(contentsOf: URL(fileURLWithPath: copy + segment))
                    #expect(after == damaged, "byte \(byte) bit \(bit): the segment is left as it was")
                    try FileManager.default.removeItem(atPath: copy)
                }
            }
        }
    }

    @Test func aFailedWriteIsUndoneAndTheNextAppendSucceeds() async throws {
        try await withTemporaryDirectory { directory in
            let failNext = Atomic<Int>(0)
            var configuration = DatelineLogConfiguration(directory: directory, segmentMaximumBytes: 400)
            configuration.faults = DatelineLogFaults { point throws(DatelineStorageError) in
                // Fail once at the chosen point (1 = write, 2 = sync).
                let wanted = point == .write ? 1 : 2
                if failNext.compareExchange(expected: wanted, desired: 0, ordering: .relaxed).exchanged {
                    throw DatelineStorageError.io("injected", errno: ENOSPC)
                }
            }
            let log = try DatelineLog(configuration: configuration, logger: quietLogger)
            #expect(try await log.append([payload(0)]) == 0..<1)
            for point in [1, 2] {
                failNext.store(point, ordering: .relaxed)
                let error = await #expect(throws: DatelineStorageError.self) { try await log.append([payload(1), payload(2), payload(3), payload(4)]) }
                #expect(error?.code == .noSpace)
                #expect(log.writeFailure?.code == .noSpace, "health can say why appends fail")
                #expect(log.endOffset == 1)
                #expect(log.segmentCount == 1, "segments created by the failed commit are removed")
            }
            // Tried afresh: the same batch now succeeds at the same offsets.
            #expect(try await log.append([payload(1), payload(2), payload(3), payload(4)]) == 1..<5)
            #expect(log.writeFailure == nil)
            #expect(try log.read(from: 0).map(\.payload) == (0..<5).map { payload($0) })
            try await log.close()
            let reopened = try DatelineLog(configuration: .init(directory: directory, segmentMaximumBytes: 400), logger: quietLogger)
            #expect(reopened.recovery.truncatedBytes == 0, "nothing of the failed writes is left on disk")
            #expect(try reopened.read(from: 0).map(\.payload) == (0..<5).map { payload($0) })
            try await reopened.close()
        }
    }

    /// A real ENOSPC: a 1 MiB tmpfs (mounting needs privileges: elsewhere the test is reported as skipped).
    @Test(.enabled(if: TmpfsMount.isAllowed, "mounting a tmpfs is not allowed here"))
    func aFullDiskFailsAppendsUntilSpaceIsFreed() async throws {
        let mountPoint = try TmpfsMount.mount(size: "1m")
        defer { TmpfsMount.unmount(mountPoint) }
        let ballast = mountPoint + "/ballast"
        try Data(repeating: 7, count: 700 << 10).write(to: URL(fileURLWithPath: ballast))
        let log = try DatelineLog(configuration: .init(directory: mountPoint + "/log"), logger: quietLogger)
        var stored = 0
        var failure: DatelineStorageError?
        while failure == nil, stored < 10_000 {
            do {
                _ = try await log.append([payload(stored, size: 8_000)])
                stored += 1
            } catch let error as DatelineStorageError {
                failure = error
            }
        }
        #expect(failure?.code == .noSpace)
        #expect(log.writeFailure?.code == .noSpace)
        #expect(log.endOffset == UInt64(stored))
        try FileManager.default.removeItem(atPath: ballast)
        #expect(try await log.append([payload(stored, size: 8_000)]) == UInt64(stored)..<UInt64(stored + 1), "accepted once space is freed")
        #expect(log.writeFailure == nil)
        try await log.close()
        let reopened = try DatelineLog(configuration: .init(directory: mountPoint + "/log"), logger: quietLogger)
        #expect(reopened.recovery.records == UInt64(stored + 1))
        #expect(reopened.recovery.truncatedBytes == 0)
        try await reopened.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func anIntervalPolicySyncsAnIdleTail() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory, durability: .fsyncInterval(.milliseconds(50))), logger: quietLogger)
            _ = try await log.append([payload(0)])  // the first commit syncs (none yet within the interval)
            let range = try await log.append([payload(1)])
            // Nothing more is written: the timer alone must make the tail durable.
            await log.waitUntilDurable(range.upperBound)
            #expect(log.durableEndOffset == 2)
            #expect(log.fsyncLatency.count >= 1)
            try await log.close()
        }
    }

    @Test func theEpochIsKeptAcrossRestartsAndRenewedWhenRecordsAreDropped() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = DatelineLogConfiguration(directory: directory, segmentMaximumBytes: 600)
            var log = try DatelineLog(configuration: configuration, logger: quietLogger)
            let first = log.epoch
            #expect(first.count == 16)
            #expect(log.recovery.newEpochReason == "a new log")
            for index in 0..<20 { _ = try await log.append([payload(index)]) }
            try await log.close()

            log = try DatelineLog(configuration: configuration, logger: quietLogger)
            #expect(log.epoch == first, "a clean restart keeps the epoch")
            #expect(log.recovery.newEpochReason == nil)
            try await log.close()

            // A torn tail: truncated, and a new epoch.
            let segments = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted()
            let lastPath = directory + "/" + segments.last!
            let last = try Data(contentsOf: URL(fileURLWithPath: lastPath))
            try last.dropLast(7).write(to: URL(fileURLWithPath: lastPath))
            log = try DatelineLog(configuration: configuration, logger: quietLogger)
            let second = log.epoch
            #expect(second != first)
            #expect(log.recovery.newEpochReason?.contains("truncated") == true)
            try await log.close()

            // The last segment moved away: the log is shorter than it was, so another epoch.
            try FileManager.default.removeItem(atPath: directory + "/" + segments.last!)
            log = try DatelineLog(configuration: configuration, logger: quietLogger)
            #expect(log.epoch != second)
            #expect(log.recovery.newEpochReason?.contains("records were removed") == true)
            try await log.close()
        }
    }

    @Test func intactRecordsAfterDamageAreCountedAndATornTailHasNone() throws {
        var bytes: [UInt8] = []
        for offset in 0..<6 { RecordFormat.append(offset: UInt64(offset), payload: payload(offset), to: &bytes) }
        let recordSize = RecordFormat.headerSize + payload(0).count
        bytes.withUnsafeBytes { pointer in
            #expect(RecordFormat.intactRecords(pointer, after: 2 * recordSize, expectedOffset: 2, maximumRecordBytes: 1 << 20) == 3)
            #expect(RecordFormat.intactRecords(pointer, after: 5 * recordSize, expectedOffset: 5, maximumRecordBytes: 1 << 20) == 0)
        }
        let zeros = [UInt8](repeating: 0, count: 4_096)
        zeros.withUnsafeBytes { #expect(RecordFormat.intactRecords($0, after: 0, expectedOffset: 0, maximumRecordBytes: 1 << 20) == 0) }
    }
}
