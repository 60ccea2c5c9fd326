public import DatelineProtocol
import DatelineSearch
import DatelineStorage
public import Foundation
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Follows the ingest log, indexes every article, and answers Search, GetArticle, QueryStats and Health.
///
/// Run it as a `Service` (it follows the log until shut down) next to a `DatelineServer` serving ``router``.
/// With an index directory, articles are committed to immutable segments on disk (see ``ArticleIndex``): a
/// restart maps them and replays only the log after the last commit.
public final class QueryService: Service, Sendable {
    struct State: ~Copyable {
        var index: ArticleIndex
        var newestPublishedAt: Double?
        /// One past the last log offset applied.
        var appliedOffset: UInt64 = 0
        var ingestEndOffset: UInt64 = 0
        var following = false
        /// The log epoch the applied offsets belong to; nil until the first batch tells (for an empty index, or an
        /// index restored from a backup, which checks ``lastArticleID`` against the log instead).
        var epoch: String?
        /// The id of the article at `appliedOffset - 1`: what a restored index checks the log it follows against.
        var lastArticleID: String?
        /// Whether the index has reached the ingest log's end since it started or was rebuilt: until then health
        /// says catching-up, and look-ups of ids not held answer UNAVAILABLE rather than NOT_FOUND.
        var caughtUp = false
        /// Why the index is not following (for health), while it is so.
        var condition: String?
        /// Why the index is being rebuilt from offset 0 (for health), until it has caught up.
        var rebuildReason: String?
        /// Why the last commit failed, until one succeeds (the buffered articles stay searchable in memory), and
        /// the failure's code and errno, to log a repeated failure once.
        var commitFailure: (message: String, kind: String)?

        /// What health says is wrong: the follower's problem, the rebuild's reason and a failing commit.
        var healthCondition: String? {
            let failure = self.commitFailure.map {
                "cannot commit the index: \($0.message); \(self.index.bufferedStoredBytes >> 10) KiB of articles held in memory, tried again every commit interval"
            }
            let parts = [self.rebuildReason, self.condition, failure].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
        /// Bumped when everything is forgotten, so a commit or merge finishing afterwards is discarded.
        var generation = 0
    }

    /// Query latencies (the last 4,096) and the query count, apart from the index so searches need not write it.
    private struct Latencies {
        var samples: [Double] = []
        var cursor = 0
        var queries: UInt64 = 0
    }

    /// The last commit, and the number of the next segment (commits and merges take this lock first, so that
    /// they install segments and write the manifest one at a time).
    struct Commits {
        var manifest: IndexManifest
        var nextSegment: Int
        var merging = false
        /// The last merge failed (a full disk): none is tried again until a commit writes a new segment, rather
        /// than after every commit interval's commit.
        var mergeFailed = false
        /// The applied offset the last commit saw, and since when it has not moved (for the quiet merge).
        var quietOffset: UInt64 = .max
        var quietSince = ContinuousClock.now
    }

    public let configuration: QueryServiceConfiguration
    let state: ReadWriteLocked<State>
    let commits: Mutex<Commits>
    private let latencies = Mutex(Latencies())
    private let logger: Logger
    private let startedAt = ContinuousClock.now
    private let metrics: QueryMetrics
    private let parser = SearchQueryParser()
    /// Offsets, following and readiness, published apart from the index (health and waits read it lock-free).
    private let progress = QueryProgress()
    /// Wakes the committer: the commit interval passed, or the buffer is full.
    private let commitSignal: AsyncStream<Void>.Continuation
    private let commitSignals: AsyncStream<Void>
    /// Set when the service stops, so that a merge in progress gives up.
    private let stopping = Atomic<Bool>(false)
    /// Records applied since the start (for tests: a restart replays only what the last commit lacks).
    private let replayed = Atomic<Int>(0)
    /// Whether a copy of the commit point (``IndexBackupRequest``) is being streamed: one at a time.
    let copyingCommitPoint = Atomic<Bool>(false)
    /// The index directory, once locked for this service (nil without one, or when another process holds it).
    let indexDirectory: String?
    private let directoryLock: DirectoryLock?
    /// Why the service cannot run (its index directory is in use), when it cannot.
    private let startupFailure: DatelineStorageError?

    /// Creates the service, opening its index directory when it has one (otherwise it will replay the log).
    public init(configuration: QueryServiceConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = QueryMetrics(service: configuration.server.serviceName, factory: configuration.server.resolvedMetricsFactory)
        (self.commitSignals, self.commitSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var state = State(index: ArticleIndex(directory: nil, parameters: configuration.bm25))
        var manifest = IndexManifest()
        var lock: DirectoryLock?
        var failure: DatelineStorageError?
        if let directory = configuration.indexDirectory {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                lock = try DirectoryLock(directory: directory)
            } catch let error as DatelineStorageError {
                failure = error
            } catch {
                failure = DatelineStorageError(code: .io, message: "cannot create the index directory \(directory): \(error)")
            }
        }
        self.directoryLock = lock
        self.startupFailure = failure
        self.indexDirectory = lock == nil ? nil : configuration.indexDirectory
        if let failure { state.condition = "cannot use the index directory: \(failure.message)" }
        if lock != nil, let directory = configuration.indexDirectory {
            let opened = ArticleIndex.open(directory: directory, parameters: configuration.bm25, logger: logger)
            if !opened.removed.isEmpty {
                logger.info("removed index files no commit names (an interrupted flush or merge)", metadata: ["dateline.files": "\(opened.removed.joined(separator: " "))"])
            }
            manifest = opened.manifest
            state.index = opened.index
            state.rebuildReason = opened.problem
            state.appliedOffset = opened.problem == nil ? UInt64(manifest.data["appliedOffset"] ?? "") ?? 0 : 0
            state.ingestEndOffset = state.appliedOffset
            state.epoch = opened.problem == nil ? manifest.data["epoch"] : nil
            state.lastArticleID = opened.problem == nil ? manifest.data[Self.lastArticleKey] : nil
            for document in 0..<opened.index.count {
                if let published = opened.index.publishedAt(document) { state.newestPublishedAt = max(state.newestPublishedAt ?? published, published) }
            }
            logger.info("opened the index", metadata: [
                "dateline.articles": "\(opened.index.count)", "dateline.segments": "\(opened.index.segments.count)", "dateline.offset": "\(state.appliedOffset)",
            ])
        }
        let unverified = state.index.segments.count { !$0.isVerified }
        let loaded = QueryProgress.Snapshot(
            appliedOffset: state.appliedOffset, ingestEndOffset: state.ingestEndOffset, condition: state.healthCondition, epoch: state.epoch,
            articleCount: state.index.count, indexCheck: lock == nil ? nil : unverified == 0 ? .verified : .checking(segments: unverified)
        )
        self.state = ReadWriteLocked(state)
        self.commits = Mutex(Commits(manifest: manifest, nextSegment: manifest.nextSegment))
        self.progress.publish { $0 = loaded }
    }

