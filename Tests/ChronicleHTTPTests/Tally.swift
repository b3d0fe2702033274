import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Hummingbird

/// The HTTP edge's own test module, knowing nothing of Todo: counters that are counted up, a read
/// model of their totals, and a page under `/tally/`.
struct Tally: ApplicationModule, HTTPModule {
    let name = "tally"

    /// Counting by zero breaks the module's rule: the module says that is a 422.
    struct CountingByZero: APIErrorConvertible {
        var apiError: APIError { APIError(.unprocessableContent, "a count must not be zero") }
    }

    var readModels: [any SQLReadModel] { [Totals()] }

    var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Pages"), path: "/tally") }

    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.post("/tallies/:counter") { request, context in
            let stream = try StreamName(category: "tally", id: context.parameters.get("counter") ?? "")
            let body = try await JSONBody.object(of: request, context: context)
            guard case .number(let by)? = body["by"], let count = Int(exactly: by) else {
                throw APIError.badRequest("by must be a whole number")
            }
            guard count != 0 else { throw CountingByZero() }
            // `?expected=` appends only at that stream version; a stale one is the edge's 409.
            let expected: ExpectedVersion = try request.position("expected").map { .exactly($0.rawValue) } ?? .any
            let result = try await runtime.store.append(
                [NewEvent(id: UUID(), type: "Counted", data: Data("{\"by\":\(count)}".utf8))], to: stream, expecting: expected)
            return JSONBody.response(.created, ["position": result.lastPosition.rawValue])
        }
        routes.get("/tallies/:counter") { request, context in
            try await runtime.catchUp(readModel: "tally_totals", after: try request.position("after"))
            let rows = try await runtime.queries.rows(
                SQLStatement("SELECT total FROM tally_totals WHERE counter = ?", [.text(context.parameters.get("counter") ?? "")]))
            return JSONBody.response(.ok, ["total": rows.first?["total"]?.integer ?? 0])
        }
    }

    struct Totals: SQLReadModel {
        let name = "tally_totals"
        var createStatements: [SQLStatement] {
            [SQLStatement("CREATE TABLE IF NOT EXISTS tally_totals (counter TEXT PRIMARY KEY, total BIGINT NOT NULL)")]
        }
        var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS tally_totals")] }

        func statements(for event: RecordedEvent) throws -> [SQLStatement] {
            guard event.stream.category == "tally", event.type == "Counted" else { return [] }
            struct Body: Decodable { let by: Int64 }
            let by = try JSONDecoder().decode(Body.self, from: event.data).by
            return [
                SQLStatement(
                    "INSERT INTO tally_totals VALUES (?, ?) ON CONFLICT (counter) DO UPDATE SET total = tally_totals.total + ?",
                    [.text(event.stream.id), .integer(by), .integer(by)])
            ]
        }
    }
}
