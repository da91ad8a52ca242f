import Foundation
import Testing

extension ProcessTests {
    /// What `skein cluster up` says of the credentials: the bootstrap password while it logs
    /// in, and once the admin changed it (alter_user), that it was changed, not the old one.
    @Suite(.serialized) struct LauncherCredentialsTests {
        @Test func upShowsThePasswordOnlyWhileItLogsIn() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            let up = try cli.ok("cluster", "up", "--nodes", "1", "--first-address", LauncherCLI.unusedFirstAddress())
            let password = try #require(try cli.manifest()["password"]?.stringValue)
            #expect(up.contains("credentials: admin / \(password)   (also in \(cli.clusterDir)/cluster.json)"), "\(up)")

            _ = try await pollUntil("alter_user through ctl", timeout: 30) {
                try cli.run(["ctl", "alter_user", "--json", #"{"username":"admin","password":"Changed-pass-42"}"#]).status == 0 ? true : nil
            }
            let again = try cli.ok("cluster", "up")
            #expect(again.contains("credentials: admin / (password changed since bootstrap: node-a answered 401 to the one in "
                                   + cli.clusterDir + "/credentials"), "\(again)")
            #expect(!again.contains(password), "the old password printed: \(again)")
        }
    }
}
