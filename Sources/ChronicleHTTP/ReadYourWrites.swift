import Chronicle
import ChronicleRuntime
import HTTPTypes
import Hummingbird

extension ChronicleRuntime {
    /// For a query asked with `?after=<position>` (the position a command answered): waits, at most
    /// ``HTTPLimits/maxCatchUpWait``, until the read model `name` has reached it, so that a client reads
    /// its own writes. Nil: answers at once. A position beyond the log's head is a 400; a read model that
    /// does not get there in time, a 503 saying where it is.
    public func catchUp(readModel name: String, after position: GlobalPosition?) async throws {
        guard let position else { return }
        let head = try await store.headPosition()
        guard position <= head else {
            throw APIError.badRequest("after=\(position) is beyond the newest position \(head)")
        }
        guard await waitForReadModel(name, toReach: position, timeout: HTTPLimits.maxCatchUpWait) else {
            let at = (try? await subscription(named: name)?.projection?.checkpoint()) ?? .start
            throw APIError(.serviceUnavailable, "read model \(name) has not reached position \(position) yet (at \(at))")
        }
    }
}

extension ChronicleRuntime {
    /// Where a query of `module` reads: its live read models, or with `?as_of=` (a position, or an
    /// ISO 8601 time: the position of the last event recorded by then) its read models as they were
    /// when the log ended there (``queries(asOf:module:)``). 400 for a malformed value or a position
    /// beyond the log's head, as `?after=` answers.
    public func queries(for request: Request, module: String) async throws -> any SQLQuerying {
        guard let raw = request.uri.queryParameters.get("as_of") else { return queries }
        let position: GlobalPosition
        if let value = Int64(raw), value >= 0 {
            position = GlobalPosition(rawValue: value)
        } else if let time = SQLTimestamp(iso8601: String(raw)) {
            position = try await self.position(at: time.date)
        } else {
            throw APIError.badRequest("as_of must be a position (a whole number from 0) or a time in ISO 8601 UTC, like 2026-11-30T10:00:00Z")
        }
        do {
            return try await queries(asOf: position, module: module)
        } catch let error as ReplayRequestError {
            throw APIError.badRequest(error.description)
        } catch let error as ReplicaError {
            throw APIError(.unprocessableContent, "the read models cannot be built as of \(position): \(error)")
        }
    }
}

extension ChronicleRuntime {
    /// The rows of `query`, decoded, as `request` asks for them: after its read model has reached
    /// `?after=` (waiting as ``catchUp(readModel:after:)`` does), or as its module's read models were at
    /// `?as_of=` (``queries(for:module:)``; no wait for the live read model then).
    public func rows<Model, Row>(_ query: ReadModelQuery<Model, Row>, for request: Request) async throws -> [Row] {
        let name = try readModelName(of: query)
        let after = try request.position("after")
        if request.uri.queryParameters.get("as_of") == nil { try await catchUp(readModel: name, after: after) }
        guard let module = subscription(named: name)?.module else { return try await queries.rows(query) }
        return try await queries(for: request, module: module).rows(query)
    }
}
