import Foundation
import SkeinService
import Testing

/// The publisher's pump rests on a `Wakeup`: news must end the rest, news that came before
/// the rest must not be lost, and without news the rest still ends.
@Suite("Wakeup")
struct WakeupTests {
    @Test func aFireWakesTheWaiterLongBeforeItsTimeout() async throws {
        let wakeup = Wakeup()
        let start = Date()
        async let waited: Void = wakeup.wait(upTo: .seconds(60))
        try await Task.sleep(for: .milliseconds(50))
        wakeup.fire()
        await waited
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test func aFireWhileNobodyWaitsEndsTheNextWaitAtOnceAndOnlyThatOne() async {
        let wakeup = Wakeup()
        wakeup.fire()
        wakeup.fire()
        let start = Date()
        await wakeup.wait(upTo: .seconds(60))
        #expect(Date().timeIntervalSince(start) < 30)
        // Both fires were one piece of news: the next wait rests until its timeout.
        let second = Date()
        await wakeup.wait(upTo: .milliseconds(200))
        #expect(Date().timeIntervalSince(second) >= 0.15)
    }

    @Test func cancellingTheWaiterEndsTheWait() async {
        let wakeup = Wakeup()
        let start = Date()
        let task = Task { await wakeup.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await task.value
        #expect(Date().timeIntervalSince(start) < 30)
    }

    /// Timeouts share one timer (`DeadlineTimer`): a short one armed after a long one still
    /// ends on time, and a timeout whose wait news already ended leaves nothing behind.
    @Test func aShortTimeoutArmedAfterALongOneEndsOnTime() async {
        let long = Wakeup(), short = Wakeup()
        let waiting = Task { await long.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(20))
        let start = Date()
        await short.wait(upTo: .milliseconds(100))
        let waited = Date().timeIntervalSince(start)
        #expect(waited >= 0.09 && waited < 10, "waited \(waited) s")
        long.fire()
        await waiting.value
    }

    /// On a loaded machine (other suites' long synchronous tests hold the concurrency pool)
    /// the 20 ms sleep can outlast the first wait's timeout: the wait then ends by its
    /// timeout and the late fire is kept for the next wait. Such a try proves nothing and is
    /// made again with a new `Wakeup`, for up to a minute.
    @Test func aTimeoutAfterNewsEndedItsWaitLeavesNothingForTheNext() async {
        let giveUp = Date().addingTimeInterval(60)
        while Date() < giveUp {
            let wakeup = Wakeup()
            let begun = Date()
            async let first: Void = wakeup.wait(upTo: .milliseconds(200))
            try? await Task.sleep(for: .milliseconds(20))
            wakeup.fire()
            await first
            guard Date().timeIntervalSince(begun) < 0.15 else { continue }
            // The first wait's timeout comes during this one: it must not end it.
            let start = Date()
            await wakeup.wait(upTo: .milliseconds(600))
            #expect(Date().timeIntervalSince(start) >= 0.55)
            return
        }
        Issue.record("no try had its news before its timeout")
    }
}
