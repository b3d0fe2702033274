import CartDomain
import Foundation
import Chronicle
import ChronicleTesting
import Testing

@Suite struct CartTests {
    @Test func itemsGoInAndOut() {
        Cart.given().when(.add(product: "socks", quantity: 2)).then(.itemAdded(product: "socks", quantity: 2))
        Cart.given(.itemAdded(product: "socks", quantity: 2), .itemAdded(product: "socks", quantity: 1)).when(.remove(product: "socks"))
            .then(.itemRemoved(product: "socks", quantity: 3))
        Cart.given().when(.remove(product: "socks")).thenRejects(.notInCart("socks"))
        Cart.given().when(.add(product: "socks", quantity: 0)).thenRejects(.quantityNotPositive)
    }

    /// Hardening 2, item 9: a cart holds at most 1,000 different products (one with 5,000 took 226 ms an
    /// add); more of a product it holds is still taken.
    @Test func aCartHoldsABoundedNumberOfProducts() {
        let full = (0..<Cart.maximumLines).map { Cart.Event.itemAdded(product: "p\($0)", quantity: 1) }
        Cart.given(full).when(.add(product: "one-more", quantity: 1)).thenRejects(.cartFull)
        Cart.given(full).when(.add(product: "p7", quantity: 2)).then(.itemAdded(product: "p7", quantity: 2))
        Cart.given(Array(full.dropLast())).when(.add(product: "last", quantity: 1)).then(.itemAdded(product: "last", quantity: 1))
    }

    /// Carts are snapshotted, in a stored format of their own (NOTE: golden: never changes silently).
    @Test func aCartsSnapshotIsStoredAsItsGoldenForm() throws {
        let policy = try #require(Cart.snapshotPolicy)
        #expect(policy.every == 100 && policy.schemaVersion == 1)
        let shopping = Cart.State.shopping([Cart.Line(productId: "socks", quantity: 2)])
        let golden = #"{"lines":[{"product_id":"socks","quantity":2}]}"#
        // Byte for byte: a snapshot's keys are sorted (they came in any order before 2026-12-06).
        #expect(String(decoding: try policy.encode(shopping), as: UTF8.self) == golden)
        #expect(try policy.decode(Data(golden.utf8)) == shopping)
        #expect(try policy.decode(Data(#"{"checked_out":true}"#.utf8)) == .checkedOut)
        #expect(try policy.decode(try policy.encode(.checkedOut)) == .checkedOut)
    }

    @Test func checkingOutTakesTheFinalLines() {
        Cart.given(.itemAdded(product: "socks", quantity: 2), .itemAdded(product: "hat", quantity: 1), .itemRemoved(product: "socks", quantity: 2))
            .when(.checkOut).then(.checkedOut(lines: [Cart.Line(productId: "hat", quantity: 1)]))
    }

    @Test func anEmptyCartCannotCheckOutAndACheckedOutCartTakesNoMoreChanges() {
        Cart.given().when(.checkOut).thenRejects(.emptyCart)
        Cart.given(.itemAdded(product: "socks", quantity: 1), .itemRemoved(product: "socks", quantity: 1)).when(.checkOut).thenRejects(.emptyCart)
        let done: [Cart.Event] = [.itemAdded(product: "hat", quantity: 1), .checkedOut(lines: [Cart.Line(productId: "hat", quantity: 1)])]
        Cart.given(done).when(.add(product: "socks", quantity: 1)).thenRejects(.checkedOut)
        Cart.given(done).when(.remove(product: "hat")).thenRejects(.checkedOut)
        Cart.given(done).when(.checkOut).thenRejects(.checkedOut)
    }

    @Test func theCodecKeepsEveryEvent() throws {
        let codec = CartEventCodec()
        for event: Cart.Event in [
            .itemAdded(product: "socks", quantity: 2), .itemRemoved(product: "socks", quantity: 2), .checkedOut(lines: [Cart.Line(productId: "hat", quantity: 1)]),
        ] {
            #expect(try codec.decode(codec.encode(event)) == event)
        }
        #expect(String(decoding: try codec.encode(.itemAdded(product: "socks", quantity: 2)).data, as: UTF8.self) == #"{"product_id":"socks","quantity":2}"#)
    }
}

/// The cart's commands read their bodies in the contract's words, fields in the contract's order.
@Suite struct CartCommandTests {
    func refusal<C: NamedCommand>(_ type: C.Type, _ body: String) -> String? {
        do {
            _ = try JSONDecoder().decode(C.self, from: Data(body.utf8))
            return nil
        } catch {
            return (error as? CommandFieldError)?.description ?? "\(error)"
        }
    }

    @Test func eachFieldIsRefusedInTheContractsWords() {
        #expect(refusal(AddCartItem.self, #"{"cart_id": "c"}"#) == "product_id must be 1 to 64 letters, digits, _, - or .")
        #expect(refusal(AddCartItem.self, #"{"product_id": "p", "quantity": 1.5, "cart_id": "c"}"#) == "quantity must be a whole number from 1 to 1000")
        #expect(refusal(AddCartItem.self, #"{"product_id": "p", "quantity": 1001}"#) == "quantity must be a whole number from 1 to 1000")
        #expect(refusal(AddCartItem.self, #"{"product_id": "p", "quantity": 2}"#) == "cart_id must be 1 to 64 letters, digits, _, - or .")
        #expect(refusal(CheckOutCart.self, #"{"cart_id": ""}"#) == "cart_id must be 1 to 64 letters, digits, _, - or .")
        #expect(refusal(RemoveCartItem.self, #"{"product_id": "p", "cart_id": "c"}"#) == nil)
    }
}
