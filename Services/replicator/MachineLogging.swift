import Logging
import SkeinReplication

extension Logger {
    /// Writes a replication machine's log event, with the link's own metadata.
    func log(_ event: MachineLogEvent, metadata base: Logger.Metadata = [:]) {
        let level: Logger.Level = switch event.level {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
        log(level: level, "\(event.message)", metadata: base.merging(event.metadata.mapValues { .string($0) }) { $1 })
    }
}
