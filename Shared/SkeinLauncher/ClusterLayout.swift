/// Where a local cluster keeps everything (docs/INTERFACES.md §4): one directory with the
/// node count, the admin credentials, `cluster.json`, the CA in `pki/`, and per node its
/// config, data, logs, certificate and pid files.
public struct ClusterLayout: Sendable {
    /// An absolute path (`cluster.json` hands its paths to other programs).
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var nodeCountFile: String { root + "/nodes" }
    public var credentialsFile: String { root + "/credentials" }
    public var manifestFile: String { root + "/cluster.json" }
    /// The binaries directory `up` used, so `start` and `add-node` run the same build.
    public var binDirFile: String { root + "/bin-dir" }
    public var pkiDir: String { root + "/pki" }
    /// The address plan new nodes' configs follow (`ClusterAddressPlan`), fixed by the first `up`.
    public var addressPlanFile: String { root + "/addresses" }

    public func nodeDir(_ node: String) -> String { "\(root)/\(node)" }
    public func configFile(_ node: String) -> String { nodeDir(node) + "/config.yaml" }
    public func dataDir(_ node: String) -> String { nodeDir(node) + "/database" }
    public func logDir(_ node: String) -> String { nodeDir(node) + "/log" }
    public func tlsDir(_ node: String) -> String { nodeDir(node) + "/tls" }
    public func pidFile(_ node: String, _ service: NodeService) -> String { "\(nodeDir(node))/pids/\(service.rawValue).pid" }
    /// A service's standard output and error (what it prints before its log is open).
    public func outputFile(_ node: String, _ service: NodeService) -> String { "\(logDir(node))/\(service.rawValue).out" }
    /// A service's own log, JSON lines (docs/INTERFACES.md §3).
    public func logFile(_ node: String, _ service: NodeService) -> String { "\(logDir(node))/\(service.rawValue).log" }
}
