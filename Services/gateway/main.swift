import Foundation
import Hummingbird
import Logging
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals
import SkeinCore
import SkeinService

let config = ServiceMain.loadConfig(service: "gateway")
HealthProbe.runIfRequested(host: config.httpHost, port: config.httpPort)
let logger = ServiceLogging.bootstrap(service: "gateway", logDir: config.logDir, level: config.logLevel,
                                      rotateBytes: config.logRotateBytes, retain: config.logRetain)

let store = RPCClient(serviceName: "store", endpoint: config.storeEndpoint, curve: config.curveKeys, timeoutMillis: config.timeoutMillis, logger: logger)
let auditd = RPCClient(serviceName: "auditd", endpoint: config.auditdEndpoint, curve: config.curveKeys, timeoutMillis: config.timeoutMillis, logger: logger)
let replicators = ReplicatorSet(config: config, logger: logger)
do {
    try store.start()
    try auditd.start()
} catch {
    logger.critical("cannot connect: \(error)")
    exit(1)
}
let serviceMetrics = ServiceMetrics.bootstrap()
let metrics = GatewayMetrics()
let scrape = NodeScrape(own: serviceMetrics, store: store, auditd: auditd, replicators: replicators)
let tokens = TokenService(store: store, nodeName: config.nodeName, operationLifetime: config.operationTokenSeconds,
                          refreshLifetime: config.refreshTokenSeconds)
let authenticator = Authenticator(store: store, tokens: tokens)
let handler = OperationsHandler(config: config, store: store, auditd: auditd, replicators: replicators, authenticator: authenticator, metrics: metrics, logger: logger)

/// Set once the configured admin exists (or none is configured): /health waits for it so
/// "healthy" means "you can log in".
final class ReadyFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var ready = false
    func set() { lock.lock(); ready = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return ready }
}
let bootstrapped = ReadyFlag()

let router = Router(context: GatewayRequestContext.self)
let idempotencyKeyField = IdempotencyHeader.name.lowercased()
router.post("/") { request, context -> Response in
    let started = Date()
    var request = request
    let outcome: OperationsHandler.Outcome
    switch await handler.login(authorization: request.headers[.authorization], address: context.clientAddress) {
    case .failure(let refused) where request.headers[.authorization] == nil
        && (request.headers[.contentLength].flatMap { Int($0) } ?? 0) <= TokenOperations.maxUnauthenticatedBody:
        // No credentials at all: only a login for tokens may follow, in a small body (a
        // bigger one announced is refused from the headers, unread).
        do {
            let buffer = try await request.collectBody(upTo: TokenOperations.maxUnauthenticatedBody)
            outcome = await handler.handleWithoutCredentials(body: Array(buffer.readableBytesView), address: context.clientAddress)
        } catch {
            outcome = refused
        }
    case .failure(let refused):
        // The body is never read: answered at once, the connection closed after it.
        outcome = refused
    case .success(let user):
        do {
            let buffer = try await request.collectBody(upTo: Int(config.maxBodySize))
            outcome = await handler.handle(body: Array(buffer.readableBytesView), user: user,
                                           idempotencyKey: request.headers.first { $0.name.canonicalName == idempotencyKeyField }?.value,
                                           address: context.clientAddress)
        } catch is NIOTooManyBytesError {
            outcome = .init(.tooLarge("request body larger than \(config.maxBodySize) bytes (operationsApi.network.maxBodySize)"))
        }
    }
    metrics.recordRequest(operation: outcome.operation, status: outcome.status, seconds: Date().timeIntervalSince(started))
    return outcome.response
}
router.get("/health") { _, _ -> Response in
    async let s = try? store.call(op: "store_status", body: [:], timeoutMillis: 1000)
    async let a = try? auditd.call(op: "audit_status", body: [:], timeoutMillis: 1000)
    let (storeStatus, auditStatus) = await (s, a)
    let ok = storeStatus != nil && auditStatus != nil && bootstrapped.isSet
    let body: JSON = ["status": .string(ok ? "ok" : (bootstrapped.isSet ? "degraded" : "starting")), "node": .string(config.nodeName),
                      "store": .string(storeStatus != nil ? "up" : "unavailable"), "auditd": .string(auditStatus != nil ? "up" : "unavailable")]
    return jsonResponse(ok ? 200 : 503, body.serialized())
}
router.get("/metrics") { request, context -> Response in
    // Peer names, databases and lag are not for anyone who can reach the port (review F22).
    if config.metricsRequireAuth {
        switch await handler.login(authorization: request.headers[.authorization], address: context.clientAddress) {
        case .failure(let refused):
            var response = jsonResponse(refused.status, refused.body)
            if let retryAfter = refused.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        case .success(let user) where !user.isSuperUser:
            return jsonResponse(403, SkeinError.forbidden("/metrics is restricted to super users").body.serialized())
        case .success:
            break
        }
    }
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; version=0.0.4"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: await scrape.text())))
}

