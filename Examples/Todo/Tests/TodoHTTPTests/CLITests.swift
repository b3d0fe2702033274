import Foundation
import ChronicleHTTPTesting
import Testing

/// Runs the built `todo` binary against a live server, as a user would.
@Suite struct CLITests {
    static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/todo").path

    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    static func todo(_ arguments: [String]) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, out: String(decoding: output, as: UTF8.self), err: String(decoding: error, as: UTF8.self))
    }

    @Test func theTodoCLIAddsListsCompletesAndReportsErrors() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: swift build --build-tests")
        let harness = try await Harness()
        try await harness.run { client in
            let url = "--url=http://127.0.0.1:\(client.port)"
            let uuid = try await Self.todo(["uuid"])
            let id = uuid.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(UUID(uuidString: id) != nil && id == id.lowercased())

            let add = try await Self.todo(["add", url, "-i", id, "-t", "Write the CLI", "-d", "Mirror scripts/request", "-D", "2017-01-01", "-s", "ada@example.com"])
            #expect(add.status == 0)
            #expect(
                add.out.contains(
                    "Adding todo [\(id)]: {\"description\":\"Mirror scripts/request\",\"due_date\":\"2017-01-01\",\"stakeholder_email\":\"ada@example.com\",\"title\":\"Write the CLI\"}"
                ))
            #expect(add.out.hasSuffix("Success.\n"))

            let duplicate = try await Self.todo(["add", url, "-i", id, "-t", "Again"])
            #expect(duplicate.status == 1)
            #expect(duplicate.err.contains("Error:\n  Todo \"\(id)\" already exists"))

            let amend = try await Self.todo(["amend", url, "-i", id, "-t", "Write the todo CLI"])
            #expect(amend.status == 0)
            let list = try await Self.todo(["list", url, "-l", "outstanding"])
            #expect(list.status == 0)
            #expect(list.out.hasPrefix("Outstanding todos\n"))
            #expect(list.out.contains("Write the todo CLI") || list.out.contains("Write the CLI"))
            let scheduled = try await Self.todo(["list", url, "-l", "scheduled"])
            #expect(scheduled.out.contains("2017-01-01"))

            let badDate = try await Self.todo(["complete", url, "-i", id, "-D", "yesterday"])
            #expect(badDate.status == 1 && badDate.err.contains("completed_on is invalid"))
            let complete = try await Self.todo(["complete", url, "-i", id, "-D", "2017-01-02"])
            #expect(complete.status == 0)
            var completed = try await Self.todo(["list", url, "-l", "completed"])
            for _ in 0..<200 where !completed.out.contains("2017-01-02") {
                try await Task.sleep(for: .milliseconds(25))
                completed = try await Self.todo(["list", url, "-l", "completed"])
            }
            #expect(completed.out.contains("completed_on") && completed.out.contains("2017-01-02"))

            let second = try await Self.todo(["uuid"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await Self.todo(["add", url, "-i", second, "-t", "Second"]).status == 0)
            #expect(try await Self.todo(["moveup", url, "-i", second]).status == 0)
            #expect(try await Self.todo(["abandon", url, "-i", second, "-D", "2017-01-03"]).status == 0)
            let wrongList = try await Self.todo(["list", url, "-l", "everything"])
            #expect(wrongList.status != 0)
            let unreachable = try await Self.todo(["list", "--url=http://127.0.0.1:1", "-l", "outstanding"])
            #expect(unreachable.status != 0)
        }
    }
}
