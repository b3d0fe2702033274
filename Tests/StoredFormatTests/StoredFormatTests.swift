import BankApp
import BankDomain
import CartApp
import CartDomain
import Chronicle
import ChronicleRuntime
import ChronicleTesting
import Foundation
import GRDB
import PizzaApp
import PizzaDomain
import Testing
import TodoApp
import TodoDomain

/// Invariant 7, for every application at once: what a released Chronicle stored is read by today's code
/// and written back byte for byte. The corpus is a database written by the `chronicle` binary of
/// 2026-12-06 (commit 1383f05) through its public routes only (`scripts/write-stored-corpus`): every
/// application's events, transfer and kitchen process states, pending outbox rows with deadlines, and
/// snapshots of todos, accounts and carts. Never rewrite a corpus file: add the next generation beside it.
@Suite struct StoredFormatTests {
    static let generations = ["chronicle-2026-12-06"]

    static func corpus(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Corpus/\(name)", withExtension: "sqlite"), "the corpus \(name) is not bundled")
    }

    /// The rows `sql` selects from a copy of the corpus `name`: the corpus is a WAL database, and tests
    /// running side by side that open the one bundled file read-only can find it locked (SQLITE_BUSY) while
    /// another sets up its shared memory.
    static func rows(_ name: String, _ sql: String) throws -> [Row] {
        let directory = try TemporaryDirectory()
        let path = directory.path("corpus.sqlite")
        try FileManager.default.copyItem(at: try corpus(name), to: URL(fileURLWithPath: path))
        let queue = try DatabaseQueue(path: path)
        return try queue.read { try Row.fetchAll($0, sql: sql) }
    }

    /// Decodes `stored` with its category's codec and encodes it again.
    static func roundTrip(category: String, _ stored: EncodedEvent) throws -> EncodedEvent {
        switch category {
        case Todo.category.name: try TodoEventCodec().encode(try TodoEventCodec().decode(stored))
        case Account.category: try AccountEventCodec().encode(try AccountEventCodec().decode(stored))
        case Transfer.category: try TransferEventCodec().encode(try TransferEventCodec().decode(stored))
        case PizzaOrder.category: try PizzaEventCodec().encode(try PizzaEventCodec().decode(stored))
        case Cart.category: try CartEventCodec().encode(try CartEventCodec().decode(stored))
        default: throw CodecError.unknownType("\(category)/\(stored.type): no application stores this category")
        }
    }

