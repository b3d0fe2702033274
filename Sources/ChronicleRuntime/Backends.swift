import Chronicle
import ChroniclePostgres
import ChronicleSQLite

/// What the runtime's subscriptions need of the database, whichever it is: one implementation per
/// backend, so that building every module's subscriptions is one loop, not one per backend.
protocol SubscriptionBackend {
    var store: any EventStore { get }
    var checkpoints: any CheckpointStore { get }
    var snapshots: any SnapshotStore { get }
    var queries: any SQLQuerying { get }
    /// Where the subscription `name` writes: its storage (read models, process managers), its checkpoints
    /// (reactors), and the fence every write checks (nil: one process runs every subscription).
    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?)
}

/// An SQLite file: one process, no fences.
struct SQLiteBackend: SubscriptionBackend {
    let database: SQLiteDatabase
    var store: any EventStore { eventStore }
    let eventStore: SQLiteEventStore
    var checkpoints: any CheckpointStore { SQLiteCheckpointStore(database: database) }
    var snapshots: any SnapshotStore { SQLiteSnapshotStore(database: database) }
    var queries: any SQLQuerying { database }

    init(_ database: SQLiteDatabase) {
        self.database = database
        self.eventStore = SQLiteEventStore(database: database)
    }

    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?) {
        (SQLiteSubscriptionStorage(database: database), checkpoints, nil)
    }
}

/// A PostgreSQL database shared by workers: every subscription's writes fenced by its ownership epoch.
struct PostgresBackend: SubscriptionBackend {
    let database: PostgresDatabase
    let eventStore: PostgresEventStore
    var store: any EventStore { eventStore }
    var checkpoints: any CheckpointStore { PostgresCheckpointStore(database: database) }
    var snapshots: any SnapshotStore { PostgresSnapshotStore(database: database) }
    var queries: any SQLQuerying { database }

    init(_ database: PostgresDatabase) {
        self.database = database
        self.eventStore = PostgresEventStore(database: database)
    }

    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?) {
        let fence = SubscriptionFence(name: name)
        return (PostgresSubscriptionStorage(database: database, fence: fence), PostgresCheckpointStore(database: database, fence: fence), fence)
    }
}
