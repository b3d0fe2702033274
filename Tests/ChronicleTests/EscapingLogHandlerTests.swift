import Chronicle
import Logging
import Testing

/// Log entries stay one line each, whatever a client put in a field that gets logged.
@Suite struct EscapingLogHandlerTests {
    final class Captured: @unchecked Sendable {
        // @unchecked: written and read on the test's own task only.
        var lines: [String] = []
    }

    struct Capturing: LogHandler {
        let captured: Captured
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let merged = self.metadata.merging(metadata ?? [:]) { $1 }
            captured.lines.append("\(level) \(message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }

    @Test func aNewlineInMetadataOrMessageCannotForgeALine() {
        let captured = Captured()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(Capturing(captured: captured)) }
        logger[metadataKey: "who"] = "x\ncritical chronicle: FORGED"
        logger.info("mail sent\r\nnotice: FORGED", metadata: ["to": "ada@example.com\ncritical chronicle: FORGED", "list": ["a\nb"]])
        #expect(captured.lines.count == 1)
        #expect(captured.lines.allSatisfy { !$0.contains("\n") && !$0.contains("\r") })
        #expect(captured.lines.first?.contains(#"to=ada@example.com\ncritical chronicle: FORGED"#) == true)
        #expect(EscapingLogHandler.escape("tab\there\u{1b}[31m\u{2028}") == #"tab\there\u{1b}[31m\u{2028}"#)
        #expect(EscapingLogHandler.escape("plain") == "plain")
    }
}
