import Chronicle
import Foundation
import Testing

/// An event of every shape `JSONEventCodec` stores.
enum JSONCodecShapes: CodableEvent, Equatable {
    case plain
    case labeled(by: Int, note: String?)
    case renamedFields(productId: String)
    case unlabeled(Payload)
    case patched(Change)

    struct Payload: Codable, Equatable, Sendable {
        var name: String
        var tags: [String]
    }

    struct Change: Codable, Equatable, Sendable {
        var title: Patch<String> = .unchanged
        var due: Patch<String> = .unchanged
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case plain = "ShapePlain", labeled = "ShapeLabeled", renamedFields = "ShapeRenamed", unlabeled = "ShapeUnlabeled"
        case patched = "ShapePatched"
    }
    enum RenamedFieldsCodingKeys: String, CodingKey { case productId = "product_id" }
}

enum JSONCodecEscaped: CodableEvent, Equatable {
    case said(text: String)
    enum CodingKeys: String, CodingKey, CaseIterable { case said = "Said" }
    static var storedSlashes: StoredJSON.Slashes { .escaped }
}

@Suite struct JSONEventCodecTests {
    let codec = JSONEventCodec<JSONCodecShapes>()

    func stored(_ event: JSONCodecShapes) throws -> String {
        let encoded = try codec.encode(event)
        #expect(try codec.decode(encoded) == event, "reads back")
        return "\(encoded.type) \(String(decoding: encoded.data, as: UTF8.self))"
    }

    @Test func theBodyIsTheCasesOwnFieldsUnderItsDeclaredTypeName() throws {
        #expect(try stored(.plain) == "ShapePlain {}")
        #expect(try stored(.labeled(by: 3, note: nil)) == #"ShapeLabeled {"by":3}"#)
        #expect(try stored(.labeled(by: 3, note: "a/b")) == #"ShapeLabeled {"by":3,"note":"a/b"}"#)
        #expect(try stored(.renamedFields(productId: "p-1")) == #"ShapeRenamed {"product_id":"p-1"}"#)
        #expect(try stored(.unlabeled(.init(name: "n", tags: ["x"]))) == #"ShapeUnlabeled {"name":"n","tags":["x"]}"#)
        #expect(JSONCodecShapes.typeNames == ["ShapePlain", "ShapeLabeled", "ShapeRenamed", "ShapeUnlabeled", "ShapePatched"])
    }

    @Test func aPatchLeavesOutWhatIsUnchangedAndWritesNullForWhatIsCleared() throws {
        #expect(try stored(.patched(.init())) == "ShapePatched {}")
        #expect(try stored(.patched(.init(title: .set("t"), due: .cleared))) == #"ShapePatched {"due":null,"title":"t"}"#)
    }

    @Test func bodiesStoredWithEscapedSlashesStayEscaped() throws {
        let encoded = try JSONEventCodec<JSONCodecEscaped>().encode(.said(text: "a/b"))
        #expect(String(decoding: encoded.data, as: UTF8.self) == #"{"text":"a\/b"}"#)
    }

    @Test func anUnknownTypeOrAMalformedBodyIsACodecError() throws {
        #expect(throws: CodecError.unknownType("plain")) {
            try codec.decode(EncodedEvent(type: "plain", schemaVersion: 1, data: Data("{}".utf8)))
        }
        for (type, body) in [("ShapeLabeled", #"{"by":"three"}"#), ("ShapeLabeled", "[]"), ("ShapeUnlabeled", #"{"name":1}"#), ("ShapeRenamed", "{")] {
            #expect(throws: CodecError.self, "\(type) \(body)") {
                try codec.decode(EncodedEvent(type: type, schemaVersion: 1, data: Data(body.utf8)))
            }
        }
        // The Swift coding of an enum, as the codec stored it before it stored only the fields, is not read
        // as an event of another shape.
        #expect(throws: CodecError.self) {
            try codec.decode(EncodedEvent(type: "ShapeRenamed", schemaVersion: 1, data: Data(#"{"renamedFields":{"product_id":"p"}}"#.utf8)))
        }
    }
}
