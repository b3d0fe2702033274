import Chronicle
import Foundation
import Synchronization
import Testing

@Suite struct SharedDecodingTests {
    /// Counter's codec, counting its decodings.
    struct CountingCodec: EventCodec {
        final class Count: Sendable { let value = Atomic<Int>(0) }
        let count = Count()
        func encode(_ event: Counter.Event) throws -> EncodedEvent { try Counter.Codec().encode(event) }
        func decode(_ encoded: EncodedEvent) throws -> Counter.Event {
            count.value.add(1, ordering: .relaxed)
            return try Counter.Codec().decode(encoded)
        }
        var decodings: Int { count.value.load(ordering: .relaxed) }
    }

    private func recorded(_ type: String, _ data: String, at position: Int64) throws -> RecordedEvent {
        RecordedEvent(
            id: UUID(), stream: try StreamName("counter-1"), version: position, position: GlobalPosition(rawValue: position),
            type: type, schemaVersion: type == "CounterIncremented" ? 2 : 1, data: Data(data.utf8), metadata: Metadata(),
            recordedAt: Date())
    }

    @Test func readModelsSharingItDecodeEachEventOnce() throws {
        let codec = CountingCodec()
        let decoding = SharedDecoding(codec)
        let event = try recorded("CounterIncremented", #"{"by":3}"#, at: 1)
        for _ in 0..<4 { #expect(try decoding.decode(event) == .incremented(by: 3)) }
        #expect(codec.decodings == 1)
    }

    @Test func aFailingDecodingIsNotKeptAndFailsEveryTime() throws {
        let codec = CountingCodec()
        let decoding = SharedDecoding(codec)
        let poison = try recorded("CounterExploded", "{}", at: 1)
        for _ in 0..<2 { #expect(throws: CodecError.unknownType("CounterExploded")) { try decoding.decode(poison) } }
        #expect(codec.decodings == 2)
    }

    @Test func onlyTheMostRecentAreKept() throws {
        let codec = CountingCodec()
        let decoding = SharedDecoding(codec, capacity: 2)
        let events = try (1...3).map { try recorded("CounterIncremented", "{\"by\":\($0)}", at: Int64($0)) }
        for event in events { _ = try decoding.decode(event) }
        #expect(try decoding.decode(events[2]) == .incremented(by: 3))
        #expect(codec.decodings == 3)
        // The first was pushed out by the third: decoded again, and right.
        #expect(try decoding.decode(events[0]) == .incremented(by: 1))
        #expect(codec.decodings == 4)
    }
}
