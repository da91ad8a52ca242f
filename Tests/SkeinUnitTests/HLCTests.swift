import Testing
@testable import SkeinCore

@Suite("Hybrid logical clock")
struct HLCTests {
    @Test func packingOfMillisAndCounter() {
        let t = HLCTimestamp(millis: 1_795_721_096_569, counter: 7)
        #expect(t.millis == 1_795_721_096_569)
        #expect(t.counter == 7)
        #expect(t.rawValue == 1_795_721_096_569 << 16 | 7)
        #expect(HLCTimestamp(rawValue: t.rawValue) == t)
        #expect(t.description == "1795721096569.7")
        let max = HLCTimestamp(millis: (1 << 48) - 1, counter: .max)
        #expect(max.rawValue == .max)
        #expect(max.millis == (1 << 48) - 1)
        #expect(max.counter == .max)
        #expect(HLCTimestamp.zero.rawValue == 0)
    }

    /// A write's age in the lag histograms: none for the bootstrap version (a node's
    /// defaults), whose physical time is 0, not 1970.
    @Test func ageOfAVersion() {
        #expect(HLCTimestamp.ageMillis(versionMillis: 1_000, now: 1_250) == 250)
        #expect(HLCTimestamp.ageMillis(versionMillis: 1_300, now: 1_250) == 0)
        #expect(HLCTimestamp.ageMillis(versionMillis: HLCTimestamp.bootstrap.millis, now: 1_250) == nil)
        #expect(HLCTimestamp.ageMillis(versionMillis: HLCTimestamp.zero.millis, now: 1_250) == nil)
    }

    @Test func orderingIsMillisThenCounter() {
        let a = HLCTimestamp(millis: 100, counter: 5)
        let b = HLCTimestamp(millis: 100, counter: 6)
        let c = HLCTimestamp(millis: 101, counter: 0)
        #expect(a < b && b < c && a < c)
        #expect(!(c < a))
        #expect(HLCTimestamp(millis: 100, counter: .max) < c)
        #expect([c, a, b].sorted() == [a, b, c])
        #expect(HLCTimestamp.zero < a)
    }

    @Test func tickUsesWallClockWhenItAdvances() {
        var clock = HybridLogicalClock()
        #expect(clock.tick(now: 1000) == HLCTimestamp(millis: 1000, counter: 0))
        #expect(clock.tick(now: 1005) == HLCTimestamp(millis: 1005, counter: 0))
        #expect(clock.last == HLCTimestamp(millis: 1005, counter: 0))
    }

    @Test func tickIsMonotonicWhenWallClockStandsStill() {
        var clock = HybridLogicalClock()
        var previous = clock.tick(now: 5000)
        for i in 1...100 {
            let t = clock.tick(now: 5000)
            #expect(previous < t)
            #expect(t.millis == 5000)
            #expect(t.counter == UInt16(i))
            previous = t
        }
    }

    @Test func tickIsMonotonicWhenWallClockGoesBackwards() {
        var clock = HybridLogicalClock()
        let a = clock.tick(now: 10_000)
        let b = clock.tick(now: 9_000)
        let c = clock.tick(now: 1)
        #expect(a < b && b < c)
        #expect(c == HLCTimestamp(millis: 10_000, counter: 2))
        // Once the wall clock catches up, it takes over again.
        #expect(clock.tick(now: 10_001) == HLCTimestamp(millis: 10_001, counter: 0))
    }

    @Test func counterOverflowRollsTheMillis() {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: 42, counter: .max - 1))
        #expect(clock.tick(now: 42) == HLCTimestamp(millis: 42, counter: .max))
        let rolled = clock.tick(now: 42)
        #expect(rolled == HLCTimestamp(millis: 43, counter: 0))
        #expect(clock.tick(now: 42) == HLCTimestamp(millis: 43, counter: 1))
    }

    @Test func receiveFromPeerAheadAdvancesPastIt() {
        var clock = HybridLogicalClock(maxForwardSkewMillis: 1000)
        _ = clock.tick(now: 1000)
        let remote = HLCTimestamp(millis: 1500, counter: 3)
        let merged = clock.receive(remote, now: 1000)
        #expect(merged > remote)
        #expect(merged == HLCTimestamp(millis: 1500, counter: 4))
        #expect(clock.lastSkewMillis == 500)
        #expect(!clock.peerClockTooFarAhead)
        // Following local ticks stay past the remote while our wall clock is behind.
        let next = clock.tick(now: 1001)
        #expect(next > merged)
        #expect(next == HLCTimestamp(millis: 1500, counter: 5))
    }

    @Test func receiveFlagsPeerTooFarAhead() {
        var clock = HybridLogicalClock(maxForwardSkewMillis: 60_000)
        let remote = HLCTimestamp(millis: 200_000, counter: 0)
        let merged = clock.receive(remote, now: 100_000)
        #expect(merged > remote) // accepted anyway, so causality holds
        #expect(clock.lastSkewMillis == 100_000)
        #expect(clock.peerClockTooFarAhead)
        // A later message from a peer that is not ahead clears the report.
        clock.receive(HLCTimestamp(millis: 90_000, counter: 0), now: 100_000)
        #expect(clock.lastSkewMillis == 0)
        #expect(!clock.peerClockTooFarAhead)
    }

    @Test func receiveOfOlderTimestampStillAdvances() {
        var clock = HybridLogicalClock()
        let local = clock.tick(now: 5000)
        let merged = clock.receive(HLCTimestamp(millis: 10, counter: 9), now: 5000)
        #expect(merged > local)
        #expect(merged == HLCTimestamp(millis: 5000, counter: 1))
        #expect(clock.lastSkewMillis == 0)
        #expect(clock.last == merged)
    }

    @Test func receiveWhenWallClockIsAheadOfBoth() {
        var clock = HybridLogicalClock()
        _ = clock.tick(now: 100)
        let merged = clock.receive(HLCTimestamp(millis: 200, counter: 9), now: 300)
        #expect(merged == HLCTimestamp(millis: 300, counter: 0))
    }

    @Test func receiveWithEqualMillisTakesTheLargerCounter() {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: 700, counter: 2))
        let merged = clock.receive(HLCTimestamp(millis: 700, counter: 9), now: 600)
        #expect(merged == HLCTimestamp(millis: 700, counter: 10))
        let merged2 = clock.receive(HLCTimestamp(millis: 700, counter: 1), now: 600)
        #expect(merged2 == HLCTimestamp(millis: 700, counter: 11))
    }

    @Test func receiveCounterOverflowRollsTheMillis() {
        var clock = HybridLogicalClock()
        let merged = clock.receive(HLCTimestamp(millis: 900, counter: .max), now: 800)
        #expect(merged == HLCTimestamp(millis: 901, counter: 0))
        #expect(merged > HLCTimestamp(millis: 900, counter: .max))
    }

    @Test func randomInterleavingIsStrictlyMonotonic() {
        var rng = SplitMix(seed: 7)
        var clock = HybridLogicalClock()
        var previous = HLCTimestamp.zero
        var now: UInt64 = 1_000_000
        for _ in 0..<5000 {
            // The wall clock jitters, sometimes backwards.
            now = UInt64(Int64(now) + Int64(rng.next() % 7) - 3)
            let t: HLCTimestamp
            if rng.next() % 3 == 0 {
                let remote = HLCTimestamp(millis: now + rng.next() % 50 - 25, counter: UInt16(rng.next() % 100))
                t = clock.receive(remote, now: now)
                #expect(t > remote)
            } else {
                t = clock.tick(now: now)
            }
            #expect(t > previous)
            previous = t
        }
    }
}

/// A tiny deterministic generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
