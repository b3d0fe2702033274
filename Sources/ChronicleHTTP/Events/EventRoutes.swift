import Chronicle
import Foundation
import Hummingbird

/// Event browsing for tools and tests: the streams, one stream's events, the global log.
struct EventRoutes {
    let store: any EventStore

    /// Registers the routes under `prefix` (`""`, and `/admin/api` for the console: behind the credential).
    /// (The console lists streams through its own `/admin/api/streams`: no list under the prefix.)
    func register(on router: RouteTable, prefix: String = "") {
        if prefix.isEmpty {
            router.get("/streams") { request, _ in
                let after: StreamName?
                do {
                    after = try request.uri.queryParameters.get("after").map { try StreamName(protocolName: String($0)) }
                } catch {
                    throw APIError.badRequest(String(describing: error))
                }
                let streams = try await store.streams(after: after, limit: try request.limit(default: HTTPLimits.maxPageSize))
                return JSONBody.response(.ok, ["streams": streams.map(StreamBody.init)])
            }
        }
        router.get(prefix + "/streams/:name") { request, context in
            let stream: StreamName
            do {
                // Any stored name: an application's, or one a KurrentDB client chose (percent-encoded in
                // the path: `$$order-1`, spaces, any script).
                let raw = context.parameters.get("name") ?? ""
                guard let decoded = raw.removingPercentEncoding else {
                    throw APIError.badRequest("invalid stream name \"\(raw.prefix(80))\": not percent-encoded UTF-8")
                }
                stream = try StreamName(protocolName: decoded)
            } catch {
                throw APIError.badRequest(String(describing: error))
            }
            let from = try request.position("from")?.rawValue ?? 1
            let events = try await store.read(
                stream, from: max(from, 1), direction: .forwards, limit: try request.limit(default: HTTPLimits.maxPageSize))
            return JSONBody.response(.ok, EventsBody(events: events.map(EventBody.init)))
        }
        router.get(prefix + "/log") { request, _ in
            if let raw = request.uri.queryParameters.get("correlation") {
                guard let correlation = UUID(uuidString: String(raw)) else {
                    throw APIError.badRequest("correlation must be a UUID")
                }
                let events = try await store.events(correlatedWith: correlation, limit: try request.limit(default: HTTPLimits.maxPageSize))
                return JSONBody.response(.ok, EventsBody(events: events.map(EventBody.init)))
            }
            let events = try await store.readAll(
                after: try request.position("after") ?? .start, limit: try request.limit(default: 100))
            return JSONBody.response(.ok, EventsBody(events: events.map(EventBody.init)))
        }
    }
}

struct StreamBody: Encodable {
    let name: String
    let version: Int64
    let lastPosition: Int64
    let lastWrittenAt: String

    init(_ info: StreamInfo) {
        name = info.name.description
        version = info.version
        lastPosition = info.lastPosition.rawValue
        lastWrittenAt = EventBody.timestamp(info.lastWrittenAt)
    }

    enum CodingKeys: String, CodingKey {
        case name, version, lastPosition = "last_position", lastWrittenAt = "last_written_at"
    }
}

struct EventsBody: Encodable {
    let events: [EventBody]
}

/// One recorded event: `{"id", "stream", "version", "position", "type", "recorded_at", "data", "metadata",
/// "content_type", "data_base64", "custom_metadata_base64"}`: bytes that are not JSON text (written by a
/// KurrentDB client) are `data: null` with `data_base64`; a client's custom metadata bytes are
/// `custom_metadata_base64` (both null otherwise).
struct EventBody: Encodable {
    let id: String
    let stream: String
    let version: Int64
    let position: Int64
    let type: String
    let schemaVersion: Int
    let recordedAt: String
    let data: JSONValue
    let metadata: Metadata
    let contentType: String
    let dataBase64: String?
    let customMetadataBase64: String?

    init(_ event: RecordedEvent) {
        id = event.id.lowercasedString
        stream = event.stream.description
        version = event.version
        position = event.position.rawValue
        type = event.type
        schemaVersion = event.schemaVersion
        recordedAt = Self.timestamp(event.recordedAt)
        if event.contentType.isJSONText {
            data = (try? JSONDecoder().decode(JSONValue.self, from: event.data)) ?? .string(String(decoding: event.data, as: UTF8.self))
            dataBase64 = nil
        } else {
            data = .null
            dataBase64 = event.data.base64EncodedString()
        }
        metadata = event.metadata
        contentType = event.contentType.mediaType
        customMetadataBase64 = event.customMetadata.isEmpty ? nil : event.customMetadata.base64EncodedString()
    }

    enum CodingKeys: String, CodingKey {
        case id, stream, version, position, type, schemaVersion = "schema_version", recordedAt = "recorded_at", data, metadata
        case contentType = "content_type", dataBase64 = "data_base64", customMetadataBase64 = "custom_metadata_base64"
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the millisecond the store recorded. (Foundation's ISO 8601 style
    /// truncates the binary fraction, so a time stored as …186.008 showed as …186.007: a time a client
    /// copied from the browser then fell just before its own event in `?at=`.)
    static func timestamp(_ date: Date) -> String {
        String(SQLTimestamp(date).description.prefix(23)) + "Z"
    }
}
