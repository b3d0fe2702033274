import Foundation
import Testing

/// The README's Swift is the library example's code, which the test build compiles; and the example runs.
@Suite struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The README's ```swift blocks.
    static func swiftBlocks(_ markdown: String) -> [String] {
        markdown.components(separatedBy: "```swift\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    }

    @Test func everySwiftBlockInTheReadmeIsCompiledCode() throws {
        let readme = try Self.text("README.md")
        let example = try Self.text("Examples/Counter/main.swift")
        let manifest = try Self.text("Package.swift")
        let blocks = Self.swiftBlocks(readme)
        #expect(blocks.count >= 4)
        for block in blocks {
            if block.hasPrefix("// Samples/") {
                // A file of the outside package, whole (`scripts/test` builds and runs it).
                let path = String(block.prefix { $0 != "\n" }.dropFirst(3))
                let code = String(block.drop { $0 != "\n" }.dropFirst())
                #expect(try Self.text(path).contains(code), "the README's \(path) is not the file's code")
            } else if block.hasPrefix("// Package.swift") {
                // The dependency lines: every product they name is one of the package's libraries.
                let products = block.components(separatedBy: ".product(name: \"").dropFirst().compactMap { $0.split(separator: "\"").first }
                #expect(!products.isEmpty)
                for product in products { #expect(manifest.contains(".library(name: \"\(product)\""), "\(product)") }
            } else {
                #expect(example.contains(block), "a README block is not in Examples/Counter/main.swift:\n\(block)")
            }
        }
    }

    /// Every Swift block of the DocC articles is code some target compiles: it appears verbatim in a
    /// Swift file of Sources, Examples or Tests.
    @Test func everySwiftBlockInTheArticlesIsCompiledCode() throws {
        let articles = Self.root.appendingPathComponent("Sources/Chronicle/Chronicle.docc")
        let names = try FileManager.default.contentsOfDirectory(atPath: articles.path).filter { $0.hasSuffix(".md") }
        var sources: [String] = []
        for folder in ["Sources", "Examples", "Tests"] {
            let enumerator = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(folder).path)
            while let path = enumerator?.nextObject() as? String {
                if path.hasSuffix(".swift") { sources.append(Self.unindented(try Self.text("\(folder)/\(path)"))) }
            }
        }
        var checked = 0
        for name in names {
            for block in Self.swiftBlocks(try Self.text("Sources/Chronicle/Chronicle.docc/\(name)")) {
                checked += 1
                #expect(sources.contains { $0.contains(Self.unindented(block)) }, "a block of \(name) is in no Swift file:\n\(block)")
            }
        }
        #expect(checked >= 8)
    }

    /// `text` with each line's leading spaces removed: an article quotes code at its own indentation.
    static func unindented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.drop { $0 == " " } }.joined(separator: "\n")
    }

    @Test func theLibraryExampleRuns() async throws {
        let binary = Self.root.appendingPathComponent(".build/debug/counter-example").path
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build first: swift build --build-tests")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("counter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [directory.appendingPathComponent("counter.sqlite").path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "accepted increment(by: 3): incremented(by: 3)",
                "accepted increment(by: 4): incremented(by: 4)",
                "rejected increment(by: 5): wouldPassTheCeiling",
                "read model: kitchen = 7",
            ], "\(text)")
    }

    /// An example teaches its error handling: a database it cannot create is one line on standard error
    /// and a failing exit status, not a crash dump.
    @Test func theLibraryExampleSaysWhatIsWrongWithABadPath() async throws {
        let binary = Self.root.appendingPathComponent(".build/debug/counter-example").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["/nonexistent/folder/counter.sqlite"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(process.terminationStatus): \(text)")
        #expect(process.terminationReason == .exit, "\(text)")
        #expect(text.hasPrefix("counter-example: ") && !text.contains("Fatal error") && !text.contains("Stack dump"), "\(text)")
    }
}
