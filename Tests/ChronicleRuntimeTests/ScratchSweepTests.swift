import Chronicle
import ChroniclePostgres
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Logging
import PostgresNIO
import Testing

/// Hardening 2, item 7: scratch that a process killed while building leaves behind (rebuild files beside
/// the SQLite file, point-in-time files in the temporary directory, replica schemas on PostgreSQL) is
/// removed when a runtime prepares — and only what no live process owns.
@Suite struct ScratchSweepTests {
    @Test func onSQLiteTheFilesOfProcessesThatAreGoneAreRemovedAndLiveOnesKept() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("sweep.sqlite")
        let temporary = FileManager.default.temporaryDirectory.path
        // A process id that cannot run: above the kernel's largest (4,194,304).
        let dead = "\(database).rebuild-99999999-abcd1234-ledger_counts"
        let legacy = "\(database).rebuild-ledger_counts-abcd1234"  // an earlier version's name
        let alive = "\(database).rebuild-\(getpid())-abcd1234-ledger_counts"
        let deadAsOf = "\(temporary)/chronicle-as-of-99999999-\(UUID().uuidString.prefix(8)).sqlite"
        let aliveAsOf = "\(temporary)/chronicle-as-of-\(getpid())-\(UUID().uuidString.prefix(8)).sqlite"
        for path in [dead, legacy, alive, deadAsOf, aliveAsOf] { #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
        defer { for path in [alive, aliveAsOf] { try? FileManager.default.removeItem(atPath: path) } }

        let runtime = try ChronicleRuntime(configuration: .init(sqlitePath: database), modules: [Ledger()])
        try await runtime.prepare()
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(!FileManager.default.fileExists(atPath: legacy))
        #expect(!FileManager.default.fileExists(atPath: deadAsOf))
        #expect(FileManager.default.fileExists(atPath: alive), "a live process's rebuild file was removed")
        #expect(FileManager.default.fileExists(atPath: aliveAsOf), "a live process's point-in-time file was removed")
        #expect(FileManager.default.fileExists(atPath: database))
    }
}

extension PostgresRuntimeTests {
    /// A replica schema whose building session is gone is dropped; one a live session holds is kept.
    @Test func onPostgreSQLReplicaSchemasNoSessionHoldsAreDropped() async throws {
        try await Self.withDatabase { database in
            let abandoned = "chronicle_replica_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let held = "chronicle_replica_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            try await database.execute("CREATE SCHEMA \(unescaped: abandoned)")
            func exists(_ schema: String) async throws -> Bool {
                try await database.withConnection { connection in
                    var found = false
                    for try await n in try await connection.query(
                        "SELECT count(*) FROM pg_namespace WHERE nspname = \(schema)", logger: Logger(label: "test")
                    ).decode(Int64.self) { found = n > 0 }
                    return found
                }
            }
            // Another session holds the lock of `held`, as a building process does, while the runtime prepares.
            // As a builder does, it takes the lock before it creates the schema: tests running beside this
            // one sweep the same database, and would rightly drop a schema nobody holds yet.
            try await database.client.withConnection { holder in
                try await holder.query("SELECT pg_advisory_lock(1129467986, hashtext(\(String(held))))", logger: Logger(label: "test"))
                try await database.execute("CREATE SCHEMA \(unescaped: held)")
                let runtime = try ChronicleRuntime(configuration: .init(backend: .postgres(database)), modules: [Ledger()])
                try await runtime.prepare()
                #expect(try await !exists(String(abandoned)), "the abandoned replica schema is still there")
                #expect(try await exists(String(held)), "a schema a live session holds was dropped")
                _ = try await holder.query("SELECT pg_advisory_unlock(1129467986, hashtext(\(String(held))))", logger: Logger(label: "test"))
            }
            try await database.execute("DROP SCHEMA IF EXISTS \(unescaped: String(held)) CASCADE")
        }
    }
}
