public import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only, segmented, checksummed log of records numbered 0, 1, 2, ... (their offsets).
///
/// Segment files are named by the offset of their first record (`00000000000000000000.log`); each record is
/// `[length][CRC-32][offset][payload]` (``RecordFormat``). Appends from any number of tasks are written and
/// fsynced together by one flusher thread (group commit); `append` returns once its records are durable
/// (per ``DatelineLogConfiguration/Durability``). Opening the log verifies every record: a torn or corrupt
/// last record is truncated away (and reported); damage anywhere else stops the open with
/// ``DatelineStorageError/corrupt(segment:offset:reason:)``.
public final class DatelineLog: Sendable {
    /// A segment file. Its descriptor is shared by the flusher (writes) and readers (preads).
    final class SegmentFile: Sendable {
        let baseOffset: UInt64
        let name: String
        let path: String
        let descriptor: FileDescriptorBox

        init(baseOffset: UInt64, directory: String) throws(DatelineStorageError) {
            self.baseOffset = baseOffset
            self.name = DatelineLog.segmentName(baseOffset)
            self.path = directory + "/" + self.name
            self.descriptor = FileDescriptorBox(try FileDescriptor(path: self.path, mode: .readWrite))
        }
    }

    /// What is known about a segment's committed contents.
    struct SegmentState: Sendable {
        let file: SegmentFile
        /// Bytes of complete, committed records.
        var size: Int
        /// One past the last committed offset.
        var endOffset: UInt64
        /// (offset, byte position) every `indexInterval` bytes, first entry at the segment's start.
        var index: [(offset: UInt64, position: Int)]
    }

    private struct PendingAppend {
        let firstOffset: UInt64
        let payloads: [[UInt8]]
        let continuation: CheckedContinuation<Range<UInt64>, any Error>
    }

    private struct State {
        var segments: [SegmentState]
        /// The next offset to hand out (appends in flight included).
        var nextOffset: UInt64
        /// One past the last durable (committed) offset.
        var committedEnd: UInt64
        var pending: [PendingAppend] = []
        var isFlushing = false
        var failure: DatelineStorageError?
        var isClosed = false
        var commitWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        var bytesOnDisk: Int
    }

    public let configuration: DatelineLogConfiguration
    /// What recovery found when the log was opened.
    public let recovery: DatelineLogRecoveryReport
    private let state: Mutex<State>
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let lastSync = Mutex<ContinuousClock.Instant>(.now)
    private let fsyncStatistics = Mutex<(count: Int, totalNanoseconds: Int64, lastNanoseconds: Int64)>((0, 0, 0))

    /// Opens (creating if needed) the log in `configuration.directory`, verifying every record.
    /// - Throws: ``DatelineStorageError/corrupt(segment:offset:reason:)`` on damage before the tail;
    ///   ``DatelineStorageError/io(_:errno:)`` when the directory cannot be used.
    public init(configuration: DatelineLogConfiguration, logger: Logger) throws(DatelineStorageError) {
        self.configuration = configuration
        self.logger = logger
        try Self.createDirectory(configuration.directory)
        let (segments, report) = try Self.recover(configuration: configuration, logger: logger)
        var segmentStates = segments
        if segmentStates.isEmpty {
            let file = try SegmentFile(baseOffset: 0, directory: configuration.directory)
            try FileDescriptor.syncDirectory(configuration.directory)
            segmentStates = [SegmentState(file: file, size: 0, endOffset: 0, index: [(0, 0)])]
        }
        let end = segmentStates.last!.endOffset
        self.recovery = report
        self.state = Mutex(State(
            segments: segmentStates,
            nextOffset: end,
            committedEnd: end,
            bytesOnDisk: segmentStates.reduce(0) { $0 + $1.size }
        ))
        self.threadPool = NIOThreadPool(numberOfThreads: 1)
        self.threadPool.start()
        if report.truncatedBytes > 0 {
            logger.warning(
                "log recovery truncated a torn last record",
                metadata: [
                    "dateline.log.segment": "\(report.truncatedSegment ?? "")",
                    "dateline.log.bytes_dropped": "\(report.truncatedBytes)",
                    "dateline.log.reason": "\(report.truncationReason ?? "")",
                ]
            )
        }
        logger.info("log opened", metadata: ["dateline.log.records": "\(end)", "dateline.log.segments": "\(segmentStates.count)"])
    }

