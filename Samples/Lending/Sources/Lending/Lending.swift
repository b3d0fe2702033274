import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation

/// A book of a lending library, lent to one reader at a time: the decider.
enum Book: Decider {
    enum State: Sendable { case onTheShelf, lent(to: String) }
    enum Command: Sendable { case lend(to: String), giveBack }
    enum Event: Sendable, Equatable { case lent(to: String), returned }
    enum Rejection: Error, CustomStringConvertible {
        case alreadyLent(to: String), notLent
        var description: String {
            switch self {
            case .alreadyLent(let reader): "the book is lent to \(reader)"
            case .notLent: "the book is on the shelf"
            }
        }
    }

    static let category = "book"
    static let initialState = State.onTheShelf

    /// A book's stream, `book-<id>`; an id that cannot name a stream is a malformed command (400).
    static func stream(_ id: String) throws(CommandBusError) -> StreamName {
        do { return try StreamName(category: category, id: id) } catch {
            throw .malformed(type: "a book command", reason: "book_id is not a stream id")
        }
    }

    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case (.lend(let reader), .onTheShelf): return [.lent(to: reader)]
        case (.lend, .lent(let reader)): throw .alreadyLent(to: reader)
        case (.giveBack, .lent): return [.returned]
        case (.giveBack, .onTheShelf): throw .notLent
        }
    }

    static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .lent(let reader): .lent(to: reader)
        case .returned: .onTheShelf
        }
    }
}

/// The stored form of a book's events: `BookLent {"reader"}` and `BookReturned {}`, schema version 1.
struct BookCodec: EventCodec {
    func encode(_ event: Book.Event) throws -> EncodedEvent {
        switch event {
        case .lent(let reader): EncodedEvent(type: "BookLent", schemaVersion: 1, data: try JSONEncoder().encode(["reader": reader]))
        case .returned: EncodedEvent(type: "BookReturned", schemaVersion: 1, data: Data("{}".utf8))
        }
    }

    func decode(_ encoded: EncodedEvent) throws -> Book.Event {
        switch encoded.type {
        case "BookLent":
            guard let reader = try JSONDecoder().decode([String: String].self, from: encoded.data)["reader"] else {
                throw CodecError.malformed(type: encoded.type, reason: "no reader")
            }
            return .lent(to: reader)
        case "BookReturned": return .returned
        default: throw CodecError.unknownType(encoded.type)
        }
    }
}

/// The commands clients send (`POST /commands/LendBook {"book_id", "reader"}`, `chronicle send`-style
/// through `lending send`).
struct LendBook: NamedCommand {
    static let typeName = "LendBook"
    let bookId: String
    let reader: String
    enum CodingKeys: String, CodingKey { case bookId = "book_id", reader }
}

struct ReturnBook: NamedCommand {
    static let typeName = "ReturnBook"
    let bookId: String
    enum CodingKeys: String, CodingKey { case bookId = "book_id" }
}

/// Who has which book: a read model in SQL (the same statements on SQLite and PostgreSQL).
struct Loans: SQLReadModel {
    let name = "lending_loans"
    let createStatements = [SQLStatement("CREATE TABLE IF NOT EXISTS lending_loans (book_id TEXT PRIMARY KEY, reader TEXT NOT NULL)")]
    let dropStatements = [SQLStatement("DROP TABLE IF EXISTS lending_loans")]

    func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Book.category else { return [] }
        switch try BookCodec().decode(event) {
        case .lent(let reader):
            return [SQLStatement("INSERT INTO lending_loans VALUES (?, ?)", [.text(event.stream.id), .text(reader)])]
        case .returned:
            return [SQLStatement("DELETE FROM lending_loans WHERE book_id = ?", [.text(event.stream.id)])]
        }
    }
}

/// The application: its commands on the bus and its read model.
struct LendingModule: ApplicationModule {
    let name = "lending"
    var readModels: [any SQLReadModel] { [Loans()] }

    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let books = CommandHandler<Book, BookCodec>(store: runtime.store, codec: BookCodec())
        try bus.register(LendBook.self, handler: books) { command throws(CommandBusError) in
            (.lend(to: command.reader), try Book.stream(command.bookId))
        }
        try bus.register(ReturnBook.self, handler: books) { command throws(CommandBusError) in (.giveBack, try Book.stream(command.bookId)) }
    }
}

/// Its web side: `POST /lending/books/:book_id/lend {"reader"}` and `GET /lending/loans`.
struct LendingWeb: HTTPModule {
    var application: any ApplicationModule { LendingModule() }

    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.post("/lending/books/:book_id/lend") { request, context in
            var fields = try await JSONBody.object(of: request, context: context)
            fields["book_id"] = .string(context.parameters.get("book_id") ?? "")
            return try await runtime.bus.respond(to: LendBook.typeName, fields: fields)
        }
        routes.get("/lending/loans") { request, _ in
            // Read your writes: `?after=<position>` waits until the read model has taken that event in.
            try await runtime.catchUp(readModel: "lending_loans", after: try request.position("after"))
            let rows = try await runtime.queries.rows(SQLStatement("SELECT book_id, reader FROM lending_loans ORDER BY book_id"))
            return JSONBody.response(.ok, rows.map { ["book_id": $0["book_id"]?.text ?? "", "reader": $0["reader"]?.text ?? ""] })
        }
    }
}
