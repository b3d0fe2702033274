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

@Suite struct PastCheckpointTests {
    @Test func onlyWhatLiesPastTheCheckpointIsAppliedAndTheCheckpointMovesToTheLast() {
        let batch = [3, 4, 5, 6].map { GlobalPosition(rawValue: $0) }
        let fresh = PastCheckpoint(batch, after: .start, position: { $0 })
        #expect(fresh.items == batch && fresh.checkpoint == GlobalPosition(rawValue: 6))
        // Applied up to 4 already (a crash before the checkpoint, or another runner): 5 and 6 only.
        let partly = PastCheckpoint(batch, after: GlobalPosition(rawValue: 4), position: { $0 })
        #expect(partly.items == [5, 6].map { GlobalPosition(rawValue: $0) } && partly.checkpoint == GlobalPosition(rawValue: 6))
        // All of it applied already: nothing, and the checkpoint stays (never moves back).
        let done = PastCheckpoint(batch, after: GlobalPosition(rawValue: 9), position: { $0 })
        #expect(done.items.isEmpty && done.checkpoint == nil)
        #expect(PastCheckpoint([GlobalPosition](), after: .start, position: { $0 }).checkpoint == nil)
    }
}
