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

    /// A wait on each of `names` (10 s at most), on threads of their own, once all of them wait.
    private func waiting(_ changes: ChangeGenerations, _ names: [String]) async throws -> [Task<ChangeGenerations.Outcome, any Error>] {
        let tasks = names.map { name in
            Task { try await onOwnThread { changes.wait(name, after: 0, until: Date().addingTimeInterval(10)) } }
        }
        for name in names { try await waitForWatchers(changes, name, 1) }
        return tasks
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
        let waits = try await waiting(changes, ["a", "b"])
        changes.stop()
        #expect(try await waits[0].value == .stopped)
        #expect(try await waits[1].value == .stopped)
        #expect(changes.isStopping)
        #expect(changes.wait("a", after: 0, until: Date().addingTimeInterval(10)) == .stopped)
    }

    /// Two polls on different names: a change of one leaves the other waiting (it wakes, as
    /// threads on one condition do, but waits on).
    @Test func aWatcherOfAnotherNameWaitsOn() async throws {
        let changes = ChangeGenerations()
        let waits = try await waiting(changes, ["a", "b"])
        #expect(changes.changed("a"))
        #expect(try await waits[0].value == .changed)
        try await Task.sleep(for: .milliseconds(20))
        #expect(changes.watching("b") == 1)
        #expect(changes.changed("b"))
        #expect(try await waits[1].value == .changed)
    }
}
