import Foundation
import Logging
import SkeinCore
import SkeinLauncher
import SkeinService

/// One node of the benchmark's local cluster: a `BenchNode` on its own loopback address
/// with a replicator, routes to its peers and `replication.databases: [data]`, plus
/// ZeroMQ clients of its store and auditd for the figures the benchmark reads.
final class ClusterNode {
    struct Address {
        let name: String
        let ip: String
        let apiPort: Int
        let replicationPort: Int
    }

    let address: Address
    let node: BenchNode
    private let store: RPCClient
    private let auditd: RPCClient
    var name: String { address.name }

    /// Starts store, auditd and gateway; the replicator only with `startReplicator`.
    init(_ address: Address, routes: [Address], pki: BenchPKI, startReplicator: Bool = true) throws {
        self.address = address
        let tls = try pki.issue(node: address.name, ip: address.ip)
        node = try BenchNode(name: address.name, host: address.ip, port: address.apiPort) { config in
            config.replication(hostname: address.name, host: address.ip, port: address.replicationPort, databases: ["data"],
                               routes: routes.map { .init(hostname: $0.name, host: $0.ip, port: $0.replicationPort) })
            config.tls(certificate: tls.certificate, privateKey: tls.key, authority: tls.authority)
        }
        let logger = Logger(label: "bench")
        store = RPCClient(serviceName: "store", endpoint: node.endpoint("store"), timeoutMillis: 30_000, logger: logger)
        auditd = RPCClient(serviceName: "auditd", endpoint: node.endpoint("auditd"), timeoutMillis: 30_000, logger: logger)
        do {
            try store.start()
            try auditd.start()
            try node.waitHealthy()
            if startReplicator { try node.start("replicator") }
        } catch {
            shutdown()
            throw error
        }
    }

    /// The last sequence of `peer`'s log applied here (store `replication_cursor`).
    func cursor(of peer: String) throws -> UInt64 {
        UInt64(try call(store, "replication_cursor", ["database": "data", "peer": .string(peer)])["cursor"]?.intValue ?? 0)
    }

    /// The newest sequence of this node's log of `data` (auditd `audit_status`).
    func newestSequence() throws -> UInt64 {
        UInt64(try call(auditd, "audit_status", [:])["databases"]?["data"]?["newest"]?.intValue ?? 0)
    }

    /// Entries of this node's log of `data` from `from` on, at most `max` (auditd `audit_stream`).
    func auditEntries(from: UInt64, max: Int = 500) throws -> [AuditEntry] {
        let reply = try call(auditd, "audit_stream", ["database": "data", "from": JSON(from), "max": JSON(max)])
        return (reply["entries"]?.arrayValue ?? []).compactMap(AuditEntry.init(json:))
    }

    private func call(_ client: RPCClient, _ op: String, _ body: JSON) throws -> JSON {
        try client.callBlocking(RPCRequest(header: ["op": .string(op), "user": "admin"], body: body.serialized())).result()
    }

    /// Waits until this node applied `peer`'s log through `sequence`, polling every 2 ms;
    /// returns when that was seen.
    @discardableResult
    func waitForCursor(of peer: String, atLeast sequence: UInt64, timeout: Double) throws -> Date {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? cursor(of: peer)).map({ $0 >= sequence }) == true { return Date() }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw BenchError("\(name) did not apply \(peer)'s log through \(sequence) within \(Int(timeout)) s (cursor \((try? cursor(of: peer)) ?? 0))")
    }

    func shutdown() {
        store.stop()
        auditd.stop()
        node.shutdown()
    }
}