    /// Publishes what health and waiters read (called with the index's write lock held, after a change).
    private func publishProgress(_ state: borrowing State) {
        let snapshot = QueryProgress.Snapshot(
            appliedOffset: state.appliedOffset, ingestEndOffset: state.ingestEndOffset, following: state.following,
            caughtUp: state.caughtUp, condition: state.healthCondition, epoch: state.epoch,
            articleCount: state.index.count, uncommittedBytes: state.index.bufferedStoredBytes, commitFailing: state.commitFailure != nil
        )
        self.progress.publish { published in
            let check = published.indexCheck  // the segment check publishes its own progress
            published = snapshot
            published.indexCheck = check
        }
    }

    /// Records applied to the index since the service started (a restart replays only what its last commit
    /// did not hold).
    public var recordsAppliedSinceStart: Int { self.replayed.load(ordering: .relaxed) }

    // MARK: Commits and merges

    /// Commits: writes every buffered article to a new segment and records the segments and the applied offset
    /// in the manifest. Does nothing without an index directory, or when nothing changed since the last commit.
    public func commit() throws {
        do {
            try self.writeCommit()
        } catch {
            self.commitFailed(error)
            throw error
        }
        self.committed()
    }

    /// A commit succeeded: a failure recorded before is over, and the progress is published (the buffers written
    /// out make room for a follower paused for want of a commit).
    private func committed() {
        let recovered: Bool = self.state.write { state in
            defer { self.publishProgress(state) }
            guard state.commitFailure != nil else { return false }
            state.commitFailure = nil
            return true
        }
        if recovered { self.logger.info("committed the index again") }
    }

    /// A commit failed: health says why until one succeeds; logged once per kind of failure (the same failure
    /// again, every commit interval, at debug only).
    private func commitFailed(_ error: any Error) {
        // Compared by code and errno: a description may name a random temporary file.
        let kind = (error as? DatelineStorageError).map { "\($0.code)/\($0.errno ?? 0)" } ?? "\(error)"
        let committedOffset = self.commits.withLock { $0.manifest.data["appliedOffset"] } ?? "0"
        let changed: Bool = self.state.write { state in
            defer { self.publishProgress(state) }
            let repeated = state.commitFailure?.kind == kind
            state.commitFailure = ("\(error) (the last commit holds the log below offset \(committedOffset) of \(state.appliedOffset) applied)", kind)
            return !repeated
        }
        self.logger.log(
            level: changed ? .error : .debug, "cannot commit the index; the buffered articles stay in memory and are tried again",
            metadata: ["dateline.error": "\(error)", "dateline.uncommitted_bytes": "\(self.progress.current.uncommittedBytes)"]
        )
    }

    private func writeCommit() throws {
        guard let directory = self.indexDirectory else { return }
        let flushed: Int = try self.commits.withLock { commits in
            let (buffers, data, generation) = self.state.write { state in
                var data = ["appliedOffset": "\(state.appliedOffset)", ArticleIndex.formatKey: ArticleIndex.format]
                if let epoch = state.epoch { data["epoch"] = epoch }
                if let last = state.lastArticleID { data[Self.lastArticleKey] = last }
                return (state.index.freeze(), data, state.generation)
            }
            guard !buffers.isEmpty || data != commits.manifest.data else { return 0 }
            for buffer in buffers {
                let name = String(format: "seg-%012d", commits.nextSegment)
                let segment = try ArticleIndex.write(buffer, name: name, directory: directory, faults: self.configuration.indexWriteFaults)
                commits.nextSegment += 1
                let installed = self.state.write { state in
                    guard state.generation == generation else { return false }
                    state.index.install(segment, for: buffer)
                    return true
                }
                guard installed else {
                    IndexSegment.remove(directory: directory, name: name)
                    return 0
                }
            }
            let manifest = self.state.read { state in
                IndexManifest(nextSegment: commits.nextSegment, segments: state.index.segments.map(\.info), data: data)
            }
            try self.configuration.indexWriteFaults?.inject(.manifest)
            try manifest.write(directory: directory)
            commits.manifest = manifest
            self.logger.debug("committed the index", metadata: [
                "dateline.offset": "\(data["appliedOffset"] ?? "")", "dateline.segments": "\(manifest.segments.count)", "dateline.flushed": "\(buffers.count)",
            ])
            if !buffers.isEmpty { commits.mergeFailed = false }
            return buffers.count
        }
        // The flushed buffers are gone: hand the heap they held back to the system (the segments are mapped).
        if flushed > 0 { HeapTrim.releaseFreedMemory() }
    }

    /// Whether a background merge is running.
    public var isMerging: Bool { self.commits.withLock { $0.merging } }

