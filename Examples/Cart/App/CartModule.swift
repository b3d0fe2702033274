import CartDomain
import Chronicle
import ChronicleRuntime
import Foundation

/// The shopping cart as a module. One log, two departments' read models: the warehouse's orders to
/// ship and marketing's removed items. `marketing: false` leaves marketing's read model out — add it
/// later, and it is built from the whole history, removals made before it existed included.
///
/// Commands on the bus (all exposed): `AddCartItem {cart_id, product_id, quantity}`,
/// `RemoveCartItem {cart_id, product_id}`, `CheckOutCart {cart_id}`.
public struct CartModule: ApplicationModule {
    public let name = "cart"
    /// Whether marketing's read model runs.
    public let marketing: Bool

    public init(marketing: Bool = true) {
        self.marketing = marketing
    }

    public var readModels: [any SQLReadModel] { marketing ? [WarehouseOrders(), RemovedItems()] : [WarehouseOrders()] }

    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let carts = CommandHandler<Cart, CartEventCodec>(store: runtime.store, codec: CartEventCodec(), snapshots: runtime.snapshots)
        try bus.register(AddCartItem.self, handler: carts) { (.add(product: $0.productId, quantity: $0.quantity), try Cart.stream($0.cartId)) }
        try bus.register(RemoveCartItem.self, handler: carts) { (.remove(product: $0.productId), try Cart.stream($0.cartId)) }
        try bus.register(CheckOutCart.self, handler: carts) { (.checkOut, try Cart.stream($0.cartId)) }
    }
}

/// The warehouse: checked-out carts with their final lines, to ship.
public struct WarehouseOrders: CategoryReadModel {
    public let name = "cart_warehouse_orders"
    public let category = Cart.category
    public init() {}

    public let tables = [SQLTable("cart_warehouse_orders", "cart_id TEXT PRIMARY KEY, lines TEXT NOT NULL, position BIGINT NOT NULL")]

    public func statements(for event: Cart.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        guard case .checkedOut(let lines) = event else { return [] }
        let text = String(decoding: try JSONEncoder().encode(lines), as: UTF8.self)
        return [
            SQLStatement(
                "INSERT INTO cart_warehouse_orders (cart_id, lines, position) VALUES (?, ?, ?)",
                [.text(recorded.stream.id), .text(text), .integer(recorded.position.rawValue)])
        ]
    }

    /// An order to ship: `{"cart_id", "lines": [{"product_id", "quantity"}]}`.
    public struct Order: Codable, Sendable {
        public let cartId: String
        public let lines: JSONColumn<[Cart.Line]>
        enum CodingKeys: String, CodingKey { case cartId = "cart_id", lines }
    }

    public static let query = ReadModelQuery<Self, Order>("SELECT cart_id, lines FROM cart_warehouse_orders ORDER BY position LIMIT 1000")
}

/// Marketing: what customers took out of their carts before checking out, by product, with how many
/// times each was removed.
public struct RemovedItems: CategoryReadModel {
    public let name = "cart_marketing_removed_items"
    public let category = Cart.category
    public init() {}

    public let tables = [SQLTable("cart_marketing_removed_items", "product_id TEXT PRIMARY KEY, removals BIGINT NOT NULL")]

    public func statements(for event: Cart.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        guard case .itemRemoved(let product, _) = event else { return [] }
        return [
            SQLStatement(
                """
                INSERT INTO cart_marketing_removed_items (product_id, removals) VALUES (?, 1)
                ON CONFLICT (product_id) DO UPDATE SET removals = cart_marketing_removed_items.removals + 1
                """, [.text(product)])
        ]
    }

    /// A product taken out of carts: `{"product_id", "count"}`.
    public struct Item: Codable, Sendable {
        public let productId: String
        public let count: Int64
        enum CodingKeys: String, CodingKey { case productId = "product_id", count }
    }

    public static let query = ReadModelQuery<Self, Item>(
        "SELECT product_id, removals AS count FROM cart_marketing_removed_items ORDER BY removals DESC, product_id LIMIT 1000")
}
