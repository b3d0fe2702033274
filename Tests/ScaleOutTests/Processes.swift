import ChronicleTesting
import Foundation
import Testing

/// The PostgreSQL server of the run (scripts/test starts a throwaway one). Without it these suites
/// skip locally, and fail in CI (CI=true).
enum ScaleOut {
    static let url = ProcessInfo.processInfo.environment["DATABASE_URL"]
    static let isAvailable = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    static func requireURL() throws -> String {
        guard let url else {
            Issue.record("DATABASE_URL is not set: run scripts/test, which starts a throwaway PostgreSQL")
            throw CancellationError()
        }
        return url
    }

    /// The built `chronicle` executable.
    static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/chronicle").path
}

/// A `chronicle` OS process, its output captured to files.
final class ChronicleProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test's task; Foundation's Process is not Sendable.
    let process = Process()
    let output: URL

    init(_ arguments: [String], directory: TemporaryDirectory, name: String, environment: [String: String] = [:]) throws {
        #expect(FileManager.default.isExecutableFile(atPath: ScaleOut.binary), "build first: swift build --build-tests")
        output = directory.url.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.executableURL = URL(fileURLWithPath: ScaleOut.binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits (off the cooperative pool) until the process exits, at most `timeout`; answers its status.
    func waitForExit(timeout: Duration = .seconds(120)) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func kill(_ signal: Int32) {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, signal) }
    }

    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    deinit { kill(SIGKILL) }
}
