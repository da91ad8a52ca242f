import Foundation
import Logging

/// What a service does on SIGTERM, in order, each step logged with its duration: stop
/// accepting requests (new ones are answered 503 "shutting down": provably not applied),
/// drain the work in flight (reads, the writer), flush the replies, close the sockets, close
/// storage last. One shape for every service, so no step closes what another still uses.
public struct ShutdownSequence {
    private var steps: [(name: String, run: () -> Void)] = []

    public init() {}

    public mutating func then(_ name: String, _ step: @escaping () -> Void) {
        steps.append((name, step))
    }

    public func run(service: String, logger: Logger) {
        logger.info("\(service) stopping")
        for step in steps {
            let started = Date()
            step.run()
            logger.debug("shutdown step done", metadata: ["step": .string(step.name),
                                                           "ms": .string(String(Int(Date().timeIntervalSince(started) * 1000)))])
        }
        logger.info("\(service) stopped")
    }
}
