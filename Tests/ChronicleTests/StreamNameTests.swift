import Chronicle
import Testing

@Suite struct StreamNameTests {
    @Test func parsesCategoryAndIdAtTheFirstDash() throws {
        let name = try StreamName("todo-5f0c8e1a-0000-4000-8000-000000000001")
        #expect(name.category == "todo")
        #expect(name.id == "5f0c8e1a-0000-4000-8000-000000000001")
        #expect(name.description == "todo-5f0c8e1a-0000-4000-8000-000000000001")
    }

    @Test(arguments: [
        "", "todo", "todo-", "-1", "9todo-1", "to do-1", "todo-a b", "todo-'; DROP TABLE events;--",
        "todo-\u{0}", "todo-é", "café-1", String(repeating: "a", count: 65) + "-1",
        "todo-" + String(repeating: "x", count: 129),
    ])
    func refusesHostileOrMalformedNames(_ raw: String) {
        #expect(throws: StreamNameError.self) { try StreamName(raw) }
    }

    @Test func acceptsTheDocumentedCharacterSet() throws {
        let name = try StreamName(category: "Order_2", id: "a.b:c@d-e_F9")
        #expect(name.description == "Order_2-a.b:c@d-e_F9")
        #expect(try StreamName(category: "a", id: String(repeating: "x", count: 128)).id.count == 128)
    }
}
