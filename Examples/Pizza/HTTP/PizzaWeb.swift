import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Hummingbird
import PizzaApp
import PizzaDomain

/// The pizza pipeline's web side, under `/pizza`:
/// - `GET /pizza/menu` → `{"sauces", "cheeses", "main_toppings", "extra_toppings"}`;
/// - `POST /pizza/orders` `{customer_id, sauce, cheese, main_topping, extra_toppings}` → `202
///   {"order_id", "position"}`: the request is stored as sent, before validation; 400 only for a body
///   that is not an order request at all;
/// - `GET /pizza/customers/:customer_id/orders` → the customer's orders, newest first;
///   `GET /pizza/customers/:customer_id/orders/:order_id` → one, 404 when it is not that customer's;
/// - `GET /pizza/kitchen` → the kitchen's queue, oldest first.
/// Queries take `?after=<position>`. The customer id identifies; it does not authenticate.
public struct PizzaWeb: HTTPModule {
    public let pizza: PizzaModule

    public init(_ pizza: PizzaModule) {
        self.pizza = pizza
    }

    public var application: any ApplicationModule { pizza }

    /// Placing an order on `POST /commands/PlacePizzaOrder` creates it: `201`.
    public var creatingCommands: [any NamedCommand.Type] { [PlacePizzaOrder.self] }

    public var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/pizza") }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        let menu = pizza.menu
        routes.get("/pizza/menu") { _, _ in
            JSONBody.response(.ok, ["sauces": menu.sauces, "cheeses": menu.cheeses, "main_toppings": menu.mainToppings, "extra_toppings": menu.extraToppings])
        }
        routes.post("/pizza/orders") { request, context in
            let fields = try await JSONBody.object(of: request, context: context)
            let order = UUID().lowercasedString
            let place: PlacePizzaOrder
            do throws(OrderShapeError) { place = PlacePizzaOrder(orderId: order, request: try OrderRequest.read(fields)) } catch {
                throw APIError.badRequest(error.description)
            }
            guard case .accepted(_, _, let position?) = try await runtime.bus.send(place) else {
                throw APIError(.conflict, "the order could not be stored")
            }
            return JSONBody.response(.accepted, OrderPlaced(orderId: order, position: position.rawValue))
        }
        routes.get("/pizza/customers/:customer_id/orders") { request, context in
            JSONBody.response(.ok, try await runtime.rows(PizzaOrders.orders(of: context.parameters.get("customer_id") ?? ""), for: request))
        }
        routes.get("/pizza/customers/:customer_id/orders/:order_id") { request, context in
            let customer = context.parameters.get("customer_id") ?? ""
            let order = context.parameters.get("order_id") ?? ""
            // Another customer's order answers as if it did not exist.
            guard let view = try await runtime.rows(PizzaOrders.order(order, of: customer), for: request).first else {
                return JSONBody.error(.notFound, "no order \(order.prefix(64))")
            }
            return JSONBody.response(.ok, view)
        }
        routes.get("/pizza/kitchen") { request, _ in
            JSONBody.response(.ok, try await runtime.rows(PizzaOrders.kitchenQueue, for: request))
        }
    }

    struct OrderPlaced: Encodable {
        let orderId: String
        let position: Int64
        enum CodingKeys: String, CodingKey { case orderId = "order_id", position }
    }
}
