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
        try bus.register("AddCartItem", handler: carts) { body throws(CommandBusError) in
            let fields = try CartFields(body, "AddCartItem")
            return (.add(product: try fields.id("product_id"), quantity: try fields.quantity()), try fields.cart())
        }
        try bus.register("RemoveCartItem", handler: carts) { body throws(CommandBusError) in
            let fields = try CartFields(body, "RemoveCartItem")
            return (.remove(product: try fields.id("product_id")), try fields.cart())
        }
        try bus.register("CheckOutCart", handler: carts) { body throws(CommandBusError) in
            (.checkOut, try CartFields(body, "CheckOutCart").cart())
        }
    }
}

/// A cart command's fields: ids of 1 to 64 letters, digits, `_ - .`; a quantity from 1 to 1,000.
struct CartFields {
    let type: String
    let fields: [String: JSONValue]

    init(_ body: Data, _ type: String) throws(CommandBusError) {
        self.type = type
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw .malformed(type: type, reason: "the body must be a JSON object")
        }
        self.fields = fields
    }

    func id(_ key: String) throws(CommandBusError) -> String {
        guard case .string(let id)? = fields[key], id.isShortIdentifier else { throw .malformed(type: type, reason: "\(key) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }

    func cart() throws(CommandBusError) -> StreamName {
        guard let stream = try? StreamName(category: Cart.category, id: try id("cart_id")) else {
            throw .malformed(type: type, reason: "cart_id must be 1 to 64 letters, digits, _, - or .")
        }
        return stream
    }

    func quantity() throws(CommandBusError) -> Int {
        guard case .number(let n)? = fields["quantity"], n == n.rounded(), (1...1000).contains(n) else {
            throw .malformed(type: type, reason: "quantity must be a whole number from 1 to 1000")
        }
        return Int(n)
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
        return [SQLStatement(
            "INSERT INTO cart_warehouse_orders (cart_id, lines, position) VALUES (?, ?, ?)",
            [.text(event.stream.id), .text(text), .integer(event.position.rawValue)])]
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
        return [SQLStatement(
            """
            INSERT INTO cart_marketing_removed_items (product_id, removals) VALUES (?, 1)
            ON CONFLICT (product_id) DO UPDATE SET removals = cart_marketing_removed_items.removals + 1
            """, [.text(product)])]
    }

    public static let query = SQLStatement("SELECT product_id, removals FROM cart_marketing_removed_items ORDER BY removals DESC, product_id LIMIT 1000")
}
