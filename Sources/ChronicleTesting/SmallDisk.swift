import Foundation

/// A small tmpfs mounted for a test that needs a disk to fill up. Mounting needs root (CI runs as root);
/// tests that use it are enabled only where ``canMount`` holds.
public final class SmallDisk: Sendable {
    /// Where the tmpfs is mounted.
    public let path: String

    /// Whether this process may mount one.
    public static var canMount: Bool { getuid() == 0 }

    /// Mounts a tmpfs of `size` (e.g. `"2m"`) at `path`, an existing directory.
    public init(at path: String, size: String) throws {
        self.path = path
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
    }

    /// Unmounts it, lazily: files a test's server still holds open do not keep it mounted.
    public func unmount() {
        try? Self.run("/bin/umount", ["-l", path])
    }

    /// Writes the file `name` on the disk until the disk is full, then gives back `leaving` bytes;
    /// answers the file's path (remove it to free the space).
    @discardableResult
    public func fill(_ name: String = "filler", leaving: UInt64 = 0) throws -> String {
        let filler = path + "/" + name
        FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        defer { try? handle.close() }
        let chunk = Data(repeating: 0x61, count: 4096)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let size = try handle.offset()
        if leaving > 0 { try handle.truncate(atOffset: size > leaving ? size - leaving : 0) }
        return filler
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: "\(tool) \(arguments.joined(separator: " "))"])
        }
    }
}
