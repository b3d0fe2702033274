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

    static let examples = ["Todo", "Bank", "Pizza", "Cart"]

    static func importsAnExample(_ imports: [String], otherThan own: String? = nil) -> Bool {
        imports.contains { line in examples.contains { $0 != own && line.hasPrefix("import \($0)") } }
    }

    @Test func onlyTheExecutablesImportAnExampleApplication() throws {
        let sources = try Self.imports(under: "Sources")
        #expect(sources.count > 40, "found the sources at \(Self.root.path)")
        for (path, imports) in sources where !path.hasPrefix("Sources/chronicle/") {
            #expect(!Self.importsAnExample(imports), "\(path) imports an example: \(imports)")
        }
    }

    /// Every example is layered alike: its domain imports only the core, its module nothing of HTTP, and
    /// no example imports another.
    @Test func everyExampleIsLayeredDomainModuleWeb() throws {
        for example in Self.examples {
            let domain = try Self.imports(under: "Examples/\(example)/Domain")
            let module = try Self.imports(under: "Examples/\(example)/App")
            let web = try Self.imports(under: "Examples/\(example)/HTTP")
            #expect(!domain.isEmpty && !module.isEmpty && !web.isEmpty, "\(example) has a Domain, an App and an HTTP folder")
            for (path, imports) in domain {
                #expect(imports.allSatisfy { ["import Chronicle", "import Foundation"].contains($0) || $0.hasPrefix("import \(example)Domain") }, "\(path): \(imports)")
            }
            for (path, imports) in module {
                #expect(!imports.contains { $0.contains("HTTP") || $0.contains("Hummingbird") }, "\(path): \(imports)")
            }
            for (path, imports) in domain.merging(module, uniquingKeysWith: +).merging(web, uniquingKeysWith: +) {
                #expect(!Self.importsAnExample(imports, otherThan: example), "\(path) imports another example: \(imports)")
            }
        }
    }

    @Test func theRuntimeKnowsNoHTTPAndTheWorkerServesNone() throws {
        for (path, imports) in try Self.imports(under: "Sources/ChronicleRuntime") {
            #expect(!imports.contains { $0.contains("HTTP") || $0.contains("Hummingbird") }, "\(path): \(imports)")
        }
        // The worker takes the modules' applications, never their web sides' server.
        let worker = try String(contentsOf: Self.root.appendingPathComponent("Sources/ChronicleHost/Worker.swift"), encoding: .utf8)
        #expect(!worker.contains("ChronicleServer") && !worker.contains("Hummingbird"))
    }
}
