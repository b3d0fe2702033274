import Foundation
import Testing

/// The layers of docs/ARCHITECTURE.md, checked on the sources: the library targets import no example
/// application, and the worker's command imports no HTTP. (Package.swift enforces most of it at build
/// time; this names the rule and catches an import slipping into the executable's worker.)
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `import` lines of every Swift file under `folder`, by path relative to the package root.
    static func imports(under folder: String) throws -> [String: [String]] {
        let base = root.appendingPathComponent(folder)
        var result: [String: [String]] = [:]
        let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            result[String(url.path.dropFirst(root.path.count + 1))] = lines.filter { $0.hasPrefix("import ") }.map(String.init)
        }
        return result
    }

    @Test func onlyTheExecutablesImportAnExampleApplication() throws {
        let sources = try Self.imports(under: "Sources")
        #expect(sources.count > 40, "found the sources at \(Self.root.path)")
        for (path, imports) in sources where !path.hasPrefix("Sources/chronicle/") {
            #expect(!imports.contains { $0.hasPrefix("import Todo") }, "\(path) imports an example: \(imports)")
        }
    }

    @Test func theWorkerImportsNoHTTPAndTheRuntimeKnowsNoHTTP() throws {
        let worker = try #require(try Self.imports(under: "Sources/chronicle")["Sources/chronicle/Worker.swift"])
        #expect(!worker.contains { $0.contains("HTTP") || $0.contains("Hummingbird") }, "\(worker)")
        for (path, imports) in try Self.imports(under: "Sources/ChronicleRuntime") {
            #expect(!imports.contains { $0.contains("HTTP") || $0.contains("Hummingbird") }, "\(path): \(imports)")
        }
    }
}
