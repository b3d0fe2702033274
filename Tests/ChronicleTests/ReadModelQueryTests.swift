import Chronicle
import Foundation
import Testing

/// Rows decode into `Decodable` types: a column that is missing or of another kind is an error naming
/// it, never a silent default.
@Suite struct ReadModelQueryTests {
    struct Item: Decodable, Equatable {
        let id: String
        let count: Int64
        let note: String?
        let price: Decimal
        let at: SQLTimestamp
        let done: Bool
        let tags: JSONColumn<[String]>

        static func == (lhs: Item, rhs: Item) -> Bool {
            lhs.id == rhs.id && lhs.count == rhs.count && lhs.note == rhs.note && lhs.price == rhs.price && lhs.at == rhs.at
                && lhs.done == rhs.done && lhs.tags.value == rhs.tags.value
        }
    }

    let row: SQLRow = [
        "id": .text("a"), "count": .integer(3), "note": .null, "price": .decimal(Decimal(string: "12.50") ?? 0),
        "at": .timestamp(SQLTimestamp(microsecondsSince1970: 1_000_000)), "done": .bool(true), "tags": .text(#"["x","y"]"#),
    ]

    @Test func aRowDecodesColumnByColumn() throws {
        let item = try SQLRowDecoding.decode(Item.self, from: row)
        #expect(item.id == "a" && item.count == 3 && item.note == nil && item.price == Decimal(string: "12.50") && item.done)
        #expect(item.at == SQLTimestamp(microsecondsSince1970: 1_000_000) && item.tags.value == ["x", "y"])
    }

    @Test func aMissingColumnIsAnErrorEvenForAnOptionalField() {
        for column in ["id", "note"] {
            var missing = row
            missing[column] = nil
            #expect(throws: SQLRowError.self, "\(column)") { try SQLRowDecoding.decode(Item.self, from: missing) }
            do {
                _ = try SQLRowDecoding.decode(Item.self, from: missing)
            } catch let error as SQLRowError {
                #expect(error.column == column, "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func aMistypedColumnIsAnError() {
        let mistyped: [(String, SQLValue)] = [
            ("id", .integer(1)), ("count", .text("3")), ("note", .integer(1)), ("price", .double(12.5)), ("at", .text("2026-12-06T00:00:00Z")),
            ("done", .integer(1)), ("tags", .text("not json")), ("count", .null),
        ]
        for (column, value) in mistyped {
            var wrong = row
            wrong[column] = value
            #expect(throws: SQLRowError.self, "\(column) = \(value)") { try SQLRowDecoding.decode(Item.self, from: wrong) }
        }
    }
}
