import Foundation

/// The admin's username and password of a local cluster, in its `credentials` file
/// (`username=` and `password=` lines, mode 0600): made once with a random password, given
/// to every node's config as its bootstrap super user, and used by `skein ctl`.
public struct ClusterCredentials: Sendable, Equatable {
    public let username: String
    public let password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The file's credentials, made first when there is none.
    public static func loadOrCreate(_ layout: ClusterLayout) throws -> ClusterCredentials {
        if !FileManager.default.fileExists(atPath: layout.credentialsFile) {
            try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
            let made = ClusterCredentials(username: "admin", password: randomPassword())
            try PrivateFile.write("username=\(made.username)\npassword=\(made.password)\n", to: layout.credentialsFile)
        }
        return try load(layout)
    }

    public static func load(_ layout: ClusterLayout) throws -> ClusterCredentials {
        guard let text = try? String(contentsOfFile: layout.credentialsFile, encoding: .utf8) else {
            throw LauncherError("no cluster in \(layout.root) (start one with: skein cluster up)")
        }
        func field(_ name: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        guard let username = field("username"), let password = field("password"), !username.isEmpty, !password.isEmpty else {
            throw LauncherError("\(layout.credentialsFile) has no username= or password= line")
        }
        return ClusterCredentials(username: username, password: password)
    }

    static func randomPassword() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