    static func segmentName(_ baseOffset: UInt64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    private static func createDirectory(_ path: String) throws(DatelineStorageError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw .io("cannot create directory \(current)", errno: errno)
            }
        }
    }

    // MARK: Recovery

    private static func recover(configuration: DatelineLogConfiguration, logger: Logger) throws(DatelineStorageError) -> ([SegmentState], DatelineLogRecoveryReport) {
        guard let directory = opendir(configuration.directory) else {
            throw .io("cannot list \(configuration.directory)", errno: errno)
        }
        var bases: [UInt64] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".log"), let base = UInt64(name.dropLast(4)) else { continue }
            bases.append(base)
        }
        closedir(directory)
        bases.sort()
        var report = DatelineLogRecoveryReport(segments: bases.count, records: 0, truncatedBytes: 0)
        var segments: [SegmentState] = []
        var expected: UInt64 = bases.first ?? 0
        for (index, base) in bases.enumerated() {
            let file = try SegmentFile(baseOffset: base, directory: configuration.directory)
            guard base == expected else {
                throw .corrupt(segment: file.name, offset: 0, reason: "segment starts at offset \(base) but the previous segment ends at \(expected)")
            }
            let isLast = index == bases.count - 1
            let size = try file.descriptor.value.size()
            let bytes = try file.descriptor.value.read(at: 0, count: size)
            var state = SegmentState(file: file, size: 0, endOffset: base, index: [(base, 0)])
            var position = 0
            var lastIndexed = 0
            scan: while position < bytes.count {
                let parsed = bytes.withUnsafeBytes { pointer in
                    RecordFormat.parse(pointer, at: position, expectedOffset: state.endOffset, maximumRecordBytes: configuration.maximumRecordBytes)
                }
                switch parsed {
                case .record(_, _, let next):
                    if position - lastIndexed >= configuration.indexInterval {
                        state.index.append((state.endOffset, position))
                        lastIndexed = position
                    }
                    state.endOffset += 1
                    position = next
                case .incomplete(let reason) where isLast:
                    report.truncationReason = reason
                    break scan
                case .invalid(let reason) where isLast && Self.isLastRecord(bytes, at: position):
                    report.truncationReason = reason
                    break scan
                case .incomplete(let reason), .invalid(let reason):
                    throw .corrupt(segment: file.name, offset: position, reason: reason)
                }
            }
            if position < bytes.count {
                report.truncatedBytes = bytes.count - position
                report.truncatedSegment = file.name
                try file.descriptor.value.truncate(to: position)
                try file.descriptor.value.sync()
            }
            state.size = position
            report.records += state.endOffset - base
            expected = state.endOffset
            segments.append(state)
        }
        return (segments, report)
    }

    /// Whether the record at `position` is the file's last (its declared length reaches exactly the end):
    /// then a bad checksum is a torn write, not damage in the middle.
    private static func isLastRecord(_ bytes: [UInt8], at position: Int) -> Bool {
        guard bytes.count - position >= RecordFormat.headerSize else { return true }
        let length = bytes.withUnsafeBytes { Int($0.loadBigEndianUInt32(at: position)) }
        return position + RecordFormat.headerSize + length >= bytes.count
    }

    // MARK: Appending

    /// Appends `payloads` as consecutive records and returns their offsets once they are durable.
    /// - Throws: ``DatelineStorageError`` when a payload is too large, the log is closed, or the disk fails.
    public func append(_ payloads: [[UInt8]]) async throws -> Range<UInt64> {
        guard !payloads.isEmpty else {
            let end = self.state.withLock { $0.committedEnd }
            return end..<end
        }
        for payload in payloads where payload.count > self.configuration.maximumRecordBytes {
            throw DatelineStorageError.invalidArgument("a record of \(payload.count) bytes exceeds the limit of \(self.configuration.maximumRecordBytes)")
        }
        return try await withCheckedThrowingContinuation { continuation in
            let startFlusher: Bool = self.state.withLock { state in
                if let failure = state.failure {
                    continuation.resume(throwing: failure)
                    return false
                }
                if state.isClosed {
                    continuation.resume(throwing: DatelineStorageError.closed)
                    return false
                }
                let first = state.nextOffset
                state.nextOffset += UInt64(payloads.count)
                state.pending.append(PendingAppend(firstOffset: first, payloads: payloads, continuation: continuation))
                guard !state.isFlushing else { return false }
                state.isFlushing = true
                return true
            }
            if startFlusher {
                self.threadPool.submit { _ in self.flushLoop() }
            }
        }
    }

    /// Runs on the log's thread: writes and syncs everything pending, batch after batch, until nothing is left.
    private func flushLoop() {
        while true {
            let batch: [PendingAppend]? = self.state.withLock { state in
                if state.pending.isEmpty {
                    state.isFlushing = false
                    return nil
                }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            guard let batch else { return }
            do {
                try self.write(batch)
                for append in batch {
                    append.continuation.resume(returning: append.firstOffset..<(append.firstOffset + UInt64(append.payloads.count)))
                }
            } catch {
                self.logger.critical("log write failed; refusing further appends", metadata: ["dateline.error": "\(error)"])
                let failure = error
                let rest: [PendingAppend] = self.state.withLock { state in
                    state.failure = failure
                    defer { state.pending.removeAll() }
                    return state.pending
                }
                for append in batch + rest { append.continuation.resume(throwing: failure) }
            }
        }
    }

    private func write(_ batch: [PendingAppend]) throws(DatelineStorageError) {
        var active = self.state.withLock { $0.segments.last! }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.payloads.reduce(0) { $0 + $1.count + RecordFormat.headerSize } })
        var newIndex: [(offset: UInt64, position: Int)] = []
        var lastIndexed = active.index.last?.position ?? 0
        var offset = active.endOffset
        var sealed: [SegmentState] = []

        func flushBuffer() throws(DatelineStorageError) {
            guard !buffer.isEmpty else { return }
            let file = active.file
            let position = active.size
            do {
                try buffer.withUnsafeBytes { bytes in try file.descriptor.value.write(bytes, at: position) }
            } catch let error as DatelineStorageError {
                throw error
            } catch {
                throw .io("cannot write \(file.path): \(error)", errno: EIO)
            }
            active.size += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }

        for append in batch {
            precondition(append.firstOffset == offset, "log offsets out of order")
            for payload in append.payloads {
                let recordSize = payload.count + RecordFormat.headerSize
                let position = active.size + buffer.count
                if position > 0 && position + recordSize > self.configuration.segmentMaximumBytes {
                    // Roll: seal the active segment durably, start the next one at this offset.
                    try flushBuffer()
                    active.index += newIndex
                    active.endOffset = offset
                    newIndex = []
                    try active.file.descriptor.value.sync()
                    sealed.append(active)
                    let file = try SegmentFile(baseOffset: offset, directory: self.configuration.directory)
                    try FileDescriptor.syncDirectory(self.configuration.directory)
                    active = SegmentState(file: file, size: 0, endOffset: offset, index: [(offset, 0)])
                    lastIndexed = 0
                }
                let recordPosition = active.size + buffer.count
                if recordPosition - lastIndexed >= self.configuration.indexInterval {
                    newIndex.append((offset, recordPosition))
                    lastIndexed = recordPosition
                }
                RecordFormat.append(offset: offset, payload: payload, to: &buffer)
                offset += 1
            }
        }
        try flushBuffer()
        active.index += newIndex
        active.endOffset = offset
        try self.syncIfRequired(active.file)

        let waiters: [CheckedContinuation<Void, Never>] = self.state.withLock { state in
            let added = sealed.reduce(0) { $0 + $1.size } + active.size
            let previous = state.segments.last!
            state.bytesOnDisk += added - previous.size
            if let first = sealed.first {
                state.segments[state.segments.count - 1] = first
                state.segments += sealed.dropFirst()
                state.segments.append(active)
            } else {
                state.segments[state.segments.count - 1] = active
            }
            state.committedEnd = offset
            let waiters = Array(state.commitWaiters.values)
            state.commitWaiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func syncIfRequired(_ file: SegmentFile) throws(DatelineStorageError) {
        let shouldSync: Bool
        switch self.configuration.durability {
        case .fsyncEveryCommit:
            shouldSync = true
        case .fsyncInterval(let interval):
            shouldSync = self.lastSync.withLock { last in
                guard ContinuousClock.now - last >= interval else { return false }
                last = .now
                return true
            }
        case .none:
            shouldSync = false
        }
        guard shouldSync else { return }
        let start = ContinuousClock.now
        try file.descriptor.value.sync()
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        self.fsyncStatistics.withLock { $0 = ($0.count + 1, $0.totalNanoseconds + nanoseconds, nanoseconds) }
    }

    // MARK: Reading

    /// The log's extent: the first offset kept and one past the last committed one.
    public var bounds: Range<UInt64> {
        self.state.withLock { ($0.segments.first?.file.baseOffset ?? 0)..<$0.committedEnd }
    }

    /// One past the last committed offset (the number of records, while nothing is ever deleted).
    public var endOffset: UInt64 { self.state.withLock { $0.committedEnd } }

    /// Bytes of committed records on disk.
    public var bytesOnDisk: Int { self.state.withLock { $0.bytesOnDisk } }

    /// Segment files.
    public var segmentCount: Int { self.state.withLock { $0.segments.count } }

    /// fsyncs done, their mean and last duration.
    public var fsyncLatency: (count: Int, mean: Duration, last: Duration) {
        let stats = self.fsyncStatistics.withLock { $0 }
        let mean = stats.count == 0 ? 0 : stats.totalNanoseconds / Int64(stats.count)
        return (stats.count, .nanoseconds(mean), .nanoseconds(stats.lastNanoseconds))
    }

    /// Reads committed records from `offset` on, up to `maximumRecords` and about `maximumBytes` (at least one
    /// record is returned when one exists).
    /// - Throws: ``DatelineStorageError/invalidArgument(_:)`` when `offset` is outside the log.
    public func read(from offset: UInt64, maximumRecords: Int = 1_000, maximumBytes: Int = 1 << 20) throws(DatelineStorageError) -> [DatelineLogRecord] {
        let (segments, end) = self.state.withLock { state in (state.segments, state.committedEnd) }
        let start = segments.first?.file.baseOffset ?? 0
        guard offset >= start, offset <= end else {
            throw .invalidArgument("offset \(offset) is outside the log, which holds offsets \(start)..<\(end)")
        }
        var records: [DatelineLogRecord] = []
        var bytesRead = 0
        var next = offset
        var segmentIndex = Self.segmentIndex(containing: offset, in: segments)
        while next < end, records.count < maximumRecords, bytesRead < maximumBytes || records.isEmpty, segmentIndex < segments.count {
            let segment = segments[segmentIndex]
            guard next < segment.endOffset else {
                segmentIndex += 1
                continue
            }
            // Start at the last index entry at or before `next`.
            var entry = segment.index[0]
            for candidate in segment.index where candidate.offset <= next { entry = candidate }
            var position = entry.position
            var current = entry.offset
            let chunk = max(64 << 10, min(maximumBytes, segment.size - position))
            var bytes = try segment.file.descriptor.value.read(at: position, count: min(chunk, segment.size - position))
            var cursor = 0
            while current < segment.endOffset, records.count < maximumRecords, bytesRead < maximumBytes || records.isEmpty {
                let parsed = bytes.withUnsafeBytes {
                    RecordFormat.parse($0, at: cursor, expectedOffset: current, maximumRecordBytes: self.configuration.maximumRecordBytes)
                }
                switch parsed {
                case .record(let recordOffset, let payload, let following):
                    if recordOffset >= next {
                        records.append(DatelineLogRecord(offset: recordOffset, payload: Array(bytes[payload])))
                        bytesRead += payload.count
                        next = recordOffset + 1
                    }
                    current += 1
                    cursor = following
                case .incomplete:
                    // The chunk ends inside a record: read on from its start.
                    position += cursor
                    let remaining = segment.size - position
                    let declared = remaining >= RecordFormat.headerSize
                        ? Int(bytes.withUnsafeBytes { $0.loadBigEndianUInt32(at: cursor) }) + RecordFormat.headerSize : remaining
                    bytes = try segment.file.descriptor.value.read(at: position, count: min(remaining, max(chunk, declared)))
                    cursor = 0
                case .invalid(let reason):
                    throw .corrupt(segment: segment.file.name, offset: position + cursor, reason: reason)
                }
            }
            segmentIndex += 1
        }
        return records
    }

    static func segmentIndex(containing offset: UInt64, in segments: [SegmentState]) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].file.baseOffset <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Waits until a record at or after `offset` is committed (returns at once if one already is), or the
    /// calling task is cancelled.
    public func waitForRecord(at offset: UInt64) async {
        let id: UInt64? = self.state.withLock { state in
            guard state.committedEnd <= offset, !state.isClosed else { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state in
                    if state.committedEnd > offset || state.isClosed || Task.isCancelled { return true }
                    state.commitWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.commitWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Syncs and closes: appends still queued finish first; later ones fail with ``DatelineStorageError/closed``.
    public func close() async throws {
        let waiters: [CheckedContinuation<Void, Never>] = self.state.withLock { state in
            state.isClosed = true
            defer { state.commitWaiters.removeAll() }
            return Array(state.commitWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
        // Let the flusher drain, then sync the active segment.
        while self.state.withLock({ $0.isFlushing }) { try await Task.sleep(for: .milliseconds(1)) }
        let active = self.state.withLock { $0.segments.last?.file }
        try active?.descriptor.value.sync()
        try await self.threadPool.shutdownGracefully()
    }
}

/// Lets a non-copyable descriptor live in a Sendable class (its calls are thread-safe syscalls).
final class FileDescriptorBox: Sendable {
    let value: FileDescriptor
    init(_ value: consuming FileDescriptor) { self.value = value }
}
