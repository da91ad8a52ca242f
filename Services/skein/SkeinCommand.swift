import ArgumentParser

/// `skein`: runs a local Skein cluster (`cluster`), talks to its nodes (`ctl`) and runs the
/// benchmark (`bench`). docs/INTERFACES.md §4.
@main
struct SkeinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skein",
        abstract: "Run and use a local Skein cluster.",
        discussion: """
            State lives in .local-cluster/ of the checkout (SKEIN_CLUSTER_DIR overrides). \
            Shell completion: skein --generate-completion-script bash (or zsh, fish).
            """,
        subcommands: [ClusterCommand.self, CtlCommand.self, PKICommand.self, BenchCommand.self])
}
