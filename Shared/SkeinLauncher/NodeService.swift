/// The four processes of a node, in start order (stop order is the reverse: the gateway
/// goes before the store, so no request reaches a store that is going away).
public enum NodeService: String, CaseIterable, Sendable {
    case store, auditd, gateway, replicator

    public var binaryName: String { "skein-\(rawValue)" }

    public static var stopOrder: [NodeService] { allCases.reversed() }
}
