import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SkeinCore

/// Debian's chromium, headless, driven through chromedriver's WebDriver API (W3C, JSON over
/// HTTP on loopback): for tests that look at a page as a person's browser shows it, with its
/// script running. Both come from apt (`chromium`, `chromium-driver`; .ci/run installs them).
final class HeadlessBrowser: @unchecked Sendable {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    private let driver: Process
    /// chromedriver's port on 127.0.0.1.
    private let port: Int
    private let profile: String
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
        self.port = port
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: Self.chromedriver)
        driver.arguments = ["--port=\(port)", "--log-path=\(profile)/chromedriver.log"]
        driver.standardInput = FileHandle.nullDevice
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
    }

    private func openSession() async throws {
        let deadline = Date().addingTimeInterval(20)
        while try await (try? command("GET", "/status"))?["ready"] != true {
            guard Date() < deadline else {
                let status = try await command("GET", "/status")  // throws what went wrong
                throw NodeError("chromedriver not ready after 20 s: \(status)")
            }
            try await Task.sleep(for: .milliseconds(100))
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

    /// Ends the session (the browser quits), then chromedriver (its `/shutdown`: it ignores
    /// SIGTERM; SIGKILL if it is still there after 5 s), and removes the profile.
    func close() async {
        if !session.isEmpty { _ = try? await command("DELETE", "/session/\(session)") }
        _ = try? await command("GET", "/shutdown")
        let deadline = Date().addingTimeInterval(5)
        while driver.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// One WebDriver command: its `value`, or an error with WebDriver's message. Over a raw
    /// socket: chromedriver writes headers without a space after the colon, which Linux's
    /// URLSession refuses ("Failed writing header").
    private func command(_ method: String, _ path: String, _ body: JSON? = nil) async throws -> JSON {
        let payload = body.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
        let connection = try RawHTTP(port: port)
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)"
        guard connection.send(request) else { throw NodeError("WebDriver \(method) \(path): chromedriver closed the connection") }
        let response = connection.read(timeout: 60).text
        guard let headEnd = response.range(of: "\r\n\r\n") else { throw NodeError("WebDriver \(method) \(path): no answer") }
        let value = (try? JSON.parse(String(response[headEnd.upperBound...])))?["value"] ?? .null
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
