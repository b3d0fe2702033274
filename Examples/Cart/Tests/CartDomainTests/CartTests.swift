import CartDomain
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
