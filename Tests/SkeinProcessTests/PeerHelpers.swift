import Foundation
import SkeinCore
import SkeinLauncher
import Testing

// Helpers shared by the replication suites (ReplicationTests, ConvergenceTests).

/// Runs a command-line tool to its end: its exit status and standard output.
func runTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.standardInput = FileHandle.nullDevice
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A node of a replication test: its gateway-facing TestNode plus its replication port.
struct Peer {
    let name: String
    let node: TestNode
    let port: Int
    /// The loopback address its replicator listens on and dials from.
    var address = "127.0.0.1"

    static func start(_ name: String, config: [String: String] = [:], address: String = "127.0.0.1") async throws -> Peer {
        Peer(name: name, node: try await TestNode.start(config: config.merging(["replication.hostname": name]) { $1 }),
             port: TestNode.freePort(), address: address)
    }

    /// Certificates from `pki`, routes to `peers` (with a `startTime` when given), any other
    /// replication keys in `extra`, then the replicator.
    func replicate(with peers: [Peer], pki: TestPKI, expiredCertificate: Bool = false, startTime: String? = nil,
                   extra: [String: JSON] = [:]) throws {
        let tls = try pki.issue(node: name, into: node.root, expired: expiredCertificate)
        try node.startReplicator { config in
            config.replication(hostname: name, host: address, port: port, routes: peers.map { $0.route(startTime: startTime) })
            for (key, value) in tls.merging(extra, uniquingKeysWith: { $1 }) { config.set(key, value) }
        }
    }

    /// The route to this node, as a peer's config lists it.
    func route(startTime: String? = nil, region: String? = nil) -> NodeConfigBuilder.Route {
        NodeConfigBuilder.Route(hostname: name, host: address, port: port, startTime: startTime, region: region)
    }

    /// This node's replication URL, for `add_node`.
    var url: String { "wss://\(address):\(port)" }

    /// The `data` socket of this node's connection to `peer` in `cluster_status` (nil when absent).
    func dataSocket(to peer: String) async throws -> JSON? {
        let (status, s) = try await node.post(["operation": "cluster_status"])
        guard status == 200 else { return nil }
        let connection = s["connections"]?.arrayValue?.first { $0["name"] == .string(peer) }
        return connection?["database_sockets"]?.arrayValue?.first { $0["database"] == "data" }
    }

    /// `describe_table`'s record_count of `data.TABLE` (nil while the table is missing).
    func count(_ table: String) async throws -> Int? {
        let (status, d) = try await node.post(["operation": "describe_table", "database": "data", "table": .string(table)])
        return status == 200 ? d["record_count"]?.intValue : nil
    }

    var replicatorLog: String { (try? String(contentsOfFile: node.root + "/log/replicator.log", encoding: .utf8)) ?? "" }
}

/// Polls `probe` every 100 ms until it returns a value, for `timeout` seconds at most (the
/// launcher's `Poll`; a probe that throws counts as no value yet).
func pollUntil<T>(_ what: String, timeout: Double = 20, _ probe: () async throws -> T?) async throws -> T {
    let value = try await Poll(timeout: timeout, every: .milliseconds(100)).until { try? await probe() }
    guard let value else { throw NodeError("timed out after \(timeout) s waiting for \(what)") }
    return value
}

/// Runs `body` with started peers, always shutting them down (logs on failure).
func withPeers(_ names: [String], config: [String: [String: String]] = [:], addresses: [String: String] = [:],
               _ body: ([Peer]) async throws -> Void) async throws {
    var peers: [Peer] = []
    do {
        for name in names { peers.append(try await Peer.start(name, config: config[name] ?? [:], address: addresses[name] ?? "127.0.0.1")) }
        try await body(peers)
    } catch {
        for p in peers { Issue.record("\(p.name) output:\n\(p.node.outputTail(lines: 30))") }
        for p in peers { await p.node.shutdown() }
        throw error
    }
    for p in peers { await p.node.shutdown() }
}

/// One record of `data.TABLE` on `peer` (nil when absent or the request failed).
func record(_ peer: Peer, _ table: String, _ id: Int) async throws -> JSON? {
    let (status, json) = try await peer.node.post(["operation": "search_by_id", "database": "data", "table": .string(table),
                                                   "ids": [JSON(id)], "get_attributes": ["*"]])
    guard status == 200 else { return nil }
    return json.arrayValue?.first
}

/// Waits until a's link to b and b's to a are up, as the launcher's waits define it
/// (`ReplicationLinks`), with `data` among the databases subscribed (system and data).
/// Records no issues while polling.
func waitUntilConnected(_ a: Peer, _ b: Peer, timeout: Double = 20) async throws {
    for (p, q) in [(a, b), (b, a)] {
        let client = p.node.operations
        _ = try await pollUntil("\(p.name) connected to \(q.name)", timeout: timeout) { () -> Bool? in
            await ReplicationLinks.connectedPeers(of: client, requiring: ["data"])?.contains(q.name) == true ? true : nil
        }
    }
}

/// node-a and node-b under one CA, replicating with each other, both links up.
func withReplicatingPair(_ body: (Peer, Peer) async throws -> Void) async throws {
    try await withReplicatingPair { a, b, _ in try await body(a, b) }
}

/// Three nodes in a full mesh, connected both ways.
func withReplicatingTrio(_ body: (Peer, Peer, Peer) async throws -> Void) async throws {
    let pki = try TestPKI(name: "Skein Test CA")
    defer { pki.remove() }
    try await withPeers(["node-a", "node-b", "node-c"]) { peers in
        let (a, b, c) = (peers[0], peers[1], peers[2])
        try await connectTrio(a, b, c, pki: pki)
        try await body(a, b, c)
    }
}

/// Starts the replicators of a, b and c in a full mesh under `pki`; returns once every
/// link is up both ways.
func connectTrio(_ a: Peer, _ b: Peer, _ c: Peer, pki: TestPKI) async throws {
    try a.replicate(with: [b, c], pki: pki)
    try b.replicate(with: [a, c], pki: pki)
    try c.replicate(with: [a, b], pki: pki)
    for (p, q) in [(a, b), (a, c), (b, c)] { try await waitUntilConnected(p, q) }
}

/// The same, with the CA, for a test that adds nodes of its own under it.
func withReplicatingPair(_ body: (Peer, Peer, TestPKI) async throws -> Void) async throws {
    let pki = try TestPKI(name: "Skein Test CA")
    defer { pki.remove() }
    try await withPeers(["node-a", "node-b"]) { peers in
        let (a, b) = (peers[0], peers[1])
        try a.replicate(with: [b], pki: pki)
        try b.replicate(with: [a], pki: pki)
        try await waitUntilConnected(a, b)
        try await body(a, b, pki)
    }
}

/// node-a and node-b under one CA, each replicator running with no routes: they know of
/// each other only once a test says so (add_node).
func withUnroutedPair(_ body: (Peer, Peer) async throws -> Void) async throws {
    let pki = try TestPKI(name: "Skein Test CA")
    defer { pki.remove() }
    try await withPeers(["node-a", "node-b"]) { peers in
        let (a, b) = (peers[0], peers[1])
        try a.replicate(with: [], pki: pki)
        try b.replicate(with: [], pki: pki)
        try await body(a, b)
    }
}
