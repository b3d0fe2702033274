import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation

/// A whole application in one file (docs/ARCHITECTURE.md shows it): sign the guestbook, read it back.
struct Guestbook: ApplicationModule, HTTPModule {
    let name = "guestbook"
    var readModels: [any SQLReadModel] { [Entries()] }

    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.post("/guestbook") { request, context in
            let body = try await JSONBody.object(of: request, context: context)
            guard let name = try body.string("name"), !name.isEmpty else { throw APIError.badRequest("name is required") }
            let signed = try await runtime.store.append(
                [NewEvent(id: UUID(), type: "GuestSigned", data: try JSONEncoder().encode(["name": name]))],
                to: try StreamName(category: "guestbook", id: "main"), expecting: .any)
            return JSONBody.response(.created, ["position": signed.lastPosition.rawValue])
        }
        routes.get("/guestbook") { request, _ in
            try await runtime.catchUp(readModel: "guestbook_entries", after: try request.position("after"))
            let rows = try await runtime.queries.rows(SQLStatement("SELECT name FROM guestbook_entries ORDER BY position"))
            return JSONBody.response(.ok, rows.compactMap { $0["name"]?.text })
        }
    }

    struct Entries: SQLReadModel {
        let name = "guestbook_entries"
        let createStatements = [SQLStatement("CREATE TABLE IF NOT EXISTS guestbook_entries (position BIGINT PRIMARY KEY, name TEXT NOT NULL)")]
        let dropStatements = [SQLStatement("DROP TABLE IF EXISTS guestbook_entries")]
        func statements(for event: RecordedEvent) throws -> [SQLStatement] {
            guard event.type == "GuestSigned" else { return [] }
            let name = try JSONDecoder().decode([String: String].self, from: event.data)["name"]
            return [SQLStatement("INSERT INTO guestbook_entries VALUES (?, ?)", [.integer(event.position.rawValue), .text(name)])]
        }
    }
}