// The live cluster page and its JSON (super users; README "The cluster page").
ClusterPageRoutes.register(on: router, handler: handler)

/// Creates the configured admin on first start; retried until the store answers.
func ensureAdmin() async {
    guard let username = config.adminUsername, let password = config.adminPassword else {
        logger.notice("no admin.username/admin.password (or HDB_ADMIN_USERNAME/HDB_ADMIN_PASSWORD): no admin created")
        bootstrapped.set()
        return
    }
    let hash = await Authenticator.hashOffPool(password)
    while !Task.isCancelled {
        do {
            let r = try await store.call(op: "ensure_admin", body: ["username": .string(username), "password": .string(hash)])
            if r["created"]?.boolValue == true { logger.notice("created super user", metadata: ["username": .string(username)]) }
            bootstrapped.set()
            return
        } catch {
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}

let appLogger = { var quieter = logger; quieter.logLevel = .warning; return quieter }()
let connectionLimits = ConnectionGuard.Limits(
    maxConnections: config.maxConnections, headersTimeout: .milliseconds(Int64(config.headersTimeoutMillis)),
    requestTimeout: .milliseconds(Int64(config.requestTimeoutMillis)), keepAliveTimeout: .milliseconds(Int64(config.keepAliveTimeoutMillis)))
let openConnections = ConnectionGuard.Counter()
let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: connectionLimits, counter: openConnections)]))
/// One listener of the gateway: `responder` on host:port, with the connection limits of `server`.
func listener<R: HTTPResponder>(_ responder: R, server: HTTPServerBuilder, host: String, port: Int, url: String) -> any Service
where R.Context == GatewayRequestContext {
    Application(responder: responder, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "skein"),
                onServerRunning: { _ in logger.info("gateway listening", metadata: ["url": .string("\(url)://\(host):\(port)")]) },
                logger: appLogger)
}
// The operations API; Harper's REST interface on `http.port` (same users, roles and limits).
let rest = RESTResponder(handler: RESTHandler(operations: handler, exports: config.restExports), maxBodySize: Int(config.maxBodySize), metrics: metrics)
var services: [any Service] = [
    listener(router.buildResponder(), server: http1, host: config.httpHost, port: config.httpPort, url: "http"),
    listener(rest, server: http1, host: config.restHost, port: config.restPort, url: "http"),
]
// HTTPS on `operationsApi.network.securePort` (the same routes, limits and connection cap)
// and on `http.securePort` (REST), with the node's `tls.*` certificate.
for (port, responder, host, key) in [(config.secureHTTPPort, CallbackResponder(callback: router.buildResponder().respond), config.httpHost, "operationsApi.network.securePort"),
                                     (config.secureRESTPort, CallbackResponder(callback: rest.respond), config.restHost, "http.securePort")] {
    guard let port, let certificate = config.tlsCertificate, let privateKey = config.tlsPrivateKey else { continue }
    do {
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem)))
        services.append(listener(responder, server: try .tls(http1, tlsConfiguration: tls), host: host, port: port, url: "https"))
    } catch {
        logger.critical("cannot serve HTTPS on \(key): \(error)")
        exit(2)
    }
}
// Basic credentials in clear text beyond this machine (review F17): say so at start.
func isLoopback(_ host: String) -> Bool { ["::1", "localhost"].contains(host) || host.hasPrefix("127.") }
if config.secureHTTPPort == nil, !isLoopback(config.httpHost) {
    logger.warning("the operations API listens on a non-loopback address without HTTPS: passwords cross the network in clear text (set operationsApi.network.securePort)",
                   metadata: ["host": .string(config.httpHost)])
}
if config.secureRESTPort == nil, !isLoopback(config.restHost) {
    logger.warning("the REST interface listens on a non-loopback address without HTTPS: passwords cross the network in clear text (set http.securePort)",
                   metadata: ["host": .string(config.restHost)])
}
let adminTask = Task { await ensureAdmin() }
/// Jobs this node's gateway left running when it stopped end in ERROR (retried until the
/// store answers).
let gatewayStarted = ServiceMain.nowMillis()
let jobRecovery = Task {
    while !Task.isCancelled {
        do { return try await handler.jobs.recoverInterrupted(createdBefore: gatewayStarted) } catch { try? await Task.sleep(for: .seconds(1)) }
    }
}
do {
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: appLogger))
    try await group.run()
} catch {
    logger.critical("gateway failed: \(error)")
    exit(1)
}
adminTask.cancel()
store.stop()
auditd.stop()
logger.info("gateway stopped")
