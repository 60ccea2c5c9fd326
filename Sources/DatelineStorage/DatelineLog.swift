import CoreMetrics
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
        let payloads: [[UInt8]]
        let continuation: CheckedContinuation<Range<UInt64>, any Error>
    }

    private struct State {
        var segments: [SegmentState]
        /// One past the last committed offset: written (and synced, per the durability policy) and visible to
        /// readers. Offsets are assigned from it when a commit is written, so a failed commit leaves no gap.
        var committedEnd: UInt64
        /// One past the last offset known to be on stable storage (fsynced).
        var durableEnd: UInt64
        var pending: [PendingAppend] = []
        var isFlushing = false
        /// A failure the log could not undo (a failed write whose bytes could not be truncated away): every later
        /// append fails with it until the service restarts.
        var failure: DatelineStorageError?
        /// The last commit's failure, cleared by the next commit that succeeds: what health reports.
        var lastWriteFailure: DatelineStorageError?
        var isClosed = false
        /// Tasks waiting for a record to be committed, or for offsets to be durable.
        var waiters: [UInt64: (condition: WaitCondition, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiterID: UInt64 = 0
        var bytesOnDisk: Int
        /// Whether a timed fsync of the tail is scheduled (``DatelineLogConfiguration/Durability/fsyncInterval(_:)``).
        var syncScheduled = false
        var identity: LogIdentity
        var flushedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let configuration: DatelineLogConfiguration
    /// What recovery found when the log was opened.
    public let recovery: DatelineLogRecoveryReport
    private let state: Mutex<State>
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let lastSync = Mutex<ContinuousClock.Instant>(.now)
    private let fsyncStatistics = Mutex<(count: Int, totalNanoseconds: Int64, lastNanoseconds: Int64)>((0, 0, 0))
    private let fsyncTimer: Timer

    /// Opens (creating if needed) the log in `configuration.directory`, verifying every record.
    ///
    /// Only a genuinely incomplete final record is truncated: when a damaged record is followed by intact ones
    /// the open is refused, naming the segment, the byte and the number of intact records after it.
    /// - Throws: ``DatelineStorageError`` with code ``DatelineStorageError/Code/corrupt`` on damage that is not
    ///   a torn tail; ``DatelineStorageError/Code/io`` when the directory cannot be used.
    public init(configuration: DatelineLogConfiguration, logger: Logger) throws(DatelineStorageError) {
        self.configuration = configuration
        self.logger = logger
        self.fsyncTimer = Timer(label: "dateline_log_fsync_duration_seconds", factory: configuration.metricsFactory ?? MetricsSystem.factory)
        try Self.createDirectory(configuration.directory)
        var (segments, report) = try Self.recover(configuration: configuration, logger: logger)
        let existed = !segments.isEmpty
        if segments.isEmpty {
            let file = try SegmentFile(baseOffset: 0, directory: configuration.directory)
            try FileDescriptor.syncDirectory(configuration.directory)
            segments = [SegmentState(file: file, size: 0, endOffset: 0, index: [(0, 0)])]
        }
        let end = segments.last!.endOffset
        let identity = try Self.recoverIdentity(configuration: configuration, existed: existed, end: end, report: &report)
        self.recovery = report
        self.state = Mutex(State(
            segments: segments,
            committedEnd: end,
            durableEnd: end,
            bytesOnDisk: segments.reduce(0) { $0 + $1.size },
            identity: identity
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
        if let reason = report.newEpochReason, existed {
            logger.warning("the log has a new epoch; followers will rebuild from it", metadata: ["dateline.log.epoch": "\(identity.epoch)", "dateline.log.reason": "\(reason)"])
        }
        logger.info("log opened", metadata: [
            "dateline.log.records": "\(end)", "dateline.log.segments": "\(segments.count)", "dateline.log.epoch": "\(identity.epoch)",
        ])
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
        report.temporariesRemoved = AtomicFile.removeTemporaries(of: configuration.directory + "/" + LogIdentity.fileName)
        var segments: [SegmentState] = []
        var expected: UInt64 = bases.first ?? 0
        for (index, base) in bases.enumerated() {
            let file = try SegmentFile(baseOffset: base, directory: configuration.directory)
            guard base == expected else {
                var error = DatelineStorageError.corrupt(segment: file.name, offset: 0, reason: "segment starts at offset \(base) but the previous segment ends at \(expected)")
                error.duringRecovery = true
                throw error
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
                case .incomplete(let reason), .invalid(let reason):
                    // A torn tail is damage with nothing intact after it, in the last segment only. Anything
                    // else — a bad header or payload followed by intact records — is refused, never truncated.
                    let intact = bytes.withUnsafeBytes { pointer in
                        RecordFormat.intactRecords(pointer, after: position, expectedOffset: state.endOffset, maximumRecordBytes: configuration.maximumRecordBytes)
                    }
                    if isLast && intact == 0 {
                        report.truncationReason = reason
                        break scan
                    }
                    var error = DatelineStorageError.corrupt(segment: file.name, offset: position, reason: reason, intactRecordsAfter: intact)
                    error.duringRecovery = true
                    throw error
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

    /// Reads the log's identity, or makes a new epoch when the log is new, has no identity yet, lost its tail
    /// or is shorter than its watermark; writes it back with the recovered end as the watermark.
    private static func recoverIdentity(
        configuration: DatelineLogConfiguration, existed: Bool, end: UInt64, report: inout DatelineLogRecoveryReport
    ) throws(DatelineStorageError) -> LogIdentity {
        let path = configuration.directory + "/" + LogIdentity.fileName
        let stored = try AtomicFile.read(path).flatMap(LogIdentity.init(decoding:))
        var reason: String?
        if !existed {
            reason = "a new log"
        } else if stored == nil {
            reason = "the log had no readable identity file"
        } else if report.truncatedBytes > 0 {
            reason = "recovery truncated \(report.truncatedBytes) bytes of the last segment"
        } else if let stored, end < stored.watermark {
            reason = "the log ends at offset \(end), before \(stored.watermark), which it had reached: records were removed"
        }
        var identity = stored ?? LogIdentity(epoch: LogIdentity.newEpoch(), watermark: 0)
        if reason != nil { identity.epoch = LogIdentity.newEpoch() }
        identity.watermark = end
        if identity != stored { try AtomicFile.write(identity.encoded, to: path) }
        report.epoch = identity.epoch
        report.newEpochReason = reason
        return identity
    }

    // MARK: Appending

    /// Appends `payloads` as consecutive records and returns their offsets once they are durable.
    ///
    /// A failed write (a full disk, an I/O error) is undone — the segment is truncated back to its last
    /// committed record — so the next append is tried afresh and succeeds once the cause is gone.
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
                state.pending.append(PendingAppend(payloads: payloads, continuation: continuation))
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
            guard let batch else {
                let waiters = self.state.withLock { state in
                    defer { state.flushedWaiters = [] }
                    return state.isFlushing ? [] : state.flushedWaiters
                }
                for waiter in waiters { waiter.resume() }
                return
            }
            do {
                let ranges = try self.write(batch)
                for (append, range) in zip(batch, ranges) { append.continuation.resume(returning: range) }
            } catch {
                for append in batch { append.continuation.resume(throwing: error) }
            }
        }
    }

    /// Writes one commit. On failure the segment files are put back as they were before it (bytes truncated,
    /// segments it created removed); if even that fails, the log refuses every later append.
    private func write(_ batch: [PendingAppend]) throws(DatelineStorageError) -> [Range<UInt64>] {
        let committed = self.state.withLock { $0.segments.last! }
        var created: [SegmentFile] = []
        do {
            try self.configuration.faults?.inject(.write)
            return try self.writeRecords(batch, after: committed, created: &created)
        } catch {
            self.logger.error("log write failed; undoing it", metadata: [
                "dateline.error": "\(error)", "dateline.log.segment": "\(committed.file.name)", "dateline.log.committed_bytes": "\(committed.size)",
            ])
            do {
                for file in created { unlink(file.path) }
                if !created.isEmpty { try FileDescriptor.syncDirectory(self.configuration.directory) }
                try committed.file.descriptor.value.truncate(to: committed.size)
                try committed.file.descriptor.value.sync()
                self.state.withLock { $0.lastWriteFailure = error }
            } catch let undo {
                self.logger.critical("cannot undo a failed log write; refusing further appends until restart", metadata: ["dateline.error": "\(undo)"])
                let rest: [PendingAppend] = self.state.withLock { state in
                    state.failure = undo
                    state.lastWriteFailure = undo
                    defer { state.pending.removeAll() }
                    return state.pending
                }
                for append in rest { append.continuation.resume(throwing: undo) }
            }
            throw error
        }
    }

    private func writeRecords(_ batch: [PendingAppend], after committed: SegmentState, created: inout [SegmentFile]) throws(DatelineStorageError) -> [Range<UInt64>] {
        var active = committed
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.payloads.reduce(0) { $0 + $1.count + RecordFormat.headerSize } })
        var newIndex: [(offset: UInt64, position: Int)] = []
        var lastIndexed = active.index.last?.position ?? 0
        var offset = active.endOffset
        var sealed: [SegmentState] = []
        var ranges: [Range<UInt64>] = []

        func flushBuffer() throws(DatelineStorageError) {
            guard !buffer.isEmpty else { return }
            let file = active.file
            let position = active.size
            try file.descriptor.value.write(buffer, at: position)
            active.size += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }

        for append in batch {
            let first = offset
            for payload in append.payloads {
                let recordSize = payload.count + RecordFormat.headerSize
                let position = active.size + buffer.count
                if position > 0 && position + recordSize > self.configuration.segmentMaximumBytes {
                    // Roll: seal the active segment durably, start the next one at this offset.
                    try flushBuffer()
                    active.index += newIndex
                    active.endOffset = offset
                    newIndex = []
                    try self.configuration.faults?.inject(.sync)
                    try active.file.descriptor.value.sync()
                    sealed.append(active)
                    let file = try SegmentFile(baseOffset: offset, directory: self.configuration.directory)
                    created.append(file)
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
            ranges.append(first..<offset)
        }
        try flushBuffer()
        active.index += newIndex
        active.endOffset = offset
        let synced = try self.syncIfRequired(active.file)
        if !sealed.isEmpty { self.recordWatermark(sealed.last!.endOffset) }

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
            if let sealedEnd = sealed.last?.endOffset { state.durableEnd = max(state.durableEnd, sealedEnd) }
            state.lastWriteFailure = nil
            var waiters = Self.takeSatisfiedWaiters(&state)
            if synced { waiters += Self.advanceDurable(&state, to: offset) }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
        if !synced { self.scheduleTailSync() }
        return ranges
    }

    /// Marks offsets below `end` durable and returns the waiters that can go.
    private static func advanceDurable(_ state: inout State, to end: UInt64) -> [CheckedContinuation<Void, Never>] {
        state.durableEnd = max(state.durableEnd, end)
        return Self.takeSatisfiedWaiters(&state)
    }

    /// fsyncs `file` when the durability policy says this commit must be; returns whether it did.
    private func syncIfRequired(_ file: SegmentFile) throws(DatelineStorageError) -> Bool {
        switch self.configuration.durability {
        case .fsyncEveryCommit:
            try self.sync(file)
            return true
        case .fsyncInterval(let interval):
            let due = self.lastSync.withLock { ContinuousClock.now - $0 >= interval }
            guard due else { return false }
            try self.sync(file)
            return true
        case .none:
            return false
        }
    }

    private func sync(_ file: SegmentFile) throws(DatelineStorageError) {
        try self.configuration.faults?.inject(.sync)
        let start = ContinuousClock.now
        try file.descriptor.value.sync()
        let end = ContinuousClock.now
        self.lastSync.withLock { $0 = end }
        let elapsed = end - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        self.fsyncStatistics.withLock { $0 = ($0.count + 1, $0.totalNanoseconds + nanoseconds, nanoseconds) }
        self.fsyncTimer.recordNanoseconds(nanoseconds)
    }

    /// Under ``DatelineLogConfiguration/Durability/fsyncInterval(_:)``, makes sure the tail written without a
    /// sync is synced within the interval of its write, whether or not anything is written after it.
    private func scheduleTailSync() {
        guard case .fsyncInterval(let interval) = self.configuration.durability else { return }
        let schedule = self.state.withLock { state in
            guard !state.syncScheduled, !state.isClosed else { return false }
            state.syncScheduled = true
            return true
        }
        guard schedule else { return }
        let due = self.lastSync.withLock { $0 } + interval
        Task.detached {
            try? await Task.sleep(until: due, clock: .continuous)
            self.threadPool.submit { state in
                guard case .active = state else { return }
                self.syncTail()
            }
        }
    }

    /// Runs on the log's thread (so never beside a write): fsyncs the active segment if its tail is not durable.
    private func syncTail() {
        let (file, end) = self.state.withLock { state in
            state.syncScheduled = false
            return (state.segments.last!.file, state.committedEnd)
        }
        guard end > self.state.withLock({ $0.durableEnd }) else { return }
        do {
            try self.sync(file)
            let waiters = self.state.withLock { Self.advanceDurable(&$0, to: end) }
            for waiter in waiters { waiter.resume() }
        } catch {
            self.logger.error("timed fsync of the log's tail failed", metadata: ["dateline.error": "\(error)"])
            self.state.withLock { $0.lastWriteFailure = error }
            self.scheduleTailSync()
        }
    }

    /// Records that the log has durably reached `end` (best effort: the watermark only helps detect a log
    /// found shorter than it was).
    private func recordWatermark(_ end: UInt64) {
        let identity: LogIdentity = self.state.withLock { state in
            state.identity.watermark = max(state.identity.watermark, end)
            return state.identity
        }
        do {
            try AtomicFile.write(identity.encoded, to: self.configuration.directory + "/" + LogIdentity.fileName)
        } catch {
            self.logger.warning("cannot update the log's watermark", metadata: ["dateline.error": "\(error)"])
        }
    }

    /// The log's epoch: created with the log and renewed whenever records may have been dropped. An offset
    /// names the same record only within one epoch.
    public var epoch: String { self.state.withLock { $0.identity.epoch } }

    /// Why appends are failing now, if the last one failed (cleared by the next that succeeds).
    public var writeFailure: DatelineStorageError? { self.state.withLock { $0.failure ?? $0.lastWriteFailure } }

    /// One past the last offset known to be fsynced.
    public var durableEndOffset: UInt64 { self.state.withLock { $0.durableEnd } }

    /// Waits until every record below `offset` is fsynced (never, under ``DatelineLogConfiguration/Durability/none``,
    /// until the log is closed), or the calling task is cancelled.
    public func waitUntilDurable(_ offset: UInt64) async {
        await self.wait(for: .durable(below: offset))
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
        await self.wait(for: .committed(at: offset))
    }

    /// What a waiter waits for.
    private enum WaitCondition {
        /// A record at or after this offset is committed.
        case committed(at: UInt64)
        /// Every record below this offset is fsynced.
        case durable(below: UInt64)

        func isSatisfied(by state: State) -> Bool {
            if state.isClosed { return true }
            switch self {
            case .committed(let offset): return state.committedEnd > offset
            case .durable(let offset): return state.durableEnd >= offset
            }
        }
    }

    /// Removes and returns the waiters whose condition now holds.
    private static func takeSatisfiedWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let ready = state.waiters.filter { $0.value.condition.isSatisfied(by: state) }
        for id in ready.keys { state.waiters[id] = nil }
        return ready.values.map(\.continuation)
    }

    /// Suspends until `condition` holds (at once if it does), the log is closed, or the task is cancelled.
    private func wait(for condition: WaitCondition) async {
        let id: UInt64? = self.state.withLock { state in
            guard !condition.isSatisfied(by: state) else { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state in
                    if condition.isSatisfied(by: state) || Task.isCancelled { return true }
                    state.waiters[id] = (condition, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    /// Syncs and closes: appends still queued finish first; later ones fail with ``DatelineStorageError/closed``.
    public func close() async throws {
        let waiters: [CheckedContinuation<Void, Never>] = self.state.withLock { state in
            state.isClosed = true
            return Self.takeSatisfiedWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
        // Let the flusher drain, then sync the active segment and record how far the log got.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = self.state.withLock { state in
                guard state.isFlushing else { return true }
                state.flushedWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
        let (active, end) = self.state.withLock { ($0.segments.last?.file, $0.committedEnd) }
        if let active { try self.sync(active) }
        self.recordWatermark(end)
        let durable = self.state.withLock { state in
            var waiters = Self.advanceDurable(&state, to: end)
            waiters += state.waiters.values.map(\.continuation)
            state.waiters.removeAll()
            return waiters
        }
        for waiter in durable { waiter.resume() }
        try await self.threadPool.shutdownGracefully()
    }
}

/// Lets a non-copyable descriptor live in a Sendable class (its calls are thread-safe syscalls).
final class FileDescriptorBox: Sendable {
    let value: FileDescriptor
    init(_ value: consuming FileDescriptor) { self.value = value }
}
