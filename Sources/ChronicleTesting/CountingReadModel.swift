import Chronicle

/// A read model for backend tests: counts events per type in a table named after the projection, and
/// throws at events of the type `failOn` (a poison event).
public struct CountingReadModel: SQLReadModel {
    public let name: String
    /// The event type the model cannot apply; nil: none.
    public let failOn: String?

    /// A model named (and storing its table as) `name`, failing on `failOn`.
    public init(name: String = "type_counts", failOn: String? = nil) {
        self.name = name
        self.failOn = failOn
    }

    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS \(name) (type TEXT PRIMARY KEY, count INTEGER NOT NULL)")]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS \(name)")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        if event.type == failOn { throw CodecError.unknownType(event.type) }
        return [
            SQLStatement(
                "INSERT INTO \(name) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET count = \(name).count + 1",
                [.text(event.type)])
        ]
    }

    /// The statement that reads the counts back.
    public var query: SQLStatement { SQLStatement("SELECT type, count FROM \(name) ORDER BY type") }

    /// The counts as `rows` (from ``query``) hold them.
    public static func counts(_ rows: [SQLRow]) -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in rows { if let type = row["type"]?.text, let count = row["count"]?.integer { counts[type] = count } }
        return counts
    }
}
