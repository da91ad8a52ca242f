import Foundation
import Logging
import SkeinCore
import SkeinService

OneThreadExecutor.install()
let config = ServiceMain.loadConfig(service: "replicator")
HealthCheck.runIfRequested(service: "replicator", endpoint: config.replicatorEndpoint, curve: config.curveKeys, op: "replication_status")
let logger = ServiceLogging.bootstrap(service: config.logName(service: "replicator"), logDir: config.logDir, level: config.logLevel,
                                      rotateBytes: config.logRotateBytes, retain: config.logRetain)
InstanceLock.hold(config.logName(service: "replicator"), config: config, logger: logger)

let tls: PeerTLS
do {
    tls = try PeerTLS(config: config)
} catch {
    FileHandle.standardError.write(Data("skein-replicator: \(error)\n".utf8))
    logger.critical("\(error)")
    exit(2)
}

let store = RPCClient(serviceName: "store", endpoint: config.storeEndpoint, curve: config.curveKeys, timeoutMillis: config.timeoutMillis, logger: logger)
let auditd = RPCClient(serviceName: "auditd", endpoint: config.auditdEndpoint, curve: config.curveKeys, timeoutMillis: config.timeoutMillis, logger: logger)
let status = ReplicationStatus()
// A node may run one replicator per region: each names itself in its metrics.
let metrics = ServiceMetrics.bootstrap(labels: [("replicator", config.logName(service: "replicator"))])
let rpc = RPCServer(endpoint: config.replicatorEndpoint, curve: config.curveKeys, metrics: metrics, logger: logger) { request, respond in
    switch request.operation {
    case "replication_status": respond(RPCReply(json: status.json(config: config)))
    default: respond(RPCReply(error: .badRequest("Operation '\(request.operation)' not found")))
    }
}
let directory = PeerDirectory(config: config, store: store, logger: logger)
let pruner = TombstonePruner(config: config, store: store, logger: logger)
// Caught-up publishers take each commit's entries from the store's feed, not from auditd.
let recent = config.storeFeedEndpoint.map { _ in RecentLogs() }
let feed = config.storeFeedEndpoint.map { CommitFeed.Subscriber(endpoint: $0, curve: config.curveKeys) { recent?.received($0) } }
let listener = PeerListener(config: config, tls: tls, store: store, auditd: auditd, recent: recent, status: status, pruner: pruner, directory: directory, logger: logger)
do {
    try store.start()
    try auditd.start()
    try rpc.start()
    try feed?.start()
} catch {
    logger.critical("replicator failed to start: \(error)")
    exit(1)
}

// One subscriber link per (peer, database): this node pulls what each peer originated.
// Peers are the routes it owns plus the nodes learned from hdb_nodes.
let initialSync = InitialSync()
let supervisor = LinkSupervisor(status: status, pruner: pruner, logger: logger) { route, database in
    SubscriberLink(config: config, route: route, database: database, tls: tls.client, store: store, status: status,
                   initialSync: initialSync, pruner: pruner, logger: logger)
}
let prunerTask = Task { await pruner.run() }
let directoryTask = Task { await directory.run { peers, databases in await supervisor.reconcile(peers, databases: databases) } }
logger.info("replicator started", metadata: [
    "node": .string(config.nodeName), "region": .string(config.replicationRegion ?? "-"),
    "routes": .string(config.ownedRoutes.map { "\($0.hostname)@\($0.host):\($0.port)" }.joined(separator: ",")),
    "databases": .string(config.replicateAllDatabases ? "* (every database)" : config.replicatedDatabases().joined(separator: ",")),
])

// SIGTERM/SIGINT: applies are idempotent (entries and cursor commit together in store), so
// stopping mid-batch loses nothing; the peer resends from our cursor next time.
Thread.detachNewThread {
    ServiceMain.waitForTermination()
    var shutdown = ShutdownSequence()
    shutdown.then("refuse new requests") { rpc.refuseNew(service: "replicator") }
    shutdown.then("stop peer discovery and pruning") { directoryTask.cancel(); prunerTask.cancel() }
    shutdown.then("close peer links") {
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await supervisor.stopAll()
            stopped.signal()
        }
        _ = stopped.wait(timeout: .now() + 2)
    }
    shutdown.then("flush replies, close the socket") { rpc.stop(); feed?.stop() }
    // The store/auditd clients close with the process: stopping them first would only fail
    // the calls in flight and log it.
    shutdown.run(service: "replicator", logger: logger)
    exit(0)
}

do {
    try await listener.run()
} catch {
    logger.critical("replication listener failed: \(error)")
    exit(1)
}
