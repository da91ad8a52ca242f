import Foundation
import Testing
import SkeinCore
@testable import SkeinStorage

/// A dropped database is renamed away before its files go, so nothing re-opens it midway;
/// what a crash left of a drop is removed at the next start.
@Suite("Dropping a database")
struct DatabaseDropTests {
    @Test func aDroppedDatabaseIsGoneAtOnceAndLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            let registry = try DatabaseRegistry(dataDir: dir, mapSize: 1 << 26)
            _ = try registry.create("scratch")
            try registry.drop("scratch")
            #expect(try registry.database("scratch") == nil)
            #expect(!registry.names().contains("scratch"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no directory left behind")
            registry.closeAll()
        }
    }

    @Test func whatACrashedDropLeftIsRemovedAtStart() throws {
        try withTemporaryDirectory { dir in
            let leftover = dir + "/" + DatabaseRegistry.droppedPrefix + "old-1"
            try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: leftover + "/data.mdb", contents: Data([1]))
            let registry = try DatabaseRegistry(dataDir: dir, mapSize: 1 << 26)
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(registry.names().isEmpty)
        }
    }
}
