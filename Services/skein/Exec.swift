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
        // The new program inherits this thread's signal mask, and the Swift runtime's threads
        // block signals: unblocked, SIGTERM and Ctrl-C reach it again.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { signal(sig, SIG_DFL) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        execv(executable, argv)
        throw LauncherError("cannot run \(executable): \(String(cString: strerror(errno)))")
    }
}
