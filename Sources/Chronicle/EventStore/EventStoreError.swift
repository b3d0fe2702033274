import Foundation

/// Everything an event store can refuse, with the actual values.
public enum EventStoreError: Error, Equatable, CustomStringConvertible {
    /// The stream was not at the expected version; nothing was written.
    case wrongExpectedVersion(stream: StreamName, expected: ExpectedVersion, actual: StreamVersion)
    /// An event id already stored for a different event (or another stream); nothing was written.
    case eventIdReused(id: UUID, stream: StreamName)
    /// Part of the batch is already stored and part is not: a retry must re-send exactly the stored batch.
    case partiallyStoredBatch(stream: StreamName)
    /// The same id twice in one batch.
    case duplicateIdInBatch(id: UUID)
    /// An append of no events.
    case emptyBatch(stream: StreamName)
    /// A read with a limit below 1 or a version below 0.
    case invalidRead(String)
    /// The storage underneath failed (I/O, corruption, a schema the store does not know).
    case storage(String)
    /// The storage cannot take the operation now but may later: the disk is full, the database is
    /// unreachable or did not answer in time. Nothing was written; the same call may be retried.
    case unavailable(String)
    /// The stream was tombstoned (its last event is ``NewEvent/tombstoneType``): nothing may be appended
    /// to it again.
    case streamDeleted(stream: StreamName)

    /// Whether retrying the same operation later may succeed (``unavailable(_:)``).
    public var isTransient: Bool {
        if case .unavailable = self { true } else { false }
    }

    public var description: String {
        switch self {
        case let .wrongExpectedVersion(stream, expected, actual):
            "Wrong expected version: \(expected) (Stream: \(stream), Stream Version: \(actual))"
        case let .eventIdReused(id, stream):
            "Event id \(id.uuidString.lowercased()) is already stored for a different event (append to \(stream))"
        case let .partiallyStoredBatch(stream):
            "Part of this batch is already stored in \(stream): re-send exactly the stored batch, or new ids"
        case let .duplicateIdInBatch(id):
            "Event id \(id.uuidString.lowercased()) appears twice in one batch"
        case let .emptyBatch(stream):
            "An append to \(stream) holds no events"
        case let .invalidRead(why):
            "Invalid read: \(why)"
        case let .storage(why):
            "Storage error: \(why)"
        case let .unavailable(why):
            "Storage unavailable: \(why)"
        case let .streamDeleted(stream):
            "Event stream '\(stream)' is deleted."
        }
    }
}
