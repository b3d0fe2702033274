import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// EventSourcery's `scripts/request`: talks to a running `chronicle serve`.
@main
struct TodoCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "todo",
        abstract: "Interact with the Chronicle Todo application through its web API.",
        subcommands: [Add.self, Amend.self, Complete.self, Abandon.self, MoveUp.self, Reopen.self, Clear.self, List.self, NewUUID.self])
}

struct ServerOptions: ParsableArguments {
    @Option(help: "The server's base URL.")
    var url = "http://localhost:8080"
}

/// The fields of a todo, as `add` and `amend` take them.
struct TodoFields: ParsableArguments {
    @Option(name: [.customShort("t"), .long], help: "Title.") var title: String?
    @Option(name: [.customShort("d"), .long], help: "Description.") var description: String?
    @Option(name: [.customShort("D"), .customLong("due_date")], help: "Due date, YYYY-MM-DD.") var dueDate: String?
    @Option(name: [.customShort("s"), .customLong("stakeholder_email")], help: "Stakeholder email.") var stakeholderEmail: String?

    /// The fields given, by their JSON names.
    var payload: [String: String] {
        compact(["title": title, "description": description, "due_date": dueDate, "stakeholder_email": stakeholderEmail])
    }
}

struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a todo.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The new todo's id (see `todo uuid`).") var id: String
    @OptionGroup var fields: TodoFields

    func run() async throws {
        try await send("Adding todo [\(id)]", "POST", "/todo/\(id)", fields.payload, server)
    }
}

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Amend a todo.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String
    @OptionGroup var fields: TodoFields

    func run() async throws {
        try await send("Amending todo [\(id)]", "PUT", "/todo/\(id)", fields.payload, server)
    }
}

struct Complete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Complete a todo.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String
    @Option(name: [.customShort("D"), .customLong("completed_on")], help: "Completed on, YYYY-MM-DD.") var completedOn: String?

    func run() async throws {
        try await send("Completing todo [\(id)]", "POST", "/todo/\(id)/complete", compact(["completed_on": completedOn]), server)
    }
}

struct Abandon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Abandon a todo.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String
    @Option(name: [.customShort("D"), .customLong("abandoned_on")], help: "Abandoned on, YYYY-MM-DD.") var abandonedOn: String?

    func run() async throws {
        try await send("Abandoning todo [\(id)]", "POST", "/todo/\(id)/abandon", compact(["abandoned_on": abandonedOn]), server)
    }
}

struct MoveUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "moveup", abstract: "Move a todo up one place.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String

    func run() async throws { try await send("Moving up todo [\(id)]", "PUT", "/todo/\(id)/moveup", [:], server) }
}

struct Reopen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reopen a completed todo.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String

    func run() async throws { try await send("Reopening todo [\(id)]", "POST", "/todo/\(id)/reopen", [:], server) }
}

struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Clear a completed todo from the board.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("i"), .long], help: "The todo's id.") var id: String

    func run() async throws { try await send("Clearing todo [\(id)]", "POST", "/todo/\(id)/clear", [:], server) }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List todos: outstanding, scheduled or completed.")
    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("l"), .long], help: "outstanding, scheduled or completed.") var list: String

    func run() async throws {
        let lists = ["outstanding", "scheduled", "completed"]
        let name = list.lowercased()
        guard lists.contains(name) else {
            throw ValidationError("you must specify which todos to list: \(lists.joined(separator: ", "))")
        }
        print("\(name.prefix(1).uppercased() + name.dropFirst()) todos")
        let (status, body) = try await request("GET", "/todos/\(name)", nil, server)
        guard (200..<300).contains(status) else { fail(body) }
        guard let rows = try? JSONSerialization.jsonObject(with: body) as? [[String: Any]] else { fail(body) }
        var columns = ["todo_id", "title", "due_date", "stakeholder_email"]
        if name == "completed" { columns.append("completed_on") }
        let cells = rows.map { row in columns.map { (row[$0] as? String) ?? "" } }
        let widths = columns.indices.map { i in ([columns[i]] + cells.map { $0[i] }).map(\.count).max() ?? 0 }
        func render(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        print(render(columns))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
        for row in cells { print(render(row)) }
        print("\(rows.count) todo\(rows.count == 1 ? "" : "s")")
        print("Success.")
    }
}

struct NewUUID: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "uuid", abstract: "Print a new UUID.")
    func run() { print(UUID().uuidString.lowercased()) }
}

func compact(_ fields: [String: String?]) -> [String: String] {
    fields.compactMapValues { $0 }
}

/// Prints what it sends, sends it, prints the answer and `Success.`, or `Error:` with the reason and exits 1.
func send(_ what: String, _ method: String, _ path: String, _ payload: [String: String], _ server: ServerOptions) async throws {
    let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])
    print("\(what): \(String(decoding: body, as: UTF8.self))")
    let (status, answer) = try await request(method, path, body, server)
    guard (200..<300).contains(status) else { fail(answer) }
    print(String(decoding: answer, as: UTF8.self))
    print("Success.")
}

func fail(_ body: Data) -> Never {
    let reason = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
    FileHandle.standardError.write(Data("\nError:\n  \(reason ?? String(decoding: body, as: UTF8.self))\n".utf8))
    TodoCLI.exit(withError: ExitCode.failure)
}

func request(_ method: String, _ path: String, _ body: Data?, _ server: ServerOptions) async throws -> (Int, Data) {
    guard let url = URL(string: server.url + path) else { throw ValidationError("invalid URL \(server.url + path)") }
    var request = URLRequest(url: url)
    request.httpMethod = method
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = body
    return try await withCheckedThrowingContinuation { continuation in
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                continuation.resume(throwing: ValidationError("cannot reach \(server.url): \(error.localizedDescription)"))
            } else {
                continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }
        }.resume()
    }
}
