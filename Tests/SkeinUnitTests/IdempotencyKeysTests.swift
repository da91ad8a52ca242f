import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// Results kept per (user, key) in the write's transaction, matched by request, expired
/// and pruned by time.
@Suite("Idempotency keys")
struct IdempotencyKeysTests {
    @Test func aResultIsFoundForTheSameRequestUntilItExpires() throws {
        let f = try StorageFixture()
        let key = IdempotencyKeys.Key(user: "admin", key: "k1", requestHash: IdempotencyHeader.requestHash(Array("body".utf8)))
        try f.write { txn, _ in
            #expect(try IdempotencyKeys.earlier(txn, key, now: 100) == .none)
            try IdempotencyKeys.remember(txn, key, reply: Array(#"{"ok":1}"#.utf8), now: 100, windowMillis: 50)
        }
        try f.write { txn, _ throws in
            #expect(try IdempotencyKeys.earlier(txn, key, now: 120) == .result(Array(#"{"ok":1}"#.utf8)))
            let other = IdempotencyKeys.Key(user: "admin", key: "k1", requestHash: IdempotencyHeader.requestHash(Array("other".utf8)))
            #expect(try IdempotencyKeys.earlier(txn, other, now: 120) == .otherRequest)
            let otherUser = IdempotencyKeys.Key(user: "bob", key: "k1", requestHash: key.requestHash)
            #expect(try IdempotencyKeys.earlier(txn, otherUser, now: 120) == .none)
            #expect(try IdempotencyKeys.earlier(txn, key, now: 150) == .none, "expired")
        }
    }

    @Test func expiredKeysArePrunedInOrder() throws {
        let f = try StorageFixture()
        try f.write { txn, _ in
            for i in 0..<40 {
                let key = IdempotencyKeys.Key(user: "u", key: "k\(i)", requestHash: 1)
                try IdempotencyKeys.remember(txn, key, reply: [], now: UInt64(i), windowMillis: 100)
            }
        }
        let pruned = try f.write { txn, _ in try IdempotencyKeys.prune(txn, now: 115, limit: 100) }
        #expect(pruned == 16, "keys written at 0...15 expired by 115")
        try f.write { txn, _ throws in
            #expect(try IdempotencyKeys.earlier(txn, .init(user: "u", key: "k20", requestHash: 1), now: 115) == .result([]))
            let db = try #require(try txn.database(IdempotencyKeys.results))
            #expect(try txn.count(db) == 24)
        }
    }

    @Test func keysAreChecked() {
        #expect(IdempotencyHeader.isValid("order-4711"))
        for bad in ["", "a b", String(repeating: "x", count: 201), "é", "tab\there"] { #expect(!IdempotencyHeader.isValid(bad), "\(bad)") }
    }
}
