import Chronicle
import Foundation
import TodoDomain

/// One todo as the read models show it (a row of ``TodoReadModel/query``).
public struct TodoItem: Decodable, Hashable, Sendable {
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
    /// `outstanding` or `completed`.
    public var status: String

    /// Whether the todo is completed (the board shows completed-not-cleared todos too).
    public var completed: Bool { status == "completed" }

    enum CodingKeys: String, CodingKey {
        case todoId = "todo_id", title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email", status
        case completedOn = "completed_on"
    }
}

/// The Todo read models. Each is its own projection with its own table and checkpoint, so each can
/// lag, fault and be rebuilt alone; each is SQL that SQLite and PostgreSQL both run:
///
/// - `outstanding_todos`: outstanding todos in move-up order.
/// - `scheduled_todos`: outstanding todos with a due date, by due date.
/// - `completed_todos`: every completed todo (cleared ones too), with `completed_on`.
/// - `todo_board`: TodoMVC's board, outstanding and completed-not-cleared todos in board order.
///
/// All four keep a row per live todo (abandoned ones are deleted) because a reopen brings a todo back
/// with the details only earlier events carried; they differ in what their query selects.
public struct TodoReadModel: CategoryReadModel {
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
    private let decoding: SharedDecoding<TodoEventCodec>

    /// The read model for `list`; read models that share `decoding` decode each event once between them.
    public init(_ list: List, decoding: SharedDecoding<TodoEventCodec> = SharedDecoding(TodoEventCodec())) {
        self.list = list
        self.decoding = decoding
    }

    public var name: String { list.name }
    public var category: String { Todo.category.name }

    public func decode(_ recorded: RecordedEvent) throws -> Todo.Event { try decoding.decode(recorded) }

    public var tables: [SQLTable] {
        [
            SQLTable(
                name,
                """
                todo_id TEXT PRIMARY KEY, title TEXT, description TEXT, due_date TEXT, stakeholder_email TEXT, status TEXT NOT NULL,
                completed_on TEXT, cleared BIGINT NOT NULL DEFAULT 0, sort_key BIGINT NOT NULL
                """)
        ]
    }

    public func statements(for event: Todo.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        let id = SQLValue.text(recorded.stream.id)
        switch event {
        case .added(let d):
            return [
                SQLStatement(
                    """
                    INSERT INTO \(name) (todo_id, title, description, due_date, stakeholder_email, status, sort_key)
                    VALUES (?, ?, ?, ?, ?, 'outstanding', ?)
                    """,
                    [id, .text(d.title), .text(d.description), .text(d.dueDate), .text(d.stakeholderEmail), .integer(recorded.position.rawValue)])
            ]
        case .amended(let a):
            return [("title", a.title), ("description", a.description), ("due_date", a.dueDate), ("stakeholder_email", a.stakeholderEmail)]
                .compactMap { column, patch in
                    switch patch {
                    case .unchanged: nil
                    case .cleared: SQLStatement("UPDATE \(name) SET \(column) = NULL WHERE todo_id = ?", [id])
                    case .set(let v): SQLStatement("UPDATE \(name) SET \(column) = ? WHERE todo_id = ?", [.text(v), id])
                    }
                }
        case .completed(let on):
            return [SQLStatement("UPDATE \(name) SET status = 'completed', completed_on = ? WHERE todo_id = ?", [.text(on), id])]
        case .abandoned:
            return [SQLStatement("DELETE FROM \(name) WHERE todo_id = ?", [id])]
        case .reopened:
            return [SQLStatement("UPDATE \(name) SET status = 'outstanding', completed_on = NULL WHERE todo_id = ?", [id])]
        case .cleared:
            return [SQLStatement("UPDATE \(name) SET cleared = 1 WHERE todo_id = ?", [id])]
        case .movedUp:
            // Swaps the todo's place with the nearest outstanding todo above it (none: it is first).
            // Each of the pair becomes (sum of both keys - its own key); the sum is read before any write.
            return [
                SQLStatement(
                    """
                    WITH above AS (
                        SELECT todo_id FROM \(name)
                        WHERE status = 'outstanding' AND sort_key < (SELECT sort_key FROM \(name) WHERE todo_id = ?)
                        ORDER BY sort_key DESC LIMIT 1),
                    pair AS (SELECT todo_id, sort_key FROM \(name) WHERE todo_id = ? OR todo_id IN (SELECT todo_id FROM above))
                    UPDATE \(name) SET sort_key = (SELECT SUM(sort_key) FROM pair) - sort_key
                    WHERE (SELECT COUNT(*) FROM pair) = 2 AND todo_id IN (SELECT todo_id FROM pair)
                    """, [id, id])
            ]
        case .stakeholderNotifiedOfCompletion:
            return []
        }
    }

    /// The query of the list.
    public var query: ReadModelQuery<Self, TodoItem> {
        ReadModelQuery(
            """
            SELECT todo_id, title, description, due_date, stakeholder_email, status, completed_on
            FROM \(name) \(list.filterAndOrder)
            """, readModel: name)
    }
}
