import Testing
@testable import SkeinReplication

@Suite("Received bytes per second")
struct ByteRateTests {
    @Test func nothingReceivedIsZero() {
        #expect(ByteRate().rate(now: 1_000_000) == 0)
    }

    /// A transfer shorter than a window (a small full copy) shows its rate while it runs,
    /// not 0 until a whole window has passed.
    @Test func aTransferShowsItsRateFromItsFirstSecond() {
        var rate = ByteRate()
        for step in 0..<25 { rate.add(40_000, now: 1_000_000 + UInt64(step) * 100) }  // 1 MB in 2.5 s
        let shown = rate.rate(now: 1_002_500)
        #expect(shown > 350_000 && shown < 450_000, "\(shown)")
    }

    @Test func aSteadyFlowShowsItsRate() {
        var rate = ByteRate()
        for step in 0..<200 { rate.add(1000, now: 2_000_000 + UInt64(step) * 50) }  // 20,000 B/s for 10 s
        let shown = rate.rate(now: 2_010_000)
        #expect(shown > 18_000 && shown < 22_000, "\(shown)")
    }

    @Test func anIdleLinkFallsToZeroWithinAWindow() {
        var rate = ByteRate()
        for step in 0..<20 { rate.add(1000, now: 3_000_000 + UInt64(step) * 100) }
        #expect(rate.rate(now: 3_002_000) > 0)
        #expect(rate.rate(now: 3_002_000 + ByteRate.windowMillis + 1000) == 0)
    }

    /// One message after a long silence counts over at least a second, not its few ms.
    @Test func aLoneMessageIsNotABurst() {
        var rate = ByteRate()
        rate.add(5000, now: 4_000_000)
        #expect(rate.rate(now: 4_000_010) == 5000)
    }
}
