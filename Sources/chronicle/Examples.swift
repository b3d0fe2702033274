import ArgumentParser
import BankApp
import BankHTTP
import CartApp
import CartHTTP
import Chronicle
import ChronicleHTTP
import ChronicleHost
import ChronicleRuntime
import Foundation
import PizzaApp
import PizzaHTTP
import TodoApp
import TodoHTTP

/// The `chronicle` executable: Chronicle's example applications — Todo (with TodoMVC, the site's home
/// page), the bank, the pizza pipeline and the shopping cart — hosted as anyone hosts theirs, and the
/// benchmark tools.
@main
struct Examples: HostedApplication {
    static let commandName = "chronicle"
    static let abstract = "Chronicle: an event store, its projections, reactors and process managers, and the Todo and Bank applications."
    static let serveAbstract =
        "Serve the TodoMVC page, the Todo API, the bank, the pizza pipeline, the cart, the event browser and the admin console; run their read models, reactors and process managers."
    static var subcommands: [any ParsableCommand.Type] { [Bench.self, AppendLoad.self] }

    /// Every application, one line each: every subcommand reads this list.
    static func modules(_ options: ExampleOptions, _ host: HostContext) throws -> [any HTTPModule] {
        [
            TodoWeb(TodoModule(mailSink: try options.mailbox(host))),
            BankWeb(BankModule(transferTimeout: .milliseconds(Int64(max(0.001, options.transferTimeout) * 1000)))),
            PizzaWeb(PizzaModule(step: .milliseconds(max(0, options.pizzaStepMs)), courier: try options.courier(host))),
            CartWeb(),
        ]
    }
}

/// The example applications' own options.
struct ExampleOptions: ParsableArguments {
    @Option(help: "The mailbox file the Todo notifier writes to (default: beside the SQLite file; chronicle.mailbox on PostgreSQL).")
    var mailbox: String?

    @Option(help: "Seconds a transfer's step may wait before the transfer times out and is compensated.")
    var transferTimeout: Double = 30

    @Option(help: "Milliseconds each kitchen and delivery step of a pizza order takes.")
    var pizzaStepMs = 3000

    @Option(help: "The file the pizza courier's messages go to (default: beside the SQLite file; chronicle.courier on PostgreSQL).")
    var courier: String?

    func mailbox(_ host: HostContext) throws -> any MailSink {
        try host.mailbox(at: mailbox ?? host.defaultFile("mailbox"), role: "the mailbox", flag: "--mailbox")
    }

    func courier(_ host: HostContext) throws -> any MailSink {
        try host.mailbox(at: courier ?? host.defaultFile("courier"), role: "the courier's file", flag: "--courier")
    }
}
