import ArgumentParser
import Chronicle
import ChronicleRuntime
import Foundation

/// `projections`: operations on read models.
struct Projections<App: HostedApplication>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "projections", abstract: "Operations on read models.", subcommands: [Rebuild.self])
    }

    /// `chronicle projections rebuild NAME`.
    struct Rebuild: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: "rebuild",
                abstract: "Rebuild a read model beside the live one from the start of the log, then swap it in.",
                discussion: """
                    Queries keep answering from the live read model until the swap, which is one transaction; a running server \
                    keeps serving (and its projection keeps following the log) meanwhile. Only read-model statements run: no \
                    reactor, process manager, mail or command. Shows a progress bar (events done / total, rate, time left). \
                    NAME as the admin console lists it, e.g. outstanding_todos. Exits 0 when swapped in, 64 for a name that \
                    is not a read model. Reads DATABASE_URL when neither --postgres nor --database is given.
                    """)
        }

        @Argument(help: "The read model, e.g. outstanding_todos, bank_balances, pizza_orders.")
        var name: String

        @OptionGroup var storage: StorageOptions

        @OptionGroup var options: App.Options

        func run() async throws {
            let name = self.name
            let terminal = isatty(STDOUT_FILENO) == 1
            let started = ContinuousClock.now
            let last = try await storage.withOneOffRuntime(of: App.self, options, label: "chronicle.projections") { runtime in
                let shown = LastShown()
                do {
                    try await runtime.replays.rebuild(name) { progress in
                        // A terminal sees one line redrawn; a pipe a line per second at most.
                        guard shown.due(terminal: terminal) || progress.phase != .building else { return }
                        let line = "\(progress.bar)  \(progress.phase.rawValue)"
                        // Unbuffered, so that each redraw shows at once.
                        FileHandle.standardOutput.write(Data((terminal ? "\r\(line)\u{1B}[K" : "\(line)\n").utf8))
                    }
                } catch let error as ReplayRequestError {
                    throw usageFailure(
                        error.description
                            + (runtime.subscriptions.contains { $0.model != nil }
                                ? "; read models: " + runtime.subscriptions.filter { $0.model != nil }.map(\.name).joined(separator: ", ") : ""))
                }
                return runtime.replays.rebuildProgress(of: name)
            }
            if terminal { CommandOutput.line("") }
            let seconds =
                Double((ContinuousClock.now - started).components.seconds)
                + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            CommandOutput.line("rebuilt \(name): \(last?.done ?? 0) events in \(String(format: "%.1f", seconds)) s, swapped in")
        }
    }
}

/// Throttles progress lines: due at most ten times a second on a terminal, once a second otherwise.
final class LastShown: @unchecked Sendable {
    private var last = ContinuousClock.now - .seconds(10)
    private let lock = NSLock()

    func due(terminal: Bool) -> Bool {
        lock.withLock {
            let now = ContinuousClock.now
            guard now - last >= (terminal ? .milliseconds(100) : .seconds(1)) else { return false }
            last = now
            return true
        }
    }
}

extension ReplayProgress {
    /// One line for a terminal: `[#####     ] 500000/1000000 events  98000/s  5s left`.
    var bar: String {
        let width = 30
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let left = secondsLeft.map { String(format: "  %.0fs left", $0.rounded(.up)) } ?? ""
        return "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            + "\(done)/\(total) events  \(Int(eventsPerSecond))/s" + left
    }
}
