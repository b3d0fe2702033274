import ChronicleRuntime
import ChronicleTesting
import Foundation
import TodoApp
import Testing

/// The mailbox file takes a whole line or nothing, and survives a torn line left by a crash or a full disk.
@Suite struct MailboxTests {
    static func mail(_ n: Int, body: String = "Your todo item has been completed!") -> Mail {
        Mail(id: UUID(), to: "ada+\(n)@example.com", subject: "Todo completed", body: body)
    }

    /// A writer that died mid-line left half a line; the next delivery, in a new process, must not append
    /// onto it (that line would never parse again, and every later delivery would fail).
    @Test func aTornLastLineIsCutBeforeTheNextMail() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("m.mailbox")
        let first = Self.mail(1)
        _ = try await FileMailbox(path: path, today: { "2026-11-30" }).deliver(first)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"delivered_on\":\"2026-11-30\",\"mail\":{\"body\":\"Your to".utf8))
        try handle.close()
        #expect(try FileMailbox.read(path: path).map(\.mail) == [first])  // the torn line is not a mail

        let restarted = try FileMailbox(path: path, today: { "2026-11-30" })
        let second = Self.mail(2)
        _ = try await restarted.deliver(second)
        let third = Self.mail(3)
        _ = try await FileMailbox(path: path, today: { "2026-11-30" }).deliver(third)
        #expect(try FileMailbox.read(path: path).map(\.mail) == [first, second, third])
    }

    /// On a full disk (a 1 MiB tmpfs, filled) a delivery fails and leaves no partial line; once there is
    /// room, the retried mail goes out once and the file parses. Needs root to mount the tmpfs (CI runs as
    /// root); elsewhere the torn-line test above still covers the reader and the truncation.
    @Test(.enabled(if: SmallDisk.canMount, "mounting a tmpfs needs root"))
    func aFullDiskLeavesNoPartialLine() async throws {
        let directory = try TemporaryDirectory()
        let mountPoint = directory.path("disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let disk = try SmallDisk(at: mountPoint, size: "1m")
        defer { disk.unmount() }
        let path = mountPoint + "/m.mailbox"
        let mailbox = try FileMailbox(path: path, today: { "2026-11-30" })
        let first = Self.mail(1)
        _ = try await mailbox.deliver(first)
        // Fill the disk, leaving less room than the next mail needs.
        let filler = try disk.fill(leaving: 8192)

        let big = Self.mail(2, body: String(repeating: "x", count: 64 * 1024))
        await #expect(throws: (any Error).self) { try await mailbox.deliver(big) }
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(try FileMailbox.read(path: path).map(\.mail) == [first])

        try FileManager.default.removeItem(atPath: filler)
        _ = try await mailbox.deliver(big)
        _ = try await FileMailbox(path: path, today: { "2026-11-30" }).deliver(big)  // a retry: dropped
        #expect(try FileMailbox.read(path: path).map(\.mail) == [first, big])
    }
}
