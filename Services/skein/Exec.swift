import Foundation
import SkeinLauncher
#if canImport(Glibc)
import Glibc
#endif

/// Replaces this process with another program (same pid, terminal and signals), for the
/// subcommands that only hand over: `bench`, `logs -f`.
enum Exec {
    static func replace(with executable: String, _ arguments: [String]) throws -> Never {
        fflush(nil)  // every output stream, before the process image is replaced
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        execv(executable, argv)
        throw LauncherError("cannot run \(executable): \(String(cString: strerror(errno)))")
    }
}
