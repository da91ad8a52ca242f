import Foundation
import Hummingbird
import Logging
import SkeinCore
import SkeinService

let config = ServiceMain.loadConfig(service: "replicator")
let logger = ServiceLogging.bootstrap(service: "replicator", logDir: config.logDir, level: config.logLevel)

let tls: PeerTLS
do {
    tls = try PeerTLS(config: config)
} catch {
    FileHandle.standardError.write(Data("skein-replicator: \(error)\n".utf8))
    logger.critical("\(error)")
    exit(2)
}

let store = RPCClient(serviceName: "store", endpoint: config.storeEndpoint, timeoutMillis: config.timeoutMillis, logger: logger)
let auditd = RPCClient(serviceName: "auditd", endpoint: config.auditdEndpoint, timeoutMillis: config.timeoutMillis, logger: logger)
let status = ReplicationStatus()
let rpc = RPCServer(endpoint: config.replicatorEndpoint, logger: logger) { request, respond in
    switch request.operation {
    case "replication_status": respond(RPCReply(json: status.json(config: config)))
    default: respond(RPCReply(error: .badRequest("Operation '\(request.operation)' not found")))
    }
}
let listener = PeerListener(config: config, tls: tls, store: store, auditd: auditd, status: status, logger: logger)
let app: any ApplicationProtocol
do {
    try store.start()
    try auditd.start()
    try rpc.start()
    app = try listener.makeApplication()
} catch {
    logger.critical("replicator failed to start: \(error)")
    exit(1)
}

// One subscriber link per (route, database): this node pulls what each peer originated.
let links = config.routes.flatMap { route in
    config.replicationDatabases.map { database in
        SubscriberLink(config: config, route: route, database: database, tls: tls.client, store: store, status: status, logger: logger)
    }
}
let linkTasks = links.map { link in Task { await link.run() } }
logger.info("replicator started", metadata: [
    "node": .string(config.nodeName), "routes": .string(config.routes.map { "\($0.hostname)@\($0.host):\($0.port)" }.joined(separator: ",")),
    "databases": .string(config.replicationDatabases.joined(separator: ",")),
])

// SIGTERM/SIGINT: applies are idempotent (entries and cursor commit together in store), so
// stopping mid-batch loses nothing; the peer resends from our cursor next time.
Thread.detachNewThread {
    ServiceMain.waitForTermination()
    logger.info("replicator stopping")
    for task in linkTasks { task.cancel() }
    rpc.stop()
    // The store/auditd clients close with the process: stopping them first would only fail
    // the calls in flight and log it.
    logger.info("replicator stopped")
    exit(0)
}

do {
    try await app.runService(gracefulShutdownSignals: [])
} catch {
    logger.critical("replication listener failed: \(error)")
    exit(1)
}
