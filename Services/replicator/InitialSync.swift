import Foundation

/// A new node's first sync of a database: the first peer it reaches sends a full copy
/// (schema, tables, records, in key order), and the others then stream only their own
/// entries. One link per database at a time decides (and copies), so three peers
/// answering at once do not copy the same data three times: the others wait here.
actor InitialSync {
    private var busy: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Waits until no other link of `database` is deciding or copying, then takes the turn.
    func acquire(_ database: String) async {
        while busy.contains(database) {
            await withCheckedContinuation { waiters[database, default: []].append($0) }
        }
        busy.insert(database)
    }

    func release(_ database: String) {
        busy.remove(database)
        for waiter in waiters.removeValue(forKey: database) ?? [] { waiter.resume() }
    }
}
