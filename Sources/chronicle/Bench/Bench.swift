import ArgumentParser
import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Logging

/// Runs each scenario against Chronicle and against a raw baseline in the same run (SQLite through its
/// C API), and prints the ratio: the machine's load moves both sides alike.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Chronicle against raw SQLite in the same run: appends, reads, folds, commands, projections, HTTP.",
        discussion: "Build with -c release for figures worth recording (BENCHMARKS.md). --quick runs every scenario small, for the test run.")

    @Flag(help: "Every scenario small and fast (for scripts/test): fails on errors, never on timing.")
    var quick = false

    @Option(help: "PRAGMA synchronous for both sides: FULL (the default durability), NORMAL or OFF.")
    var synchronous = "FULL"

    @Option(help: "Only these scenarios (comma-separated, e.g. S1,S8).")
    var only: String?

    @Option(help: "sqlite (the default) or postgres (at --postgres or DATABASE_URL, in a schema of its own, dropped afterwards).")
    var backend = "sqlite"

    @Option(help: "The PostgreSQL URL for --backend postgres (default: DATABASE_URL).")
    var postgres: String?

    @Option(help: "A Python with the eventsourcing package (pip install eventsourcing), for S6's comparison.")
    var python = "python3"

    @Option(help: .hidden) var replay: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        if let replay { return try await Self.replayAndReport(path: replay) }
        guard let level = SQLiteDatabase.Configuration.Synchronous(rawValue: synchronous.uppercased()) else {
            throw ValidationError("synchronous must be FULL, NORMAL or OFF")
        }
        let sizes = quick ? Sizes.quick : Sizes.full
        let wanted = only.map { Set($0.uppercased().split(separator: ",").map(String.init)) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chronicle-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        switch backend {
        case "sqlite":
            let run = Scenarios(directory: directory, sizes: sizes, synchronous: level, python: python)
            print("chronicle bench: SQLite synchronous=\(level.rawValue), \(quick ? "quick" : "full") sizes, \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print(Measurement.header)
            for scenario in Scenarios.all + Scenarios.grpcScenarios where wanted?.contains(scenario.id) ?? true {
                Self.resetPeakRSS()
                print(try await scenario.run(run).line(id: scenario.id, title: scenario.title, peakKilobytes: Self.peakRSSKilobytes()))
            }
        case "postgres":
            guard let url = postgres ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                throw ValidationError("--backend postgres needs --postgres URL or DATABASE_URL")
            }
            try await PostgresDatabase.withTemporarySchema(url: url) { database, schema in
                let run = PostgresScenarios(database: database, url: url, sizes: sizes, directory: directory)
                print(
                    "chronicle bench: PostgreSQL at \(database.endpoint) (schema \(schema)), \(quick ? "quick" : "full") sizes, \(ProcessInfo.processInfo.activeProcessorCount) cores"
                )
                print(Measurement.header)
                for scenario in PostgresScenarios.all where wanted?.contains(scenario.id) ?? true {
                    Self.resetPeakRSS()
                    print(try await scenario.run(run).line(id: scenario.id, title: scenario.title, peakKilobytes: Self.peakRSSKilobytes()))
                }
            }
        default:
            throw ValidationError("--backend must be sqlite or postgres")
        }
        print("peak RSS of this process: \(Self.peakRSSKilobytes() / 1024) MB")
    }

    /// S9's second half, in a process of its own so that its peak memory is its own: replays the log at
    /// `path` page by page into a fold, and prints events, seconds and the peak RSS.
    static func replayAndReport(path: String) async throws {
        let store = SQLiteEventStore(database: try SQLiteDatabase(path: path))
        let start = ContinuousClock.now
        var (after, count, bytes) = (GlobalPosition.start, 0, 0)
        while true {
            let page = try await store.readAll(after: after, limit: 1_000)
            guard let last = page.last else { break }
            for event in page { bytes &+= event.data.count }
            count += page.count
            after = last.position
        }
        print("\(count) \(seconds(start.duration(to: .now))) \(peakRSSKilobytes())")
    }

    /// Starts the process's peak resident memory afresh from what it holds now (Linux: `clear_refs` 5),
    /// so that each scenario's peak is its own.
    static func resetPeakRSS() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The process's peak resident memory (VmHWM), in kB.
    static func peakRSSKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// How much work each scenario does.
struct Sizes {
    var singles: Int
    var concurrent: Int
    var batched: Int
    var folds: Int
    var commands: Int
    var projected: Int
    var http: Duration

    static let full = Sizes(singles: 2_000, concurrent: 6_400, batched: 50_000, folds: 5_000, commands: 2_000, projected: 1_000_000, http: .seconds(10))
    static let quick = Sizes(singles: 40, concurrent: 128, batched: 1_000, folds: 50, commands: 40, projected: 5_000, http: .milliseconds(500))
}

/// One scenario's figures.
struct Measurement {
    var rate: Double
    var baseline: Double?
    var latencies: [Double] = []
    var note = ""

    static let header =
        "scenario                                        chronicle/s   baseline/s   ratio    p50 ms    p99 ms  peak MB  notes"

    /// The scenario's line; `peakKilobytes` is the process's peak resident memory during it.
    func line(id: String, title: String, peakKilobytes: Int) -> String {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "—" }
            return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000)
        }
        let ratio = baseline.map { String(format: "%.2f×", rate / $0) } ?? "—"
        return "\(id) \(title)".padding(toLength: 46, withPad: " ", startingAt: 0)
            + String(format: "%12.0f", rate) + (baseline.map { String(format: "%13.0f", $0) } ?? "            —")
            + ratio.leftPadded(8) + percentile(0.5).leftPadded(10) + percentile(0.99).leftPadded(10)
            + String(peakKilobytes / 1024).leftPadded(9) + "  " + note
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

struct Scenario: Sendable {
    let id: String
    let title: String
    let run: @Sendable (Scenarios) async throws -> Measurement
}
