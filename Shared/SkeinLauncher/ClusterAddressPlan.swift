import Foundation

/// The addresses and ports new node configs get: node i on the first address plus i in its
/// last byte (127.0.0.1, 127.0.0.2, ...), every node on the same ports of its own address.
/// Tests pick a first address of their own (say 127.31.7.1) to stay apart from other clusters.
public struct ClusterAddressPlan: Sendable, Equatable {
    public var firstAddress: String
    public var apiPort: Int
    public var replicationPort: Int
    /// `http.port`, written only when set (else Harper's default, 9926).
    public var restPort: Int?

    public static let standard = ClusterAddressPlan(firstAddress: "127.0.0.1", apiPort: 9925, replicationPort: 9933, restPort: nil)

    public init(firstAddress: String, apiPort: Int, replicationPort: Int, restPort: Int?) {
        self.firstAddress = firstAddress
        self.apiPort = apiPort
        self.replicationPort = replicationPort
        self.restPort = restPort
    }

    /// Node `index`'s address (`check` keeps it within the last byte).
    public func address(ofNode index: Int) -> String {
        var parts = firstAddress.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 4 else { return firstAddress }
        parts[3] = (parts[3] + index) % 256
        return parts.map(String.init).joined(separator: ".")
    }

    /// Checks the first address is IPv4 with room for `nodes` nodes in its last byte.
    public func check(nodes: Int) throws {
        let parts = firstAddress.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 4, parts.allSatisfy({ (0...255).contains($0) }), parts[3] >= 1, parts[3] + nodes - 1 <= 254 else {
            throw LauncherError("first address \(firstAddress) must be IPv4 with room for \(nodes) nodes in its last byte")
        }
    }
}

extension ClusterAddressPlan {
    /// The plan a cluster's first `up` saved (`key=value` lines), or nil.
    static func load(from path: String) -> ClusterAddressPlan? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let first = fields["firstAddress"], let api = fields["apiPort"].flatMap(Int.init),
              let replication = fields["replicationPort"].flatMap(Int.init) else { return nil }
        return ClusterAddressPlan(firstAddress: first, apiPort: api, replicationPort: replication, restPort: fields["restPort"].flatMap(Int.init))
    }

    func save(to path: String) throws {
        var text = "firstAddress=\(firstAddress)\napiPort=\(apiPort)\nreplicationPort=\(replicationPort)\n"
        if let restPort { text += "restPort=\(restPort)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
