import Testing
import SkeinStorage

/// Record writes to a database wait while its index backlog is at the limit, for a bounded
/// time and never past their caller's deadline; other databases are not held.
@Suite("Index backlog gate")
struct IndexBacklogGateTests {
    @Test func writesWaitFromTheLimitUntilACatchUpBringsTheBacklogUnder() {
        var gate = IndexBacklogGate(limit: 1000, maxWaitMillis: 5000, deadlineMarginMillis: 2000)
        #expect(gate.record("a", backlog: 999) == nil)
        #expect(!gate.holds("a", waitedMillis: 0, untilDeadline: nil))
        #expect(gate.record("a", backlog: 1000) == true, "reaching the limit holds")
        #expect(gate.record("a", backlog: 1500) == nil, "already held")
        #expect(gate.holds("a", waitedMillis: 0, untilDeadline: nil))
        #expect(!gate.holds("b", waitedMillis: 0, untilDeadline: nil), "another database's writes go on")
        #expect(gate.held == ["a"])
        #expect(gate.record("a", backlog: 400) == false, "a catch-up's settling releases")
        #expect(!gate.holds("a", waitedMillis: 0, untilDeadline: nil))
        #expect(gate.backlog(of: "a") == 400)
    }

    @Test func aWriteWaitsNoLongerThanTheGateAllowsNorPastItsCallersDeadline() {
        var gate = IndexBacklogGate(limit: 10, maxWaitMillis: 5000, deadlineMarginMillis: 2000)
        _ = gate.record("a", backlog: 50)
        #expect(gate.holds("a", waitedMillis: 4999, untilDeadline: nil))
        #expect(!gate.holds("a", waitedMillis: 5000, untilDeadline: nil), "waited the longest wait")
        #expect(gate.holds("a", waitedMillis: 100, untilDeadline: 2001))
        #expect(!gate.holds("a", waitedMillis: 100, untilDeadline: 2000), "2 s before the deadline it goes")
        #expect(!gate.holds("a", waitedMillis: 100, untilDeadline: 0), "past the deadline it goes (and is answered so)")
    }

    @Test func noLimitHoldsNothingAndForgettingReleases() {
        var unlimited = IndexBacklogGate(limit: nil)
        #expect(unlimited.record("a", backlog: 10_000_000) == nil)
        #expect(!unlimited.holds("a", waitedMillis: 0, untilDeadline: nil))
        var gate = IndexBacklogGate(limit: 1)
        _ = gate.record("a", backlog: 5)
        gate.forgetAll()
        #expect(gate.held.isEmpty && gate.backlog(of: "a") == nil)
    }
}
