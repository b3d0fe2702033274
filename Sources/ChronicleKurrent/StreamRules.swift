import Chronicle
import Foundation
import GRPCCore

/// What a stream's metadata (`$$stream`'s last `$metadata` event) says reads may see.
struct StreamMetadata {
    /// The metadata stream's current version (0: none written).
    var version: StreamVersion = 0
    /// The JSON object, as stored (empty when none, or when it is not an object).
    var object: [String: Any] = [:]

    /// `$tb`: revisions below it are not readable (`Int64.max`: the stream is soft-deleted).
    var truncateBefore: Int64? { Self.integer(object["$tb"]) }
    /// `$maxCount`: only the newest so many events are readable.
    var maxCount: Int64? { Self.integer(object["$maxCount"]) }
    /// `$maxAge`, seconds: only events younger than it are readable.
    var maxAge: Int64? { Self.integer(object["$maxAge"]) }

    /// Whether a soft delete hides the whole stream.
    var isSoftDeleted: Bool { truncateBefore == Int64.max }

    /// The lowest version a read may answer, for a stream at `current`.
    func lowestReadable(current: StreamVersion) -> StreamVersion {
        var lowest: StreamVersion = 1
        if let tb = truncateBefore, tb >= 0 { lowest = max(lowest, tb == Int64.max ? Int64.max : tb + 1) }
        if let count = maxCount, count >= 0 { lowest = max(lowest, current - count + 1) }
        return lowest
    }

    /// Whether `event` is young enough for `$maxAge`.
    func isYoungEnough(_ event: RecordedEvent, now: Date) -> Bool {
        guard let age = maxAge, age >= 0 else { return true }
        return now.timeIntervalSince(event.recordedAt) < Double(age)
    }

    static func integer(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber:
            // JSON numbers beyond Int64 (a client's own) read as no limit rather than trap.
            let double = number.doubleValue
            guard double.isFinite, double >= -9.2e18, double <= 9.3e18 else { return nil }
            return number.int64Value
        default: return nil
        }
    }

    /// The metadata of `stream`, read from `$$stream`.
    static func of(_ stream: StreamName, in store: any EventStore) async throws -> StreamMetadata {
        guard let metaStream = try? StreamName(protocolName: "$$" + stream.description) else { return StreamMetadata() }
        let version = try await store.version(of: metaStream)
        guard version > 0,
            let last = try await store.read(metaStream, from: version, direction: .backwards, limit: 1).first,
            last.type == StreamRules.metadataType
        else { return StreamMetadata(version: version) }
        let object = (try? JSONSerialization.jsonObject(with: last.data)) as? [String: Any] ?? [:]
        return StreamMetadata(version: version, object: object)
    }
}

/// KurrentDB's stream rules on Chronicle's store: metadata streams, soft deletes and tombstones.
enum StreamRules {
    static let metadataType = "$metadata"

    /// The stream a name's rules follow: `$$s` is s's metadata stream, deleted with s.
    static func owner(of stream: StreamName) -> StreamName {
        let name = stream.description
        guard name.hasPrefix("$$"), let base = try? StreamName(protocolName: String(name.dropFirst(2))) else { return stream }
        return base
    }

    /// Whether `stream` was tombstoned (its last event is the tombstone).
    static func isTombstoned(_ stream: StreamName, in store: any EventStore) async throws -> Bool {
        let version = try await store.version(of: stream)
        guard version > 0 else { return false }
        return try await store.read(stream, from: version, direction: .backwards, limit: 1).first?.type == NewEvent.tombstoneType
    }

    /// Refuses an operation on a tombstoned stream (or on its metadata stream) as KurrentDB does.
    static func checkNotTombstoned(_ stream: StreamName, in store: any EventStore) async throws {
        let owner = owner(of: stream)
        if try await isTombstoned(owner, in: store) { throw KurrentErrors.streamDeleted(owner) }
    }

    /// The metadata event that soft-deletes (`$tb` = Int64.max) or revives (`$tb` = the first revision
    /// after it) a stream, keeping the other keys.
    static func metadataEvent(_ metadata: StreamMetadata, truncateBefore: Int64) -> NewEvent {
        var object = metadata.object
        object["$tb"] = NSNumber(value: truncateBefore)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return NewEvent(id: UUID(), type: metadataType, data: data)
    }
}

/// KurrentDB's errors as its clients recognise them: the status, the text clients match, and the
/// `exception` trailers other clients read.
enum KurrentErrors {
    static func wrongExpectedVersion(_ stream: StreamName, expected: ExpectedVersion, actual: StreamVersion) -> RPCError {
        let expectedText: String =
            switch expected {
            case .any: "-2"
            case .noStream: "-1"
            case .streamExists: "-4"
            case .exactly(let v): String(v - 1)
            }
        let actualText = actual > 0 ? String(actual - 1) : "-1"
        return RPCError(
            code: .failedPrecondition,
            message:
                "Append failed due to WrongExpectedVersion. Stream: \(stream), Expected version: \(expectedText), Actual version: \(actualText)",
            metadata: [
                "exception": "wrong-expected-version", "stream-name": "\(stream)", "expected-version": "\(expectedText)",
                "actual-version": "\(actualText)",
            ])
    }

    static func streamDeleted(_ stream: StreamName) -> RPCError {
        RPCError(
            code: .failedPrecondition, message: "Event stream '\(stream)' is deleted.",
            metadata: ["exception": "stream-deleted", "stream-name": "\(stream)"])
    }

    static func accessDenied(_ stream: StreamName) -> RPCError {
        RPCError(
            code: .permissionDenied,
            message: "Access denied: stream '\(stream)' belongs to a Chronicle application and is written by its commands only",
            metadata: ["exception": "access-denied"])
    }

    static func maximumAppendSizeExceeded(_ limit: Int) -> RPCError {
        RPCError(
            code: .invalidArgument, message: "Maximum Append Size of \(limit) Exceeded.",
            metadata: ["exception": "maximum-append-size-exceeded", "maximum-append-size": "\(limit)"])
    }

    static let invalidPosition = RPCError(code: .unknown, message: "Unexpected FilteredReadAllResult: InvalidPosition")
}
