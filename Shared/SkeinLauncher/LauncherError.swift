/// A launcher failure, worded for the person at the terminal.
public struct LauncherError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
