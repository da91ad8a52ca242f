import Foundation
import Logging
import SkeinCore
import SkeinService

/// `POST /`: authenticate, check the role, validate, then answer locally or forward the
/// request to `store` or `auditd`. Returns a status and a JSON body; never throws.
struct OperationsHandler: Sendable {
    let config: NodeConfig
    let store: RPCClient
    let auditd: RPCClient
    let replicators: ReplicatorSet
    var cluster: ClusterOperations { ClusterOperations(config: config, store: store) }
    let authenticator: Authenticator
    let metrics: GatewayMetrics
    let logger: Logger
    let startedAt = Date()

    struct Outcome: Error, Sendable {
        var status: Int
        var body: [UInt8]
        var operation: String
        /// `Retry-After` (seconds) for 429 and 503 answers that know when to come back.
        var retryAfter: Int? = nil
        /// Set when `body` is only the first page of a longer result.
        var paged: PagedResult? = nil

        init(status: Int, body: [UInt8], operation: String, retryAfter: Int? = nil) {
            self.status = status
            self.body = body
            self.operation = operation
            self.retryAfter = retryAfter
        }

        init(_ error: SkeinError, operation: String = "unknown", retryAfter: Int? = nil) {
            self.init(status: error.status, body: error.body.serialized(), operation: operation, retryAfter: retryAfter)
        }
    }

    /// Checks the credentials from the headers alone, before any body is read: a caller
    /// without valid credentials never gets the gateway to read (or hold) a body.
    func login(authorization: String?, address: String) async -> Result<AuthenticatedUser, Outcome> {
        do {
            return .success(try await authenticator.authenticate(authorization: authorization, address: address))
        } catch let refused as LoginRefused {
            return .failure(Outcome(refused.error, retryAfter: refused.retryAfterSeconds))
        } catch let error as SkeinError {
            return .failure(Outcome(error))
        } catch {
            logger.error("authentication failed", metadata: ["error": .string("\(error)")])
            return .failure(Outcome(.internal("\(error)")))
        }
    }

    /// A request without an `Authorization` header: only `create_authentication_tokens` (with
    /// `username` and `password` in the body) and `refresh_operation_token` (with
    /// `refresh_token`) are answered; anything else is 401. The body was read with a small
    /// cap (`TokenOperations.maxUnauthenticatedBody`).
    func handleWithoutCredentials(body: [UInt8], address: String) async -> Outcome {
        let op = (try? OperationRequest(shallowBytes: body))?.body["operation"]?.stringValue
        guard let op, op == "create_authentication_tokens" || op == "refresh_operation_token" else {
            return Outcome(Authenticator.credentialsRequired)
        }
        do {
            let req = try OperationRequest(bytes: body)
            return Outcome(status: 200, body: try await tokenOperations.handle(op, req, caller: nil, address: address).serialized(), operation: op)
        } catch let refused as LoginRefused {
            return Outcome(refused.error, operation: op, retryAfter: refused.retryAfterSeconds)
        } catch let error as SkeinError {
            return Outcome(error, operation: op)
        } catch {
            return Outcome(.internal("\(error)"), operation: op)
        }
    }

    var tokenOperations: TokenOperations { TokenOperations(authenticator: authenticator) }
    var jobs: JobRunner { JobRunner(store: store, nodeName: config.nodeName, logger: logger) }

    /// `idempotencyKey`: the `Idempotency-Key` header; the store answers a retry of a write
    /// that committed with its first result (docs/API.md "Retries and idempotency keys").
    func handle(body: [UInt8], user: AuthenticatedUser, idempotencyKey: String? = nil, address: String = "") async -> Outcome {
        var operation = "unknown"
        do {
            if let idempotencyKey, !IdempotencyHeader.isValid(idempotencyKey) { throw SkeinError.badRequest(IdempotencyHeader.invalidMessage) }
            let idempotency = idempotencyKey.map { (key: $0, hash: IdempotencyHeader.requestHash(body)) }
            // Routing needs only top-level fields: don't build the records of a large insert here.
            var req = try OperationRequest(shallowBytes: body)
            guard let named = try req.string("operation") else { throw SkeinError.badRequest("'operation' is required") }
            // Harper's other names for the same operations.
            let op = OperationCatalog.aliases[named] ?? named
            // Only known operation names become metric labels (bounded, nothing injected).
            guard let entry = OperationCatalog.entries[op] else { throw SkeinError.badRequest("Operation '\(op)' not found") }
            operation = op
            if entry.target == .gateway || entry.target == .replication || OperationCatalog.passwordOperations.contains(op) {
                req = try OperationRequest(bytes: body)
            }
            if case .refreshToken = user.credential, op != "refresh_operation_token" { throw TokenService.invalid }
            let forwarded = try await authorize(user, entry.requirement, req, op, body: body)
            if op == "sql" { return try await sql(req, user) }
            var reply = try await dispatch(op, entry.target, req, forwarded, user, idempotency: idempotency, address: address)
            if op.hasPrefix("describe_") { reply = try visible(op, reply, req, user) }
            var outcome = Outcome(status: reply.status, body: reply.body, operation: operation)
            if let more = reply.more, reply.status == 200 {
                outcome.paged = PagedResult(client: entry.target == .auditd ? auditd : store, header: header(op, user),
                                            body: body, firstPage: reply.body, more: more)
            }
            return outcome
        } catch let error as SkeinError {
            return Outcome(status: error.status, body: error.body.serialized(), operation: operation)
        } catch {
            logger.error("unexpected error", metadata: ["operation": .string(operation), "error": .string("\(error)")])
            return Outcome(status: 500, body: SkeinError.internal("\(error)").body.serialized(), operation: operation)
        }
    }

