import Foundation
import Logging
import Metrics

/// A subscription's own SQL transactions, on whichever backend the runtime uses: a process manager's
/// state, its pending commands and its checkpoint change together or not at all.
public protocol SubscriptionStorage: Sendable {
    /// Creates tables if they are missing (several processes may do so at once).
    func prepare(_ statements: [SQLStatement]) async throws
    /// The subscription's checkpoint (``GlobalPosition/start`` when it has none).
    func checkpoint(for name: String) async throws -> GlobalPosition
    /// The rows `statement` selects.
    func rows(_ statement: SQLStatement) async throws -> [SQLRow]
    /// In one transaction: runs the statements of each write past the stored checkpoint (those at or
    /// before it were committed already), then stores the last write's position as the checkpoint of
    /// `name`. On PostgreSQL, only while this worker owns the subscription.
    func commit(_ writes: [SubscriptionWrite], checkpointFor name: String) async throws
    /// Runs `statements` in one transaction; on PostgreSQL, only while this worker owns `name`.
    func execute(_ statements: [SQLStatement], for name: String) async throws
}

/// A batch seen from the checkpoint stored with its subscription's rows: the one rule of every
/// checkpointed write, whatever the backend (a subscription's storage, a rebuild's replica) — apply only
/// what lies past the stored checkpoint (what is at or before it was committed already, by this runner
/// before a crash or by another), then move the checkpoint to the batch's last position, both in the
/// transaction that read the checkpoint. A backend does the reading, running and storing.
public struct PastCheckpoint<Item> {
    /// The items past the stored checkpoint, in order: the ones to apply.
    public let items: [Item]
    /// Where the checkpoint moves (nil: the batch is all at or before it, and nothing is written).
    public let checkpoint: GlobalPosition?

    /// `batch` (in log order) against the stored `checkpoint`, each item at `position`.
    public init(_ batch: [Item], after checkpoint: GlobalPosition, position: (Item) -> GlobalPosition) {
        items = batch.filter { position($0) > checkpoint }
        self.checkpoint = batch.last.map(position).flatMap { $0 > checkpoint ? $0 : nil }
    }
}

/// What taking in one event writes.
public struct SubscriptionWrite: Sendable {
    /// The event's position.
    public var position: GlobalPosition
    /// The statements.
    public var statements: [SQLStatement]

    /// Makes a write.
    public init(position: GlobalPosition, statements: [SQLStatement]) {
        self.position = position
        self.statements = statements
    }
}

/// One process of a process manager.
public struct ProcessInstance: Sendable, Hashable {
    /// The process's key (its correlation).
    public var id: String
    /// Its state, as JSON text.
    public var state: String
    /// Whether it is still going.
    public var open: Bool
    /// The position of the last event it took in.
    public var position: Int64
    /// Commands waiting to be sent: now, or at their deadline.
    public var pending: [PendingCommand]

    /// A command waiting in the outbox.
    public struct PendingCommand: Sendable, Hashable {
        public var commandId: String
        public var type: String
        /// Its deadline's key, for a scheduled command.
        public var deadline: String?
        /// When it is due (ISO 8601), for a scheduled command.
        public var dueAt: String?
    }
}

/// What the admin console asks of a process manager's subscription.
public protocol ProcessInspecting: Sendable {
    /// Creates the process tables if they are missing.
    func prepare() async throws
    /// The processes still going, most recently moved first.
    func openInstances(limit: Int) async throws -> [ProcessInstance]
    /// How many processes are still going.
    func openCount() async throws -> Int
}

/// Runs a ``ProcessManager`` as an ``EventConsumer``.
///
/// For each batch: folds each event into its process's state and turns what the process asks for into
/// rows of an outbox; the states, the outbox rows and the checkpoint commit in one transaction. Then it
/// sends every command that is due through the ``CommandBus``, each with its derived id, and deletes the
/// rows the bus has answered, a page at a time — together with the rows of whatever the process asks for
/// when a command was rejected. A crash between sending and deleting sends the command again with the same id,
/// which the command handler answers with its first outcome: every command applies once. A deadline is
/// an outbox row with a due time; cancelling it deletes the row; a pending row survives restarts.
///
/// Deadlines fall due on the ``ProcessClock`` the runtime was given, checked after each batch and each
/// time the subscription finds no new event (every poll interval).
public final class ProcessManagerConsumer<Manager: ProcessManager>: EventConsumer, ProcessInspecting {
    /// The process manager.
    public let manager: Manager
    /// Where states, the outbox and the checkpoint live.
    public let storage: any SubscriptionStorage
    /// Where commands go.
    public let bus: CommandBus
    /// The time deadlines are measured by.
    public let clock: any ProcessClock
    private let logger: Logger
    private let sent: Counter
    private let rejections: Counter

