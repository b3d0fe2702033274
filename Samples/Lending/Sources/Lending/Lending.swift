import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation

/// A book of a lending library, lent to one reader at a time: the decider.
enum Book: Decider {
    enum State: Sendable { case onTheShelf, lent(to: String) }
    enum Command: Sendable { case lend(to: String), giveBack }
    /// Stored as `BookLent {"reader"}` and `BookReturned {}`: the type names are its `CodingKeys`.
    enum Event: CodableEvent, Equatable {
        case lent(to: String), returned
        enum CodingKeys: String, CodingKey, CaseIterable { case lent = "BookLent", returned = "BookReturned" }
        enum LentCodingKeys: String, CodingKey { case to = "reader" }
    }
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
    static func stream(_ id: String) throws -> StreamName { try StreamName(category: category, id: id) }

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

/// Who has which book: a read model in SQL (the same statements on SQLite and PostgreSQL), given the
/// books' events already decoded.
struct Loans: CategoryReadModel {
    let name = "lending_loans", category = Book.category
    let tables = [SQLTable("lending_loans", "book_id TEXT PRIMARY KEY, reader TEXT NOT NULL")]

    func statements(for event: Book.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        switch event {
        case .lent(let reader): [SQLStatement("INSERT INTO lending_loans VALUES (?, ?)", [.text(recorded.stream.id), .text(reader)])]
        case .returned: [SQLStatement("DELETE FROM lending_loans WHERE book_id = ?", [.text(recorded.stream.id)])]
        }
    }

    /// A loan, a row of `all` (a column missing or of another type is an error, not a default).
    struct Loan: Codable, Sendable {
        let bookId: String
        let reader: String
        enum CodingKeys: String, CodingKey { case bookId = "book_id", reader }
    }

    static let all = ReadModelQuery<Loans, Loan>("SELECT book_id, reader FROM lending_loans ORDER BY book_id")
}

/// The application: its commands on the bus and its read model.
struct LendingModule: ApplicationModule {
    let name = "lending"
    var readModels: [any SQLReadModel] { [Loans()] }

    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let books = CommandHandler<Book, JSONEventCodec<Book.Event>>(store: runtime.store, codec: JSONEventCodec())
        try bus.register(LendBook.self, handler: books) { (.lend(to: $0.reader), try Book.stream($0.bookId)) }
        try bus.register(ReturnBook.self, handler: books) { (.giveBack, try Book.stream($0.bookId)) }
    }
}

/// Its web side: `POST /lending/books/:book_id/lend {"reader"}` and `GET /lending/loans`.
struct LendingWeb: HTTPModule {
    var application: any ApplicationModule { LendingModule() }

    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.post("/lending/books/:book_id/lend") { request, context in
            var fields = try await JSONBody.object(of: request, context: context)
            fields["book_id"] = .string(context.parameters.get("book_id") ?? "")
            return try await runtime.bus.respond(to: LendBook.self, fields: fields)
        }
        routes.get("/lending/loans") { request, _ in
            // Read your writes: `?after=<position>` waits until the read model has taken that event in.
            JSONBody.response(.ok, try await runtime.rows(Loans.all, for: request))
        }
    }
}
