import Chronicle
import ChronicleRuntime
import Foundation
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
    /// when the log ended there (``ReadModelReplays/queries(asOf:module:)``). 400 for a malformed value or a position
    /// beyond the log's head, as `?after=` answers.
    public func queries(for request: Request, module: String) async throws -> any SQLQuerying {
        guard let raw = request.uri.queryParameters.get("as_of") else { return queries }
        let position: GlobalPosition
        if let value = Int64(raw), value >= 0 {
            position = GlobalPosition(rawValue: value)
        } else if let time = SQLTimestamp(iso8601: String(raw)) {
            position = try await store.position(at: time.date)
        } else {
            throw APIError.badRequest("as_of must be a position (a whole number from 0) or a time in ISO 8601 UTC, like 2026-11-30T10:00:00Z")
        }
        do {
            return try await replays.queries(asOf: position, module: module)
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

/// A point in one stream's history, as a query asks for it: `?version=N` (the stream as it was at its
/// version N) and `?at=<ISO 8601 UTC>` (as it was when that time ended), for
/// `CommandHandler.state(of:asOfVersion:recordedBy:)`. Both nil: now.
public struct StreamPointInTime: Sendable, Equatable {
    /// `?version=`.
    public var version: StreamVersion?
    /// `?at=`, inclusive of the last digit given: `…T10:00:00Z` covers the whole second, `….123Z` its
    /// millisecond (the event browser shows times to the millisecond).
    public var recordedBy: Date?

    /// Whether the query asks for now.
    public var isNow: Bool { version == nil && recordedBy == nil }

    /// The point `request` asks for; 400 for a version that is not a whole number or a time that is not
    /// ISO 8601 UTC.
    public init(_ request: Request) throws {
        if let raw = request.uri.queryParameters.get("version") {
            guard let n = StreamVersion(raw), n >= 0 else { throw APIError.badRequest("version must be a whole number") }
            version = n
        }
        if let raw = request.uri.queryParameters.get("at") {
            guard let time = SQLTimestamp(iso8601: String(raw)) else {
                throw APIError.badRequest("at must be a time in ISO 8601 UTC, like 2026-11-30T10:00:00Z")
            }
            let digits = raw.split(separator: ".").dropFirst().first.map { $0.prefix { $0.isNumber }.count } ?? 0
            var unit: Int64 = 0
            for _ in min(digits, 6)..<6 { unit = unit * 10 + 9 }  // 10^(6 - digits) - 1 microseconds
            recordedBy = SQLTimestamp(microsecondsSince1970: time.microsecondsSince1970 + unit).date
        }
    }
}
