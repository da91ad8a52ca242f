import Foundation

/// The node's ZeroMQ CURVE keypair (`services.curve.*`, docs/INTERFACES.md §5). One pair per
/// node, shared by its services: every server socket on a `tcp://` endpoint proves itself
/// with the secret key and admits only clients holding the same pair, so nothing else that
/// reaches the port can talk to the store. `ipc://` endpoints need none (the run directory
/// is private to the service user).
public struct CurveKeys: Sendable, Equatable, CustomStringConvertible {
    /// 32 bytes each.
    public let publicKey: [UInt8]
    public let secretKey: [UInt8]

    public init(publicKey: [UInt8], secretKey: [UInt8]) {
        precondition(publicKey.count == 32 && secretKey.count == 32, "CURVE keys are 32 bytes")
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public var publicKeyText: String { Z85.encode(publicKey) }
    public var secretKeyText: String { Z85.encode(secretKey) }

    /// Never the secret key: a keypair may end up in a log line.
    public var description: String { "CurveKeys(public: \(publicKeyText))" }

    /// Whether traffic on `endpoint` leaves the machine's private files: anything but
    /// `ipc://` and `inproc://` needs CURVE.
    public static func isNetworkEndpoint(_ endpoint: String) -> Bool {
        !endpoint.hasPrefix("ipc://") && !endpoint.hasPrefix("inproc://")
    }

    /// The error for a network endpoint (configured as `key`) without keys.
    public static func missing(endpoint: String, key: String? = nil) -> ConfigError {
        let named = key.map { "\($0) (\(endpoint))" } ?? endpoint
        return ConfigError(key: "services.curve.secretKey", problem: "is required for the tcp:// endpoint \(named): with services.curve.publicKey "
            + "(or both in services.curve.keyFile) it authenticates and encrypts the traffic between the node's services; "
            + "make a pair with `skein-store --generate-curve-keys`, or use an ipc:// endpoint")
    }

    /// Refuses a network endpoint when no keys are configured.
    static func requireKeys(_ keys: CurveKeys?, forEndpoints endpoints: [(key: String, endpoint: String)]) throws {
        guard keys == nil, let open = endpoints.first(where: { isNetworkEndpoint($0.endpoint) }) else { return }
        throw missing(endpoint: open.endpoint, key: open.key)
    }

    /// The configured pair: `services.curve.publicKey` and `secretKey`, or a key file holding
    /// both under the same keys (what `--generate-curve-keys` prints), which must not be
    /// readable by group or others. Nil when none is configured.
    static func configured(_ v: ConfigValues) throws -> CurveKeys? {
        let inline = try pair(v)
        guard let file = try v.string("services.curve.keyFile"), !file.isEmpty else { return inline }
        guard inline == nil else {
            throw ConfigError(key: "services.curve.keyFile", problem: "set either it or services.curve.publicKey and secretKey, not both")
        }
        do {
            guard let keys = try pair(try fileValues(file)) else { throw ConfigError(key: "services.curve.secretKey", problem: "is missing") }
            return keys
        } catch let error as ConfigError where error.key != "services.curve.keyFile" {
            throw ConfigError(key: "services.curve.keyFile", problem: "\(file): \(error.key): \(error.problem)")
        }
    }

    /// Both keys, or nil when neither is set.
    static func pair(_ v: ConfigValues) throws -> CurveKeys? {
        let publicKey = try key(v, "services.curve.publicKey"), secretKey = try key(v, "services.curve.secretKey")
        switch (publicKey, secretKey) {
        case (nil, nil): return nil
        case (let p?, let s?): return CurveKeys(publicKey: p, secretKey: s)
        case (nil, _): throw ConfigError(key: "services.curve.publicKey", problem: "is required with services.curve.secretKey")
        case (_, nil): throw ConfigError(key: "services.curve.secretKey", problem: "is required with services.curve.publicKey")
        }
    }

    static func key(_ v: ConfigValues, _ name: String) throws -> [UInt8]? {
        guard let text = try v.string(name)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        guard text.utf8.count == 40, let bytes = Z85.decode(text) else {
            throw ConfigError(key: name, problem: "is not a CURVE key: expected 40 Z85 characters (as `skein-store --generate-curve-keys` prints), got \(text.utf8.count) characters")
        }
        return bytes
    }

    /// The key file's values, refused when group or others may read or write it.
    static func fileValues(_ path: String) throws -> ConfigValues {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = attributes[.posixPermissions] as? Int,
              let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "services.curve.keyFile", problem: "cannot read \(path)")
        }
        guard mode & 0o077 == 0 else {
            throw ConfigError(key: "services.curve.keyFile", problem: "\(path) has mode \(String(mode & 0o777, radix: 8)): it holds the secret key, "
                + "so only its owner may read it (chmod 600 \(path))")
        }
        return ConfigValues(tree: try ConfigValues.tree(yaml: String(decoding: data, as: UTF8.self)), environment: [:])
    }
}
