import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Testing

/// A web side composes its module: a runtime hosting the web side runs everything the module declares
/// — read models, reactors, process managers, commands, summaries — as a runtime of the module alone
/// does. (Before, each web side re-declared the module's requirements by hand, and one it forgot fell
/// back to "none" in silence: the cart's web side forwarded 3 of 6.)
@Suite struct WebHostedTests {
    struct Everything: ApplicationModule {
        let name = "everything"
        var readModels: [any SQLReadModel] { [Model()] }
        func reactors(_ context: ModuleContext) -> [any Reactor] { [Echo()] }
        var processManagers: [any ProcessManager] { [Steps()] }
        func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
            try bus.register("Poke", route: { _ in .rejected("poked") })
        }
        func summary(of event: RecordedEvent) -> String? { "about \(event.stream)" }
    }

    struct Model: SQLReadModel {
        let name = "everything_model"
        let createStatements = [SQLStatement("CREATE TABLE IF NOT EXISTS everything_model (position BIGINT PRIMARY KEY)")]
        let dropStatements = [SQLStatement("DROP TABLE IF EXISTS everything_model")]
        func statements(for event: RecordedEvent) throws -> [SQLStatement] { [] }
    }

    struct Echo: Reactor {
        let name = "everything_echo"
        func react(to event: RecordedEvent) async throws {}
    }

    struct Steps: ProcessManager {
        struct State: Codable, Sendable, Equatable {}
        let name = "everything_steps"
        let initialState = State()
        var sends: [any NamedCommand.Type] { [] }
        func decode(_ recorded: RecordedEvent) throws -> String? { nil }
        func correlate(_ event: String) -> String? { event }
        func evolve(_ state: State, _ event: String) -> State { state }
        func react(to event: String, in state: State) -> [ProcessAction] { [] }
        func isFinished(_ state: State) -> Bool { true }
    }

    struct EverythingWeb: HTTPModule {
        var application: any ApplicationModule { Everything() }
        func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {}
    }

    @Test func aRuntimeOfTheWebSideRunsAllItsModuleDeclares() async throws {
        let directory = try TemporaryDirectory()
        let bare = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("bare.sqlite")), modules: [Everything()])
        let web = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("web.sqlite")), modules: [EverythingWeb()])
        #expect(Set(web.subscriptions.map(\.name)) == ["everything_model", "everything_echo", "everything_steps"])
        #expect(web.subscriptions.map(\.name) == bare.subscriptions.map(\.name))
        #expect(web.bus.types == ["Poke"] && web.bus.types == bare.bus.types)
        #expect(web.modules.map(\.name) == ["everything"])
        #expect(web.webModules.count == 1 && bare.webModules.isEmpty)
        let event = RecordedEvent(
            id: UUID(), stream: try StreamName("thing-1"), version: 1, position: GlobalPosition(rawValue: 1), type: "Thing",
            schemaVersion: 1, data: Data("{}".utf8), metadata: Metadata(), recordedAt: Date())
        #expect(web.modules.first?.summary(of: event) == "about thing-1")
    }
}