    /// Starts a merge on its own thread when the merge policy finds adjacent committed segments to combine (or,
    /// when `quiet`, the newest segments a quiet index merges: ``QueryServiceConfiguration/quietMergeAfter``) and
    /// no merge is running, and says whether it did. Searches and ingest go on meanwhile; the merged segments'
    /// files are deleted once the new manifest is written (readers still mapping them keep reading them until they
    /// let go). The service calls it after every commit, quiet once no article has been applied for
    /// ``QueryServiceConfiguration/quietMergeAfter``; benchmarks call it to reach the segments a quiet service
    /// settles on.
    @discardableResult
    public func mergeIfDue(quiet: Bool = false) -> Bool {
        guard let directory = self.indexDirectory else { return false }
        let job: (segments: [IndexSegment], name: String, generation: Int)? = self.commits.withLock { commits in
            guard !commits.merging, !commits.mergeFailed else { return nil }
            let committed = Set(commits.manifest.segments.map(\.name))
            let found: ([IndexSegment], Int)? = self.state.read { state in
                let candidates = state.index.mergeCandidates(factor: self.configuration.mergeFactor, minimumDocuments: self.configuration.bufferDocuments)
                    ?? (quiet ? state.index.quietMergeCandidates(maximumDocuments: self.configuration.quietMergeDocuments) : nil)
                guard let candidates, candidates.allSatisfy({ committed.contains($0.name) }) else { return nil }
                return (candidates, state.generation)
            }
            guard let (segments, generation) = found else { return nil }
            commits.merging = true
            defer { commits.nextSegment += 1 }
            return (segments, String(format: "seg-%012d", commits.nextSegment), generation)
        }
        guard let job else { return false }
        Thread.detachNewThread { [self] in
            defer { self.commits.withLock { $0.merging = false } }
            let started = ContinuousClock.now
            do {
                // A damaged input must not be copied into a segment with a right checksum.
                for segment in job.segments {
                    do throws(DatelineStorageError) {
                        try segment.verifyChecksums()
                    } catch {
                        self.segmentDamaged(segment, error)
                        return
                    }
                }
                try self.configuration.indexWriteFaults?.inject(.merge)
                let writer = try SegmentWriter(directory: directory, name: job.name, columnCount: ArticleIndex.Column.allCases.count)
                try SegmentMerger.merge(
                    job.segments, into: writer, mergeAnnexValues: EntityTables.merge, isCancelled: { self.stopping.load(ordering: .relaxed) }
                )
                _ = try writer.finish()
                let merged = try IndexSegment(directory: directory, name: job.name)
                // Under the commit lock nothing else changes the segments: commit the merge, then swap it in.
                let committed: Bool = try self.commits.withLock { commits in
                    guard self.state.read({ $0.generation == job.generation }) else { return false }
                    // The committed list with the merged run replaced; the data stays the last commit's.
                    var segments = commits.manifest.segments
                    guard let start = segments.firstIndex(where: { $0.name == job.segments[0].name }),
                        start + job.segments.count <= segments.count,
                        zip(segments[start...], job.segments).allSatisfy({ $0.name == $1.name })
                    else { return false }
                    segments.replaceSubrange(start..<(start + job.segments.count), with: [merged.info])
                    let manifest = IndexManifest(nextSegment: commits.nextSegment, segments: segments, data: commits.manifest.data)
                    try manifest.write(directory: directory)
                    commits.manifest = manifest
                    let replaced = self.state.write { state in state.index.replace(job.segments, with: merged) }
                    precondition(replaced, "the merged segments are in place while the commit lock is held")
                    return true
                }
                guard committed else {
                    IndexSegment.remove(directory: directory, name: job.name)
                    return
                }
                for segment in job.segments { IndexSegment.remove(directory: directory, name: segment.name) }
                HeapTrim.releaseFreedMemory()  // what the merge held while writing is free: give it back
                self.logger.info("merged index segments", metadata: [
                    "dateline.merged": "\(job.segments.map(\.name).joined(separator: " "))", "dateline.into": "\(job.name)",
                    "dateline.articles": "\(merged.documentCount)", "dateline.seconds": "\((ContinuousClock.now - started).seconds)",
                ])
            } catch is CancellationError {
                IndexSegment.remove(directory: directory, name: job.name)
            } catch {
                IndexSegment.remove(directory: directory, name: job.name)
                self.commits.withLock { $0.mergeFailed = true }
                self.logger.error("cannot merge index segments; they stay as they are until a commit writes a new one", metadata: ["dateline.error": "\(error)"])
            }
        }
        return true
    }

    /// Computes the checksums of the segments opened at start, on a thread of its own, so that a start maps them
    /// at once whatever their size (as Lucene does, reads meanwhile are bounds-checked: damage gives errors, not
    /// crashes). A damaged segment still in the index makes it rebuild from the log, as at open; health says how far
    /// the check has got (`indexCheck`).
    private func checkOpenedSegments() {
        let segments = self.state.read { state in state.index.segments.filter { !$0.isVerified } }
        guard !segments.isEmpty else { return }
        Thread.detachNewThread { [self] in
            let started = ContinuousClock.now
            for (checked, segment) in segments.enumerated() {
                if self.stopping.load(ordering: .relaxed) { return }
                self.progress.publish { $0.indexCheck = .checking(segments: segments.count - checked) }
                do throws(DatelineStorageError) {
                    try segment.verifyChecksums()
                } catch {
                    self.segmentDamaged(segment, error)
                    self.progress.publish { $0.indexCheck = .damaged(file: error.segment ?? segment.name) }
                    return
                }
            }
            self.logger.info("verified the checksums of the index's segments", metadata: [
                "dateline.segments": "\(segments.count)", "dateline.seconds": "\((ContinuousClock.now - started).seconds)",
            ])
            self.progress.publish { $0.indexCheck = .verified }
        }
    }

    /// Waits until the follower has paused for want of a commit: the last commit failed and the uncommitted
    /// articles reached ``QueryServiceConfiguration/uncommittedLimit``. For tests.
    package func waitUntilPausedForCommit(deadline: ContinuousClock.Instant) async -> Bool {
        let limit = self.configuration.uncommittedLimit
        return await self.progress.wait(until: deadline) { $0.commitFailing && !$0.following && $0.uncommittedBytes >= limit }
    }

    /// Bytes of articles (as stored) applied but not yet committed, as last published.
    package var uncommittedBytes: Int { self.progress.current.uncommittedBytes }

    /// Waits until the background check of the segments opened at start has finished (verified, or damage found
    /// and the rebuild begun); false when `deadline` passes first.
    package func waitUntilIndexChecked(deadline: ContinuousClock.Instant) async -> Bool {
        await self.progress.wait(until: deadline) { snapshot in
            if case .checking = snapshot.indexCheck { return false }
            return true
        }
    }

    /// A segment found damaged after it was opened: the index is rebuilt from the log, unless it no longer holds
    /// the segment (merged away or reset meanwhile).
    private func segmentDamaged(_ segment: IndexSegment, _ error: DatelineStorageError) {
        self.logger.error("an index segment is damaged; rebuilding the index from the ingest log", metadata: [
            "dateline.file": "\(error.segment ?? segment.name)", "dateline.error": "\(error.message)",
        ])
        guard self.state.read({ state in state.index.segments.contains { $0 === segment } }) else { return }
        self.reset(because: "rebuilding: the index on disk was damaged (\(error.segment ?? segment.name)): \(error.message)")
    }

    /// Forgets everything (the ingest log no longer holds what the index was built from) and says why in
    /// health until the rebuild has caught up.
    private func reset(because reason: String) {
        self.commits.withLock { commits in
            let old: [IndexSegment] = self.state.write { state in
                let segments = state.index.segments
                state.epoch = nil
                state.lastArticleID = nil
                state.caughtUp = false
                state.rebuildReason = reason
                state.index = ArticleIndex(directory: self.indexDirectory, parameters: self.configuration.bm25)
                state.newestPublishedAt = nil
                state.generation += 1
                state.appliedOffset = 0
                state.ingestEndOffset = 0
                self.publishProgress(state)
                return segments
            }
            guard let directory = self.indexDirectory else { return }
            let empty = IndexManifest(nextSegment: commits.nextSegment)
            do {
                try empty.write(directory: directory)
                commits.manifest = empty
            } catch {
                self.logger.error("cannot write the emptied index's manifest", metadata: ["dateline.error": "\(error)"])
            }
            for segment in old { IndexSegment.remove(directory: directory, name: segment.name) }
        }
    }

