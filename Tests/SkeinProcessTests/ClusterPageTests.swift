import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// `GET /cluster` and `GET /cluster/state`: who may see them and what the state holds on
    /// a node without replication.
    @Suite(.node(config: ["replication.hostname": "solo"]))
    struct ClusterPageAccess {
        @Test func onlySuperUsersSeeTheClusterPage() async throws {
            let node = try TestNode.shared()
            // The page's 401 asks a browser for a password (raw: URLSession on Linux stalls on it).
            let raw = try RawHTTP(port: node.port)
            raw.send("GET /cluster HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let refused = raw.read(timeout: 10).text
            #expect(refused.hasPrefix("HTTP/1.1 401") && refused.contains("WWW-Authenticate: Basic realm=\"Skein\""), "\(refused)")
            #expect(try await node.get("/cluster/state").status == 401)
            #expect(try await node.get("/cluster/state", user: (node.adminUser, "wrong-password")).status == 401)
            try await node.ok(["operation": "add_role", "role": "page_reader", "permission": ["super_user": false]])
            try await node.ok(["operation": "add_user", "username": "pat", "password": "pw-pat-1", "role": "page_reader", "active": true])
            #expect(try await node.get("/cluster", user: ("pat", "pw-pat-1")).status == 403)
            #expect(try await node.get("/cluster/state", user: ("pat", "pw-pat-1")).status == 403)
            try await node.ok(["operation": "drop_user", "username": "pat"])
            try await node.ok(["operation": "drop_role", "role": "page_reader"])

            let (status, page) = try await node.get("/cluster", asAdmin: true)
            #expect(status == 200)
            let html = String(decoding: page, as: UTF8.self)
            #expect(html.contains("/cluster/state") && !html.contains("http://") && !html.contains("https://"), "the page loads from elsewhere")
        }

        /// Without a replicator: this node alone, replication off, its record counts, and
        /// peers' counts absent with the reason.
        @Test func theStateOfANodeWithoutReplication() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_table", "database": "pg", "table": "owl", "primary_key": "id"])
            _ = try await node.insert("pg", "owl", [["id": 1], ["id": 2], ["id": 3]])
            let (status, body) = try await node.get("/cluster/state", asAdmin: true)
            #expect(status == 200)
            let state = TestNode.parse(body)
            #expect(state["node_name"] == "solo")
            #expect(state["is_enabled"] == false)
            #expect(state["nodes"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["solo"], "\(state)")
            #expect(state["nodes"]?.arrayValue?.first?["self"] == true)
            #expect(state["record_counts"]?["databases"]?["pg"]?["records"] == 3, "\(state)")
            #expect(state["record_counts"]?["databases"]?["pg"]?["tables"]?["owl"] == 3)
            #expect(state["peer_record_counts"] == [:] && state["notes"]?["peer_record_counts"]?.stringValue != nil, "\(state)")
            #expect(state["errors"] == [:], "\(state)")
        }
    }

    /// The page in a real browser (headless chromium) on a live cluster: it shows the three
    /// nodes, a node going away within 5 s without a reload, and a copy in progress with its
    /// ETA; and the same on a cluster the launcher runs, as `make up` and `compose/local stop`
    /// drive it. Screenshots go to `.build/test-artifacts/` (the test prints their paths).
    @Suite(.serialized) struct ClusterPageBrowser {
        /// What the page shows now: each node row's state, the copy cells, whether this is
        /// still the document first loaded, and the record counts of `data`.
        static let probe = """
            return {
              nodes: Object.fromEntries([...document.querySelectorAll('tr.node')].map(r => [r.dataset.node, r.dataset.state])),
              copying: [...document.querySelectorAll('[data-copying]')].map(e => e.dataset.copying),
              copyTotals: [...document.querySelectorAll('progress')].map(p => Number(p.max)),
              etas: [...document.querySelectorAll('[data-eta]')].map(e => e.dataset.eta),
              sameDocument: window.loadedOnce === true,
              dataRecords: (document.querySelector('tr[data-database="data"] td.num') || {}).textContent || null,
              nodeRecords: Object.fromEntries([...document.querySelectorAll('#counts tr[data-database="data"]')]
                                              .map(r => [r.dataset.node, r.querySelector('td.num').textContent])),
              bytesIn: Object.fromEntries([...document.querySelectorAll('tr.socket')].map(r => [r.dataset.socket, Number(r.querySelector('[data-bytes]').dataset.bytes)]))
            };
            """

        /// Where screenshots go: `.build/test-artifacts/` beside the test binaries.
        static func artifact(_ name: String) -> String {
            ((TestNode.binDir as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent + "/test-artifacts/" + name
        }

        /// Reads the page with `probe` every 100 ms until `shows` holds of it (for `timeout`
        /// seconds at most): what the page showed then.
        static func waitFor(_ what: String, on browser: HeadlessBrowser, timeout: Double,
                            until shows: (JSON) -> Bool) async throws -> JSON {
            try await pollUntil(what, timeout: timeout) { () -> JSON? in
                let page = try await browser.run(probe)
                return shows(page) ? page : JSON?.none  // not `nil`: JSON takes that as its null
            }
        }

        static func pageURL(_ node: TestNode) -> String {
            "http://\(node.adminUser):\(node.adminPassword)@127.0.0.1:\(node.port)/cluster"
        }

        /// What a person sees after `make up` (`skein cluster up`, 3 nodes) and `compose/local
        /// stop node-c` (`skein cluster stop node-c`, the whole node): the launcher's own
        /// processes, configs and certificates, not the harness's, on addresses of their own.
        @Test func thePageOnALauncherCluster() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            try cli.ok("cluster", "up", "--nodes", "3", "--first-address", LauncherCLI.unusedFirstAddress())
            let manifest = try cli.manifest()
            let nodeA = try #require(manifest["nodes"]?.arrayValue?.first?["operations_url"]?.stringValue?.dropFirst("http://".count))
            let user = try #require(manifest["username"]?.stringValue), password = try #require(manifest["password"]?.stringValue)
            try await withHeadlessBrowser { browser in
                try await browser.open("http://\(user):\(password)@\(nodeA)/cluster")
                _ = try await Self.waitFor("node-a's page showing three connected nodes", on: browser, timeout: 30) { page in
                    page["nodes"] == ["node-a": "self", "node-b": "connected", "node-c": "connected"]
                }
                _ = try await browser.run("window.loadedOnce = true; return true;")

                // 5 s from the stop command, which returns once node-c's services have exited.
                let stopped = Date()
                try cli.ok("cluster", "stop", "node-c")
                let left = 5 - Date().timeIntervalSince(stopped)
                try #require(left > 0, "cluster stop node-c took \(5 - left) s")
                let gone = try await Self.waitFor("node-c shown disconnected within 5 s of its stop", on: browser, timeout: left) { page in
                    page["nodes"]?["node-c"] == "disconnected"
                }
                print("node-c shown disconnected \(Date().timeIntervalSince(stopped)) s after cluster stop node-c")
                #expect(gone["sameDocument"] == true, "the page was reloaded")
                #expect(gone["nodes"]?["node-b"] == "connected", "\(gone)")
                let screenshot = Self.artifact("cluster-page-launcher.png")
                try await browser.screenshot(to: screenshot)
                print("cluster page screenshot (launcher cluster, node-c stopped): \(screenshot)")
            }
        }

        @Test func thePageFollowsTheClusterLive() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b", "node-c", "node-d"]) { peers in
                let (a, b, c, d) = (peers[0], peers[1], peers[2], peers[3])
                try await connectTrio(a, b, c, pki: pki)
                // Enough rows (with some bulk) that node-d's first copy takes a while.
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "ant", "primary_key": "id"])
                let pad = String(repeating: "x", count: 300)
                for start in stride(from: 1, through: 60_000, by: 2000) {
                    _ = try await a.node.insert("data", "ant", (start..<(start + 2000)).map { ["id": JSON($0), "pad": .string(pad)] })
                }
                try await withHeadlessBrowser { browser in
                    try await browser.open(Self.pageURL(a.node))
                    let shown = try await Self.waitFor("node-a's page showing three connected nodes", on: browser, timeout: 30) { page in
                        page["nodes"] == ["node-a": "self", "node-b": "connected", "node-c": "connected"]
                    }
                    #expect(shown["dataRecords"] == "60000", "\(shown)")
                    // Each peer's own counts, as it reports them on node-a's subscriptions.
                    let counted = try await Self.waitFor("node-a's page showing node-b's and node-c's record counts", on: browser, timeout: 30) { page in
                        page["nodeRecords"] == ["node-a": "60000", "node-b": "60000", "node-c": "60000"]
                    }
                    print("record counts on node-a's page: \(counted["nodeRecords"] ?? .null)")
                    let (_, body) = try await a.node.get("/cluster/state", asAdmin: true)
                    let peers = TestNode.parse(body)["peer_record_counts"]
                    #expect(peers?["node-b"]?["databases"]?["data"]?["records"] == 60_000, "\(peers ?? .null)")
                    #expect(peers?["node-b"]?["databases"]?["data"]?["tables"]?["ant"] == 60_000)
                    #expect(peers?["node-c"]?["databases"]?["data"]?["as_of"]?.stringValue != nil, "\(peers ?? .null)")
                    _ = try await browser.run("window.loadedOnce = true; return true;")

                    await c.node.stop(.replicator)
                    let gone = try await Self.waitFor("node-c shown disconnected on node-a's page", on: browser, timeout: 5) { page in
                        page["nodes"]?["node-c"] == "disconnected"
                    }
                    #expect(gone["sameDocument"] == true, "the page was reloaded")
                    #expect(gone["nodes"]?["node-b"] == "connected", "\(gone)")
                    let disconnected = Self.artifact("cluster-page.png")
                    try await browser.screenshot(to: disconnected)
                    print("cluster page screenshot (node-c disconnected): \(disconnected)")

                    // node-d joins through node-a and copies its 60,000 rows: its page shows it.
                    try await a.node.ok(["operation": "add_node", "hostname": .string(d.name), "url": .string(d.url)])
                    try await browser.open(Self.pageURL(d.node))
                    try d.replicate(with: [a], pki: pki)
                    let copying = try await Self.waitFor("node-d's page showing the copy from node-a", on: browser, timeout: 60) { page in
                        let rows = page["copying"]?.arrayValue ?? []
                        let copyingAnt = rows.contains { $0.stringValue?.hasPrefix("Copying ant") == true }
                        // Progress out of node-a's 60,000 rows, an ETA once the rate is measured,
                        // and the bytes/s the copy arrives at.
                        let progress = page["copyTotals"]?.arrayValue?.contains(60_000) == true && page["etas"]?.arrayValue?.isEmpty == false
                        let flowing = (page["bytesIn"]?["node-a/data"]?.doubleValue ?? 0) > 0
                        return page["nodes"]?["node-a"] == "copying" && copyingAnt && progress && flowing
                    }
                    let copy = Self.artifact("cluster-page-copy.png")
                    try await browser.screenshot(to: copy)
                    print("cluster page screenshot (node-d copying from node-a): \(copy) \(copying)")
                }
            }
        }
    }
}
