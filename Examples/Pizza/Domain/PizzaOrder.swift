import Chronicle

/// What a customer asked for, exactly as sent: it is stored before anything checks it.
public struct OrderRequest: Sendable, Hashable, Codable {
    public var customerId: String
    public var sauce: String
    public var cheese: String
    public var mainTopping: String
    public var extraToppings: [String]

    public init(customerId: String, sauce: String, cheese: String, mainTopping: String, extraToppings: [String]) {
        self.customerId = customerId
        self.sauce = sauce
        self.cheese = cheese
        self.mainTopping = mainTopping
        self.extraToppings = extraToppings
    }

    enum CodingKeys: String, CodingKey {
        case customerId = "customer_id", sauce, cheese, mainTopping = "main_topping", extraToppings = "extra_toppings"
    }
}

/// The menu an order is validated against.
public struct Menu: Sendable, Hashable, Codable {
    public var sauces: [String]
    public var cheeses: [String]
    public var mainToppings: [String]
    public var extraToppings: [String]
    /// The most extra toppings one pizza takes.
    public var maxExtraToppings: Int

    public static let standard = Menu(
        sauces: ["tomato", "white garlic", "pesto", "barbecue"],
        cheeses: ["mozzarella", "cheddar", "parmesan", "vegan"],
        mainToppings: ["margherita", "pepperoni", "ham", "mushroom", "vegetable"],
        extraToppings: ["olives", "onion", "peppers", "pineapple", "jalapeños", "anchovies", "basil", "extra cheese"],
        maxExtraToppings: 5)

    enum CodingKeys: String, CodingKey {
        case sauces, cheeses, mainToppings = "main_toppings", extraToppings = "extra_toppings", maxExtraToppings = "max_extra_toppings"
    }

    /// Why `request` cannot be made (none: it can).
    public func problems(with request: OrderRequest) -> [String] {
        var reasons: [String] = []
        if request.sauce.isEmpty && request.cheese.isEmpty && request.mainTopping.isEmpty && request.extraToppings.isEmpty {
            return ["the order is empty"]
        }
        if !request.sauce.isEmpty && !sauces.contains(request.sauce) { reasons.append("unknown sauce: \(request.sauce.prefix(40))") }
        if !request.cheese.isEmpty && !cheeses.contains(request.cheese) { reasons.append("unknown cheese: \(request.cheese.prefix(40))") }
        if !request.mainTopping.isEmpty && !mainToppings.contains(request.mainTopping) {
            reasons.append("unknown main topping: \(request.mainTopping.prefix(40))")
        }
        for extra in request.extraToppings.prefix(20) where !extraToppings.contains(extra) {
            reasons.append("unknown extra topping: \(extra.prefix(40))")
        }
        if request.extraToppings.count > maxExtraToppings {
            reasons.append("too many extra toppings: \(request.extraToppings.count), at most \(maxExtraToppings)")
        }
        return reasons
    }
}

/// A pizza order, from the request (the first fact, stored before validation) to the door.
public enum PizzaOrder: Decider {
    /// Where an order stands; the statuses the customer sees.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case requested, validated, rejected, assembling, baking, outForDelivery = "out_for_delivery", delivered
    }

    public enum State: Sendable, Hashable {
        case none
        case placed(OrderRequest, Status)
    }

    public enum Command: Sendable, Hashable {
        /// Stores the request as sent.
        case request(OrderRequest)
        /// Checks the request against the menu.
        case validate(Menu)
        case startAssembly
        case startBaking
        case sendOutForDelivery
        case confirmDelivery
    }

    /// NOTE: stored format. `OrderRequested` holds the request as sent (`{"customer_id", "sauce",
    /// "cheese", "main_topping", "extra_toppings"}`); `OrderRejected` `{"reasons": [...]}`;
    /// `OrderValidated`, `OrderAssemblyStarted`, `OrderBakingStarted`, `OrderOutForDelivery`,
    /// `OrderDelivered` `{}`. Schema version 1, `/` escaped.
    public enum Event: CodableEvent, Hashable {
        case requested(OrderRequest)
        case validated
        case rejected(reasons: [String])
        case assemblyStarted
        case bakingStarted
        case outForDelivery
        case delivered

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case requested = "OrderRequested", validated = "OrderValidated", rejected = "OrderRejected"
            case assemblyStarted = "OrderAssemblyStarted", bakingStarted = "OrderBakingStarted"
            case outForDelivery = "OrderOutForDelivery", delivered = "OrderDelivered"
        }
        public static var storedSlashes: StoredJSON.Slashes { .escaped }
    }

    public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
        case orderExists
        case unknownOrder
        case outOfTurn(Status)

        public var description: String {
            switch self {
            case .orderExists: "an order with this id exists already"
            case .unknownOrder: "no such order"
            case .outOfTurn(let status): "the order is \(status.rawValue.replacingOccurrences(of: "_", with: " ")): not the step it takes next"
            }
        }
    }

    /// The stream category of orders (`pizza-<order id>`).
    public static let category = "pizza"

    public static let initialState = State.none

    /// The step each status is followed by, and the event it makes.
    static let next: [Status: (Command, Event, Status)] = [
        .validated: (.startAssembly, .assemblyStarted, .assembling),
        .assembling: (.startBaking, .bakingStarted, .baking),
        .baking: (.sendOutForDelivery, .outForDelivery, .outForDelivery),
        .outForDelivery: (.confirmDelivery, .delivered, .delivered),
    ]

    /// No snapshots, decided: an order's stream is at most seven events long (each step is taken once,
    /// in turn — ``Rejection/outOfTurn(_:)``), so folding it always costs seven events at most.
    public static var snapshotPolicy: SnapshotPolicy<State>? { nil }

    public static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case (.request(let request), .none): return [.requested(request)]
        case (.request, _): throw .orderExists
        case (_, .none): throw .unknownOrder
        case let (.validate(menu), .placed(request, .requested)):
            let reasons = menu.problems(with: request)
            return reasons.isEmpty ? [.validated] : [.rejected(reasons: reasons)]
        case (.validate, .placed):
            return []  // validated once: a second validation changes nothing
        case (_, .placed(_, let status)):
            if let following = next[status], following.0 == command { return [following.1] }
            // The step done already (a redelivered deadline) changes nothing; any other is out of turn.
            if let done = next.first(where: { $0.value.0 == command })?.value.2, status.rank >= done.rank, status != .rejected { return [] }
            throw .outOfTurn(status)
        }
    }

    public static func evolve(_ state: State, _ event: Event) -> State {
        switch (event, state) {
        case (.requested(let request), _): return .placed(request, .requested)
        case (_, .none): return state
        case (.validated, .placed(let request, _)): return .placed(request, .validated)
        case (.rejected, .placed(let request, _)): return .placed(request, .rejected)
        case (.assemblyStarted, .placed(let request, _)): return .placed(request, .assembling)
        case (.bakingStarted, .placed(let request, _)): return .placed(request, .baking)
        case (.outForDelivery, .placed(let request, _)): return .placed(request, .outForDelivery)
        case (.delivered, .placed(let request, _)): return .placed(request, .delivered)
        }
    }
}

extension PizzaOrder.Status {
    /// How far along the pipeline the status is (rejected: nowhere).
    var rank: Int {
        switch self {
        case .requested: 0
        case .validated: 1
        case .assembling: 2
        case .baking: 3
        case .outForDelivery: 4
        case .delivered: 5
        case .rejected: -1
        }
    }
}

/// Stores pizza order events as JSON (their format: ``PizzaOrder/Event``).
public typealias PizzaEventCodec = JSONEventCodec<PizzaOrder.Event>
