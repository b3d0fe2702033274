import ChronicleTesting
import Foundation
import Testing

/// What an operator meets starting the processes: PostgreSQL reached without a password on the command
/// line, a clear error naming host and port when it cannot be reached, and a server that will not expose
/// its administrative side beyond loopback without a credential.
@Suite(.enabled(if: ScaleOut.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct OperatorTests {
    @Test func serveTakesDatabaseURLAndAPasswordFileAndStopsOnSIGTERM() async throws {
        let url = try ScaleOut.requireURL()
        let directory = try TemporaryDirectory()
        let passwordFile = directory.path("password")
        try "not-needed-on-trust\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let serve = try ChronicleProcess(
            [
                "serve", "--port", "0", "--postgres-from-environment", "--postgres-password-file", passwordFile,
                "--mailbox", directory.path("m.mailbox"),
            ],
            directory: directory, name: "serve", environment: ["DATABASE_URL": url])
        await eventually(timeout: .seconds(60), "serve is up on PostgreSQL") { serve.log.contains("Chronicle is serving") }
        #expect(serve.log.contains("database=PostgreSQL at 127.0.0.1:"), "\(serve.log)")
        #expect(!serve.log.contains("not-needed-on-trust"))
        serve.kill(SIGTERM)
        #expect(await serve.waitForExit(timeout: .seconds(30)) == 0, "\(serve.log)")
    }

    @Test func anUnreachableDatabaseIsAClearErrorNamingHostAndPortNeverThePassword() async throws {
        _ = try ScaleOut.requireURL()
        let directory = try TemporaryDirectory()
        for command in [["migrate"], ["worker"], ["serve", "--port", "0"]] {
            let process = try ChronicleProcess(
                command + ["--postgres", "postgres://chronicle:hunter2@127.0.0.1:1/nowhere"], directory: directory, name: command[0])
            let status = await process.waitForExit(timeout: .seconds(60))
            #expect(status != nil && status != 0, "\(command): \(process.log)")
            #expect(process.log.contains("cannot use PostgreSQL at 127.0.0.1:1"), "\(command): \(process.log)")
            #expect(!process.log.contains("hunter2"), "\(command)")
        }
    }

    /// A PostgreSQL that can never work as configured (here: no such database) stops serve and worker at
    /// once with PostgreSQL's own reason, without pages of driver errors first (Hardening 2, item 8).
    @Test func aDatabaseThatCannotWorkStopsAtOnceWithPostgreSQLsReason() async throws {
        let url = try ScaleOut.requireURL()
        guard var components = URLComponents(string: url) else { Issue.record("DATABASE_URL is not a URL"); return }
        components.path = "/no_such_database_\(UUID().uuidString.prefix(8).lowercased())"
        let wrong = try #require(components.string)
        let directory = try TemporaryDirectory()
        for command in [["worker"], ["serve", "--port", "0"]] {
            let started = ContinuousClock.now
            let process = try ChronicleProcess(command + ["--postgres", wrong], directory: directory, name: command[0])
            let status = await process.waitForExit(timeout: .seconds(60))
            #expect(status != nil && status != 0, "\(command): \(process.log)")
            #expect(ContinuousClock.now - started < .seconds(15), "\(command) took \(ContinuousClock.now - started) to stop")
            #expect(process.log.contains("does not exist"), "\(command): \(process.log)")
            #expect(process.log.split(separator: "\n").count <= 3, "\(command): \(process.log)")
            #expect(!process.log.contains("Chronicle is serving"), "\(command): \(process.log)")
        }
    }

    /// A file or a port that cannot be had is said in plain words, with the flag that changes it.
    @Test func aBadPathOrABusyPortIsSaidPlainlyWithTheFlagToChange() async throws {
        let directory = try TemporaryDirectory()
        for (arguments, words) in [
            (
                ["--database", "/nonexistent/dir/x.sqlite"],
                "cannot create the database /nonexistent/dir/x.sqlite: the folder /nonexistent/dir does not exist (create it, or change --database)"
            ),
            (
                ["--database", directory.path("c.sqlite"), "--mailbox", "/nonexistent/dir/m.mailbox"],
                "the folder /nonexistent/dir does not exist (create it, or change --mailbox)"
            ),
            (["--database", directory.path("c.sqlite"), "--courier", directory.url.path], "it is a folder (change --courier)"),
        ] {
            let serve = try ChronicleProcess(["serve", "--port", "0"] + arguments, directory: directory, name: "bad-path")
            let status = await serve.waitForExit(timeout: .seconds(60))
            #expect(status != nil && status != 0, "\(arguments)")
            #expect(serve.log.contains(words) && !serve.log.contains("NSCocoaErrorDomain"), "\(arguments): \(serve.log)")
        }

        let first = try ChronicleProcess(["serve", "--port", "0", "--database", directory.path("a.sqlite")], directory: directory, name: "first")
        await eventually(timeout: .seconds(60), "the first server is up") { first.log.contains("Chronicle is serving") }
        let port = try #require(first.log.split(separator: "url=http://127.0.0.1:").dropFirst().first?.prefix { $0.isNumber })
        let second = try ChronicleProcess(["serve", "--port", String(port), "--database", directory.path("b.sqlite")], directory: directory, name: "second")
        let status = await second.waitForExit(timeout: .seconds(60))
        #expect(status != nil && status != 0)
        #expect(second.log.contains("port \(port) on 127.0.0.1 is in use") && second.log.contains("--port"), "\(second.log)")
        #expect(!second.log.contains("errno"), "\(second.log)")
        first.kill(SIGTERM)
        _ = await first.waitForExit(timeout: .seconds(30))
    }

    /// `--help` lists the options a command uses and the environment it reads; no start-up race is logged.
    @Test func helpTextsSayWhatACommandReads() async throws {
        let directory = try TemporaryDirectory()
        func help(_ command: String) async throws -> String {
            let process = try ChronicleProcess([command, "--help"], directory: directory, name: "\(command)-help")
            #expect(await process.waitForExit(timeout: .seconds(30)) == 0)
            return process.log
        }
        let worker = try await help("worker")
        #expect(worker.contains("DATABASE_URL") && worker.contains("--postgres") && !worker.contains("--database"), "\(worker)")
        let migrate = try await help("migrate")
        #expect(migrate.contains("DATABASE_URL") && migrate.contains("--database") && !migrate.contains("--mailbox"), "\(migrate)")
        let serve = try await help("serve")
        #expect(serve.contains("DATABASE_URL") && serve.contains("CHRONICLE_ADMIN_TOKEN"), "\(serve)")

        let url = try ScaleOut.requireURL()
        for _ in 0..<4 {
            let migrate = try ChronicleProcess(["migrate"], directory: directory, name: "migrate", environment: ["DATABASE_URL": url])
            #expect(await migrate.waitForExit(timeout: .seconds(60)) == 0, "\(migrate.log)")
            #expect(!migrate.log.contains("hasn't been called yet"), "\(migrate.log)")
        }
    }

    @Test func servingBeyondLoopbackWithoutAnAdminCredentialRefusesToStart() async throws {
        let directory = try TemporaryDirectory()
        let serve = try ChronicleProcess(
            ["serve", "--host", "0.0.0.0", "--port", "0", "--database", directory.path("c.sqlite")], directory: directory, name: "serve",
            environment: ["CHRONICLE_ADMIN_TOKEN": ""])
        let status = await serve.waitForExit(timeout: .seconds(60))
        #expect(status != nil && status != 0)
        #expect(serve.log.contains("needs an admin credential"), "\(serve.log)")
    }
}
