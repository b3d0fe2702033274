import Chronicle
import Foundation
import Testing

/// What every ``SnapshotStore`` must do, run against a fresh store of each backend.
public enum SnapshotStoreContract {
    /// Runs every rule against a fresh store.
    public static func run(_ store: any SnapshotStore) async throws {
        let account = try StreamName("account-1")
        let other = try StreamName("account-2")
        func snapshot(_ stream: StreamName, _ version: StreamVersion, schema: Int = 1, _ text: String) -> Snapshot {
            Snapshot(stream: stream, version: version, schemaVersion: schema, data: Data(text.utf8))
        }
        #expect(try await store.latestSnapshot(of: account) == nil)
        // Bytes come back exactly, per stream.
        let binary = Snapshot(stream: account, version: 2, schemaVersion: 1, data: Data([0, 255, 10, 13, 0x80]))
        try await store.save(binary)
        try await store.save(snapshot(other, 7, "other"))
        #expect(try await store.latestSnapshot(of: account) == binary)
        // A later one replaces it; an earlier one of the same schema does not.
        try await store.save(snapshot(account, 4, "four"))
        try await store.save(snapshot(account, 3, "three"))
        #expect(try await store.latestSnapshot(of: account) == snapshot(account, 4, "four"))
        // One of another schema version always does (the older schema's is of no use to its decider).
        try await store.save(snapshot(account, 2, schema: 2, "new schema"))
        #expect(try await store.latestSnapshot(of: account) == snapshot(account, 2, schema: 2, "new schema"))
        #expect(try await store.latestSnapshot(of: other) == snapshot(other, 7, "other"))
        try await store.deleteAllSnapshots()
        #expect(try await store.latestSnapshot(of: account) == nil)
        #expect(try await store.latestSnapshot(of: other) == nil)
    }
}
