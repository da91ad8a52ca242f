import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SkeinCore

/// Debian's chromium, headless, driven through chromedriver's WebDriver API (W3C, JSON over
/// HTTP on loopback): for tests that look at a page as a person's browser shows it, with its
/// script running. Both come from apt (`chromium`, `chromium-driver`; .ci/run installs them).
final class HeadlessBrowser: @unchecked Sendable {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    private let driver: Process
    private let endpoint: URL
    private let profile: String
    private let http: URLSession
    private var session = ""

    /// Starts chromedriver and a browser session; throws (the test fails, saying what to
    /// install) when either program is missing.
    static func start() async throws -> HeadlessBrowser {
        for path in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: path) {
            throw NodeError("\(path) is missing: this test needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run installs them)")
        }
        let browser = try HeadlessBrowser(port: TestNode.freePort())
        do {
            try await browser.openSession()
            return browser
        } catch {
            await browser.close()
            throw error
        }
    }

    private init(port: Int) throws {
        profile = "/tmp/skt-chromium-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        endpoint = URL(string: "http://127.0.0.1:\(port)")!
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        http = URLSession(configuration: configuration)
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: Self.chromedriver)
        driver.arguments = ["--port=\(port)", "--log-path=\(profile)/chromedriver.log"]
        driver.standardInput = FileHandle.nullDevice
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
    }

    private func openSession() async throws {
        _ = try await pollUntil("chromedriver ready", timeout: 20) { () -> Bool? in
            try await self.command("GET", "/status")["ready"] == true ? true : nil
        }
        let options: JSON = ["binary": .string(Self.chromium), "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1000",
            .string("--user-data-dir=\(profile)/profile"),
        ]]
        let created = try await command("POST", "/session", ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": options]]])
        guard let id = created["sessionId"]?.stringValue else { throw NodeError("chromedriver made no session: \(created)") }
        session = id
    }

    /// Navigates to `url` (credentials may ride in it: user:password@host).
    func open(_ url: String) async throws {
        _ = try await command("POST", "/session/\(session)/url", ["url": .string(url)])
    }

    /// Runs `script` (a function body: `return ...`) in the page; its result.
    func run(_ script: String) async throws -> JSON {
        try await command("POST", "/session/\(session)/execute/sync", ["script": .string(script), "args": []])
    }

    /// Saves a PNG of the window to `path` (its folder made as needed).
    func screenshot(to path: String) async throws {
        let encoded = try await command("GET", "/session/\(session)/screenshot")
        guard let png = encoded.stringValue.flatMap({ Data(base64Encoded: $0) }) else { throw NodeError("no screenshot") }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// Ends the session and chromedriver (and so the browser), and removes the profile.
    func close() async {
        if !session.isEmpty { _ = try? await command("DELETE", "/session/\(session)") }
        if driver.isRunning { driver.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while driver.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// One WebDriver command: its `value`, or an error with WebDriver's message.
    private func command(_ method: String, _ path: String, _ body: JSON? = nil) async throws -> JSON {
        var request = URLRequest(url: endpoint.appendingPathComponent(path))
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.serialized())
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data = try await withCheckedThrowingContinuation { c in
            http.dataTask(with: request) { data, _, error in
                if let error { return c.resume(throwing: error) }
                c.resume(returning: data ?? Data())
            }.resume()
        }
        let reply = TestNode.parse(data)
        let value = reply["value"] ?? .null
        if let error = value["error"]?.stringValue { throw NodeError("WebDriver \(method) \(path): \(error): \(value["message"]?.stringValue ?? "")") }
        return value
    }
}

/// Runs `body` with a headless browser, always closing it.
func withHeadlessBrowser(_ body: (HeadlessBrowser) async throws -> Void) async throws {
    let browser = try await HeadlessBrowser.start()
    do {
        try await body(browser)
    } catch {
        await browser.close()
        throw error
    }
    await browser.close()
}
