import Chronicle
import Foundation

/// A shopping cart: add items, remove them, check out. One log, two departments: the warehouse reads
/// what was finally ordered, marketing what was put in and taken out again.
public enum Cart: Decider {
    public struct Line: Sendable, Hashable, Codable {
        public var productId: String
        public var quantity: Int
        public init(productId: String, quantity: Int) {
            self.productId = productId
            self.quantity = quantity
        }
        enum CodingKeys: String, CodingKey { case productId = "product_id", quantity }
    }

    public enum State: Sendable, Hashable {
        /// Shopping: the lines in the order they were first added.
        case shopping([Line])
        case checkedOut
    }

    public enum Command: Sendable, Hashable {
        case add(product: String, quantity: Int)
        case remove(product: String)
        case checkOut
    }

    /// NOTE: stored format. `CartItemAdded` `{"product_id", "quantity"}`, `CartItemRemoved`
    /// `{"product_id", "quantity"}`, `CartCheckedOut` `{"lines": [{"product_id", "quantity"}]}`; schema 1,
    /// `/` escaped.
    public enum Event: CodableEvent, Hashable {
        case itemAdded(product: String, quantity: Int)
        /// The whole line of `product` (its `quantity`) taken out before checkout.
        case itemRemoved(product: String, quantity: Int)
        case checkedOut(lines: [Line])

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case itemAdded = "CartItemAdded", itemRemoved = "CartItemRemoved", checkedOut = "CartCheckedOut"
        }
        enum ItemAddedCodingKeys: String, CodingKey { case product = "product_id", quantity }
        enum ItemRemovedCodingKeys: String, CodingKey { case product = "product_id", quantity }
        public static var storedSlashes: StoredJSON.Slashes { .escaped }
    }

    public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
        case checkedOut
        case emptyCart
        case notInCart(String)
        case quantityNotPositive
        /// A cart holds at most ``maximumLines`` products: a bound on what one cart costs to load.
        case cartFull

        public var description: String {
            switch self {
            case .checkedOut: "the cart is checked out: it takes no more changes"
            case .emptyCart: "an empty cart cannot check out"
            case .notInCart(let product): "\(product.prefix(64)) is not in the cart"
            case .quantityNotPositive: "a quantity must be at least 1"
            case .cartFull: "a cart holds at most \(Cart.maximumLines) different products"
            }
        }
    }

    public static let category = "cart"
    public static let initialState = State.shopping([])
    /// The most different products one cart holds (a line's quantity grows without a new line).
    public static let maximumLines = 1_000
    /// Carts are snapshotted every 100 events, so that a long cart loads from its snapshot and a few events.
    public static var snapshotPolicy: SnapshotPolicy<State>? { SnapshotPolicy(every: 100, schemaVersion: 1) }

    public static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        guard case .shopping(let lines) = state else { throw .checkedOut }
        switch command {
        case let .add(product, quantity):
            guard quantity > 0 else { throw .quantityNotPositive }
            guard lines.count < maximumLines || lines.contains(where: { $0.productId == product }) else { throw .cartFull }
            return [.itemAdded(product: product, quantity: quantity)]
        case .remove(let product):
            guard let line = lines.first(where: { $0.productId == product }) else { throw .notInCart(product) }
            return [.itemRemoved(product: product, quantity: line.quantity)]
        case .checkOut:
            guard !lines.isEmpty else { throw .emptyCart }
            return [.checkedOut(lines: lines)]
        }
    }

    public static func evolve(_ state: State, _ event: Event) -> State {
        guard case .shopping(var lines) = state else { return state }
        switch event {
        case let .itemAdded(product, quantity):
            if let index = lines.firstIndex(where: { $0.productId == product }) {
                lines[index].quantity += quantity
            } else {
                lines.append(Line(productId: product, quantity: quantity))
            }
            return .shopping(lines)
        case .itemRemoved(let product, _):
            return .shopping(lines.filter { $0.productId != product })
        case .checkedOut:
            return .checkedOut
        }
    }
}

extension Cart.State: Codable {
    // NOTE: stored format (snapshots, schema 1): `{"lines": [{"product_id", "quantity"}]}` while
    // shopping, `{"checked_out": true}` after.
    private enum CodingKeys: String, CodingKey { case lines, checkedOut = "checked_out" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decodeIfPresent(Bool.self, forKey: .checkedOut) == true {
            self = .checkedOut
        } else {
            self = .shopping(try container.decode([Cart.Line].self, forKey: .lines))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shopping(let lines): try container.encode(lines, forKey: .lines)
        case .checkedOut: try container.encode(true, forKey: .checkedOut)
        }
    }
}

/// Stores cart events as JSON (their format: ``Cart/Event``).
public typealias CartEventCodec = JSONEventCodec<Cart.Event>
