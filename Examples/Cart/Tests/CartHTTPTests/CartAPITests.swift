import CartApp
import CartHTTP
import Chronicle
import ChronicleHTTPTesting
import ChroniclePostgres
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Testing

@Suite struct CartAPITests {
    typealias Client = TestServer.Client

    static func add(_ client: Client, _ cart: String, _ product: String, _ quantity: Int = 1) async throws -> TestServer.Answer {
        try await client.send(.post, "/cart/\(cart)/items", json: #"{"product_id": "\#(product)", "quantity": \#(quantity)}"#)
    }

    /// One log, two departments; marketing's read model added after the carts, built from all of it.
    static func departments(on backend: () throws -> ChronicleRuntime.Backend, directory: TemporaryDirectory) async throws {
        // The shop opens without marketing's read model.
        try await TestServer(modules: [CartWeb(CartModule(marketing: false))], backend: try backend(), directory: directory).run { client in
            #expect(try await add(client, "c1", "socks", 2).status == 200)
            #expect(try await add(client, "c1", "hat").status == 200)
            let removed = try await client.send(.delete, "/cart/c1/items/socks")
            #expect(removed.status == 200 && removed["events"] == .array(["CartItemRemoved"]), "\(removed)")
            #expect(try await client.send(.post, "/cart/c1/checkout", json: "{}").status == 200)
            _ = try await add(client, "c2", "socks")
            _ = try await client.send(.delete, "/cart/c2/items/socks")
            #expect(try await client.get("/cart/marketing/removed-items").status == 404)
            // Refusals: 422 with the reason, and nothing changes.
            let empty = try await client.send(.post, "/cart/c2/checkout", json: "{}")
            #expect(empty.status == 422 && empty.error == "an empty cart cannot check out", "\(empty)")
            let late = try await add(client, "c1", "gloves")
            #expect(late.status == 422 && late.error?.contains("checked out") == true, "\(late)")
            #expect(try await client.send(.delete, "/cart/c2/items/hat").status == 422)
            #expect(try await add(client, "c3", "socks", 0).status == 400)
            #expect(try await client.send(.post, "/cart/c3/items", json: #"{"product_id": "socks"}"#).status == 400)
            #expect(try await client.send(.post, "/cart/a%20b/items", json: #"{"product_id": "socks", "quantity": 1}"#).status == 400)
        }
        // Marketing joins: its read model starts from position 0 and knows the removals made before it.
        try await TestServer(modules: [CartWeb(CartModule(marketing: true))], backend: try backend(), directory: directory).run { client in
            let head = try await client.get("/log?limit=1000")["events"]?.arrayValue?.last?["position"]
            let after = head.flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 0
            let removed = try await client.get("/cart/marketing/removed-items?after=\(after)")
            #expect(removed.array == [.object(["product_id": "socks", "count": .number(2)])], "\(removed)")
            let orders = try await client.get("/cart/warehouse/orders?after=\(after)")
            #expect(orders.array == [.object(["cart_id": "c1", "lines": .array([.object(["product_id": "hat", "quantity": .number(1)])])])], "\(orders)")
        }
    }

    @Test func oneLogServesBothDepartmentsOnSQLite() async throws {
        let directory = try TemporaryDirectory()
        try await Self.departments(on: { .sqlite(path: directory.path("cart.sqlite")) }, directory: directory)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil || ProcessInfo.processInfo.environment["CI"] == "true"))
    func oneLogServesBothDepartmentsOnPostgreSQL() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["DATABASE_URL"], "DATABASE_URL is not set: run scripts/test")
        try await PostgresDatabase.withTemporarySchema(url: url) { database, _ in
            try await Self.departments(on: { .postgres(database) }, directory: try TemporaryDirectory())
        }
    }
}
