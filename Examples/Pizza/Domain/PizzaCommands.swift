import Chronicle
import Foundation

// The pizza pipeline's commands: a customer's order (`PlacePizzaOrder`, through `POST /pizza/orders` or
// the bus), and the kitchen's steps, which only its process sends (`{order_id}`, encoded into the outbox
// as they always have been: StoredFormatTests pins those bodies).

/// `PlacePizzaOrder {order_id, customer_id, sauce, cheese, main_topping, extra_toppings}`.
public struct PlacePizzaOrder: NamedCommand {
    public static let typeName = "PlacePizzaOrder"
    /// The order's id, a UUID, lowercased.
    public let orderId: String
    public let request: OrderRequest

    /// The order `orderId` (a lowercased UUID) of `request`.
    public init(orderId: String, request: OrderRequest) { (self.orderId, self.request) = (orderId, request) }

    public init(from decoder: any Decoder) throws {
        let fields = try CommandBusError.fields(of: decoder, for: Self.typeName)
        guard case .string(let id)? = fields["order_id"], let order = UUID(text: id) else {
            throw CommandBusError.malformed(type: Self.typeName, reason: "order_id must be a UUID")
        }
        orderId = order.lowercasedString
        do throws(OrderShapeError) { request = try OrderRequest.read(fields) } catch {
            throw CommandBusError.malformed(type: Self.typeName, reason: error.description)
        }
    }
}

/// A step of an order that the kitchen's process takes: `{order_id}`.
public protocol OrderStep: NamedCommand, Encodable {
    var orderId: String { get }
    init(orderId: String)
}

public struct ValidatePizzaOrder: OrderStep {
    public static let typeName = "ValidatePizzaOrder"
    @Field<StepOrderID> public var orderId: String
    enum CodingKeys: String, CodingKey { case orderId = "order_id" }
    public init(orderId: String) { self.orderId = orderId }
}

public struct StartPizzaAssembly: OrderStep {
    public static let typeName = "StartPizzaAssembly"
    @Field<StepOrderID> public var orderId: String
    enum CodingKeys: String, CodingKey { case orderId = "order_id" }
    public init(orderId: String) { self.orderId = orderId }
}

public struct StartPizzaBaking: OrderStep {
    public static let typeName = "StartPizzaBaking"
    @Field<StepOrderID> public var orderId: String
    enum CodingKeys: String, CodingKey { case orderId = "order_id" }
    public init(orderId: String) { self.orderId = orderId }
}

public struct SendPizzaOutForDelivery: OrderStep {
    public static let typeName = "SendPizzaOutForDelivery"
    @Field<StepOrderID> public var orderId: String
    enum CodingKeys: String, CodingKey { case orderId = "order_id" }
    public init(orderId: String) { self.orderId = orderId }
}

public struct ConfirmPizzaDelivery: OrderStep {
    public static let typeName = "ConfirmPizzaDelivery"
    @Field<StepOrderID> public var orderId: String
    enum CodingKeys: String, CodingKey { case orderId = "order_id" }
    public init(orderId: String) { self.orderId = orderId }
}

/// A kitchen step's order: any string (its stream says whether it is an order).
public enum StepOrderID: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> String {
        guard case .string(let id)? = value else { throw CommandFieldError("\(field) is missing") }
        return id
    }
}

extension OrderRequest {
    /// Reads an order request to the letter of the contract: `customer_id`, `sauce`, `cheese` and
    /// `main_topping` strings and `extra_toppings` an array of strings; the customer id 1 to 64 letters,
    /// digits, `_ - .`. Anything else is not an order at all.
    public static func read(_ fields: [String: JSONValue]) throws(OrderShapeError) -> OrderRequest {
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