    /// Runs `manager`, keeping its processes in `storage` and sending its commands through `bus`.
    public init(
        _ manager: Manager, storage: any SubscriptionStorage, bus: CommandBus, clock: any ProcessClock = SystemProcessClock(),
        logger: Logger = Logger(label: "chronicle.process")
    ) {
        self.manager = manager
        self.storage = storage
        self.bus = bus
        self.clock = clock
        var logger = logger
        logger[metadataKey: "process_manager"] = "\(manager.name)"
        self.logger = logger
        sent = Counter(label: "chronicle_process_commands_total", dimensions: [("process_manager", manager.name), ("outcome", "sent")])
        rejections = Counter(label: "chronicle_process_commands_total", dimensions: [("process_manager", manager.name), ("outcome", "rejected")])
    }

    public var name: String { manager.name }

    /// Creates the tables every process manager shares, if missing.
    public func prepare() async throws {
        try await storage.prepare(ProcessTables.create)
    }

    public func checkpoint() async throws -> GlobalPosition {
        try await storage.checkpoint(for: name)
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        guard !events.isEmpty else { return }
        var states: [String: Manager.State] = [:]
        var writes: [SubscriptionWrite] = []
        for event in events {
            guard let decoded = try manager.decode(event), let key = manager.correlate(decoded) else {
                writes.append(SubscriptionWrite(position: event.position, statements: []))
                continue
            }
            let before: Manager.State
            if let cached = states[key] { before = cached } else { before = try await storedState(of: key) ?? manager.initialState }
            let after = manager.evolve(before, decoded)
            states[key] = after
            var statements = [try ProcessTables.upsert(manager: name, process: key, state: after, open: !manager.isFinished(after), at: event.position)]
            statements += try outbox(
                manager.react(to: decoded, in: after), process: key, cause: event.id, sequence: event.position.rawValue << 16,
                metadata: .causedBy(event))
            writes.append(SubscriptionWrite(position: event.position, statements: statements))
        }
        try await storage.commit(writes, checkpointFor: name)
        try await sendDueCommands()
    }

    /// Sends the commands that are due; runs when the subscription finds no new event.
    public func idle() async throws {
        try await sendDueCommands()
    }

    /// Sends every due command, oldest first, until none is due. The rows answered are deleted together
    /// after each page (with what rejections asked for): a crash before that re-sends them with their
    /// ids, which the command handler answers with their first outcome.
    public func sendDueCommands() async throws {
        while true {
            let due = try await storage.rows(ProcessTables.due(manager: name, now: clock.now(), limit: 100))
            var statements: [SQLStatement] = []
            var followUps = false
            do {
                for row in due {
                    let answered = try await send(row)
                    statements += answered
                    followUps = followUps || answered.count > 1
                }
            } catch {
                // What was answered before the failure is done: record it, then report the failure.
                if !statements.isEmpty { try? await storage.execute(statements, for: name) }
                throw error
            }
            if !statements.isEmpty { try await storage.execute(statements, for: name) }
            if due.count < 100 && !followUps { return }
        }
    }

    /// Sends one outbox row's command; answers the statements that record its answer.
    private func send(_ row: SQLRow) async throws -> [SQLStatement] {
        guard let commandId = row["command_id"]?.text.flatMap(UUID.init(uuidString:)), let process = row["process_id"]?.text,
            let type = row["command_type"]?.text, let body = row["body"]?.text
        else { throw EventStoreError.storage("\(name): an outbox row that cannot be read") }
        let metadata = Metadata(
            causationId: row["causation_id"]?.text.flatMap(UUID.init(uuidString:)),
            correlationId: row["correlation_id"]?.text.flatMap(UUID.init(uuidString:)))
        let answer = try await bus.send(CommandEnvelope(type: type, body: Data(body.utf8), commandId: commandId, origin: .process, metadata: metadata))
        sent.increment()
        var statements = [ProcessTables.delete(manager: name, commandId: commandId)]
        if case .rejected(let rejection) = answer {
            let reason = rejection.description
            rejections.increment()
            logger.info("a command was rejected", metadata: ["command": "\(type)", "process": "\(process)", "reason": "\(reason)"])
            let command = try ProcessCommand(type: type, body: Data(body.utf8))
            let state = try await storedState(of: process) ?? manager.initialState
            let sequence = row["sequence"]?.integer ?? 0
            var followUp = metadata
            followUp.causationId = commandId
            statements += try outbox(
                manager.rejected(command, reason: reason, in: state), process: process, cause: commandId, sequence: sequence + 1,
                metadata: followUp)
        }
        return statements
    }

