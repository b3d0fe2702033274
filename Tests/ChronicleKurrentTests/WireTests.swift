import ChronicleKurrentProtocol
import Foundation
import Testing

@testable import ChronicleKurrent

/// How Chronicle's values read on KurrentDB's wire.
struct WireTests {
    @Test func uuidsRoundTripInBothForms() throws {
        for _ in 0..<100 {
            let id = UUID()
            #expect(Wire.uuid(Wire.uuid(id, structured: true)) == id)
            #expect(Wire.uuid(Wire.uuid(id, structured: false)) == id)
        }
        // The structured form's halves are the UUID's bytes, most significant first (as Java's UUID).
        let id = try #require(UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff"))
        guard case .structured(let halves) = Wire.uuid(id, structured: true).value else { Issue.record("not structured"); return }
        #expect(UInt64(bitPattern: halves.mostSignificantBits) == 0x0011_2233_4455_6677)
        #expect(UInt64(bitPattern: halves.leastSignificantBits) == 0x8899_aabb_ccdd_eeff)
    }

    @Test func positionsAreAnEventsOnlyWhenCommitAndPrepareAgree() {
        #expect(Wire.position(commit: 7, prepare: 7)?.rawValue == 7)
        #expect(Wire.position(commit: 7, prepare: 6) == nil)
        #expect(Wire.position(commit: UInt64.max, prepare: UInt64.max) == nil)
    }

    @Test func createdIsTicksSince1970() {
        #expect(Wire.ticks(Date(timeIntervalSince1970: 1.5)) == 15_000_000)
    }

    @Test func revisionsAreZeroBased() {
        #expect(Wire.revision(1) == 0)
        #expect(Wire.revision(42) == 41)
    }
}
