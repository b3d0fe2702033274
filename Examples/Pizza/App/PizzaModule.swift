import Chronicle
import ChronicleRuntime
import Foundation
import PizzaDomain

/// The pizza-order pipeline as a module: the order request is the first fact (stored before anything
/// checks it); the kitchen process validates it and drives it through assembly, baking and delivery;
/// the courier reactor hands each order out for delivery to the courier exactly once.
///
/// Commands on the bus: `PlacePizzaOrder {order_id, customer_id, sauce, cheese, main_topping,
/// extra_toppings}` (exposed; `POST /pizza/orders` makes the order id itself) and the kitchen's own
/// `ValidatePizzaOrder`, `StartPizzaAssembly`, `StartPizzaBaking`, `SendPizzaOutForDelivery`,
/// `ConfirmPizzaDelivery` (internal).
public struct PizzaModule: ApplicationModule {
    public let name = "pizza"
    /// The menu orders are validated against.
    public let menu: Menu
    /// How long each kitchen and delivery step takes.
    public let step: Duration
    /// Where messages to the courier go (one per order out for delivery, never two).
    public let courier: any MailSink

    public init(menu: Menu = .standard, step: Duration = .seconds(3), courier: any MailSink) {
        self.menu = menu
        self.step = step
        self.courier = courier
    }

    public var readModels: [any SQLReadModel] { [PizzaOrders()] }
    public var processManagers: [any ProcessManager] { [KitchenProcess(step: step)] }
    public func reactors(_ context: ModuleContext) -> [any Reactor] { [CourierDispatch(courier: courier)] }

    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let orders = CommandHandler<PizzaOrder, PizzaEventCodec>(store: runtime.store, codec: PizzaEventCodec())
        try bus.register("PlacePizzaOrder", creates: true, handler: orders) { body throws(CommandBusError) in
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
                throw .malformed(type: "PlacePizzaOrder", reason: "the body must be a JSON object")
            }
            guard case .string(let id)? = fields["order_id"], let order = UUID(text: id) else {
                throw .malformed(type: "PlacePizzaOrder", reason: "order_id must be a UUID")
            }
            let request: OrderRequest
            do throws(OrderShapeError) { request = try Self.request(fields) } catch { throw .malformed(type: "PlacePizzaOrder", reason: error.description) }
            guard let stream = try? Self.stream(order.lowercasedString) else { throw .malformed(type: "PlacePizzaOrder", reason: "order_id cannot name a stream") }
            return (.request(request), stream)
        }
        let menu = self.menu
        let steps: [(String, PizzaOrder.Command)] = [
            ("ValidatePizzaOrder", .validate(menu)), ("StartPizzaAssembly", .startAssembly), ("StartPizzaBaking", .startBaking),
            ("SendPizzaOutForDelivery", .sendOutForDelivery), ("ConfirmPizzaDelivery", .confirmDelivery),
        ]
        for (type, command) in steps {
            try bus.register(type, exposed: false, handler: orders) { body throws(CommandBusError) in
                guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: body), case .string(let id)? = fields["order_id"],
                    let stream = try? Self.stream(id)
                else { throw .malformed(type: type, reason: "order_id is missing") }
                return (command, stream)
            }
        }
    }

    /// The stream of the order `id`.
    public static func stream(_ id: String) throws -> StreamName {
        try StreamName(category: PizzaOrder.category, id: id)
    }

    /// Reads an order request to the letter of the contract: `customer_id`, `sauce`, `cheese` and
    /// `main_topping` strings and `extra_toppings` an array of strings; the customer id 1 to 64 letters,
    /// digits, `_ - .`. Anything else is not an order at all.
    public static func request(_ fields: [String: JSONValue]) throws(OrderShapeError) -> OrderRequest {
        func string(_ key: String) throws(OrderShapeError) -> String {
            guard case .string(let value)? = fields[key] else { throw OrderShapeError(description: "\(key) must be a string") }
            guard value.count <= 200 else { throw OrderShapeError(description: "\(key) is longer than 200 characters") }
            return value
        }
        guard case .array(let extras)? = fields["extra_toppings"] else { throw OrderShapeError(description: "extra_toppings must be an array of strings") }
        var toppings: [String] = []
        for extra in extras {
            guard case .string(let topping) = extra, topping.count <= 200 else {
                throw OrderShapeError(description: "extra_toppings must be an array of strings")
            }
            toppings.append(topping)
        }
        guard toppings.count <= 100 else { throw OrderShapeError(description: "extra_toppings holds more than 100 items") }
        let customer = try string("customer_id")
        guard CustomerId.isValid(customer) else { throw OrderShapeError(description: "customer_id must be 1 to 64 letters, digits, _, - or .") }
        return OrderRequest(
            customerId: customer, sauce: try string("sauce"), cheese: try string("cheese"), mainTopping: try string("main_topping"),
            extraToppings: toppings)
    }
}

