import Chronicle
import ChronicleTesting
import Foundation
import PizzaDomain
import Testing

@Suite struct PizzaOrderTests {
    let good = OrderRequest(customerId: "c1", sauce: "tomato", cheese: "mozzarella", mainTopping: "margherita", extraToppings: ["basil"])

    @Test func theRequestIsTheFirstFactWhateverItHolds() {
        let odd = OrderRequest(customerId: "c1", sauce: "ketchup", cheese: "", mainTopping: "", extraToppings: [])
        PizzaOrder.given().when(.request(odd)).then(.requested(odd))
        PizzaOrder.given(.requested(odd)).when(.request(odd)).thenRejects(.orderExists)
    }

    @Test func validationRecordsValidatedOrRejectedWithTheReasons() {
        PizzaOrder.given(.requested(good)).when(.validate(.standard)).then(.validated)
        let unknown = OrderRequest(customerId: "c1", sauce: "ketchup", cheese: "mozzarella", mainTopping: "tuna", extraToppings: ["gold"])
        PizzaOrder.given(.requested(unknown)).when(.validate(.standard))
            .then(.rejected(reasons: ["unknown sauce: ketchup", "unknown main topping: tuna", "unknown extra topping: gold"]))
        let empty = OrderRequest(customerId: "c1", sauce: "", cheese: "", mainTopping: "", extraToppings: [])
        PizzaOrder.given(.requested(empty)).when(.validate(.standard)).then(.rejected(reasons: ["the order is empty"]))
        let large = OrderRequest(customerId: "c1", sauce: "tomato", cheese: "", mainTopping: "", extraToppings: Array(repeating: "olives", count: 6))
        PizzaOrder.given(.requested(large)).when(.validate(.standard)).then(.rejected(reasons: ["too many extra toppings: 6, at most 5"]))
        // Validated once: again changes nothing.
        PizzaOrder.given(.requested(good), .validated).when(.validate(.standard)).then()
    }

    @Test func theKitchenStepsGoInTurn() {
        PizzaOrder.given(.requested(good), .validated).when(.startAssembly).then(.assemblyStarted)
        PizzaOrder.given(.requested(good), .validated, .assemblyStarted).when(.startBaking).then(.bakingStarted)
        PizzaOrder.given(.requested(good), .validated, .assemblyStarted, .bakingStarted).when(.sendOutForDelivery).then(.outForDelivery)
        PizzaOrder.given(.requested(good), .validated, .assemblyStarted, .bakingStarted, .outForDelivery).when(.confirmDelivery).then(.delivered)
        // A step sent again changes nothing; a step out of turn is refused.
        PizzaOrder.given(.requested(good), .validated, .assemblyStarted, .bakingStarted).when(.startBaking).then()
        PizzaOrder.given(.requested(good), .validated).when(.confirmDelivery).thenRejects(.outOfTurn(.validated))
        PizzaOrder.given(.requested(good), .rejected(reasons: ["x"])).when(.startAssembly).thenRejects(.outOfTurn(.rejected))
    }

    @Test func theCodecKeepsTheRequestAsSent() throws {
        let codec = PizzaEventCodec()
        for event: PizzaOrder.Event in [.requested(good), .validated, .rejected(reasons: ["a"]), .assemblyStarted, .bakingStarted, .outForDelivery, .delivered] {
            #expect(try codec.decode(codec.encode(event)) == event)
        }
        #expect(
            String(decoding: try codec.encode(.requested(good)).data, as: UTF8.self)
                == #"{"cheese":"mozzarella","customer_id":"c1","extra_toppings":["basil"],"main_topping":"margherita","sauce":"tomato"}"#)
    }
}

@Suite struct KitchenProcessTests {
    let kitchen = KitchenProcess(step: .seconds(2))
    let good = OrderRequest(customerId: "c1", sauce: "tomato", cheese: "mozzarella", mainTopping: "margherita", extraToppings: [])

    func command(_ type: String) -> ProcessCommand { ProcessCommand(type, ["order_id": "o1"]) }

    @Test func eachStepSendsTheNextCommandAfterItsTime() {
        let requested = (order: "o1", event: PizzaOrder.Event.requested(good))
        #expect(kitchen.actions(given: [], when: requested) == [.send(command("ValidatePizzaOrder"))])
        #expect(kitchen.actions(given: [requested], when: ("o1", .validated)) == [.send(command("StartPizzaAssembly"))])
        #expect(
            kitchen.actions(given: [requested, ("o1", .validated)], when: ("o1", .assemblyStarted))
                == [.schedule(command("StartPizzaBaking"), after: .seconds(2), key: "step")])
        #expect(
            kitchen.actions(given: [requested, ("o1", .validated), ("o1", .assemblyStarted)], when: ("o1", .bakingStarted))
                == [.schedule(command("SendPizzaOutForDelivery"), after: .seconds(2), key: "step")])
        #expect(kitchen.actions(given: [requested], when: ("o1", .outForDelivery)) == [.schedule(command("ConfirmPizzaDelivery"), after: .seconds(2), key: "step")])
        let all: [(order: String, event: PizzaOrder.Event)] = [requested, ("o1", .validated), ("o1", .assemblyStarted), ("o1", .bakingStarted), ("o1", .outForDelivery)]
        #expect(kitchen.actions(given: all, when: ("o1", .delivered)) == [])
        #expect(kitchen.isFinished(kitchen.state(after: all + [("o1", .delivered)])))
        #expect(kitchen.state(after: all).status == .outForDelivery)
    }

    @Test func aRejectedOrderStops() {
        let requested = (order: "o1", event: PizzaOrder.Event.requested(good))
        #expect(kitchen.actions(given: [requested], when: ("o1", .rejected(reasons: ["x"]))) == [])
        #expect(kitchen.isFinished(kitchen.state(after: [requested, ("o1", .rejected(reasons: ["x"]))])))
    }
}
