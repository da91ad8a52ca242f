import Foundation
import SkeinService
import Testing

/// `ChangeGenerations`, on which auditd's long polls wait for commit notices: a change wakes
/// the threads watching its name only.
@Suite struct ChangeGenerationsTests {
    /// Waits (bounded) until `count` threads watch `name`.
    private func waitForWatchers(_ changes: ChangeGenerations, _ name: String, _ count: Int) async throws {
        for _ in 0..<500 where changes.watching(name) < count {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aChangeOfAnotherNameWakesNobody() async throws {
        let changes = ChangeGenerations()
        let seen = changes.generation("idle")
        async let outcome = onOwnThread { changes.wait("idle", after: seen, until: Date().addingTimeInterval(10)) }
        try await waitForWatchers(changes, "idle", 1)
        #expect(changes.watching("idle") == 1)
        // A busy database's commits: none of them is for the poll on the idle one.
        for _ in 0..<100 { #expect(changes.changed("busy") == false) }
        #expect(changes.watching("idle") == 1)
        // Its own change ends the wait.
        #expect(changes.changed("idle") == true)
        #expect(try await outcome == .changed)
        #expect(changes.watching("idle") == 0)
    }

    @Test func aChangeBeforeTheWaitEndsItAtOnce() async throws {
        let changes = ChangeGenerations()
        let seen = changes.generation("db")
        changes.changed("db")
        let started = Date()
        #expect(changes.wait("db", after: seen, until: started.addingTimeInterval(10)) == .changed)
        #expect(changes.generation("db") == seen + 1)
    }

    @Test func aWaitWithoutChangeTimesOut() async throws {
        let changes = ChangeGenerations()
        let outcome = try await onOwnThread {
            changes.wait("db", after: changes.generation("db"), until: Date().addingTimeInterval(0.05))
        }
        #expect(outcome == .timedOut)
    }

    @Test func stopEndsEveryWaitNowAndLater() async throws {
        let changes = ChangeGenerations()
        async let first = onOwnThread { changes.wait("a", after: 0, until: Date().addingTimeInterval(10)) }
        async let second = onOwnThread { changes.wait("b", after: 0, until: Date().addingTimeInterval(10)) }
        try await waitForWatchers(changes, "a", 1)
        try await waitForWatchers(changes, "b", 1)
        changes.stop()
        #expect(try await first == .stopped)
        #expect(try await second == .stopped)
        #expect(changes.isStopping)
        #expect(changes.wait("a", after: 0, until: Date().addingTimeInterval(10)) == .stopped)
    }

    /// Two polls on different names: a change of one leaves the other waiting (it wakes, as
    /// threads on one condition do, but waits on).
    @Test func aWatcherOfAnotherNameWaitsOn() async throws {
        let changes = ChangeGenerations()
        async let a = onOwnThread { changes.wait("a", after: 0, until: Date().addingTimeInterval(10)) }
        async let b = onOwnThread { changes.wait("b", after: 0, until: Date().addingTimeInterval(10)) }
        try await waitForWatchers(changes, "a", 1)
        try await waitForWatchers(changes, "b", 1)
        #expect(changes.changed("a"))
        #expect(try await a == .changed)
        try await Task.sleep(for: .milliseconds(20))
        #expect(changes.watching("b") == 1)
        #expect(changes.changed("b"))
        #expect(try await b == .changed)
    }
}
