import Foundation
import SkeinLauncher

/// What the launcher takes from its surroundings: the checkout it was built in (found by
/// walking up from this binary to a Package.swift), the cluster directory
/// (`SKEIN_CLUSTER_DIR`), the service binaries (`SKEIN_BIN_DIR`) and whether to build
/// (`SKEIN_SKIP_BUILD=1` skips it), the variables `compose/local` always honoured.
struct LauncherEnvironment {
    let variables = ProcessInfo.processInfo.environment

    /// The directory of this executable (the service binaries are built next to it).
    var ownDirectory: String { ServiceLaunch.programDirectory }

    var packageRoot: String? {
        var url = URL(fileURLWithPath: ownDirectory)
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return nil
    }

    /// Absolute: `cluster.json` hands its paths to other programs.
    var layout: ClusterLayout {
        let base = packageRoot ?? FileManager.default.currentDirectoryPath
        let chosen = variables["SKEIN_CLUSTER_DIR"] ?? base + "/.local-cluster"
        let absolute = chosen.hasPrefix("/") ? chosen : FileManager.default.currentDirectoryPath + "/" + chosen
        return ClusterLayout(root: URL(fileURLWithPath: absolute).standardizedFileURL.path)
    }

    var skipBuild: Bool { variables["SKEIN_SKIP_BUILD"] == "1" }

    /// The gateway port for new configs (`SKEIN_BASE_PORT`, default 9925).
    var basePort: Int { variables["SKEIN_BASE_PORT"].flatMap(Int.init) ?? ClusterAddressPlan.standard.apiPort }

    /// Builds the services (debug, or release) unless `SKEIN_SKIP_BUILD=1`; returns the
    /// directory to run them from: `SKEIN_BIN_DIR`, the release build's, or this binary's.
    func buildServices(release: Bool) throws -> String {
        if !skipBuild {
            guard let root = packageRoot else { throw LauncherError("no Package.swift above \(ownDirectory): set SKEIN_SKIP_BUILD=1 and SKEIN_BIN_DIR") }
            print("building (swift build\(release ? " -c release" : "")) in \(root)")
            try SwiftBuild(root: root).run(release ? ["-c", "release"] : [])
        }
        if let dir = variables["SKEIN_BIN_DIR"] { return dir }
        guard release else { return ownDirectory }
        guard let root = packageRoot else { throw LauncherError("no Package.swift above \(ownDirectory): set SKEIN_BIN_DIR") }
        let dir = try SwiftBuild(root: root).binPath(["-c", "release"])
        if skipBuild { try Self.checkRelease(dir) }
        print("release binaries: \(dir)")
        return dir
    }

    /// The release binaries a skipped build left to `up`: every service's must be in `dir`.
    private static func checkRelease(_ dir: String) throws {
        let missing = ServiceSupervisor.missingBinaries(in: dir)
        guard !missing.isEmpty else { return }
        throw LauncherError("""
            no release binaries in \(dir): missing \(missing.joined(separator: ", ")) (SKEIN_SKIP_BUILD=1, so up built nothing); \
            build them with 'swift build -c release', or run up --release without SKEIN_SKIP_BUILD=1
            """)
    }

    /// The binaries of a running cluster: `SKEIN_BIN_DIR`, else those its `up` used.
    func binDir(for layout: ClusterLayout) -> String {
        if let dir = variables["SKEIN_BIN_DIR"] { return dir }
        let saved = try? String(contentsOfFile: layout.binDirFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return saved.flatMap { $0.isEmpty ? nil : $0 } ?? ownDirectory
    }
}
