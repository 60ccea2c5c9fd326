import Testing

@testable import DatelineQuery

@Suite("Published progress and its waiters")
struct QueryProgressTests {
    @Test func aWaiterIsWokenByThePublishThatSatisfiesIt() async {
        let progress = QueryProgress()
        let waiting = Task { await progress.wait(until: .now + .seconds(600), for: { $0.appliedOffset >= 3 }) }
        progress.publish { $0.appliedOffset = 2 }
        progress.publish { $0.appliedOffset = 3 }
        #expect(await waiting.value, "woken by the apply, long before its deadline")
        #expect(await progress.wait(until: .now, for: { $0.appliedOffset >= 3 }), "already satisfied: no wait")
    }

    @Test func aDeadlineOrACancellationEndsTheWaitWithFalse() async {
        let progress = QueryProgress()
        #expect(await progress.wait(until: .now + .milliseconds(20), for: { $0.appliedOffset >= 1 }) == false)
        let waiting = Task { await progress.wait(until: .now + .seconds(600), for: { $0.caughtUp }) }
        waiting.cancel()
        #expect(await waiting.value == false)
    }
}

@Suite("The allocator's arenas")
struct HeapArenaTests {
    @Test func aLimitIsSetUnlessTheEnvironmentChoseOne() {
        #expect(!HeapTrim.limitArenas(to: 2, environment: ["MALLOC_ARENA_MAX": "4"]))
        #if canImport(Glibc)
        #expect(HeapTrim.limitArenas(to: 2, environment: [:]))
        #endif
    }
}
