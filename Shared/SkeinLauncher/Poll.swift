/// The one polling loop behind every wait for a node (its health, its login, its
/// replication links): a check repeated every `interval` until it gives a value or
/// `timeout` seconds have passed. A check that throws ends the wait with its error, which is
/// how a wait stops at once when a service it waits on exited and can never answer.
public struct Poll: Sendable {
    public let timeout: Double
    public let interval: Duration

    public init(timeout: Double, every interval: Duration) {
        self.timeout = timeout
        self.interval = interval
    }

    /// `check`'s first non-nil value, or nil once the time is up (it runs at least once).
    public func until<T>(_ check: () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(timeout * 1000)))
        while true {
            if let value = try await check() { return value }
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: interval)
        }
    }
}
