import Foundation
import Logging
import Testing

@testable import DatelineStorage

let quietLogger = Logger(label: "dateline.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("dateline-log-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

func payload(_ index: Int, size: Int = 100) -> [UInt8] {
    Array("record \(index) ".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
}

@Suite("Segmented log")
struct DatelineLogTests {
    @Test func appendsAndReadsBackInOrder() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            let first = try await log.append([payload(0), payload(1)])
            let second = try await log.append([payload(2)])
            #expect(first == 0..<2)
            #expect(second == 2..<3)
            #expect(log.endOffset == 3)
            let records = try log.read(from: 0)
            #expect(records.map(\.offset) == [0, 1, 2])
            #expect(records.map(\.payload) == [payload(0), payload(1), payload(2)])
            #expect(try log.read(from: 1).map(\.offset) == [1, 2])
            #expect(try log.read(from: 3).isEmpty)
            #expect(log.fsyncLatency.count >= 1)
            try await log.close()
        }
    }

    @Test func concurrentAppendsGetDistinctConsecutiveOffsets() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            let ranges = try await withThrowingTaskGroup(of: Range<UInt64>.self) { group in
                for index in 0..<50 {
                    group.addTask { try await log.append([payload(index), payload(index + 1000)]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let offsets = ranges.flatMap { Array($0) }.sorted()
            #expect(offsets == Array(0..<100))
            let records = try log.read(from: 0, maximumRecords: 1_000, maximumBytes: 1 << 30)
            #expect(records.count == 100)
            // Each append's two records are adjacent and in order.
            for range in ranges {
                let pair = records.filter { range.contains($0.offset) }
                #expect(pair.count == 2)
                #expect(String(decoding: pair[1].payload.prefix(12), as: UTF8.self).hasPrefix("record 10"))
            }
            // Group commit: never more fsyncs than appends.
            #expect(log.fsyncLatency.count <= 50)
            try await log.close()
        }
    }

    @Test func survivesReopenAndContinuesNumbering() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
                _ = try await log.append((0..<10).map { payload($0) })
                try await log.close()
            }
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            #expect(log.recovery.records == 10)
            #expect(log.recovery.truncatedBytes == 0)
            #expect(try await log.append([payload(10)]) == 10..<11)
            #expect(try log.read(from: 0, maximumRecords: 100).map(\.payload) == (0...10).map { payload($0) })
            try await log.close()
        }
    }

    @Test func rollsSegmentsAndReadsAcrossThem() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = DatelineLogConfiguration(directory: directory, segmentMaximumBytes: 1_000, indexInterval: 200)
            do {
                let log = try DatelineLog(configuration: configuration, logger: quietLogger)
                for index in 0..<40 { _ = try await log.append([payload(index)]) }
                #expect(log.segmentCount > 4)
                #expect(try log.read(from: 0, maximumRecords: 100, maximumBytes: 1 << 20).map(\.offset) == Array(0..<40))
                #expect(try log.read(from: 23, maximumRecords: 5).map(\.offset) == [23, 24, 25, 26, 27])
                try await log.close()
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(files.first == "00000000000000000000.log")
            #expect(files.count > 4)
            let log = try DatelineLog(configuration: configuration, logger: quietLogger)
            #expect(log.recovery.records == 40)
            #expect(try log.read(from: 37).map(\.payload) == [payload(37), payload(38), payload(39)])
            try await log.close()
        }
    }

    @Test func aTornLastRecordIsTruncatedAtEveryPossibleByte() async throws {
        try await withTemporaryDirectory { directory in
            let original = directory + "/original"
            do {
                let log = try DatelineLog(configuration: .init(directory: original), logger: quietLogger)
                _ = try await log.append((0..<5).map { payload($0, size: 40) })
                try await log.close()
            }
            let segment = "/00000000000000000000.log"
            let full = try Data(contentsOf: URL(fileURLWithPath: original + segment))
            let recordSize = RecordFormat.headerSize + payload(4, size: 40).count
            let lastStart = full.count - recordSize
            for cut in lastStart..<full.count {
                let copy = directory + "/cut-\(cut)"
                try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
                try full.prefix(cut).write(to: URL(fileURLWithPath: copy + segment))
                let log = try DatelineLog(configuration: .init(directory: copy), logger: quietLogger)
                #expect(log.recovery.records == 4, "cut at \(cut)")
                #expect(log.recovery.truncatedBytes == cut - lastStart, "cut at \(cut)")
                #expect(try log.read(from: 0).map(\.payload) == (0..<4).map { payload($0, size: 40) })
                // Appending continues right after the last complete record.
                #expect(try await log.append([payload(99)]) == 4..<5)
                try await log.close()
                try FileManager.default.removeItem(atPath: copy)
            }
        }
    }

    @Test func aGarbledLastRecordOrTrailingZerosAreTruncatedToo() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
                _ = try await log.append((0..<3).map { payload($0) })
                try await log.close()
            }
            let path = directory + "/00000000000000000000.log"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count - 3] ^= 0xFF  // last record's payload: CRC fails, but it is the last record
            bytes.append(Data(repeating: 0, count: 0))
            try bytes.write(to: URL(fileURLWithPath: path))
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            #expect(log.recovery.records == 2)
            #expect(log.recovery.truncationReason?.contains("CRC-32 mismatch") == true)
            try await log.close()
            // Zeros after the last record (a preallocated or half-written tail).
            var again = try Data(contentsOf: URL(fileURLWithPath: path))
            again.append(Data(repeating: 0, count: 10))
            try again.write(to: URL(fileURLWithPath: path))
            let reopened = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            #expect(reopened.recovery.records == 2)
            #expect(reopened.recovery.truncatedBytes == 10)
            try await reopened.close()
        }
    }

    @Test func corruptionInTheMiddleRefusesToOpenAndSaysWhere() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
                _ = try await log.append((0..<5).map { payload($0) })
                try await log.close()
            }
            let path = directory + "/00000000000000000000.log"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let recordSize = RecordFormat.headerSize + payload(0).count
            bytes[2 * recordSize + 20] ^= 0x01  // inside record 2's payload
            try bytes.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: DatelineStorageError.self) {
                try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            }
            #expect(error?.code == .corrupt)
            #expect(error?.segment == "00000000000000000000.log")
            #expect(error?.byteOffset == 2 * recordSize)
            #expect(error?.intactRecordsAfter == 2)
            #expect(error?.message.contains("CRC-32") == true)
            #expect(error?.description.contains("refusing to start") == true)
            #expect(error?.description.contains("2 intact records follow") == true)
            #expect(error?.publicMessage.contains("/") == false, "what a client is told names no path")
        }
    }

    @Test func damageToAnEarlierSegmentIsNeverTreatedAsATornTail() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = DatelineLogConfiguration(directory: directory, segmentMaximumBytes: 600)
            do {
                let log = try DatelineLog(configuration: configuration, logger: quietLogger)
                for index in 0..<20 { _ = try await log.append([payload(index)]) }
                try await log.close()
            }
            let first = directory + "/00000000000000000000.log"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: first))
            try bytes.dropLast(5).write(to: URL(fileURLWithPath: first))  // torn end of a *sealed* segment
            let error = #expect(throws: DatelineStorageError.self) { try DatelineLog(configuration: configuration, logger: quietLogger) }
            #expect(error?.code == .corrupt)
            #expect(error?.segment == "00000000000000000000.log")
        }
    }

    @Test func readingOutsideTheLogIsAnError() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            _ = try await log.append([payload(0)])
            let error = #expect(throws: DatelineStorageError.self) { try log.read(from: 5) }
            #expect(error?.description.contains("outside the log") == true)
            try await log.close()
        }
    }

    @Test func rejectsOversizedRecords() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory, maximumRecordBytes: 64), logger: quietLogger)
            await #expect(throws: DatelineStorageError.self) { try await log.append([payload(0, size: 100)]) }
            #expect(log.endOffset == 0)
            try await log.close()
        }
    }

    @Test func waitForRecordReturnsWhenOneIsCommitted() async throws {
        try await withTemporaryDirectory { directory in
            let log = try DatelineLog(configuration: .init(directory: directory), logger: quietLogger)
            let waiter = Task { await log.waitForRecord(at: 0); return log.endOffset }
            try await Task.sleep(for: .milliseconds(50))
            _ = try await log.append([payload(0)])
            #expect(await waiter.value == 1)
            // Cancellation ends a wait too.
            let cancelled = Task { await log.waitForRecord(at: 10) }
            cancelled.cancel()
            await cancelled.value
            try await log.close()
        }
    }
}
