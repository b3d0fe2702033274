import Chronicle
import Foundation
import Testing

/// The stores' own UUID text reading and writing agree with Foundation's, letter case aside.
@Suite struct UUIDTextTests {
    @Test func writesAndReadsWhatFoundationDoes() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(text: id.lowercasedString) == id)
            #expect(UUID(text: id.uuidString) == id)
        }
    }

    @Test func refusesAnythingButTheTextForm() {
        let good = "0b341422-c516-4ee4-8f3e-ef1992dfff32"
        #expect(UUID(text: good)?.lowercasedString == good)
        for bad in [
            "", "0b341422c5164ee48f3eef1992dfff32", good + "0", String(good.dropLast()), "0b341422-c516-4ee4-8f3e-ef1992dfff3g",
            "0b341422-c516-4ee4-8f3e_ef1992dfff32", "-b341422-c516-4ee4-8f3e-ef1992dfff32", "0b341422-c516-4ee48-f3e-ef1992dfff32",
        ] {
            #expect(UUID(text: bad) == nil, "\(bad)")
        }
        // A substring reads as its string does; a non-ASCII character in a dash's or a digit's place is refused.
        #expect(UUID(text: ("[" + good + "]").dropFirst().dropLast()) == UUID(text: good))
        #expect(UUID(text: "0b341422-c516-4ee4-8f3e-ef1992dfff3é") == nil)
        #expect(UUID(text: "0b341422\u{2010}c516-4ee4-8f3e-ef1992dfff3") == nil)
    }
}
