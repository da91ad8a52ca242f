import Foundation
import Logging
import SkeinLMDB
import SkeinCore
import SkeinService
import SkeinStorage
import SkeinZMQ

let config = ServiceMain.loadConfig(service: "store")
HealthCheck.runIfRequested(service: "store", endpoint: config.storeEndpoint, curve: config.curveKeys, op: "store_status")
let logger = ServiceLogging.bootstrap(service: "store", logDir: config.logDir, level: config.logLevel,
                                      rotateBytes: config.logRotateBytes, retain: config.logRetain)
InstanceLock.hold("store", config: config, logger: logger)

do {
    let registry = try DatabaseRegistry(dataDir: config.dataDir, mapSize: config.mapSize, maxAttributes: config.maxAttributesPerTable,
                                         clock: config.wallClock)
    // Seed the clock past every version already written, so versions never go backwards
    // even if the wall clock did while we were down.
    var clock = HybridLogicalClock()
    for name in registry.names() {
        guard let env = try registry.database(name) else { continue }
        try env.openAllTables()
        // Indexes and backlog in step (a catch-up cut short by a crash, or a rebuild).
        try env.reconcileIndexes()
        let last = try env.lmdb.read { try env.lastVersion($0) }
        if last > clock.last { clock.receive(last, now: config.wallClock.nowMillis()) }
    }
    let metrics = StoreMetrics.bootstrap(registry: registry)
    let system = SystemTables(registry: registry)
    try system.bootstrap(context: WriteContext(version: clock.tick(now: config.wallClock.nowMillis()), origin: config.nodeName, user: nil, auditEnabled: config.auditLog).bootstrap)
    let publisher = try NoticePublisher(endpoint: config.storeNoticesEndpoint, curve: config.curveKeys, logger: logger)
    let feed = try config.storeFeedEndpoint.map { try CommitFeed.Publisher(endpoint: $0, curve: config.curveKeys, logger: logger) }
    let writer = GroupCommitWriter(registry: registry, config: config, clock: clock, publisher: publisher, feed: feed, logger: logger)
    let indexer = IndexWorker(registry: registry, writer: writer, backlogLimit: config.indexBacklogLimit, logger: logger)
    writer.afterWrite = { indexer.nudge(backlog: $0) }
    let evictor = ExpirationEvictor(registry: registry, writer: writer, clock: config.wallClock, logger: logger)
    writer.start()
    indexer.start()
    evictor.start()
    let service = StoreService(config: config, logger: logger, registry: registry, writer: writer)
    let server = RPCServer(endpoint: config.storeEndpoint, curve: config.curveKeys, metrics: metrics, logger: logger) { request, respond in
        service.handle(request, respond: respond)
    }
    try server.start()
    logger.info("store started", metadata: ["node": .string(config.nodeName), "data": .string(config.dataDir), "databases": .string(registry.names().joined(separator: ","))])
    ServiceMain.waitForTermination()
    var shutdown = ShutdownSequence()
    shutdown.then("refuse new requests") { server.refuseNew(service: "store") }
    // Requests being parsed or read finish (writes among them reach the writer's queue).
    shutdown.then("drain reads") { service.drain() }
    shutdown.then("stop the index worker") { indexer.stop() }
    shutdown.then("stop the evictor") { evictor.stop() }
    // Every queued write commits or fails; its reply joins the server's queue.
    shutdown.then("drain the writer") { writer.stop() }
    shutdown.then("flush replies, close the socket") { server.stop() }
    shutdown.then("close notices") { publisher.close(); feed?.close(); ZMQContext.shared.drain() }
    shutdown.then("close LMDB") { registry.closeAll() }
    shutdown.run(service: "store", logger: logger)
    exit(0)
} catch {
    logger.critical("store failed to start: \(error)")
    exit(1)
}