    func dispatch(_ op: String, _ target: OperationCatalog.Target, _ req: OperationRequest, _ body: [UInt8], _ user: AuthenticatedUser,
                  idempotency: (key: String, hash: UInt64)? = nil, address: String = "") async throws -> RPCReply {
        switch target {
        case .store:
            var forwarded = body
            if OperationCatalog.passwordOperations.contains(op) { forwarded = try await hashPassword(req, op) }
            let reply = try await call(store, op, forwarded, user, idempotency: idempotency)
            if OperationCatalog.userChanging.contains(op) { await authenticator.invalidate() }
            return reply
        case .auditd:
            return try await call(auditd, op, body, user)
        case .replication:
            return RPCReply(json: try await cluster.handle(op, req))
        case .gateway:
            return RPCReply(json: try await local(op, req, user, address: address))
        }
    }

    /// Who asks and what: the header of every request forwarded for a client.
    func header(_ op: String, _ user: AuthenticatedUser) -> JSON {
        ["op": .string(op), "user": .string(user.username), "role": .string(user.role)]
    }

    func call(_ client: RPCClient, _ op: String, _ body: [UInt8], _ user: AuthenticatedUser,
              idempotency: (key: String, hash: UInt64)? = nil) async throws -> RPCReply {
        var header = header(op, user)
        // A long result comes in pages (`PagedResult` streams the rest).
        if OperationCatalog.pagedOperations.contains(op) { header = PageRequest().adding(to: header) }
        if let idempotency {
            header = header.adding("idempotency_key", .string(idempotency.key)).adding("request_hash", .string(String(idempotency.hash)))
        }
        let started = Date()
        do {
            let reply = try await client.call(RPCRequest(header: header, body: body))
            metrics.recordBackend(client.serviceName, seconds: Date().timeIntervalSince(started), failed: false)
            return reply
        } catch {
            metrics.recordBackend(client.serviceName, seconds: Date().timeIntervalSince(started), failed: true)
            throw error
        }
    }

    /// Replaces a clear-text `password` with its bcrypt hash: the store never sees it.
    func hashPassword(_ req: OperationRequest, _ op: String) async throws -> [UInt8] {
        var body = req.body
        if let p = body["password"], !p.isNull {
            guard let password = p.stringValue, !password.isEmpty else { throw SkeinError.badRequest("'password' must be a non-empty string") }
            body["password"] = .string(await Authenticator.hashOffPool(password))
        } else if op == "add_user" {
            throw SkeinError.badRequest("'password' is required")
        }
        return JSON.object(body).serialized()
    }

    func local(_ op: String, _ req: OperationRequest, _ user: AuthenticatedUser, address: String = "") async throws -> JSON {
        switch op {
        case "create_authentication_tokens", "refresh_operation_token":
            return try await tokenOperations.handle(op, req, caller: user, address: address)
        case "delete_audit_logs_before":
            return try await AuditLogsBefore(jobs: jobs, auditd: auditd).start(req, user)
        case "delete_records_before":
            return try await RecordsBefore(jobs: jobs).start(req, user)
        case "export_local":
            return try await LocalExport(jobs: jobs, rootPath: config.rootPath).start(req, user) { search, op in
                _ = try await authorize(user, .table(["read"]), search, op, body: JSON.object(search.body).serialized())
            }
        case "csv_data_load", "csv_file_load", "csv_url_load", "get_job", "search_jobs_by_start_date":
            return try await jobs.handle(op, req, user)
        case "user_info":
            return ["username": .string(user.username), "role": ["role": .string(user.role), "permission": user.permission], "active": true]
        case "read_log":
            return try LogReader(logDir: config.logDir).read(req)
        case "cluster_status":
            // The replicators' view when they run; otherwise replication is off on this node.
            return await replicators.clusterStatus()
        case "get_configuration":
            return configuration()
        case "system_information":
            let store = try? await self.store.call(op: "store_status", body: [:], timeoutMillis: 2000)
            let info = ProcessInfo.processInfo
            return [
                "system": ["platform": "linux", "hostname": .string(info.hostName), "node_name": .string(config.nodeName),
                           "cpus": JSON(info.activeProcessorCount), "memory_bytes": .number(Double(info.physicalMemory))],
                "skein": ["version": .string(Self.version), "gateway_uptime_seconds": .number(Date().timeIntervalSince(startedAt).rounded())],
                "store": store ?? ["status": "unavailable"],
            ]
        default:
            throw SkeinError.badRequest("Operation '\(op)' not found")
        }
    }

    static let version = "0.1.0"

    func configuration() -> JSON {
        [
            "rootPath": .string(config.rootPath),
            "operationsApi": ["network": ["host": .string(config.httpHost), "port": JSON(config.httpPort),
                                          "maxBodySize": .number(Double(config.maxBodySize))]],
            "http": ["host": .string(config.restHost), "port": JSON(config.restPort)],
            "replication": ["hostname": .string(config.nodeName), "url": config.replicationURL.map(JSON.string) ?? .null,
                            "securePort": JSON(config.replicationPort)],
            "logging": ["level": .string(config.logLevel), "root": .string(config.logDir), "auditLog": .bool(config.auditLog),
                        "auditRetention": .number(config.auditRetentionSeconds), "maxSize": .number(Double(config.auditMaxSize))],
            "services": ["runDir": .string(config.runDir), "store": .string(config.storeEndpoint),
                         "storeNotices": .string(config.storeNoticesEndpoint), "auditd": .string(config.auditdEndpoint),
                         "timeoutMs": JSON(config.timeoutMillis)],
        ]
    }
}