/// A body that is not an order request at all.
public struct OrderShapeError: Error, CustomStringConvertible {
    public let description: String
}

/// Customer ids: how a customer is identified (not authenticated).
public enum CustomerId {
    /// 1 to 64 letters, digits, `_`, `-`, `.`.
    public static func isValid(_ id: String) -> Bool {
        id.isShortIdentifier
    }
}

/// Tells the courier about each order out for delivery: a message whose id is derived from the event,
/// sent through a file the courier reads (``FileMailbox``), which keeps each id once — a restart between
/// sending and the checkpoint sends nothing twice.
public struct CourierDispatch: Reactor {
    public let name = "pizza_courier"
    public let courier: any MailSink
    private let codec = PizzaEventCodec()

    public init(courier: any MailSink) {
        self.courier = courier
    }

    public func react(to event: RecordedEvent) async throws {
        guard event.stream.category == PizzaOrder.category, event.type == "OrderOutForDelivery" else { return }
        _ = try await courier.deliver(
            Mail(id: event.id, to: "courier", subject: "Deliver pizza order \(event.stream.id)", body: "Order \(event.stream.id) is ready: out for delivery."))
    }
}

/// Every order, for its customer (newest first) and for the kitchen (the queue, oldest first).
public struct PizzaOrders: SQLReadModel {
    public let name = "pizza_orders"
    private let codec = PizzaEventCodec()

    public init() {}

    public var createStatements: [SQLStatement] {
        [
            SQLStatement("""
                CREATE TABLE IF NOT EXISTS pizza_orders (
                    order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL, reasons TEXT, request TEXT NOT NULL,
                    requested_position BIGINT NOT NULL, updated_position BIGINT NOT NULL)
                """),
            SQLStatement("CREATE INDEX IF NOT EXISTS pizza_orders_customer ON pizza_orders (customer_id, requested_position)"),
        ]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS pizza_orders")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == PizzaOrder.category else { return [] }
        let id = SQLValue.text(event.stream.id)
        let position = SQLValue.integer(event.position.rawValue)
        func status(_ status: PizzaOrder.Status, reasons: [String]? = nil) throws -> [SQLStatement] {
            let text = try reasons.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            return [SQLStatement(
                "UPDATE pizza_orders SET status = ?, reasons = COALESCE(?, reasons), updated_position = ? WHERE order_id = ?",
                [.text(status.rawValue), .text(text), position, id])]
        }
        switch try codec.decode(event) {
        case .requested(let request):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return [SQLStatement(
                """
                INSERT INTO pizza_orders (order_id, customer_id, status, reasons, request, requested_position, updated_position)
                VALUES (?, ?, 'requested', NULL, ?, ?, ?)
                """, [id, .text(request.customerId), .text(String(decoding: try encoder.encode(request), as: UTF8.self)), position, position])]
        case .validated: return try status(.validated)
        case .rejected(let reasons): return try status(.rejected, reasons: reasons)
        case .assemblyStarted: return try status(.assembling)
        case .bakingStarted: return try status(.baking)
        case .outForDelivery: return try status(.outForDelivery)
        case .delivered: return try status(.delivered)
        }
    }

    /// A customer's orders, newest first.
    public static func orders(of customer: String) -> SQLStatement {
        SQLStatement(
            "SELECT order_id, status, reasons, request, requested_position FROM pizza_orders WHERE customer_id = ? ORDER BY requested_position DESC LIMIT 200",
            [.text(customer)])
    }

    /// One order of one customer.
    public static func order(_ order: String, of customer: String) -> SQLStatement {
        SQLStatement(
            "SELECT order_id, status, reasons, request, requested_position FROM pizza_orders WHERE customer_id = ? AND order_id = ?",
            [.text(customer), .text(order)])
    }

    /// The kitchen's queue: orders validated and not yet out of the door, oldest first.
    public static let kitchenQueue = SQLStatement(
        """
        SELECT order_id, status, reasons, request, requested_position FROM pizza_orders
        WHERE status IN ('validated', 'assembling', 'baking') ORDER BY requested_position LIMIT 200
        """)
}
