import Chronicle
import ChronicleHTTPTesting
import ChroniclePostgres
import ChronicleRuntime
import ChronicleTesting
import Foundation
import PizzaApp
import PizzaHTTP
import Testing

@Suite struct PizzaAPITests {
    static let order = #"{"customer_id": "ann", "sauce": "tomato", "cheese": "mozzarella", "main_topping": "margherita", "extra_toppings": ["basil"]}"#

    /// The whole pipeline over HTTP, instant steps, on `backend`.
    static func pipeline(on backend: ChronicleRuntime.Backend, directory: TemporaryDirectory) async throws {
        let courier = directory.path("courier")
        let pizza = PizzaWeb(PizzaModule(step: .zero, courier: try FileMailbox(path: courier, today: { "2026-11-30" })))
        try await TestServer(modules: [pizza], backend: backend, directory: directory).run { client in
            let menu = try await client.get("/pizza/menu")
            #expect(menu["sauces"]?.arrayValue?.contains("tomato") == true && menu["extra_toppings"]?.arrayValue?.isEmpty == false, "\(menu)")

            let placed = try await client.send(.post, "/pizza/orders", json: order)
            #expect(placed.status == 202, "\(placed)")
            let id = try #require(placed["order_id"]?.stringValue)
            // Stored first: the request is readable at its position at once.
            let first = try await client.get("/pizza/customers/ann/orders/\(id)?after=\(placed.position)")
            #expect(first.status == 200 && first["sauce"] == "tomato", "\(first)")
            try await eventually("the order is delivered") {
                try await client.get("/pizza/customers/ann/orders/\(id)")["status"] == "delivered"
            }
            // Rejected by validation, yet stored first: 202, then rejected with the reasons.
            let odd = try await client.send(
                .post, "/pizza/orders", json: #"{"customer_id": "ann", "sauce": "ketchup", "cheese": "", "main_topping": "", "extra_toppings": []}"#)
            #expect(odd.status == 202, "\(odd)")
            let oddId = try #require(odd["order_id"]?.stringValue)
            try await eventually("the odd order is rejected") {
                try await client.get("/pizza/customers/ann/orders/\(oddId)")["status"] == "rejected"
            }
            #expect(try await client.get("/pizza/customers/ann/orders/\(oddId)")["reasons"] == .array(["unknown sauce: ketchup"]))
            // Newest first; another customer sees none of them.
            let mine = try await client.get("/pizza/customers/ann/orders")
            #expect(mine.array.map { $0["order_id"] } == [.string(oddId), .string(id)], "\(mine)")
            #expect(try await client.get("/pizza/customers/bob/orders").array.isEmpty)
            #expect(try await client.get("/pizza/customers/bob/orders/\(id)").status == 404)
            // Not an order at all: 400, nothing stored.
            let head = try await client.get("/log?limit=1000")["events"]?.arrayValue?.count
            #expect((head ?? 0) > 0)
            for bad in [
                "[]", #"{"customer_id": "ann"}"#, #"{"customer_id": 7, "sauce": "", "cheese": "", "main_topping": "", "extra_toppings": []}"#,
                #"{"customer_id": "ann", "sauce": "", "cheese": "", "main_topping": "", "extra_toppings": "olives"}"#,
                #"{"customer_id": "a b", "sauce": "", "cheese": "", "main_topping": "", "extra_toppings": []}"#,
            ] {
                let answer = try await client.send(.post, "/pizza/orders", json: bad)
                #expect(answer.status == 400 && answer.error != nil, "\(bad): \(answer)")
            }
            #expect(try await client.get("/log?limit=1000")["events"]?.arrayValue?.count == head)
            // The kitchen's own commands are not reachable from outside.
            #expect(try await client.send(.post, "/commands/ConfirmPizzaDelivery", json: #"{"order_id": "\#(id)"}"#).status == 404)
        }
        // One message to the courier, for the one order that went out.
        let messages = try FileMailbox.read(path: courier)
        #expect(messages.count == 1 && messages.first?.mail.subject.hasPrefix("Deliver pizza order") == true, "\(messages)")
    }

    @Test func theOrderGoesFromRequestToDoorOnSQLite() async throws {
        let directory = try TemporaryDirectory()
        try await Self.pipeline(on: .sqlite(path: directory.path("pizza.sqlite")), directory: directory)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil || ProcessInfo.processInfo.environment["CI"] == "true"))
    func theOrderGoesFromRequestToDoorOnPostgreSQL() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["DATABASE_URL"], "DATABASE_URL is not set: run scripts/test")
        try await PostgresDatabase.withTemporarySchema(url: url) { database, _ in
            try await Self.pipeline(on: .postgres(database), directory: try TemporaryDirectory())
        }
    }
}
