import ChronicleHTTP
import ChronicleHost

/// The whole executable: `lending serve`, `worker`, `migrate`, `send`, `projections`, `streams`.
@main
struct Lending: HostedApplication {
    static let commandName = "lending"

    /// Every module, one line each: every subcommand reads this list.
    static func modules(_ options: NoOptions, _ host: HostContext) throws -> [any HTTPModule] {
        [LendingWeb()]
    }
}