    /// The outbox statements for what a process asked for.
    private func outbox(_ actions: [ProcessAction], process: String, cause: UUID, sequence: Int64, metadata: Metadata) throws -> [SQLStatement] {
        var statements: [SQLStatement] = []
        for (index, action) in actions.enumerated() {
            let id = UUID.processCommand(index, of: name, causedBy: cause)
            switch action {
            case .send(let command):
                statements.append(
                    ProcessTables.insert(
                        manager: name, process: process, commandId: id, command: command, sequence: sequence + Int64(index), key: nil, due: nil,
                        metadata: metadata))
            case let .schedule(command, delay, key):
                statements.append(ProcessTables.cancel(manager: name, process: process, key: key))
                statements.append(
                    ProcessTables.insert(
                        manager: name, process: process, commandId: id, command: command, sequence: sequence + Int64(index), key: key,
                        due: clock.now().addingTimeInterval(delay.seconds), metadata: metadata))
            case .cancel(let key):
                statements.append(ProcessTables.cancel(manager: name, process: process, key: key))
            }
        }
        return statements
    }

    private func storedState(of process: String) async throws -> Manager.State? {
        guard let text = try await storage.rows(ProcessTables.state(manager: name, process: process)).first?["state"]?.text else { return nil }
        do {
            return try JSONDecoder().decode(Manager.State.self, from: Data(text.utf8))
        } catch {
            throw EventStoreError.storage("\(name): the stored state of process \(process) cannot be read: \(error)")
        }
    }

    /// The processes still going (most recently moved first), with their pending commands.
    public func openInstances(limit: Int = 50) async throws -> [ProcessInstance] {
        let rows = try await storage.rows(ProcessTables.open(manager: name, limit: limit))
        var pending: [String: [ProcessInstance.PendingCommand]] = [:]
        for row in try await storage.rows(ProcessTables.outbox(manager: name, limit: 500)) {
            guard let process = row["process_id"]?.text else { continue }
            pending[process, default: []].append(
                ProcessInstance.PendingCommand(
                    commandId: row["command_id"]?.text ?? "", type: row["command_type"]?.text ?? "", deadline: row["deadline_key"]?.text,
                    dueAt: row["due_at"]?.timestamp?.description))
        }
        return rows.compactMap { row in
            guard let id = row["process_id"]?.text else { return nil }
            return ProcessInstance(
                id: id, state: row["state"]?.text ?? "", open: row["open"]?.bool ?? true, position: row["updated_position"]?.integer ?? 0,
                pending: pending[id] ?? [])
        }
    }

    /// How many processes are still going.
    public func openCount() async throws -> Int {
        Int(try await storage.rows(ProcessTables.openCount(manager: name)).first?["count"]?.integer ?? 0)
    }
}

/// The tables every process manager shares, in the dialect SQLite and PostgreSQL share.
enum ProcessTables {
    static let create: [SQLStatement] = [
        SQLStatement(
            """
            CREATE TABLE IF NOT EXISTS chronicle_process_instances (
                manager TEXT NOT NULL, process_id TEXT NOT NULL, state TEXT NOT NULL, open BOOLEAN NOT NULL,
                started_position BIGINT NOT NULL, updated_position BIGINT NOT NULL, PRIMARY KEY (manager, process_id))
            """),
        SQLStatement("CREATE INDEX IF NOT EXISTS chronicle_process_instances_open ON chronicle_process_instances (manager, open, updated_position)"),
        SQLStatement(
            """
            CREATE TABLE IF NOT EXISTS chronicle_process_outbox (
                manager TEXT NOT NULL, command_id TEXT NOT NULL, process_id TEXT NOT NULL, sequence BIGINT NOT NULL,
                deadline_key TEXT, due_at TIMESTAMPTZ, command_type TEXT NOT NULL, body TEXT NOT NULL,
                causation_id TEXT, correlation_id TEXT, PRIMARY KEY (manager, command_id))
            """),
        SQLStatement("CREATE INDEX IF NOT EXISTS chronicle_process_outbox_order ON chronicle_process_outbox (manager, sequence)"),
        SQLStatement("CREATE INDEX IF NOT EXISTS chronicle_process_outbox_deadline ON chronicle_process_outbox (manager, process_id, deadline_key)"),
    ]

