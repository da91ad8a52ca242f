import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SkeinCore

/// `csv_url_load`'s download: straight to a private temporary file (never into memory),
/// failing on an HTTP error status, with a time limit.
enum CSVDownload {
    static let timeout: TimeInterval = 600

    static func fetch(_ url: URL) async throws -> String {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let (temporary, response): (URL, URLResponse)
        do {
            (temporary, response) = try await session.download(from: url)
        } catch {
            throw SkeinError.badRequest("could not download \(url.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            try? FileManager.default.removeItem(at: temporary)
            throw SkeinError.badRequest("downloading \(url.absoluteString) answered HTTP \(status)")
        }
        let path = NSTemporaryDirectory() + "skein-csv-\(UUID().uuidString).csv"
        try FileManager.default.moveItem(at: temporary, to: URL(fileURLWithPath: path))
        _ = chmod(path, 0o600)
        return path
    }
}
