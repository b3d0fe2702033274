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
        try bus.register(AddCartItem.self, handler: carts) { command throws(CommandBusError) in
            (.add(product: command.productId, quantity: command.quantity), try Cart.stream(command.cartId, for: AddCartItem.self))
        }
        try bus.register(RemoveCartItem.self, handler: carts) { command throws(CommandBusError) in
            (.remove(product: command.productId), try Cart.stream(command.cartId, for: RemoveCartItem.self))
        }
        try bus.register(CheckOutCart.self, handler: carts) { command throws(CommandBusError) in
            (.checkOut, try Cart.stream(command.cartId, for: CheckOutCart.self))
        }
    }
}

/// The warehouse: checked-out carts with their final lines, to ship.
public struct WarehouseOrders: SQLReadModel {
    public let name = "cart_warehouse_orders"
    private let codec = CartEventCodec()
    public init() {}

    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS cart_warehouse_orders (cart_id TEXT PRIMARY KEY, lines TEXT NOT NULL, position BIGINT NOT NULL)")]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS cart_warehouse_orders")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Cart.category, event.type == "CartCheckedOut", case .checkedOut(let lines) = try codec.decode(event) else { return [] }
        let text = String(decoding: try JSONEncoder().encode(lines), as: UTF8.self)
        return [
            SQLStatement(
                "INSERT INTO cart_warehouse_orders (cart_id, lines, position) VALUES (?, ?, ?)",
                [.text(event.stream.id), .text(text), .integer(event.position.rawValue)])
        ]
    }

    public static let query = SQLStatement("SELECT cart_id, lines FROM cart_warehouse_orders ORDER BY position LIMIT 1000")
}

/// Marketing: what customers took out of their carts before checking out, by product, with how many
/// times each was removed.
public struct RemovedItems: SQLReadModel {
    public let name = "cart_marketing_removed_items"
    public init() {}

    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS cart_marketing_removed_items (product_id TEXT PRIMARY KEY, removals BIGINT NOT NULL)")]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS cart_marketing_removed_items")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Cart.category, event.type == "CartItemRemoved",
            case .itemRemoved(let product, _) = try CartEventCodec().decode(event)
        else { return [] }
        return [
            SQLStatement(
                """
                INSERT INTO cart_marketing_removed_items (product_id, removals) VALUES (?, 1)
                ON CONFLICT (product_id) DO UPDATE SET removals = cart_marketing_removed_items.removals + 1
                """, [.text(product)])
        ]
    }

    public static let query = SQLStatement("SELECT product_id, removals FROM cart_marketing_removed_items ORDER BY removals DESC, product_id LIMIT 1000")
}