    static func upsert(manager: String, process: String, state: some Encodable, open: Bool, at position: GlobalPosition) throws -> SQLStatement {
        // NOTE: stored format — process states were stored with `/` escaped.
        let text = String(decoding: try StoredJSON.encode(state, slashes: .escaped), as: UTF8.self)
        return SQLStatement(
            """
            INSERT INTO chronicle_process_instances (manager, process_id, state, open, started_position, updated_position)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (manager, process_id) DO UPDATE
            SET state = excluded.state, open = excluded.open, updated_position = excluded.updated_position
            """, [.text(manager), .text(process), .text(text), .bool(open), .integer(position.rawValue), .integer(position.rawValue)])
    }

    static func state(manager: String, process: String) -> SQLStatement {
        SQLStatement("SELECT state FROM chronicle_process_instances WHERE manager = ? AND process_id = ?", [.text(manager), .text(process)])
    }

    static func insert(
        manager: String, process: String, commandId: UUID, command: ProcessCommand, sequence: Int64, key: String?, due: Date?, metadata: Metadata
    ) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO chronicle_process_outbox
                (manager, command_id, process_id, sequence, deadline_key, due_at, command_type, body, causation_id, correlation_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (manager, command_id) DO NOTHING
            """,
            [
                .text(manager), .text(commandId.uuidString.lowercased()), .text(process), .integer(sequence), .text(key),
                due.map { .timestamp(SQLTimestamp($0)) } ?? .null, .text(command.type), .text(String(decoding: command.body, as: UTF8.self)),
                .text(metadata.causationId?.uuidString.lowercased()), .text(metadata.correlationId?.uuidString.lowercased()),
            ])
    }

    static func cancel(manager: String, process: String, key: String) -> SQLStatement {
        SQLStatement(
            "DELETE FROM chronicle_process_outbox WHERE manager = ? AND process_id = ? AND deadline_key = ?", [.text(manager), .text(process), .text(key)])
    }

    static func delete(manager: String, commandId: UUID) -> SQLStatement {
        SQLStatement("DELETE FROM chronicle_process_outbox WHERE manager = ? AND command_id = ?", [.text(manager), .text(commandId.uuidString.lowercased())])
    }

    static func due(manager: String, now: Date, limit: Int) -> SQLStatement {
        SQLStatement(
            """
            SELECT command_id, process_id, sequence, command_type, body, causation_id, correlation_id FROM chronicle_process_outbox
            WHERE manager = ? AND (due_at IS NULL OR due_at <= ?) ORDER BY sequence, command_id LIMIT \(limit)
            """, [.text(manager), .timestamp(SQLTimestamp(now))])
    }

    static func open(manager: String, limit: Int) -> SQLStatement {
        SQLStatement(
            """
            SELECT process_id, state, open, updated_position FROM chronicle_process_instances
            WHERE manager = ? AND open = ? ORDER BY updated_position DESC LIMIT \(limit)
            """, [.text(manager), .bool(true)])
    }

    static func openCount(manager: String) -> SQLStatement {
        SQLStatement("SELECT CAST(COUNT(*) AS BIGINT) AS count FROM chronicle_process_instances WHERE manager = ? AND open = ?", [.text(manager), .bool(true)])
    }

    static func outbox(manager: String, limit: Int) -> SQLStatement {
        SQLStatement(
            "SELECT command_id, process_id, command_type, deadline_key, due_at FROM chronicle_process_outbox WHERE manager = ? ORDER BY sequence LIMIT \(limit)",
            [.text(manager)])
    }
}

extension ProcessManager {
    /// The state of one process after `events` (given/when/then tests fold their "given" with it).
    public func state(after events: [Event]) -> State {
        events.reduce(initialState, evolve)
    }

    /// What the process asks for when `event` follows `given` (a given/when/then test's "then").
    public func actions(given: [Event], when event: Event) -> [ProcessAction] {
        react(to: event, in: evolve(state(after: given), event))
    }
}
