import Chronicle
import ChronicleHTTP
import ChronicleHTTPTesting
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Prometheus
import TodoApp
import TodoHTTP

/// A live `chronicle serve` of the Todo module on a temporary SQLite file, on a free port.
struct Harness {
    typealias Client = TestServer.Client
    typealias Answer = TestServer.Answer

    let server: TestServer
    let metrics: PrometheusCollectorRegistry?

    var directory: TemporaryDirectory { server.directory }
    /// The runtime, seen as the Todo application's parts.
    var service: TodoParts { TodoParts(runtime: server.runtime) }

    init(
        maxCommandAttempts: Int = 5, directory: TemporaryDirectory? = nil, workers: Bool = true,
        metrics: PrometheusCollectorRegistry? = nil
    ) async throws {
        self.metrics = metrics
        let directory = try directory ?? TemporaryDirectory()
        let todo = TodoModule(
            mailSink: try FileMailbox(path: directory.path("todo.mailbox"), today: { "2026-11-22" }), maxCommandAttempts: maxCommandAttempts)
        server = try TestServer(modules: [TodoWeb(todo)], directory: directory, database: "todo.sqlite", workers: workers)
    }

    /// Runs `body` against the live server.
    func run<T: Sendable>(configure: (inout ChronicleServer.Configuration) -> Void = { _ in }, _ body: @Sendable (Client) async throws -> T)
        async throws -> T
    {
        try await server.run(
            configure: { server in
                server.metrics = metrics
                configure(&server)
            }, body)
    }

    static func sendOnNewConnection(port: Int, method: String, path: String, body: String) async throws -> Answer {
        try await TestServer.sendOnNewConnection(port: port, method: method, path: path, body: body)
    }
}

/// The Todo application's subscriptions in a runtime, by role.
struct TodoParts {
    let runtime: ChronicleRuntime

    var store: any EventStore { runtime.store }
    var runners: [SubscriptionRunner] { runtime.runners }
    var notifier: SubscriptionRunner { runtime.runner(named: "todo_completed_notifier")! }
    var readModels: [TodoReadModel.List: SubscriptionRunner] {
        Dictionary(uniqueKeysWithValues: TodoReadModel.List.allCases.compactMap { list in runtime.runner(named: list.name).map { (list, $0) } })
    }
}
