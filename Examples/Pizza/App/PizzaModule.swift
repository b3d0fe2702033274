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
        try bus.register(PlacePizzaOrder.self, handler: orders) { (.request($0.request), try Self.stream($0.orderId)) }
        // The kitchen's steps, sent by its process only.
        func step<Step: OrderStep>(_ type: Step.Type, _ command: PizzaOrder.Command) throws {
            try bus.register(Step.self, exposed: false, handler: orders) { (command, try Self.stream($0.orderId)) }
        }
        try step(ValidatePizzaOrder.self, .validate(menu))
        try step(StartPizzaAssembly.self, .startAssembly)
        try step(StartPizzaBaking.self, .startBaking)
        try step(SendPizzaOutForDelivery.self, .sendOutForDelivery)
        try step(ConfirmPizzaDelivery.self, .confirmDelivery)
    }

    /// The stream of the order `id`.
    public static func stream(_ id: String) throws -> StreamName {
        try StreamName(category: PizzaOrder.category, id: id)
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
        guard event.stream.category == PizzaOrder.category, event.type == PizzaOrder.Event.CodingKeys.outForDelivery.stringValue else { return }
        _ = try await courier.deliver(
            Mail(id: event.id, to: "courier", subject: "Deliver pizza order \(event.stream.id)", body: "Order \(event.stream.id) is ready: out for delivery."))
    }
}

/// Every order, for its customer (newest first) and for the kitchen (the queue, oldest first).
public struct PizzaOrders: CategoryReadModel {
    public let name = "pizza_orders"
    public let category = PizzaOrder.category

    public init() {}

    public let tables = [
        SQLTable(
            "pizza_orders",
            """
            order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL, reasons TEXT, request TEXT NOT NULL,
            requested_position BIGINT NOT NULL, updated_position BIGINT NOT NULL
            """, indexes: [.init("pizza_orders_customer", on: "customer_id, requested_position")])
    ]

    public func statements(for event: PizzaOrder.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        let id = SQLValue.text(recorded.stream.id)
        let position = SQLValue.integer(recorded.position.rawValue)
        func status(_ status: PizzaOrder.Status, reasons: [String]? = nil) throws -> [SQLStatement] {
            let text = try reasons.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            return [
                SQLStatement(
                    "UPDATE pizza_orders SET status = ?, reasons = COALESCE(?, reasons), updated_position = ? WHERE order_id = ?",
                    [.text(status.rawValue), .text(text), position, id])
            ]
        }
        switch event {
        case .requested(let request):
            let encoder = StoredJSON.encoder(slashes: .escaped)
            return [
                SQLStatement(
                    """
                    INSERT INTO pizza_orders (order_id, customer_id, status, reasons, request, requested_position, updated_position)
                    VALUES (?, ?, 'requested', NULL, ?, ?, ?)
                    """, [id, .text(request.customerId), .text(String(decoding: try encoder.encode(request), as: UTF8.self)), position, position])
            ]
        case .validated: return try status(.validated)
        case .rejected(let reasons): return try status(.rejected, reasons: reasons)
        case .assemblyStarted: return try status(.assembling)
        case .bakingStarted: return try status(.baking)
        case .outForDelivery: return try status(.outForDelivery)
        case .delivered: return try status(.delivered)
        }
    }

    /// One order as its customer sees it: `{"order_id", "status", "reasons", "sauce", "cheese",
    /// "main_topping", "extra_toppings", "position"}` (`reasons` null unless it was rejected).
    public struct View: Codable, Sendable {
        public let orderId: String
        public let status: String
        public let reasons: JSONColumn<[String]>?
        public let request: JSONColumn<OrderRequest>
        public let position: Int64

        enum CodingKeys: String, CodingKey {
            case orderId = "order_id", status, reasons, request, position = "requested_position"
        }
        enum BodyKeys: String, CodingKey {
            case orderId = "order_id", status, reasons, sauce, cheese, mainTopping = "main_topping", extraToppings = "extra_toppings", position
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: BodyKeys.self)
            try c.encode(orderId, forKey: .orderId)
            try c.encode(status, forKey: .status)
            try c.encode(reasons?.value, forKey: .reasons)
            try c.encode(request.value.sauce, forKey: .sauce)
            try c.encode(request.value.cheese, forKey: .cheese)
            try c.encode(request.value.mainTopping, forKey: .mainTopping)
            try c.encode(request.value.extraToppings, forKey: .extraToppings)
            try c.encode(position, forKey: .position)
        }
    }

    private static let columns = "SELECT order_id, status, reasons, request, requested_position FROM pizza_orders"

    /// A customer's orders, newest first.
    public static func orders(of customer: String) -> ReadModelQuery<Self, View> {
        ReadModelQuery("\(columns) WHERE customer_id = ? ORDER BY requested_position DESC LIMIT 200", [.text(customer)])
    }

    /// One order of one customer.
    public static func order(_ order: String, of customer: String) -> ReadModelQuery<Self, View> {
        ReadModelQuery("\(columns) WHERE customer_id = ? AND order_id = ?", [.text(customer), .text(order)])
    }

    /// The kitchen's queue: orders validated and not yet out of the door, oldest first.
    public static let kitchenQueue = ReadModelQuery<Self, View>(
        "\(columns) WHERE status IN ('validated', 'assembling', 'baking') ORDER BY requested_position LIMIT 200")
}
