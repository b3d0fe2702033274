import Chronicle
import Foundation

// The cart's commands (all exposed): each decodes straight from its JSON body, read to the letter of the
// HTTP contract — its fields in the order the contract checks them, and its messages.

/// `AddCartItem {cart_id, product_id, quantity}`.
public struct AddCartItem: NamedCommand {
    public static let typeName = "AddCartItem"
    public let productId: String
    public let quantity: Int
    public let cartId: String

    public init(from decoder: any Decoder) throws {
        let fields = try CartFields(decoder, Self.typeName)
        (productId, quantity, cartId) = (try fields.id("product_id"), try fields.quantity(), try fields.id("cart_id"))
    }
}

/// `RemoveCartItem {cart_id, product_id}`.
public struct RemoveCartItem: NamedCommand {
    public static let typeName = "RemoveCartItem"
    public let productId: String
    public let cartId: String

    public init(from decoder: any Decoder) throws {
        let fields = try CartFields(decoder, Self.typeName)
        (productId, cartId) = (try fields.id("product_id"), try fields.id("cart_id"))
    }
}

/// `CheckOutCart {cart_id}`.
public struct CheckOutCart: NamedCommand {
    public static let typeName = "CheckOutCart"
    public let cartId: String

    public init(from decoder: any Decoder) throws {
        cartId = try CartFields(decoder, Self.typeName).id("cart_id")
    }
}

extension Cart {
    /// The stream of the cart `id`; an id that cannot name one is a malformed `command`.
    public static func stream<C: NamedCommand>(_ id: String, for command: C.Type) throws(CommandBusError) -> StreamName {
        guard let stream = try? StreamName(category: category, id: id) else {
            throw .malformed(type: C.typeName, reason: "cart_id must be 1 to 64 letters, digits, _, - or .")
        }
        return stream
    }
}

/// A cart command's fields: ids of 1 to 64 letters, digits, `_ - .`; a quantity from 1 to 1,000.
struct CartFields {
    let type: String
    let fields: [String: JSONValue]

    init(_ decoder: any Decoder, _ type: String) throws {
        (self.type, fields) = (type, try CommandBusError.fields(of: decoder, for: type))
    }

    func id(_ key: String) throws(CommandBusError) -> String {
        guard case .string(let id)? = fields[key], id.isShortIdentifier else { throw .malformed(type: type, reason: "\(key) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }

    func quantity() throws(CommandBusError) -> Int {
        guard case .number(let n)? = fields["quantity"], n == n.rounded(), (1...1000).contains(n) else {
            throw .malformed(type: type, reason: "quantity must be a whole number from 1 to 1000")
        }
        return Int(n)
    }
}
