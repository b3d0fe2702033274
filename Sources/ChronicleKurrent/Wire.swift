import Chronicle
import ChronicleKurrentProtocol
import Foundation
import GRPCCore
import SwiftProtobuf

/// How Chronicle's events, positions and errors appear in KurrentDB's v1 protocol.
///
/// - A global position p is the commit and the prepare position p of the event there: every position a
///   client is given is an event's and round-trips; a position whose commit and prepare parts differ is
///   no event's, and is refused.
/// - A stream version v (1-based) is revision v − 1 (0-based).
/// - `created` is the recorded time in ticks (100 ns) since 1970, as KurrentDB writes it.
enum Wire {
    /// The most events a read answers per store read.
    static let page = 500

    static func uuid(_ id: EventStore_Client_UUID) -> UUID? {
        switch id.value {
        case .string(let text): return UUID(uuidString: text)
        case .structured(let halves):
            var bytes = [UInt8](repeating: 0, count: 16)
            let (high, low) = (UInt64(bitPattern: halves.mostSignificantBits), UInt64(bitPattern: halves.leastSignificantBits))
            for i in 0..<8 {
                bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
            }
            return bytes.withUnsafeBytes { raw in UUID(uuid: raw.load(as: uuid_t.self)) }
        case nil: return nil
        }
    }

    static func uuid(_ id: UUID, structured: Bool) -> EventStore_Client_UUID {
        var wire = EventStore_Client_UUID()
        if structured {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            var (high, low) = (UInt64(0), UInt64(0))
            for i in 0..<8 {
                high = high << 8 | UInt64(bytes[i])
                low = low << 8 | UInt64(bytes[8 + i])
            }
            var halves = EventStore_Client_UUID.Structured()
            halves.mostSignificantBits = Int64(bitPattern: high)
            halves.leastSignificantBits = Int64(bitPattern: low)
            wire.structured = halves
        } else {
            wire.string = id.lowercasedString
        }
        return wire
    }

    static func streamName(_ identifier: EventStore_Client_StreamIdentifier) throws(RPCError) -> StreamName {
        guard let text = String(validating: identifier.streamName, as: UTF8.self) else {
            throw RPCError(code: .invalidArgument, message: "the stream name is not UTF-8")
        }
        do { return try StreamName(protocolName: text) } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
    }

    static func identifier(_ stream: StreamName) -> EventStore_Client_StreamIdentifier {
        var identifier = EventStore_Client_StreamIdentifier()
        identifier.streamName = Data(stream.description.utf8)
        return identifier
    }

    static func revision(_ version: StreamVersion) -> UInt64 { UInt64(max(version - 1, 0)) }

    /// Ticks (100 ns) since 1970 of `date`, to the millisecond the store keeps.
    static func ticks(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) * 10_000 }

    static func timestamp(_ date: Date) -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: date) }

    /// A position given by a client: an event's position, or nil for "no event's".
    static func position(commit: UInt64, prepare: UInt64) -> GlobalPosition? {
        guard commit == prepare, commit <= UInt64(Int64.max) else { return nil }
        return GlobalPosition(rawValue: Int64(commit))
    }

    static func readEvent(_ event: RecordedEvent, structuredIds: Bool) -> EventStore_Client_Streams_ReadResp {
        var recorded = EventStore_Client_Streams_ReadResp.ReadEvent.RecordedEvent()
        recorded.id = uuid(event.id, structured: structuredIds)
        recorded.streamIdentifier = identifier(event.stream)
        recorded.streamRevision = revision(event.version)
        recorded.commitPosition = UInt64(event.position.rawValue)
        recorded.preparePosition = UInt64(event.position.rawValue)
        recorded.metadata = [
            "type": event.type, "content-type": event.contentType.mediaType, "created": String(ticks(event.recordedAt)),
        ]
        recorded.customMetadata = event.customMetadata
        recorded.data = event.data
        var read = EventStore_Client_Streams_ReadResp.ReadEvent()
        read.event = recorded
        read.commitPosition = UInt64(event.position.rawValue)
        var response = EventStore_Client_Streams_ReadResp()
        response.event = read
        return response
    }

    /// The event a client proposes; its type is required, its content type one of the two KurrentDB knows.
    static func newEvent(id: EventStore_Client_UUID, metadata: [String: String], customMetadata: Data, data: Data)
        throws(RPCError) -> NewEvent
    {
        guard let id = uuid(id) else { throw RPCError(code: .invalidArgument, message: "an event id is not a UUID") }
        guard let type = metadata["type"], !type.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "an event has no type")
        }
        guard type.utf8.count <= maxTypeLength, !type.utf8.contains(0) else {
            throw RPCError(code: .invalidArgument, message: "an event type is longer than \(maxTypeLength) bytes or holds a NUL")
        }
        let contentType: EventContentType
        switch metadata["content-type"] ?? "application/octet-stream" {
        case "application/json":
            // JSON that parses is stored as JSON text (read models and the console read it); anything else
            // keeps its bytes and is given back as JSON, as sent.
            contentType = isJSON(data) ? .json : .unparsedJSON
        default: contentType = .octetStream
        }
        return NewEvent(id: id, type: type, data: data, contentType: contentType, customMetadata: customMetadata)
    }

    /// The longest event type a client may give, in UTF-8 bytes.
    static let maxTypeLength = 1_024

    static func isJSON(_ data: Data) -> Bool {
        guard !data.isEmpty, (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else { return false }
        // PostgreSQL's json type refuses what Foundation accepts in a few corners (a NUL escape); such
        // data stays bytes.
        return !data.contains(0) && String(data: data, encoding: .utf8)?.contains("\\u0000") != true
    }

    /// The expected version of an exact expected revision.
    static func expected(revision: UInt64) throws(RPCError) -> ExpectedVersion {
        guard revision < UInt64(Int64.max) else { throw RPCError(code: .invalidArgument, message: "the expected revision is too large") }
        return .exactly(Int64(revision) + 1)
    }

}
