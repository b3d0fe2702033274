import Chronicle
import ChronicleSQLite
import Foundation
import GRDB
import TodoDomain

/// One todo as the read models show it.
public struct TodoItem: Codable, Hashable, Sendable {
    /// The todo's id, lowercase.
    public var todoId: String
    /// Its title.
    public var title: String?
    /// Its description, if any.
    public var description: String?
    /// Its due date `YYYY-MM-DD`, if any.
    public var dueDate: String?
    /// Who is mailed when it is completed, if anyone.
    public var stakeholderEmail: String?
    /// Set for completed todos.
    public var completedOn: String?
    /// Whether the todo is completed (the board shows completed-not-cleared todos too).
    public var completed: Bool
}

/// The Todo read models. Each is its own projection with its own table and checkpoint in the SQLite
/// file, so each can lag, fault and be rebuilt alone:
///
/// - `outstanding_todos`: outstanding todos in move-up order.
/// - `scheduled_todos`: outstanding todos with a due date, by due date.
/// - `completed_todos`: every completed todo (cleared ones too), with `completed_on`.
/// - `todo_board`: TodoMVC's board, outstanding and completed-not-cleared todos in board order.
///
/// All four keep a row per live todo (abandoned ones are deleted) because a reopen brings a todo back
/// with the details only earlier events carried; they differ in what their query selects.
public struct TodoReadModel: SQLiteReadModel {
    /// Which list a read model serves.
    public enum List: String, CaseIterable, Sendable {
        case outstanding, scheduled, completed, board

        /// The projection's (and its table's) name.
        public var name: String {
            switch self {
            case .outstanding: "outstanding_todos"
            case .scheduled: "scheduled_todos"
            case .completed: "completed_todos"
            case .board: "todo_board"
            }
        }

        var filterAndOrder: String {
            switch self {
            case .outstanding: "WHERE status = 'outstanding' ORDER BY sort_key"
            case .scheduled: "WHERE status = 'outstanding' AND due_date IS NOT NULL ORDER BY due_date, sort_key"
            case .completed: "WHERE status = 'completed' ORDER BY completed_on, sort_key"
            case .board: "WHERE status = 'outstanding' OR cleared = 0 ORDER BY sort_key"
            }
        }
    }

    /// The list this read model serves.
    public let list: List
    private let codec = TodoEventCodec()

    /// The read model for `list`.
    public init(_ list: List) { self.list = list }

    public var name: String { list.name }

    public func createTables(_ db: Database) throws {
        // NOTE: read-model tables are rebuilt from the log, so their shape may change freely.
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS \(name) (
                    todo_id TEXT PRIMARY KEY,
                    title TEXT, description TEXT, due_date TEXT, stakeholder_email TEXT,
                    status TEXT NOT NULL,
                    completed_on TEXT,
                    cleared INTEGER NOT NULL DEFAULT 0,
                    sort_key INTEGER NOT NULL
                )
                """)
    }

    public func dropTables(_ db: Database) throws {
        try db.execute(sql: "DROP TABLE IF EXISTS \(name)")
    }

    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        guard event.stream.category == Todo.category.name else { return }
        let id = event.stream.id
        switch try codec.decode(event) {
        case .added(let d):
            try db.execute(
                sql: """
                    INSERT INTO \(name) (todo_id, title, description, due_date, stakeholder_email, status, sort_key)
                    VALUES (?, ?, ?, ?, ?, 'outstanding', ?)
                    """,
                arguments: [id, d.title, d.description, d.dueDate, d.stakeholderEmail, event.position.rawValue])
        case .amended(let a):
            for (column, patch) in [
                ("title", a.title), ("description", a.description), ("due_date", a.dueDate),
                ("stakeholder_email", a.stakeholderEmail),
            ] {
                switch patch {
                case .unchanged: continue
                case .cleared: try db.execute(sql: "UPDATE \(name) SET \(column) = NULL WHERE todo_id = ?", arguments: [id])
                case .set(let v): try db.execute(sql: "UPDATE \(name) SET \(column) = ? WHERE todo_id = ?", arguments: [v, id])
                }
            }
        case .completed(let on):
            try db.execute(sql: "UPDATE \(name) SET status = 'completed', completed_on = ? WHERE todo_id = ?", arguments: [on, id])
        case .abandoned:
            try db.execute(sql: "DELETE FROM \(name) WHERE todo_id = ?", arguments: [id])
        case .reopened:
            try db.execute(sql: "UPDATE \(name) SET status = 'outstanding', completed_on = NULL WHERE todo_id = ?", arguments: [id])
        case .cleared:
            try db.execute(sql: "UPDATE \(name) SET cleared = 1 WHERE todo_id = ?", arguments: [id])
        case .movedUp:
            try moveUp(id, db)
        case .stakeholderNotifiedOfCompletion:
            break
        }
    }

    /// Swaps the todo's place with the nearest outstanding todo above it (none: it is already first).
    private func moveUp(_ id: String, _ db: Database) throws {
        guard let key = try Int64.fetchOne(db, sql: "SELECT sort_key FROM \(name) WHERE todo_id = ?", arguments: [id]),
            let above = try Row.fetchOne(
                db,
                sql: "SELECT todo_id, sort_key FROM \(name) WHERE status = 'outstanding' AND sort_key < ? ORDER BY sort_key DESC LIMIT 1",
                arguments: [key])
        else { return }
        let aboveId: String = above["todo_id"]
        let aboveKey: Int64 = above["sort_key"]
        // sort_key is not unique, so two plain updates swap it safely.
        try db.execute(sql: "UPDATE \(name) SET sort_key = ? WHERE todo_id = ?", arguments: [aboveKey, id])
        try db.execute(sql: "UPDATE \(name) SET sort_key = ? WHERE todo_id = ?", arguments: [key, aboveId])
    }

    /// The list's todos, read from its table.
    public func query(_ db: Database) throws -> [TodoItem] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT todo_id, title, description, due_date, stakeholder_email, status, completed_on
                FROM \(name) \(list.filterAndOrder)
                """
        ).map { row in
            TodoItem(
                todoId: row["todo_id"], title: row["title"], description: row["description"], dueDate: row["due_date"],
                stakeholderEmail: row["stakeholder_email"], completedOn: row["completed_on"],
                completed: (row["status"] as String) == "completed")
        }
    }
}
