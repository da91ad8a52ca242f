import Foundation
import Testing

extension ProcessTests {
    /// The store's writer and index worker carry their names where `top -H`, `ps -L` and
    /// `perf` read them (the kernel's comm), so a profile tells them apart.
    @Suite struct ThreadNames {
        @Test func theStoresThreadsAreNamedForTheKernel() async throws {
            let node = try await TestNode.start()
            do {
                let pid = try #require(node.pid(.store))
                let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
                let names = Set(tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
                #expect(names.contains("writer"), "threads: \(names.sorted())")
                #expect(names.contains("indexer"), "threads: \(names.sorted())")
            } catch {
                await node.shutdown()
                throw error
            }
            await node.shutdown()
        }
    }
}
