import Chronicle
import Testing

@Suite struct SQLTableTests {
    /// A read model that only declares its tables.
    struct Shelves: SQLReadModel {
        let name = "shelves"
        let tables = [
            SQLTable("shelves", "shelf TEXT PRIMARY KEY, books BIGINT NOT NULL", indexes: [.init("shelves_books", on: "books, shelf")]),
            SQLTable("shelf_moves", "shelf TEXT NOT NULL, position BIGINT NOT NULL"),
        ]
        func statements(for event: RecordedEvent) throws -> [SQLStatement] { [] }
    }

    @Test func aReadModelsDDLFollowsFromTheTablesItDeclares() {
        let model: any SQLReadModel = Shelves()
        #expect(
            model.createStatements.map(\.sql) == [
                "CREATE TABLE IF NOT EXISTS shelves (shelf TEXT PRIMARY KEY, books BIGINT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS shelves_books ON shelves (books, shelf)",
                "CREATE TABLE IF NOT EXISTS shelf_moves (shelf TEXT NOT NULL, position BIGINT NOT NULL)",
            ])
        // Dropped the last first.
        #expect(model.dropStatements.map(\.sql) == ["DROP TABLE IF EXISTS shelf_moves", "DROP TABLE IF EXISTS shelves"])
    }
}
