import Chronicle
import Foundation
import Testing

@testable import ChronicleHTTP

/// One rule for every response body: every field written, a missing one as `null`; everything else
/// byte for byte as JSONEncoder writes it.
@Suite struct ResponseEncodingTests {
    struct Body: Encodable {
        let id: String
        let note: String?
        let count: Int?
        let nested: Nested?
        let list: [Nested]
        let big: Int64
        let ratio: Double
        let price: Decimal
        let path: String
        let flags: [String: Bool]
    }

    struct Nested: Encodable {
        let name: String?
    }

    @Test func aMissingFieldIsNullAtEveryDepth() throws {
        let body = Body(
            id: "a", note: nil, count: nil, nested: nil, list: [Nested(name: nil), Nested(name: "n")], big: Int64.max, ratio: 0.1,
            price: Decimal(string: "23.50") ?? 0, path: "a/b", flags: ["b": true, "a": false])
        let text = String(decoding: try ResponseEncoding.encode(body), as: UTF8.self)
        #expect(
            text
                == #"{"big":9223372036854775807,"count":null,"flags":{"a":false,"b":true},"id":"a","list":[{"name":null},{"name":"n"}],"nested":null,"note":null,"path":"a/b","price":23.5,"ratio":0.1}"#
        )
    }

    @Test func aBodyWithEveryFieldIsWrittenAsJSONEncoderWritesIt() throws {
        let body = Body(
            id: "é\"\\", note: "n", count: -3, nested: Nested(name: "x"), list: [], big: -1, ratio: 1e-7, price: Decimal(string: "0.01") ?? 0,
            path: "/", flags: [:])
        #expect(try ResponseEncoding.encode(body) == (try StoredJSON.encode(body)))
        #expect(try ResponseEncoding.encode([1, 2, 3]) == Data("[1,2,3]".utf8))
        #expect(try ResponseEncoding.encode(["k": "v"]) == Data(#"{"k":"v"}"#.utf8))
    }

    /// A response as large as a stored body may be (an event's data, up to 1 MiB: some 100,000 members or
    /// elements) is built in linear time — the tree once copied its members on every insert.
    @Test func aBodyWithAHundredThousandMembersIsWrittenWhole() throws {
        var object: [String: JSONValue] = [:]
        for i in 0..<100_000 { object["k\(i)"] = .number(Double(i)) }
        let array = (0..<100_000).map { JSONValue.string("v\($0)") }
        let body = JSONValue.object(["object": .object(object), "array": .array(array)])
        #expect(try ResponseEncoding.encode(body) == (try StoredJSON.encode(body)))
    }
}
