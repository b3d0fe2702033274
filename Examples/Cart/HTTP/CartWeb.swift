import CartApp
import CartDomain
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Hummingbird

/// The cart's web side, under `/cart`:
/// - `POST /cart/:cart_id/items` `{product_id, quantity}`, `DELETE /cart/:cart_id/items/:product_id`,
///   `POST /cart/:cart_id/checkout` → 200 `{"position", "events", "stream_version"}` when accepted,
///   422 `{"error"}` when refused (an empty cart checking out, a checked-out cart changed);
/// - `GET /cart/warehouse/orders` → `[{"cart_id", "lines": [{"product_id", "quantity"}]}]`;
/// - `GET /cart/marketing/removed-items` → `[{"product_id", "count"}]` (404 while marketing's read model
///   is not running);
/// both with `?after=<position>`; and the page at `/cart/` with both departments side by side.
public struct CartWeb: HTTPModule {
    public let cart: CartModule

    public init(_ cart: CartModule = CartModule()) {
        self.cart = cart
    }

    public var application: any ApplicationModule { cart }

    public var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/cart") }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.post("/cart/:cart_id/items") { request, context in
            var fields = try await JSONBody.object(of: request, context: context)
            fields["cart_id"] = .string(context.parameters.get("cart_id") ?? "")
            return try await runtime.bus.respond(to: AddCartItem.self, fields: fields)
        }
        routes.delete("/cart/:cart_id/items/:product_id") { _, context in
            let fields: [String: JSONValue] = [
                "cart_id": .string(context.parameters.get("cart_id") ?? ""), "product_id": .string(context.parameters.get("product_id") ?? ""),
            ]
            return try await runtime.bus.respond(to: RemoveCartItem.self, fields: fields)
        }
        routes.post("/cart/:cart_id/checkout") { _, context in
            try await runtime.bus.respond(to: CheckOutCart.self, fields: ["cart_id": .string(context.parameters.get("cart_id") ?? "")])
        }
        routes.get("/cart/warehouse/orders") { request, _ in
            JSONBody.response(.ok, try await runtime.rows(WarehouseOrders.query, for: request))
        }
        routes.get("/cart/marketing/removed-items") { request, _ in
            guard runtime.subscription(named: "cart_marketing_removed_items") != nil else {
                return JSONBody.error(.notFound, "marketing's read model is not running")
            }
            return JSONBody.response(.ok, try await runtime.rows(RemovedItems.query, for: request))
        }
    }
}
