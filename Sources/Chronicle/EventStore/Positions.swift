/// A place in the global log. Positions start at 1 and have no gaps: the n-th committed event
/// has position n. ``GlobalPosition/start`` (0) is "before the first event".
public struct GlobalPosition: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    /// The position as a number.
    public let rawValue: Int64
    /// Makes a position from its number.
    public init(rawValue: Int64) { self.rawValue = rawValue }
    /// Makes a position from a literal.
    public init(integerLiteral value: Int64) { self.rawValue = value }
    /// Before the first event: reading `after: .start` reads the whole log.
    public static let start = GlobalPosition(rawValue: 0)
    /// The next position.
    public var next: GlobalPosition { GlobalPosition(rawValue: rawValue + 1) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The version of a stream: how many events it holds. A stream that does not exist has version 0;
/// its first event has version 1.
public typealias StreamVersion = Int64

/// What the writer believes the stream's version is when it appends. The append fails with
/// ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)`` when the belief is wrong.
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// Append whatever the version (no concurrency check).
    case any
    /// The stream must not exist yet (version 0).
    case noStream
    /// The stream must hold at least one event.
    case streamExists
    /// The stream must be exactly at this version.
    case exactly(StreamVersion)

    /// Whether a stream at `actual` satisfies this expectation.
    public func isSatisfied(by actual: StreamVersion) -> Bool {
        switch self {
        case .any: true
        case .noStream: actual == 0
        case .streamExists: actual > 0
        case .exactly(let v): actual == v
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .streamExists: "stream exists"
        case .exactly(let v): String(v)
        }
    }
}

/// Which way a stream is read.
public enum ReadDirection: Sendable, Hashable {
    /// Oldest first, from a version up.
    case forwards
    /// Newest first, from a version down.
    case backwards
}
