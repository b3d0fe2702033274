import Chronicle
import Foundation
import TodoDomain
import Testing

/// Invariant 7: stored names are stable. The corpus holds every stored todo event type as it is stored;
/// each must still decode, and today's encoder must write it back byte for byte.
@Suite struct GoldenCorpusTests {
    struct Stored: Decodable {
        let type: String
        let schema_version: Int
        let data: JSONValue
    }

    static func corpus() throws -> [Stored] {
        let url = try #require(Bundle.module.url(forResource: "GoldenEvents/todo-events-v1", withExtension: "json"))
        return try JSONDecoder().decode([Stored].self, from: Data(contentsOf: url))
    }

    @Test func everyStoredTypeIsInTheCorpus() throws {
        #expect(Set(try Self.corpus().map(\.type)) == Set(Todo.Event.typeNames))
    }

    @Test func everyStoredEventDecodesAndEncodesBackTheSame() throws {
        let codec = TodoEventCodec()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for stored in try Self.corpus() {
            let data = try encoder.encode(stored.data)
            let event = try codec.decode(EncodedEvent(type: stored.type, schemaVersion: stored.schema_version, data: data))
            let again = try codec.encode(event)
            #expect(again.type == stored.type)
            #expect(again.schemaVersion == stored.schema_version)
            #expect(String(decoding: again.data, as: UTF8.self) == String(decoding: data, as: UTF8.self))
        }
    }

    @Test func theStoredNamesAreTheExplicitOnes() throws {
        let codec = TodoEventCodec()
        #expect(try codec.encode(.added(.init(title: "x"))).type == "TodoAdded")
        #expect(try codec.encode(.amended(.init())).type == "TodoAmended")
        #expect(try codec.encode(.completed(completedOn: "2017-01-01")).type == "TodoCompleted")
        #expect(try codec.encode(.abandoned(abandonedOn: "2017-01-01")).type == "TodoAbandoned")
        #expect(try codec.encode(.movedUp).type == "TodoMovedUp")
        #expect(try codec.encode(.reopened).type == "TodoReopened")
        #expect(try codec.encode(.cleared).type == "TodoCleared")
        #expect(try codec.encode(.stakeholderNotifiedOfCompletion(notifiedOn: "2017-01-01")).type == "StakeholderNotifiedOfTodoCompletion")
    }

    @Test func anUnknownTypeOrVersionIsAClearError() {
        let codec = TodoEventCodec()
        #expect(throws: CodecError.unknownType("TodoExploded")) {
            try codec.decode(EncodedEvent(type: "TodoExploded", schemaVersion: 1, data: Data("{}".utf8)))
        }
        #expect(throws: CodecError.unsupportedSchemaVersion(type: "TodoAdded", version: 2)) {
            try codec.decode(EncodedEvent(type: "TodoAdded", schemaVersion: 2, data: Data("{\"title\":\"x\"}".utf8)))
        }
    }

    @Test func anUpcasterBringsAnOlderVersionToTheCurrentOne() throws {
        // A hypothetical version 0 of TodoAdded called the title "name".
        let codec = TodoEventCodec(
            upcasters: UpcasterChain([
                .jsonObject(type: "TodoAdded", fromVersion: 0) { $0["title"] = $0.removeValue(forKey: "name") }
            ]))
        let old = EncodedEvent(type: "TodoAdded", schemaVersion: 0, data: Data("{\"name\":\"Buy milk\"}".utf8))
        #expect(try codec.decode(old) == .added(.init(title: "Buy milk")))
    }
}
