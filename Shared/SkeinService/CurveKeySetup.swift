import Foundation
import SkeinCore
import SkeinZMQ

/// The node's CURVE keypair at the edges: making one (`--generate-curve-keys`) and checking
/// at start what the configuration cannot check without libzmq.
public enum CurveKeySetup {
    /// A new keypair as YAML for the node's configuration; saved alone (mode 0600) it is a
    /// `services.curve.keyFile` too. Quoted: Z85 uses YAML's special characters.
    public static func newKeypairYAML() throws -> String {
        let pair = try ZMQCurve.keypair()
        return """
            # ZeroMQ CURVE keypair of one node, shared by its services (docs/INTERFACES.md §5).
            # Keep the secret key private: whoever has it can talk to this node's store.
            services:
              curve:
                publicKey: "\(pair.publicKey)"
                secretKey: "\(pair.secretKey)"

            """
    }

    /// Refuses a public key that does not belong to the secret key (every handshake would
    /// fail, far from the cause), and keys a libzmq without CURVE could not use.
    public static func check(_ config: NodeConfig) throws {
        guard let keys = config.curveKeys else { return }
        guard ZMQCurve.isAvailable else {
            throw ConfigError(key: "services.curve.secretKey", problem: "this libzmq was built without CURVE support")
        }
        guard try ZMQCurve.publicKey(forSecretKey: keys.secretKeyText) == keys.publicKeyText else {
            throw ConfigError(key: "services.curve.publicKey", problem: "does not belong to services.curve.secretKey (make a new pair with --generate-curve-keys)")
        }
    }
}
