import Foundation
import Logging
import SkeinLauncher

// skein-bench: the foundation benchmark (one node, `SingleNodeBench`), or with `cluster`
// first, the replication benchmark on a local cluster (`ClusterBench`). Each prints a table
// and one JSON line; options are listed in their `usage`.

LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
lineBufferStandardOutput()
var arguments = CommandLine.arguments.dropFirst()
let cluster = arguments.first == "cluster"
if cluster { arguments.removeFirst() }
let defaults = cluster ? ClusterBench.defaults : SingleNodeBench.defaults
let options = BenchOptions.parse(arguments, defaults: defaults, usage: cluster ? ClusterBench.usage : SingleNodeBench.usage)
BenchGuard.shared.install(limitSeconds: options["limit-seconds"] ?? 3600)
do {
    if cluster { try ClusterBench(options: options).run() } else { try SingleNodeBench(options: options).run() }
} catch {
    print("skein-bench: \(error)")
    BenchGuard.shared.processes.stopAll(grace: 10)
    exit(1)
}
BenchGuard.shared.processes.stopAll(grace: 10)
