import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

let config = ServiceMain.loadConfig(service: "auditd")
HealthCheck.runIfRequested(service: "auditd", endpoint: config.auditdEndpoint, curve: config.curveKeys, op: "audit_status")
let logger = ServiceLogging.bootstrap(service: "auditd", logDir: config.logDir, level: config.logLevel,
                                      rotateBytes: config.logRotateBytes, retain: config.logRetain)
InstanceLock.hold("auditd", config: config, logger: logger)

do {
    let registry = try DatabaseRegistry(dataDir: config.dataDir, mapSize: config.mapSize, indexes: false)
    let metrics = ServiceMetrics.bootstrap()
    let pruneMetrics = PruneMetrics()
    let queries = AuditQueries(registry: registry)
    let stream = AuditStream(registry: registry)
    let retention = AuditRetention(registry: registry, retentionSeconds: config.auditRetentionSeconds, maxSize: config.auditMaxSize)
    // What connected subscribers still need (publishers refresh these with `audit_hold`).
    let holds = LogHolds()

    /// Prunes and logs what was pruned.
    @Sendable func prune() {
        for (name, result) in pruneMetrics.measure({ retention.pruneAll(holds: holds) }) {
            switch result {
            case .success(let outcome) where outcome.deleted > 0:
                logger.info("pruned audit log", metadata: [
                    "database": .string(name), "deleted": .string("\(outcome.deleted)"), "oldest_retained": .string("\(outcome.oldest)"),
                ])
            case .failure(let error):
                logger.error("pruning failed", metadata: ["database": .string(name), "error": .string("\(error)")])
            default: break
            }
        }
    }
    let work = DispatchQueue(label: "auditd.requests", attributes: .concurrent)
    let pruneQueue = DispatchQueue(label: "auditd.prune")

    let server = RPCServer(endpoint: config.auditdEndpoint, curve: config.curveKeys, metrics: metrics, logger: logger) { request, respond in
        work.async {
            do {
                let req = try OperationRequest(bytes: request.body)
                let result: JSON
                if request.operation == "audit_stream" {
                    respond(RPCReply(status: 200, body: try stream.read(req)))
                    return
                }
                if request.operation == "read_audit_log" {
                    respond(try queries.read(req, page: PageRequest(header: request.header)))
                    return
                }
                switch request.operation {
                case "delete_audit_logs_before": result = try queries.deleteBefore(req)
                case "audit_hold":
                    let database = try req.database(), peer = try req.requiredString("peer")
                    guard let from = try req.int("from"), from >= 0 else { throw SkeinError.badRequest("'from' must be a sequence number") }
                    holds.hold(database: database, peer: peer, from: UInt64(from))
                    result = ["held": true]
                case "audit_status":
                    result = try queries.status(retentionSeconds: config.auditRetentionSeconds, maxSize: config.auditMaxSize, holds: holds.live())
                case "audit_prune":
                    pruneQueue.sync { prune() }
                    result = try queries.status(retentionSeconds: config.auditRetentionSeconds, maxSize: config.auditMaxSize, holds: holds.live())
                default: throw SkeinError.badRequest("Operation '\(request.operation)' not found")
                }
                respond(RPCReply(json: result))
            } catch let e as SkeinError {
                respond(RPCReply(error: e))
            } catch {
                logger.error("request failed", metadata: ["op": .string(request.operation), "error": .string("\(error)")])
                respond(RPCReply(error: .internal("\(error)")))
            }
        }
    }
    let notices = NoticeSubscriber(endpoint: config.storeNoticesEndpoint, curve: config.curveKeys) { database, _ in
        stream.notify(database: database)
    }
    try server.start()
    try notices.start()
    // Retention runs on a timer: a tenth of the retention, between 1 s and 60 s.
    let interval = min(60, max(1, config.auditRetentionSeconds / 10))
    let timer = DispatchSource.makeTimerSource(queue: pruneQueue)
    timer.schedule(deadline: .now() + 1, repeating: interval)
    timer.setEventHandler { prune() }
    timer.resume()
    logger.info("auditd started", metadata: ["retention_seconds": .string("\(config.auditRetentionSeconds)"), "max_size": .string("\(config.auditMaxSize)")])
    ServiceMain.waitForTermination()
    var shutdown = ShutdownSequence()
    shutdown.then("refuse new requests") { server.refuseNew(service: "auditd") }
    // Long polls answer at once with what they have; queries in flight finish.
    shutdown.then("drain requests") { stream.stop(); work.sync(flags: .barrier) {} }
    shutdown.then("stop pruning") { timer.cancel(); pruneQueue.sync {} }
    shutdown.then("flush replies, close sockets") { notices.stop(); server.stop() }
    shutdown.then("close LMDB") { registry.closeAll() }
    shutdown.run(service: "auditd", logger: logger)
    exit(0)
} catch {
    logger.critical("auditd failed to start: \(error)")
    exit(1)
}
