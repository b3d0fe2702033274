import Foundation
import Synchronization

/// Listens for events and dispatches commands: as aggregates listen for commands and emit events,
/// process managers listen for events and send commands. A process manager is a pure value.
///
/// Each event it cares about belongs to one process (its ``correlate(_:)`` key: a transfer's id, an
/// order's id). The process's state is folded from the events that belong to it (``evolve(_:_:)``), and
/// each event may ask for commands (``react(to:in:)``): to be sent now, or at a later time (a deadline,
/// which a later event may cancel). A command the bus rejects comes back through ``rejected(_:reason:in:)``,
/// so that the process can compensate.
///
/// The runtime persists each process's state, its pending commands and the checkpoint in one
/// transaction, and gives every command an id derived from the event (or the rejected command) that
/// asked for it: a crash, a restart, a redelivery or a failover sends it again with the same id, and the
/// command handler applies it once (see ``CommandHandler/handle(_:on:metadata:commandId:)``).
public protocol ProcessManager: Sendable {
    /// What the process manager knows of one process.
    associatedtype State: Codable & Sendable & Equatable
    /// The events it listens to.
    associatedtype Event: Sendable

    /// Its unique, stable name (also the name of its checkpoint).
    var name: String { get }
    /// Every command type it may send: the runtime refuses to start when one of them has no handler on
    /// the bus, instead of faulting the subscription the first time a process sends it.
    var sends: [any NamedCommand.Type] { get }
    /// The state of a process before its first event.
    var initialState: State { get }
    /// The event, if this process manager listens to it (nil for any other event). Throws for an event
    /// it listens to but cannot read: the subscription stops there.
    func decode(_ recorded: RecordedEvent) throws -> Event?
    /// The process `event` belongs to (nil: none).
    func correlate(_ event: Event) -> String?
    /// The process's state after `event`.
    func evolve(_ state: State, _ event: Event) -> State
    /// What to do for `event`, given the process's state after it.
    func react(to event: Event, in state: State) -> [ProcessAction]
    /// What to do when the bus rejected `command`, which this process asked for, with `reason`.
    func rejected(_ command: ProcessCommand, reason: String, in state: State) -> [ProcessAction]
    /// Whether the process is over (it is no longer listed among the open instances).
    func isFinished(_ state: State) -> Bool
}

extension ProcessManager {
    /// Nothing: a rejection is logged and left at that.
    public func rejected(_ command: ProcessCommand, reason: String, in state: State) -> [ProcessAction] { [] }
}

/// A command a process manager sends through the ``CommandBus``: its type name and its JSON fields.
public struct ProcessCommand: Sendable, Hashable, CustomStringConvertible {
    /// The command's type name (`WithdrawMoney`).
    public var type: String
    /// Its fields.
    public var fields: [String: JSONValue]

    /// Makes a command.
    public init(_ type: String, _ fields: [String: JSONValue]) {
        self.type = type
        self.fields = fields
    }

    /// The command `command`, under its type's name, with its fields as it encodes them.
    public init<C: NamedCommand & Encodable>(_ command: C) {
        self.type = C.typeName
        let encoder = StoredJSON.encoder()
        // A command's fields are strings, numbers and arrays of them: encoding one cannot fail.
        let fields = (try? encoder.encode(command)).flatMap { try? JSONDecoder().decode([String: JSONValue].self, from: $0) }
        self.fields = fields ?? [:]
    }

    /// Whether this is a command of type `C` (its type name).
    public func `is`<C: NamedCommand>(_ type: C.Type) -> Bool { self.type == C.typeName }

    /// This command as a `C`, when it is one (its type name, and fields that decode): how a process
    /// manager reads back, typed, a command of its own that the bus rejected.
    public func `as`<C: NamedCommand>(_ type: C.Type) -> C? {
        guard self.type == C.typeName else { return nil }
        return try? JSONDecoder().decode(C.self, from: body)
    }

    /// The body the bus reads: the fields as a JSON object, keys sorted (the same command, the same bytes).
    public var body: Data {
        return (try? StoredJSON.encode(fields)) ?? Data("{}".utf8)
    }

    /// Reads a stored body back.
    public init(type: String, body: Data) throws {
        self.type = type
        self.fields = try JSONDecoder().decode([String: JSONValue].self, from: body)
    }

    public var description: String { "\(type) \(String(decoding: body, as: UTF8.self))" }
}

/// What a process manager asks for.
public enum ProcessAction: Sendable, Hashable {
    /// Send `command` now.
    case send(ProcessCommand)
    /// Send `command` once `delay` has passed (on the runtime's ``ProcessClock``), unless a later event
    /// cancels the deadline `key`. Scheduling a key the process has pending replaces it.
    case schedule(ProcessCommand, after: Duration, key: String)
    /// Cancels the pending deadline `key` of the process (nothing if none).
    case cancel(key: String)

    /// Send the typed `command` now.
    public static func send(_ command: some NamedCommand & Encodable) -> ProcessAction { .send(ProcessCommand(command)) }

    /// Send the typed `command` once `delay` has passed, unless the deadline `key` is cancelled first.
    public static func schedule(_ command: some NamedCommand & Encodable, after delay: Duration, key: String) -> ProcessAction {
        .schedule(ProcessCommand(command), after: delay, key: key)
    }
}

/// The time process managers' deadlines are measured by: the wall clock in production, one the tests move.
public protocol ProcessClock: Sendable {
    /// Now.
    func now() -> Date
}

/// The wall clock.
public struct SystemProcessClock: ProcessClock {
    /// The wall clock.
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until it is moved: tests decide when deadlines are due.
public final class ManualProcessClock: ProcessClock {
    private let current: Mutex<Date>

    /// A clock standing at `start`.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
    }
}

extension Duration {
    /// The duration in seconds, with its fraction.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension UUID {
    /// The id of the `index`-th command (from 0) that a process manager named `manager` sends for the
    /// event or rejected command `cause`: the same on every redelivery, so that the command applies once.
    public static func processCommand(_ index: Int, of manager: String, causedBy cause: UUID) -> UUID {
        let count = withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { Array($0) }
        return UUID(namespace: processCommands, name: Array(manager.utf8) + [0] + withUnsafeBytes(of: cause.uuid) { Array($0) } + count)
    }

    /// The namespace of the command ids derived by process managers.
    static let processCommands = UUID(uuid: (0x2e, 0x91, 0x0b, 0x4d, 0x77, 0x13, 0x4a, 0x08, 0x8c, 0x5f, 0x61, 0xa2, 0x3b, 0xd0, 0x19, 0xe4))
}
