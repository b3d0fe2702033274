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
            ["serve", "--port", "0", "--postgres-from-environment", "--postgres-password-file", passwordFile,
             "--mailbox", directory.path("m.mailbox")],
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
