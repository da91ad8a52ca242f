import Testing
import SkeinCore

/// A line a flood repeats is written a bounded number of times per interval, and the next
/// one written says how many were not.
@Suite("Log rate limit")
struct LogRateLimitTests {
    @Test func aBurstPerIntervalThenACountOfWhatWasNotWritten() {
        var limit = LogRateLimit(burst: 3, intervalMillis: 1000)
        #expect((0..<3).map { limit.admit(now: 100 + UInt64($0)) } == [0, 0, 0])
        #expect((0..<50).compactMap { limit.admit(now: 200 + UInt64($0)) }.isEmpty, "the rest of the interval is dropped")
        #expect(limit.admit(now: 1100) == 50, "the first line of the next interval counts them")
        #expect(limit.admit(now: 1101) == 0)
    }
}
