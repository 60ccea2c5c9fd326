import Foundation
import Synchronization
import Testing

@testable import DatelineQuery

/// The index's lock lets a waiting writer (the follower applying a batch) go before readers (searches) that come
/// after it: with readers always overlapping, the writer still gets its turn.
@Suite("Reader-writer lock")
struct ReadWriteLockedTests {
    @Test(.timeLimit(.minutes(1)))
    func aWaitingWriterGoesBeforeReadersThatArriveAfterIt() async throws {
        let locked = ReadWriteLocked(0)
        let readerHolds = DispatchSemaphore(value: 0)
        let readerMayLeave = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        let order = Mutex<[String]>([])
        Thread {
            locked.read { _ in
                readerHolds.signal()
                readerMayLeave.wait()
                order.withLock { $0.append("first reader leaves") }
            }
        }.start()
        readerHolds.wait()
        Thread {
            locked.write { value in
                value += 1
                order.withLock { $0.append("writer") }
            }
            writerDone.signal()
        }.start()
        // Once the writer waits, a new reader is turned away (with glibc's default it would be let in beside the
        // first, and the writer could wait for as long as readers keep overlapping).
        var turnedAway = false
        while !turnedAway {
            turnedAway = locked.readIfFree { _ in true } == nil
            if !turnedAway { try await Task.sleep(for: .milliseconds(1)) }
        }
        readerMayLeave.signal()
        writerDone.wait()
        #expect(order.withLock { $0 } == ["first reader leaves", "writer"])
        #expect(locked.read { $0 } == 1)
        #expect(locked.readIfFree { $0 } == 1, "free again")
    }
}
