import Foundation
import Logging
import SkeinCore

/// What every service's `main` does first: read `--config PATH`, load the node
/// configuration (exit 2 with the key named when invalid), start logging.
public enum ServiceMain {
    public static func loadConfig(service: String, arguments: [String] = CommandLine.arguments) -> NodeConfig {
        var path: String?
        var i = 1
        while i < arguments.count {
            if arguments[i] == "--config", i + 1 < arguments.count { path = arguments[i + 1]; i += 1 }
            else if arguments[i].hasPrefix("--config=") { path = String(arguments[i].dropFirst(9)) }
            else if arguments[i] == "--help" || arguments[i] == "-h" {
                print("usage: skein-\(service) --config NODE.yaml [--health] | --generate-curve-keys   (keys: docs/INTERFACES.md)")
                exit(0)
            } else if arguments[i] == "--generate-curve-keys" {
                generateCurveKeys(service: service)
            } else if arguments[i] != "--health" {
                // An option we do not know must not start a service (a typo of --health
                // would run a second store on the same data).
                FileHandle.standardError.write(Data("skein-\(service): unknown option \(arguments[i]) (usage: --config NODE.yaml [--health] | --generate-curve-keys)\n".utf8))
                exit(2)
            }
            i += 1
        }
        guard let path = path ?? ProcessInfo.processInfo.environment["SKEIN_CONFIG"] else {
            FileHandle.standardError.write(Data("skein-\(service): --config NODE.yaml is required\n".utf8))
            exit(2)
        }
        do {
            let config = try NodeConfig.load(path: path)
            try CurveKeySetup.check(config)
            return config
        } catch {
            FileHandle.standardError.write(Data("skein-\(service): \(error)\n".utf8))
            exit(2)
        }
    }

    /// `--generate-curve-keys`: prints a new keypair for `services.curve` and exits.
    static func generateCurveKeys(service: String) -> Never {
        do {
            print(try CurveKeySetup.newKeypairYAML(), terminator: "")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("skein-\(service): cannot make a CURVE keypair: \(error)\n".utf8))
            exit(1)
        }
    }

    /// Blocks until SIGTERM or SIGINT.
    public static func waitForTermination() {
        let done = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { done.signal() }
            s.resume()
            sources.append(s)
        }
        done.wait()
        _ = sources
    }

    public static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
