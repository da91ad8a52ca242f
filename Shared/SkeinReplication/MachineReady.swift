/// What a replication machine asks of its caller after one step, in order: send the frames,
/// run the store commands (feeding each answer back as an input), log the events, then end
/// the connection when `close` is set (`refused`: the peer's identity was refused).
public struct MachineReady<Command: Sendable & Equatable>: Sendable, Equatable {
    public var frames: [ReplicationFrame] = []
    public var store: [Command] = []
    public var logs: [MachineLogEvent] = []
    public var close: (reason: String, refused: Bool)?

    public init() {}

    public var isEmpty: Bool { frames.isEmpty && store.isEmpty && logs.isEmpty && close == nil }

    public static func == (a: MachineReady, b: MachineReady) -> Bool {
        a.frames == b.frames && a.store == b.store && a.logs == b.logs && a.close?.reason == b.close?.reason && a.close?.refused == b.close?.refused
    }
}

/// A line for the caller's log: the machines decide what is worth saying, the caller writes it.
public struct MachineLogEvent: Sendable, Equatable {
    public enum Level: String, Sendable { case debug, info, warning, error }
    public let level: Level
    public let message: String
    public let metadata: [String: String]

    public init(level: Level, message: String, metadata: [String: String]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
