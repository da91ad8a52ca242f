import Foundation

extension String {
    /// The label column of the benchmark's lines (`%-34@` does not pad in Foundation).
    var column: String { count >= 34 ? self : padding(toLength: 34, withPad: " ", startingAt: 0) }
}
