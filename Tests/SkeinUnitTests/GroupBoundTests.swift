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
}
