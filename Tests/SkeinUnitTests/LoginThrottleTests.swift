import Testing
import SkeinCore

/// Failed-login throttling by its clock: free failures, doubling waits, per address.
@Suite("Login throttle")
struct LoginThrottleTests {
    @Test func waitsDoubleAfterTheFreeFailuresAndASuccessClears() {
        var t = LoginThrottle()
        for i in 0..<4 {
            t.failed(address: "a", username: "admin", now: 1000 + UInt64(i))
            #expect(t.wait(address: "a", username: "admin", now: 1000 + UInt64(i)) == nil, "failure \(i + 1) is free")
        }
        t.failed(address: "a", username: "admin", now: 2000)
        #expect(t.wait(address: "a", username: "admin", now: 2000) == 1000)
        #expect(t.wait(address: "a", username: "admin", now: 3000) == nil)
        t.failed(address: "a", username: "admin", now: 3000)
        #expect(t.wait(address: "a", username: "admin", now: 3000) == 2000)
        // Another address, and another user from the same address, are not held back.
        #expect(t.wait(address: "b", username: "admin", now: 3000) == nil)
        #expect(t.wait(address: "a", username: "alice", now: 3000) == nil)
        t.succeeded(address: "a", username: "admin")
        #expect(t.wait(address: "a", username: "admin", now: 3000) == nil)
    }

    @Test func waitsAreCappedAndForgottenAfterTheWindow() {
        var t = LoginThrottle()
        for i in 0..<40 { t.failed(address: "a", username: "u", now: UInt64(i)) }
        #expect(t.wait(address: "a", username: "u", now: 40)! <= t.maxDelayMillis)
        #expect(t.wait(address: "a", username: "u", now: 40 + t.windowMillis + 1) == nil)
    }

    @Test func anAddressSprayingUsernamesWaits() {
        var t = LoginThrottle()
        for i in 0..<t.addressLimit { t.failed(address: "a", username: "user\(i)", now: 10) }
        #expect(t.wait(address: "a", username: "fresh", now: 10) != nil)
        #expect(t.wait(address: "b", username: "fresh", now: 10) == nil)
    }

    @Test func memoryIsBounded() {
        var t = LoginThrottle()
        t.maxEntries = 100
        for i in 0..<1000 { t.failed(address: "10.0.\(i / 250).\(i % 250)", username: "u", now: UInt64(i)) }
        #expect(t.entryCount <= 2 * t.maxEntries)
    }
}