    /// One past the last log offset applied to the index.
    public var appliedOffset: UInt64 { self.progress.current.appliedOffset }

    // MARK: Following

    /// Follows the ingest log until graceful shutdown or cancellation, reconnecting with backoff; commits every
    /// commit interval and whenever the buffer fills (then merges when the merge policy says so), and commits a
    /// last time when it stops.
    public func run() async throws {
        if let failure = self.startupFailure {
            self.logger.error("cannot start: the index directory is unusable", metadata: ["dateline.error": "\(failure.message)"])
            throw failure
        }
        defer { self.directoryLock?.release() }
        self.checkOpenedSegments()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            if self.indexDirectory != nil {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: self.configuration.commitInterval)
                            self.commitSignal.yield()
                        }
                    }
                }
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        for await _ in self.commitSignals {
                            // Writing, fsyncing and merging block: on a thread for blocking work, not on one of
                            // the few that run every task (searches and the follower among them).
                            try? await NIOThreadPool.singleton.runIfActive { self.commitAndMerge() }
                        }
                    }
                }
            }
            await group.waitForAll()
        }
        self.stopping.store(true, ordering: .relaxed)
        self.commitAndMerge(merging: false)
    }

    private func commitAndMerge(merging: Bool = true) {
        do {
            try self.commit()  // a failure is logged and shown by health there
        } catch {
            return
        }
        guard merging else { return }
        let applied = self.appliedOffset
        let quiet = self.commits.withLock { commits -> Bool in
            guard commits.quietOffset == applied else {
                (commits.quietOffset, commits.quietSince) = (applied, .now)
                return false
            }
            return self.configuration.quietMergeAfter.map { ContinuousClock.now - commits.quietSince >= $0 } ?? false
        }
        self.mergeIfDue(quiet: quiet)
    }

    private func follow() async {
        await cancelWhenGracefulShutdown {
            var backoff = ReconnectBackoff(initial: self.configuration.reconnectBackoff.initial, maximum: self.configuration.reconnectBackoff.maximum)
            var lastProblem: String?
            let endpoints = self.configuration.ingestEndpoints
            var current = 0
            // Endpoints failed in a row: the backoff applies once every one has been tried.
            var failedInARow = 0
            while !Task.isCancelled {
                let problem: String
                do {
                    try await self.followOnce(from: endpoints[current], onFollowing: {
                        failedInARow = 0
                        backoff.reset()
                        if lastProblem != nil { self.logger.info("following dateline-ingest again") }
                        lastProblem = nil
                    })
                    problem = "dateline-ingest ended the subscription"
                } catch is CancellationError {
                    break
                } catch let error as DatelineError where error.code == .failedPrecondition {
                    let epoch = error.details["epoch"] ?? "?"
                    let reason = "rebuilding: the ingest log is now epoch \(epoch) (it was replaced or lost records)"
                    self.logger.warning("the ingest log's epoch changed; rebuilding the index from offset 0", metadata: [
                        "dateline.log.epoch": "\(epoch)", "dateline.applied": "\(self.appliedOffset)",
                    ])
                    self.reset(because: reason)
                    continue
                } catch let error as DatelineError where error.code == .invalidArgument && error.details["endOffset"] != nil {
                    // The ingest log is shorter than what the index has applied: it lost records. Start again.
                    let reason = "rebuilding: the ingest log ends at \(error.details["endOffset"] ?? "?"), before the index's offset \(self.appliedOffset)"
                    self.logger.warning("dateline-ingest's log ends before the index's applied offset; rebuilding the index from offset 0", metadata: [
                        "dateline.applied": "\(self.appliedOffset)", "dateline.ingest_end": "\(error.details["endOffset"] ?? "")",
                    ])
                    self.reset(because: reason)
                    continue
                } catch is UncommittedLimitReached {
                    // Not a failure of the ingest node: wait for room, then follow again from the applied offset.
                    await self.waitForRoomToApply()
                    continue
                } catch let error as LogEpochChanged {
                    let reason = error.reason ?? "the ingest log is now epoch \(error.epoch)"
                    self.logger.warning("the index does not belong to the ingest log it follows; rebuilding it from offset 0", metadata: [
                        "dateline.log.epoch": "\(error.epoch)", "dateline.reason": "\(reason)",
                    ])
                    self.reset(because: "rebuilding: \(reason)")
                    continue
                } catch {
                    if Task.isCancelled { break }
                    problem = (error as? DatelineError).map { "\($0.code): \($0.message)" } ?? "\(error)"
                }
                failedInARow += 1
                let endpoint = endpoints[current]
                current = (current + 1) % endpoints.count
                let delay = failedInARow % endpoints.count == 0 ? backoff.next() : .zero
                self.state.write { state in
                    state.following = false
                    state.condition = "not following dateline-ingest (\(endpoint)): \(problem)"
                    self.publishProgress(state)
                }
                // One line per change of condition; the same failure again is logged at debug only.
                if problem != lastProblem {
                    self.logger.warning("not following dateline-ingest; retrying with backoff", metadata: [
                        "dateline.error": "\(problem)", "dateline.ingest": "\(endpoint)", "dateline.retry_in": "\(delay)",
                        "dateline.next_ingest": "\(endpoints[current])",
                    ])
                    lastProblem = problem
                } else {
                    self.logger.debug("still not following dateline-ingest", metadata: ["dateline.error": "\(problem)", "dateline.retry_in": "\(delay)"])
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Connects, subscribes from the applied offset with the index's epoch, and applies batches until the
    /// stream ends or fails.
    private func followOnce(from endpoint: DatelineEndpoint, onFollowing: () -> Void) async throws {
        let connection = try await DatelineClientConnection.connect(
            host: endpoint.host,
            port: endpoint.port,
            configuration: self.configuration.ingestClient,
            logger: self.logger
        )
        defer { Task { try? await connection.close() } }
        let (applied, epoch, lastArticleID) = self.state.read { ($0.appliedOffset, $0.epoch, $0.lastArticleID) }
        // An index that holds records but no epoch (restored from a backup) asks for its own last record too, and
        // adopts the log only if that record is the article it holds there.
        if epoch == nil, applied > 0, lastArticleID == nil {
            throw LogEpochChanged(epoch: "", reason: "the index holds \(applied) records but neither their log's epoch nor its last article, so it cannot tell whether this log is theirs")
        }
        let continuity = epoch == nil && applied > 0 ? lastArticleID : nil
        let from = continuity == nil ? applied : applied - 1
        self.logger.info("following dateline-ingest", metadata: ["dateline.ingest": "\(endpoint)", "dateline.offset": "\(from)", "dateline.log.epoch": "\(epoch ?? "(none yet)")"])
        var first = true
        for try await batch in try connection.stream(SubscribeRequest(fromOffset: from, follower: "dateline-query", epoch: epoch)) {
            if first, let continuity {
                guard let record = batch.entries.first, record.offset == from, record.article.id == continuity else {
                    throw LogEpochChanged(
                        epoch: batch.epoch,
                        reason: "the log's record at offset \(from) is not the article \(continuity) the restored index holds there"
                    )
                }
                self.logger.info("the restored index continues this log", metadata: ["dateline.log.epoch": "\(batch.epoch)", "dateline.offset": "\(applied)"])
            }
            if first {
                // The stream answered: following (set before the batch is applied, so that a reader that sees
                // the batch's records also sees that the index follows the log).
                first = false
                self.state.write { state in
                    state.following = true
                    state.condition = nil
                    self.publishProgress(state)
                }
                onFollowing()
            }
            try self.apply(batch)
            if self.mustPauseApplying { throw UncommittedLimitReached() }
        }
    }

    /// Ends a subscription when the buffers hold ``QueryServiceConfiguration/uncommittedLimit`` of articles (as
    /// stored): the follower reads no more of the log until a commit makes room.
    private struct UncommittedLimitReached: Error {}

    /// Whether the articles applied but not committed fill the room allowed them (only an index on disk commits).
    private var mustPauseApplying: Bool {
        self.indexDirectory != nil && self.progress.current.uncommittedBytes >= self.configuration.uncommittedLimit
    }

    /// Waits, not following the log, until a commit has brought the uncommitted articles under the limit (or the
    /// service stops). Health says why meanwhile; the commit is asked for at once and then every commit interval.
    private func waitForRoomToApply() async {
        let limit = self.configuration.uncommittedLimit
        self.state.write { state in
            state.following = false
            state.condition = "paused: \(state.index.bufferedStoredBytes >> 10) KiB of applied articles wait for a commit (the limit is \(limit >> 10) KiB)"
            self.publishProgress(state)
        }
        self.logger.warning("paused following the ingest log until the index commits", metadata: [
            "dateline.uncommitted_bytes": "\(self.progress.current.uncommittedBytes)", "dateline.limit": "\(limit)",
        ])
        self.commitSignal.yield()
        while !Task.isCancelled {
            if await self.progress.wait(until: .now + .seconds(3_600), for: { $0.uncommittedBytes < limit }) { break }
        }
        self.state.write { state in
            state.condition = nil
            self.publishProgress(state)
        }
        if !Task.isCancelled { self.logger.info("following the ingest log again: the index committed") }
    }

    /// Indexes a batch; records at offsets already applied are skipped, so each is applied exactly once.
    /// - Throws: ``LogEpochChanged`` when the batch comes from another epoch than the index's, or the encoder's error
    ///   when an article cannot be encoded for the store (in both cases nothing is applied).
    public func apply(_ batch: LogBatch) throws {
        // Encoded as a segment stores them before the write lock is taken: searches do not wait for it.
        let stored = try batch.entries.map { try StoredArticleCoding.encode($0) }
        let full: Bool = try self.state.write { state in
            if !batch.epoch.isEmpty {
                if let epoch = state.epoch, epoch != batch.epoch { throw LogEpochChanged(epoch: batch.epoch) }
                state.epoch = batch.epoch
            }
            var applied = 0
            for (entry, stored) in zip(batch.entries, stored) where entry.offset == state.appliedOffset {
                let article = entry.article
                state.index.add(article, stored: stored, offset: entry.offset)
                if let date = article.publishedAt?.timeIntervalSince1970 { state.newestPublishedAt = max(state.newestPublishedAt ?? date, date) }
                state.appliedOffset = entry.offset + 1
                state.lastArticleID = article.id
                applied += 1
            }
            self.replayed.add(applied, ordering: .relaxed)
            state.ingestEndOffset = max(state.ingestEndOffset, batch.endOffset, state.appliedOffset)
            if !state.caughtUp, state.appliedOffset >= batch.endOffset {
                state.caughtUp = true
                state.rebuildReason = nil
            }
            self.publishProgress(state)
            // While commits fail they are retried every commit interval only, not for every batch applied.
            guard state.commitFailure == nil else { return false }
            return state.index.active.count >= self.configuration.bufferDocuments || state.index.bufferedTextBytes >= self.configuration.bufferBytes
        }
        if full, self.indexDirectory != nil { self.commitSignal.yield() }
    }

    /// Waits until `offset` records are applied, or the deadline passes (woken by the apply, never polling).
    func waitUntilApplied(_ offset: UInt64, deadline: ContinuousClock.Instant) async throws {
        guard await self.progress.wait(until: deadline, for: { $0.appliedOffset >= offset }) else {
            try Task.checkCancellation()
            throw DatelineError(
                code: .deadlineExceeded,
                message: "the index has applied \(self.appliedOffset) records, not yet the \(offset) asked for (is dateline-ingest reachable?)"
            )
        }
    }

    /// The request's deadline on the continuous clock (10 s when the client gave none).
    static func deadline(_ context: DatelineRequestContext) -> ContinuousClock.Instant {
        guard let deadline = context.deadline else { return .now + .seconds(10) }
        return .now + .nanoseconds(max(0, (deadline - NIODeadline.now()).nanoseconds))
    }

    // MARK: Handlers

    /// The protocol handlers.
    public var router: DatelineRouter {
        var router = DatelineRouter()
        router.on(SearchRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            return try self.search(request)
        }
        router.on(GetArticleRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            return try self.article(request.id)
        }
        router.on(EntitiesRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            return try self.entities(request)
        }
        router.on(TimelineRequest.self) { request, context in
            if let minimum = request.minimumOffset { try await self.waitUntilApplied(minimum, deadline: Self.deadline(context)) }
            return try self.timeline(request)
        }
        router.onStream(IndexBackupRequest.self) { request, writer, context in
            try await self.copyCommitPoint(request, to: writer, logger: context.logger)
        }
        // Stats sort the latency samples and read the index: off the event loop.
        router.on(QueryStatsRequest.self) { _, _ in self.stats() }
        router.onEventLoop(HealthRequest.self) { _, _ in self.health() }
        return router
    }

    /// Catching up (replaying the log after a start or a rebuild, with both offsets), degraded (not following,
    /// with why), or serving.
    public func health() -> HealthResponse {
        let published = self.progress.current
        let (applied, end, following, caughtUp, condition, epoch) = (
            published.appliedOffset, published.ingestEndOffset, published.following, published.caughtUp, published.condition, published.epoch
        )
        var details = ["appliedOffset": "\(applied)", "ingestEndOffset": "\(end)", "following": "\(following)", "epoch": epoch ?? ""]
        if let condition { details["condition"] = condition }
        if let check = published.indexCheck { details["indexCheck"] = check.description }
        let status: DatelineHealthStatus = !caughtUp ? .catchingUp : (following && !published.commitFailing ? .serving : .degraded)
        if status == .catchingUp && condition == nil {
            details["condition"] = following ? "catching up: offset \(applied) of \(end)" : "catching up: not yet connected to dateline-ingest"
        }
        return HealthResponse(
            status: status,
            service: self.configuration.server.serviceName,
            version: self.configuration.server.version,
            uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
            details: details
        )
    }

    /// Runs a search against the current index.
    public func search(_ request: SearchRequest, now: Date = Date()) throws -> SearchResponse {
        let started = ContinuousClock.now
        let request = try request.resolvingDateTexts(now: now)
        // An empty query with filters lists every article that passes them (newest first by default).
        let hasFilters = !request.entities.isEmpty || !request.topics.isEmpty || request.eventFrom != nil || request.eventTo != nil
            || !request.sources.isEmpty || !request.tags.isEmpty || request.from != nil || request.to != nil
        let query: SearchQuery?
        do {
            query = hasFilters && request.query.allSatisfy(\.isWhitespace) ? nil : try self.parser.parse(request.query)
        } catch {
            throw DatelineError(code: .invalidArgument, message: "query syntax: \(error.description)", details: ["position": "\(error.position)"])
        }
        for (name, date) in [("from", request.from), ("to", request.to), ("event_from", request.eventFrom), ("event_to", request.eventTo)] {
            if let date, !(-62_135_596_800.0..<253_402_300_800.0).contains(date.timeIntervalSince1970) {
                throw DatelineError(code: .invalidArgument, message: "\(name) is outside the years 1 to 9999")
            }
        }
        let limit = request.limit == 0 ? 10 : Int(request.limit)
        guard limit <= self.configuration.maximumLimit else {
            throw DatelineError(code: .invalidArgument, message: "limit \(limit) is above the maximum of \(self.configuration.maximumLimit)")
        }
        let sort = request.sort == .unspecified || (query == nil && request.sort == .relevance) ? (query == nil ? SearchSort.date : SearchSort.relevance) : request.sort
        let after = try request.cursor.map { try SearchCursor(decoding: $0, sort: sort) }
        var response: SearchResponse = try self.state.read { state in
            // Later pages see the index as the first page did (point in time), so pages never overlap.
            let asOf = min(after?.documents ?? state.index.count, state.index.count)
            let index = state.index
            // Built only for what reads it (entity, topic, event, source, tag and language filters; facets).
            lazy var view = EntityView(parts: index.entityParts(), documents: asOf)
            let allowed = try Self.filteredDocuments(request, view: view)
            let newest = state.newestPublishedAt ?? Date().timeIntervalSince1970
            let from = request.from?.timeIntervalSince1970
            let to = request.to?.timeIntervalSince1970
            let reader = index.reader()
            let publishedAt = ArticleIndex.PublicationTimes(index)
            let passes = { (document: Int) -> Bool in
                if let allowed, !allowed.contains(document) { return false }
                if from != nil || to != nil {
                    let published = publishedAt(document)
                    if let from, (published ?? -.greatestFiniteMagnitude) < from { return false }
                    if let to, (published ?? .greatestFiniteMagnitude) > to { return false }
                }
                return true
            }
            var ranked: [(key: SearchCursor, document: Int, score: Double)] = []
            var best: [(key: SearchCursor, document: Int, score: Double)] = []
            let total: Int
            if let query, sort == .relevance, !request.facets {
                // Ranked by relevance alone: MaxScore scores only the documents that can make the page.
                let filtered = allowed != nil || from != nil || to != nil
                let result = try reader.topMatches(
                    query, limit: limit + 1, documents: asOf, after: after.map { ($0.primary, $0.document) },
                    filter: filtered ? { index.filter($0, from: from, to: to, allowed: allowed) } : nil
                )
                total = result.total
                best = result.top.map { (SearchCursor(sort: sort, primary: $0.score, document: $0.document, documents: asOf), Int($0.document), $0.score) }
            } else {
                let candidates: [(UInt32, Double)] = try query.map { try reader.matches($0, documents: asOf) } ?? (0..<asOf).map { (UInt32($0), 0) }
                for (step, (document, score)) in candidates.enumerated() where passes(Int(document)) {
                    if step % 4_096 == 4_095 { try Task.checkCancellation() }
                    let primary: Double
                    switch sort {
                    case .date:
                        primary = index.publishedAt(Int(document)) ?? -.greatestFiniteMagnitude
                    case .recent:
                        let ageDays = max(0, (newest - (index.publishedAt(Int(document)) ?? -.greatestFiniteMagnitude)) / 86_400)
                        primary = score * pow(0.5, ageDays / self.configuration.recencyHalfLifeDays)
                    default:
                        primary = score
                    }
                    ranked.append((SearchCursor(sort: sort, primary: primary, document: UInt32(document), documents: asOf), Int(document), score))
                }
                total = ranked.count
                best = Self.bestEntries(ranked, after: after, limit: limit)
            }
            let page = best.prefix(limit)
            let snippetTerms = page.isEmpty ? nil : query.map { Snippets.Terms($0) }
            let hits = try page.map { entry in
                let article = try index.article(entry.document, extraction: false)
                return SearchHit(
                    articleID: article.id,
                    score: entry.score,
                    title: article.title ?? "",
                    source: article.source ?? "",
                    publishedAt: article.publishedAt,
                    snippets: snippetTerms.map { reader.snippets(body: article.body, for: $0) } ?? [Self.opening(of: article.body)]
                )
            }
            let next = best.count > limit ? page.last?.key.encoded : nil
            let facets = request.facets ? try Self.facets(ranked.map(\.document), view: view, index: index, interval: request.histogramInterval) : nil
            return SearchResponse(total: UInt64(total), hits: hits, nextCursor: next, appliedOffset: state.appliedOffset, facets: facets)
        }
        (response.resolvedFrom, response.resolvedTo) = (request.from, request.to)
        (response.resolvedEventFrom, response.resolvedEventTo) = (request.eventFrom, request.eventTo)
        self.record(ContinuousClock.now - started)
        return response
    }

    /// The best `limit + 1` entries after the cursor, in order, without sorting every match.
    private static func bestEntries(
        _ ranked: [(key: SearchCursor, document: Int, score: Double)], after: SearchCursor?, limit: Int
    ) -> [(key: SearchCursor, document: Int, score: Double)] {
        var best: [(key: SearchCursor, document: Int, score: Double)] = []
        best.reserveCapacity(limit + 2)
        for entry in ranked {
            if let after, !after.precedes(entry.key) { continue }
            if best.count > limit, let last = best.last, !entry.key.precedes(last.key) { continue }
            var low = 0
            var high = best.count
            while low < high {
                let middle = (low + high) / 2
                if best[middle].key.precedes(entry.key) { low = middle + 1 } else { high = middle }
            }
            best.insert(entry, at: low)
            if best.count > limit + 1 { best.removeLast() }
        }
        return best
    }

    /// The documents that pass the request's entity, topic, event-date, source, tag and language filters (each
    /// read from the parts' filter postings), or nil when it has none of them.
    private static func filteredDocuments(_ request: SearchRequest, view makeView: @autoclosure () -> EntityView) throws -> DocumentBits? {
        guard !request.entities.isEmpty || !request.topics.isEmpty || request.eventFrom != nil || request.eventTo != nil
            || !request.sources.isEmpty || !request.tags.isEmpty || !request.languages.isEmpty
        else { return nil }  // and no entity view is made
        let view = makeView()
        var allowed: DocumentBits?
        func require(_ bits: DocumentBits) {
            if allowed == nil { allowed = bits } else { allowed!.formIntersection(bits) }
        }
        // Every named entity must be mentioned: each resolves to a set of ids, one of which must be there.
        for name in request.entities {
            let resolved = try view.resolve(name)
            guard !resolved.actor.ids.isEmpty else {
                throw DatelineError(code: .notFound, message: "no entity called '\(name)' is known (try `dateline entities --match`)")
            }
            require(try view.documents(withAnyOf: resolved.lookupIDs.map(FilterKey.entity)))
        }
        if !request.topics.isEmpty { require(try view.documents(withAnyOf: request.topics.map(FilterKey.topic))) }
        if request.eventFrom != nil || request.eventTo != nil {
            let limit = Int(Int32.max)
            let from = request.eventFrom.map { max(-limit, Int(($0.timeIntervalSince1970 / 86_400).rounded(.down))) } ?? -limit
            let to = request.eventTo.map { min(limit, Int(($0.timeIntervalSince1970 / 86_400).rounded(.down))) } ?? limit
            require(from <= to ? try view.documents(withEventDaysIn: from...to) : DocumentBits(count: 0))
        }
        if !request.sources.isEmpty { require(try view.documents(withAnyOf: request.sources.map(FilterKey.source))) }
        if !request.tags.isEmpty { require(try view.documents(withAnyOf: request.tags.map(FilterKey.tag))) }
        if !request.languages.isEmpty { require(try view.documents(withAnyOf: request.languages.map(FilterKey.language))) }
        return allowed
    }

    /// The first ~200 characters of a body, cut at a word boundary: the snippet when no words were searched.
    static func opening(of body: String) -> String {
        let flat = body.replacingOccurrences(of: "\n\n", with: " ")
        guard flat.count > 200 else { return flat }
        let prefix = flat.prefix(200)
        return String(prefix[..<(prefix.lastIndex(of: " ") ?? prefix.endIndex)]) + " …"
    }

    /// Entities known across every article.
    public func entities(_ request: EntitiesRequest) throws -> EntitiesResponse {
        defer { HeapTrim.releaseFreedMemory() }  // a listing reads every part's entity table into the heap
        // Read outside the lock, so that following the log never waits for a listing.
        let index = self.state.read { $0.index.entitySnapshot() }
        return try EntityView(parts: index.entityParts()).entitiesResponse(request)
    }

    /// The most actors one timeline request may name.
    public static let maximumTimelineActors = 32

    /// Engagements involving every actor of the request, in date order.
    public func timeline(_ request: TimelineRequest) throws -> TimelineResponse {
        guard !request.actors.isEmpty else { throw DatelineError(code: .invalidArgument, message: "a timeline needs at least one actor") }
        guard request.actors.count <= Self.maximumTimelineActors else {
            throw DatelineError(code: .invalidArgument, message: "a timeline takes at most \(Self.maximumTimelineActors) actors, not \(request.actors.count)")
        }
        defer { HeapTrim.releaseFreedMemory() }  // the reports a timeline read are free once it is answered
        let index = self.state.read { $0.index.entitySnapshot() }  // read outside the lock, as entity listings are
        let lookup = EntityView.ArticleLookup(
            publishedAt: { document in index.publishedAt(document).map(Date.init(timeIntervalSince1970:)) },
            header: { document in
                guard let article = try? index.article(document, extraction: false) else { return .init(id: "", title: nil, source: nil, publishedAt: nil) }
                return .init(id: article.id, title: article.title, source: article.source, publishedAt: article.publishedAt)
            }
        )
        let response = try EntityView(parts: index.entityParts()).timeline(request, articles: lookup)
        if let unknown = response.actors.first(where: { $0.ids.isEmpty }) {
            throw DatelineError(code: .notFound, message: "no person, office, organisation or country called '\(unknown.query)' is known (try `dateline entities --match`)")
        }
        return response
    }

    /// Counts of `documents` by source, tag, publication date, entity and topic.
    static func facets(_ documents: [Int], view: EntityView, index: ArticleIndex, interval: HistogramInterval, top: Int = 10) throws -> SearchFacets {
        var sources: [String: UInt64] = [:]
        var tags: [String: UInt64] = [:]
        var dates: [String: UInt64] = [:]
        var entities: [String: UInt64] = [:]
        var topics: [String: UInt64] = [:]
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for (step, document) in documents.enumerated() {
            if step % 4_096 == 4_095 { try Task.checkCancellation() }
            let annotation = try view.annotation(document)
            sources[annotation.source ?? "(unknown)", default: 0] += 1
            for tag in annotation.tags { tags[tag, default: 0] += 1 }
            var mentioned: [String] = []
            for id in annotation.entities { PartEntity.union(&mentioned, [try view.canonical(id)]) }
            for id in mentioned { entities[id, default: 0] += 1 }
            for topic in annotation.topics { topics[topic, default: 0] += 1 }
            guard let date = index.publishedAt(document).map(Date.init(timeIntervalSince1970:)) else {
                dates["(no date)", default: 0] += 1
                continue
            }
            let parts = calendar.dateComponents([.year, .month, .day, .weekOfYear, .yearForWeekOfYear], from: date)
            let bucket: String
            switch interval {
            case .day: bucket = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            case .week: bucket = String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
            case .month, .unspecified: bucket = String(format: "%04d-%02d", parts.year!, parts.month!)
            }
            dates[bucket, default: 0] += 1
        }
        func topCounts(_ counts: [String: UInt64]) -> [FacetCount] {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(top).map { FacetCount(value: $0.key, count: $0.value) }
        }
        return SearchFacets(
            sources: topCounts(sources),
            tags: topCounts(tags),
            dates: dates.sorted { $0.key < $1.key }.map { FacetCount(value: $0.key, count: $0.value) },
            entities: topCounts(entities),
            topics: topCounts(topics)
        )
    }

    /// One article in full.
    public func article(_ id: String) throws -> GetArticleResponse {
        try self.state.read { state in
            guard let document = try state.index.document(forID: id) else {
                guard state.caughtUp else {
                    // Not a definite answer: the article may be in the part of the log not replayed yet.
                    let position = state.following ? "offset \(state.appliedOffset) of \(state.ingestEndOffset)" : "offset \(state.appliedOffset), not yet connected to dateline-ingest"
                    throw DatelineError(code: .unavailable, message: "catching up: \(position); no article \(id) yet, retry shortly", details: [
                        "appliedOffset": "\(state.appliedOffset)", "ingestEndOffset": "\(state.ingestEndOffset)",
                    ])
                }
                throw DatelineError(code: .notFound, message: "no article with id or external id \(id)")
            }
            return GetArticleResponse(article: try state.index.article(document), offset: state.index.offset(document))
        }
    }

    private func record(_ latency: Duration) {
        self.latencies.withLock { latencies in
            latencies.queries += 1
            if latencies.samples.count < 4_096 {
                latencies.samples.append(latency.seconds)
            } else {
                latencies.samples[latencies.cursor] = latency.seconds
                latencies.cursor = (latencies.cursor + 1) % latencies.samples.count
            }
        }
    }

    /// Brings the service's metrics (``QueryMetrics``) up to date with its figures; a metrics endpoint calls it
    /// before each scrape.
    public func refreshMetrics() {
        let stats = self.stats()
        let progress = self.progress.current
        self.metrics.refresh(
            from: stats, segments: self.state.read { $0.index.segments.count }, uncommittedBytes: progress.uncommittedBytes,
            commitFailing: progress.commitFailing
        )
    }

    /// The service's figures.
    public func stats() -> QueryStatsResponse {
        let (sorted, queries) = self.latencies.withLock { ($0.samples.sorted(), $0.queries) }
        return self.state.read { state in
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1e6
            }
            let segmentBytes = state.index.segments.reduce(0) { $0 + $1.info.bytes }
            return QueryStatsResponse(
                articleCount: UInt64(state.index.count),
                appliedOffset: state.appliedOffset,
                ingestEndOffset: state.ingestEndOffset,
                lag: state.ingestEndOffset - min(state.ingestEndOffset, state.appliedOffset),
                following: state.following,
                indexTerms: UInt64(state.index.termCount),
                indexBytes: UInt64(segmentBytes + state.index.bufferedTextBytes + state.index.bufferedPostingBytes),
                queries: queries,
                queryP50Microseconds: percentile(0.5),
                queryP95Microseconds: percentile(0.95),
                queryP99Microseconds: percentile(0.99),
                uptimeSeconds: (ContinuousClock.now - self.startedAt).seconds,
                memory: ProcessMemory.current(),
                recordsAppliedSinceStart: UInt64(self.recordsAppliedSinceStart)
            )
        }
    }
}

/// A batch from another log epoch than the index's: the index must be rebuilt.
public struct LogEpochChanged: Error, Sendable {
    public var epoch: String
    /// Why the index cannot go on with this log, when it is not simply another epoch.
    public var reason: String?

    /// The epoch the batch came from, and why the index cannot go on when that is not simply another epoch.
    public init(epoch: String, reason: String? = nil) {
        self.epoch = epoch
        self.reason = reason
    }
}

/// The position after which the next page starts: the last hit's sort key. Opaque to clients.
struct SearchCursor: Hashable {
    var sort: SearchSort
    var primary: Double
    var document: UInt32
    /// How many documents the index held when the first page was served.
    var documents: Int

    /// Higher primary first; ties broken by older document first, so that new articles never shift a page.
    func precedes(_ other: SearchCursor) -> Bool {
        self.primary != other.primary ? self.primary > other.primary : self.document < other.document
    }

    var encoded: String {
        Data("\(self.sort.rawValue):\(self.primary.bitPattern):\(self.document):\(self.documents)".utf8).base64EncodedString()
    }

    init(sort: SearchSort, primary: Double, document: UInt32, documents: Int) {
        self.sort = sort
        self.primary = primary
        self.document = document
        self.documents = documents
    }

    init(decoding text: String, sort: SearchSort) throws {
        let parts = Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self).split(separator: ":") } ?? []
        guard parts.count == 4, let rawSort = UInt32(parts[0]), let bits = UInt64(parts[1]), let document = UInt32(parts[2]),
            let documents = Int(parts[3]), documents >= 0, SearchSort(rawValue: rawSort) == sort
        else {
            throw DatelineError(code: .invalidArgument, message: "the cursor is not one this service issued for this sort order")
        }
        self.init(sort: sort, primary: Double(bitPattern: bits), document: document, documents: documents)
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}

/// glibc's `malloc_trim(0)`, found at run time (it is not in Swift's Glibc module): returns freed heap pages to
/// the system, so that resident memory falls once a flushed buffer is gone. Does nothing where it is missing.
/// glibc's allocator, reached by name so that other C libraries build too.
package enum HeapTrim {
    private typealias Trim = @convention(c) (Int) -> Int32
    private typealias Option = @convention(c) (Int32, Int32) -> Int32
    private static let option: Option? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: Option.self)
        #else
        return nil
        #endif
    }()

    /// Caps the allocator's arenas at `count` (glibc's `M_ARENA_MAX`) unless `MALLOC_ARENA_MAX` is set: glibc
    /// otherwise makes up to eight per core, and the slack each keeps after a burst of searches or an ingest is
    /// resident memory the service no longer uses. Called first thing by the executables. Returns whether it applied.
    @discardableResult
    package static func limitArenas(to count: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard environment["MALLOC_ARENA_MAX"] == nil, let option = self.option else { return false }
        return option(-8, count) == 1  // M_ARENA_MAX
    }

    private static let trim: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    package static func releaseFreedMemory() { _ = self.trim?(0) }
}

extension QueryService: CustomReflectable {
    /// What a debugger or a failed test expectation shows: the published progress, not the locked state (whose
    /// non-copyable locks reflection would try to copy, and crash).
    public var customMirror: Mirror {
        let progress = self.progress.current
        return Mirror(self, children: [
            "appliedOffset": progress.appliedOffset, "articleCount": progress.articleCount, "following": progress.following,
            "uncommittedBytes": progress.uncommittedBytes,
        ], displayStyle: .class)
    }
}
