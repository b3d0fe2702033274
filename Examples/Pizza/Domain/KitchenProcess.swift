import Chronicle
import Foundation

/// Drives an order through the kitchen and out to the customer: validate the request, then assemble →
/// bake → out for delivery → delivered, each step a command on the order, the time each takes a
/// deadline (`step`). A rejected order stops at once.
public struct KitchenProcess: ProcessManager {
    public struct State: Codable, Sendable, Equatable {
        public var status: PizzaOrder.Status?
        public init(status: PizzaOrder.Status? = nil) { self.status = status }
    }

    public let name = "pizza_kitchen_process"
    public var sends: [any NamedCommand.Type] {
        [ValidatePizzaOrder.self, StartPizzaAssembly.self, StartPizzaBaking.self, SendPizzaOutForDelivery.self, ConfirmPizzaDelivery.self]
    }
    public let initialState = State()
    /// How long each kitchen and delivery step takes.
    public let step: Duration
    private let codec = PizzaEventCodec()

    public init(step: Duration) {
        self.step = step
    }

    public func decode(_ recorded: RecordedEvent) throws -> (order: String, event: PizzaOrder.Event)? {
        recorded.stream.category == PizzaOrder.category ? (recorded.stream.id, try codec.decode(recorded)) : nil
    }

    public func correlate(_ event: (order: String, event: PizzaOrder.Event)) -> String? { event.order }

    public func evolve(_ state: State, _ event: (order: String, event: PizzaOrder.Event)) -> State {
        guard case .placed(_, let status) = PizzaOrder.evolve(.placed(Self.placeholder, state.status ?? .requested), event.event) else { return state }
        return State(status: status)
    }

    public func react(to event: (order: String, event: PizzaOrder.Event), in state: State) -> [ProcessAction] {
        let order = event.order
        switch event.event {
        case .requested: return [.send(ValidatePizzaOrder(orderId: order))]
        case .validated: return [.send(StartPizzaAssembly(orderId: order))]
        case .assemblyStarted: return [.schedule(StartPizzaBaking(orderId: order), after: step, key: "step")]
        case .bakingStarted: return [.schedule(SendPizzaOutForDelivery(orderId: order), after: step, key: "step")]
        case .outForDelivery: return [.schedule(ConfirmPizzaDelivery(orderId: order), after: step, key: "step")]
        case .rejected, .delivered: return []
        }
    }

    public func isFinished(_ state: State) -> Bool { state.status == .delivered || state.status == .rejected }

    private static let placeholder = OrderRequest(customerId: "", sauce: "", cheese: "", mainTopping: "", extraToppings: [])
}
