import Chronicle
import Foundation

// The cart's commands (all exposed): each decodes straight from its JSON body, read to the letter of the
// HTTP contract — its fields in the order the contract checks them, and its messages.

/// `AddCartItem {cart_id, product_id, quantity}`.
public struct AddCartItem: NamedCommand {
    public static let typeName = "AddCartItem"
    @Field<CartID> public var productId: String
    @Field<Quantity> public var quantity: Int
    @Field<CartID> public var cartId: String
    enum CodingKeys: String, CodingKey { case productId = "product_id", quantity, cartId = "cart_id" }
}

/// `RemoveCartItem {cart_id, product_id}`.
public struct RemoveCartItem: NamedCommand {
    public static let typeName = "RemoveCartItem"
    @Field<CartID> public var productId: String
    @Field<CartID> public var cartId: String
    enum CodingKeys: String, CodingKey { case productId = "product_id", cartId = "cart_id" }
}

/// `CheckOutCart {cart_id}`.
public struct CheckOutCart: NamedCommand {
    public static let typeName = "CheckOutCart"
    @Field<CartID> public var cartId: String
    enum CodingKeys: String, CodingKey { case cartId = "cart_id" }
}

extension Cart {
    /// The stream of the cart `id`.
    public static func stream(_ id: String) throws -> StreamName { try StreamName(category: category, id: id) }
}

/// A cart's or a product's id: 1 to 64 letters, digits, `_ - .`.
public enum CartID: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> String {
        guard case .string(let id)? = value, id.isShortIdentifier else { throw CommandFieldError("\(field) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }
}

/// A quantity: a whole number from 1 to 1,000.
public enum Quantity: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> Int {
        guard case .number(let n)? = value, n == n.rounded(), (1...1000).contains(n) else {
            throw CommandFieldError("\(field) must be a whole number from 1 to 1000")
        }
        return Int(n)
    }
}