    @Test(arguments: generations) func everyStoredEventDecodesAndEncodesBackByteForByte(_ generation: String) throws {
        let events = try Self.rows(generation, "SELECT category, type, schema_version, data FROM events ORDER BY position")
        #expect(events.count > 300)
        var types = Set<String>()
        for row in events {
            let stored = EncodedEvent(type: row["type"], schemaVersion: row["schema_version"], data: Data((row["data"] as String).utf8))
            let again = try Self.roundTrip(category: row["category"], stored)
            #expect(again.type == stored.type && again.schemaVersion == stored.schemaVersion)
            #expect(String(decoding: again.data, as: UTF8.self) == String(decoding: stored.data, as: UTF8.self), "\(stored.type) changed")
            types.insert(stored.type)
        }
        // Every type these applications can be driven to store through their routes is in the corpus; the
        // rest (an account closed, a transfer timed out) are pinned by the JSON corpus beside it.
        let pinnedElsewhere = try Set(StoredEvents.extra().map(\.type))
        let pizza = PizzaEventCodec.typeNames
        let cart = CartEventCodec.typeNames
        let everyType = Set(TodoEventCodec.typeNames + AccountEventCodec.typeNames + TransferEventCodec.typeNames + pizza + cart)
        #expect(
            everyType.subtracting(types).subtracting(pinnedElsewhere).isEmpty, "not in any corpus: \(everyType.subtracting(types).subtracting(pinnedElsewhere).sorted())")
    }

    /// Until 2026-12-06 todo bodies were written with `/` as it is and the other applications' with `\/`
    /// (Foundation's default); the corpus holds a slash only in a todo, so the others' are pinned here.
    @Test func aSlashIsStoredAsEachApplicationStoredItBefore() throws {
        let bodies: [(String, EncodedEvent)] = [
            (Todo.category.name, EncodedEvent(type: "TodoAdded", schemaVersion: 1, data: Data(#"{"title":"a/b"}"#.utf8))),
            (Account.category, EncodedEvent(type: "MoneyDeposited", schemaVersion: 1, data: Data(#"{"amount":"1.00","balance":"1.00","transfer_id":"t\/1"}"#.utf8))),
            (Transfer.category, EncodedEvent(type: "TransferDeclined", schemaVersion: 1, data: Data(#"{"reason":"a\/b"}"#.utf8))),
            (
                PizzaOrder.category,
                EncodedEvent(
                    type: "OrderRequested", schemaVersion: 1,
                    data: Data(#"{"cheese":"","customer_id":"c\/1","extra_toppings":["x\/y"],"main_topping":"","sauce":""}"#.utf8))
            ),
            (Cart.category, EncodedEvent(type: "CartItemAdded", schemaVersion: 1, data: Data(#"{"product_id":"p\/1","quantity":1}"#.utf8))),
        ]
        for (category, stored) in bodies {
            let again = try Self.roundTrip(category: category, stored)
            #expect(String(decoding: again.data, as: UTF8.self) == String(decoding: stored.data, as: UTF8.self), "\(stored.type)")
        }
    }

    @Test func theTypesNoRouteStoresDecodeAndEncodeBackByteForByte() throws {
        let extra = try StoredEvents.extra()
        #expect(!extra.isEmpty)
        for stored in extra {
            let event = EncodedEvent(type: stored.type, schemaVersion: stored.schema_version, data: Data(stored.data.utf8))
            let again = try Self.roundTrip(category: stored.category, event)
            #expect(again.type == event.type && again.schemaVersion == event.schemaVersion)
            #expect(String(decoding: again.data, as: UTF8.self) == stored.data, "\(stored.type) changed")
        }
    }

    @Test(arguments: generations) func everyProcessStateDecodesAndEncodesBackByteForByte(_ generation: String) throws {
        let states = try Self.rows(generation, "SELECT manager, state, open FROM chronicle_process_instances")
        #expect(Set(states.map { $0["manager"] as String }) == ["bank_transfers_process", "pizza_kitchen_process"])
        #expect(states.contains { $0["open"] as Bool } && states.contains { !($0["open"] as Bool) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for row in states {
            let text: String = row["state"]
            let again: Data
            switch row["manager"] as String {
            case "bank_transfers_process": again = try encoder.encode(try JSONDecoder().decode(TransferProcess.State.self, from: Data(text.utf8)))
            default: again = try encoder.encode(try JSONDecoder().decode(KitchenProcess.State.self, from: Data(text.utf8)))
            }
            #expect(String(decoding: again, as: UTF8.self) == text)
        }
    }

    @Test(arguments: generations) func everyOutboxRowIsACommandWhoseBodyIsReadBackTheSame(_ generation: String) throws {
        let rows = try Self.rows(generation, "SELECT command_type, body, due_at FROM chronicle_process_outbox")
        #expect(rows.contains { $0["due_at"] != nil }, "the corpus has no pending deadline")
        for row in rows {
            let body: String = row["body"]
            let command = try ProcessCommand(type: row["command_type"], body: Data(body.utf8))
            #expect(String(decoding: command.body, as: UTF8.self) == body)
        }
    }

    /// The bodies the process managers write to the outbox (command type and body, as stored), for every
    /// command they send: the corpus database holds only the kitchen's pending ones (the bank's are sent
    /// at once). A transfer id with a slash pins how the body is escaped.
    @Test func theCommandsProcessManagersStoreInTheOutboxKeepTheirBodies() throws {
        func stored(_ actions: [ProcessAction]) -> [String] {
            actions.compactMap { action -> String? in
                switch action {
                case .send(let command), .schedule(let command, _, _): "\(command.type) \(String(decoding: command.body, as: UTF8.self))"
                default: nil
                }
            }
        }
        let transfers = TransferProcess(timeout: .seconds(30))
        let amount = try #require(Money("12.30"))
        var state = transfers.initialState
        var written: [String] = []
        let requested = TransferProcess.Event.transfer(id: "t/1", .requested(from: "a/1", to: "b", amount: amount))
        let steps: [TransferProcess.Event] = [
            requested,
            .account(id: "a/1", transfer: "t/1", .withdrawn(amount: amount, balance: amount, transfer: "t/1")),
            .account(id: "b", transfer: "t/1", .deposited(amount: amount, balance: amount, transfer: "t/1")),
            .transfer(id: "t/1", .creditRefused(reason: "closed \"b\"")),
            .account(id: "a/1", transfer: "t/1", .paymentDeclined(amount: amount, balance: amount, transfer: "t/1")),
        ]
        for event in steps {
            state = transfers.evolve(state, event)
            written += stored(transfers.react(to: event, in: state))
        }
        let refunding = transfers.evolve(transfers.evolve(transfers.initialState, requested), .transfer(id: "t/1", .creditRefused(reason: "x")))
        written += stored(transfers.react(to: .account(id: "a/1", transfer: "t/1", .deposited(amount: amount, balance: amount, transfer: "t/1")), in: refunding))
        // A rejected command comes back as it was sent, and is read back typed: its ids pass the bank's
        // rules (no slash), so the answers to rejections carry `t-1`.
        let debit = ProcessCommand(DebitAccount(accountId: "a-1", amount: amount, transferId: "t-1"))
        written += stored(transfers.rejected(debit, reason: "no account", in: state))
        let credited = transfers.evolve(transfers.evolve(transfers.initialState, requested), steps[1])
        let credit = ProcessCommand(CreditAccount(accountId: "b", amount: amount, transferId: "t-1"))
        written += stored(transfers.rejected(credit, reason: "closed", in: credited))

        let kitchen = KitchenProcess(step: .seconds(1))
        var order = kitchen.initialState
        let request = OrderRequest(customerId: "c/1", sauce: "pesto", cheese: "vegan", mainTopping: "ham", extraToppings: [])
        for event in [PizzaOrder.Event.requested(request), .validated, .assemblyStarted, .bakingStarted, .outForDelivery, .delivered] {
            order = kitchen.evolve(order, (order: "o/1", event: event))
            written += stored(kitchen.react(to: (order: "o/1", event: event), in: order))
        }
        #expect(
            Set(written) == [
                #"DebitAccount {"account_id":"a/1","amount":"12.30","transfer_id":"t/1"}"#,
                #"CreditAccount {"account_id":"b","amount":"12.30","transfer_id":"t/1"}"#,
                #"CreditAccount {"account_id":"a/1","amount":"12.30","transfer_id":"t/1"}"#,
                #"TimeOutTransfer {"transfer_id":"t/1"}"#,
                #"CompleteTransfer {"transfer_id":"t/1"}"#,
                #"RefundTransfer {"transfer_id":"t/1"}"#,
                #"DeclineTransfer {"reason":"insufficient funds","transfer_id":"t/1"}"#,
                #"DeclineTransfer {"reason":"no account","transfer_id":"t-1"}"#,
                #"RefuseTransferCredit {"reason":"closed","transfer_id":"t-1"}"#,
                #"ValidatePizzaOrder {"order_id":"o/1"}"#,
                #"StartPizzaAssembly {"order_id":"o/1"}"#,
                #"StartPizzaBaking {"order_id":"o/1"}"#,
                #"SendPizzaOutForDelivery {"order_id":"o/1"}"#,
                #"ConfirmPizzaDelivery {"order_id":"o/1"}"#,
            ], "\(Set(written).sorted().joined(separator: "\n"))")
    }

    @Test(arguments: generations) func everySnapshotDecodesAndEncodesBackByteForByte(_ generation: String) throws {
        let snapshots = try Self.rows(generation, "SELECT stream_name, schema_version, data FROM snapshots")
        var categories = Set<String>()
        for row in snapshots {
            let stream = try StreamName(row["stream_name"] as String)
            let data: Data = row["data"]
            #expect(row["schema_version"] as Int == 1)
            let again: Data
            switch stream.category {
            case Todo.category.name: again = try Self.reencode(data, Todo.snapshotPolicy)
            case Account.category: again = try Self.reencode(data, Account.snapshotPolicy)
            case Cart.category: again = try Self.reencode(data, Cart.snapshotPolicy)
            default: throw CodecError.unknownType("a snapshot of \(stream)")
            }
            // Snapshots were written with their keys in an order that changed from process to process; today
            // they are written with sorted keys: the same JSON, in its one canonical spelling.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let canonical = try encoder.encode(try JSONDecoder().decode(JSONValue.self, from: data))
            #expect(String(decoding: again, as: UTF8.self) == String(decoding: canonical, as: UTF8.self), "the snapshot of \(stream) changed")
            categories.insert(stream.category)
        }
        #expect(categories == [Todo.category.name, Account.category, Cart.category])
    }

    static func reencode<State>(_ data: Data, _ policy: SnapshotPolicy<State>?) throws -> Data {
        let policy = try #require(policy)
        return try policy.encode(try policy.decode(data))
    }

    /// A database written by an earlier Chronicle opens under today's runtime, which migrates it, brings
    /// every read model and process manager to the head without a fault, sends the kitchen's pending
    /// deadlines once they are due, and takes new commands on the old streams (snapshots included).
    @Test(arguments: generations) func aDatabaseWrittenByAnEarlierChronicleOpensAndRuns(_ generation: String) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        try FileManager.default.copyItem(at: try Self.corpus(generation), to: URL(fileURLWithPath: path))
        let clock = ManualProcessClock(Date().addingTimeInterval(2 * 86_400))  // every deadline due
        var configuration = ChronicleRuntime.Configuration(sqlitePath: path)
        configuration.clock = clock
        let runtime = try ChronicleRuntime(
            configuration: configuration,
            modules: [
                TodoModule(mailSink: try FileMailbox(path: directory.path("mailbox"), today: { "2026-12-06" })),
                BankModule(), PizzaModule(step: .zero, courier: try FileMailbox(path: directory.path("courier"), today: { "2026-12-06" })),
                CartModule(),
            ])
        let running = Task { try await runtime.run() }
        defer { running.cancel() }
        try await runtime.prepare()

        // New commands on old streams continue them (an account and a cart past their snapshots).
        let bobVersion = try Self.rows(generation, "SELECT version FROM streams WHERE stream_name = 'account-bob'").first?["version"] as Int64?
        let deposit = try await runtime.bus.send(try CommandEnvelope(type: "DepositMoney", fields: ["account_id": "bob", "amount": "1.00"]))
        guard case .accepted(_, let version, _) = deposit else { Issue.record("the deposit was \(deposit)"); return }
        #expect(version == (try #require(bobVersion)) + 1)
        let add = try await runtime.bus.send(try CommandEnvelope(type: "AddCartItem", fields: ["cart_id": "cart-2", "product_id": "p1", "quantity": .number(1)]))
        guard case .accepted = add else { Issue.record("the cart add was \(add)"); return }

        // Every subscription reaches the head unfaulted, the kitchen's pending orders are delivered.
        let ok = try await eventually(timeout: .seconds(60), "every subscription at the head, the outbox empty") {
            let head = try await runtime.store.headPosition()
            for subscription in runtime.subscriptions {
                if case .faulted(let position, let error) = subscription.runner.currentStatus.state {
                    Issue.record("\(subscription.name) faulted at \(position): \(error)")
                    return true
                }
                guard try await runtime.checkpoint(of: subscription.name) >= head else { return false }
            }
            let pending = try await runtime.queries.rows(SQLStatement("SELECT count(*) AS n FROM chronicle_process_outbox"))
            return pending.first?["n"]?.integer == 0
        }
        #expect(ok)
        let orders = try await runtime.queries.rows(SQLStatement("SELECT status FROM pizza_orders"))
        #expect(!orders.isEmpty && orders.allSatisfy { ["delivered", "rejected"].contains($0["status"]?.text ?? "") })
    }
}

/// Stored events that no route of today's applications can produce on demand, written with the codecs
/// of 2026-12-06 (StoredEvents.json).
struct StoredEvents: Decodable {
    let category: String
    let type: String
    let schema_version: Int
    let data: String

    static func extra() throws -> [StoredEvents] {
        let url = try #require(Bundle.module.url(forResource: "Corpus/events-without-a-route-2026-12-06", withExtension: "json"))
        return try JSONDecoder().decode([StoredEvents].self, from: Data(contentsOf: url))
    }
}
