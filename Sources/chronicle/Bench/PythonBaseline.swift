import Foundation

/// S6's outside yardstick: the Python `eventsourcing` library (the best-known event-sourcing library
/// in Python) doing the same commands on its own SQLite file on this machine, in the same run: open
/// `commands` accounts, then, timed, deposit on each (get the aggregate, trigger one event, save).
enum PythonBaseline {
    enum Outcome {
        /// Commands per second, and how its database was set up.
        case measured(Double, String)
        /// Why it did not run (no Python, or no `eventsourcing` package).
        case unavailable(String)
    }

    /// Runs the script with `python`; throws when it runs and fails.
    static func commandRate(python: String, commands: Int, directory: URL) throws -> Outcome {
        let script = directory.appendingPathComponent("eventsourcing_commands.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path, String(commands), directory.appendingPathComponent("python-es.sqlite").path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: break
        case 3: return .unavailable("\(python) has no eventsourcing package (pip install eventsourcing; --python)")
        case 127: return .unavailable("no \(python)")
        default: throw RawError("the Python eventsourcing comparison failed: \(complaint.suffix(500))")
        }
        struct Figures: Decodable {
            var commands: Int
            var seconds: Double
            var journal_mode: String
            var synchronous: Int
        }
        let figures = try JSONDecoder().decode(Figures.self, from: printed)
        return .measured(Double(figures.commands) / figures.seconds, "journal \(figures.journal_mode), synchronous \(figures.synchronous)")
    }

    static let script = #"""
        import json, os, sys, time
        try:
            from eventsourcing.application import Application
            from eventsourcing.domain import Aggregate, event
        except ImportError:
            sys.exit(3)

        class Account(Aggregate):
            @event("Opened")
            def __init__(self):
                self.balance = 0

            @event("Deposited")
            def deposit(self, amount):
                self.balance += amount

        class Accounts(Application):
            def open(self):
                account = Account()
                self.save(account)
                return account.id

            def deposit(self, account_id, amount):
                account = self.repository.get(account_id)
                account.deposit(amount)
                self.save(account)

        commands, path = int(sys.argv[1]), sys.argv[2]
        os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        os.environ["SQLITE_DBNAME"] = path
        app = Accounts()
        ids = [app.open() for _ in range(commands)]
        start = time.perf_counter()
        for account_id in ids:
            app.deposit(account_id, 5)
        seconds = time.perf_counter() - start
        for account_id in ids:
            assert app.repository.get(account_id).balance == 5
        import sqlite3
        db = sqlite3.connect(path)
        print(json.dumps({
            "commands": commands, "seconds": seconds,
            "journal_mode": db.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": db.execute("PRAGMA synchronous").fetchone()[0],
        }))
        """#
}
