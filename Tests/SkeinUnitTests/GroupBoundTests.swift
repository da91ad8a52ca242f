import Testing
import SkeinService

/// A group takes queued writes in order up to a job count and a byte total, never none.
@Suite("Group bound")
struct GroupBoundTests {
    @Test func groupsStopAtTheJobCountOrTheBytes() {
        let bound = GroupBound(maxJobs: 3, maxBytes: 100)
        var queue = [10, 10, 10, 10, 10]
        #expect(bound.take(from: &queue) { $0 } == [10, 10, 10])
        #expect(queue == [10, 10])
        queue = [60, 30, 20, 5]
        #expect(bound.take(from: &queue) { $0 } == [60, 30])
        #expect(bound.take(from: &queue) { $0 } == [20, 5])
        #expect(queue.isEmpty)
        queue = [500, 1]
        #expect(bound.take(from: &queue) { $0 } == [500], "a job larger than the bound goes alone")
        #expect(bound.take(from: &queue) { $0 } == [1])
        #expect(bound.take(from: &queue) { $0 } == [])
    }

    /// Jobs that wait (a database's writes held while its indexes catch up) stay queued in
    /// their order; the others form the group, bounded as before, and keep their order too.
    @Test func waitingJobsStayQueuedInOrder() {
        let bound = GroupBound(maxJobs: 2, maxBytes: 100)
        // Tens wait; the units digit tells jobs apart.
        var queue = [11, 2, 13, 4, 5, 16]
        let waits = { (job: Int) in job >= 10 }
        #expect(bound.take(from: &queue, bytes: { _ in 1 }, waits: waits) == [2, 4])
        #expect(queue == [11, 13, 5, 16], "the group's bound keeps 5 queued, behind the waiting jobs as before")
        #expect(bound.take(from: &queue, bytes: { _ in 1 }, waits: waits) == [5])
        #expect(bound.take(from: &queue, bytes: { _ in 1 }, waits: waits) == [])
        #expect(queue == [11, 13, 16])
        #expect(bound.take(from: &queue, bytes: { _ in 1 }, waits: { _ in false }) == [11, 13])
        queue = [70, 1, 40, 2]
        #expect(bound.take(from: &queue, bytes: { $0 }, waits: { $0 == 1 }) == [70], "40 would pass the bytes")
        #expect(queue == [1, 40, 2])
    }
}
