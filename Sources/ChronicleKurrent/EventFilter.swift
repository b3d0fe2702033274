import Chronicle
import ChronicleKurrentProtocol
import GRPCCore

/// A `$all` filter a client gives: on the stream name or the event type, a regular expression (searched
/// anywhere in the text, as KurrentDB's; see ``LinearRegex`` for the dialect) or prefixes; and how many
/// events are searched between two checkpoints of a subscription.
struct EventFilter: Sendable {
    enum Target { case streamName, eventType }

    let target: Target
    let prefixes: [String]
    /// Matched in linear time: no pattern a client sends can make a read cost without bound.
    let regex: LinearRegex?
    /// Events searched between two checkpoints.
    let checkpointInterval: Int

    /// The longest regular expression accepted, in UTF-8 bytes.
    static let maxPatternLength = 512
    /// The most prefixes accepted.
    static let maxPrefixes = 256

    init(_ options: EventStore_Client_Streams_ReadReq.Options.FilterOptions) throws(RPCError) {
        let expression: EventStore_Client_Streams_ReadReq.Options.FilterOptions.Expression
        switch options.filter {
        case .streamIdentifier(let e): (target, expression) = (.streamName, e)
        case .eventType(let e): (target, expression) = (.eventType, e)
        case nil: throw RPCError(code: .invalidArgument, message: "a filter names neither the stream nor the event type")
        }
        guard expression.prefix.count <= Self.maxPrefixes else {
            throw RPCError(code: .invalidArgument, message: "a filter may hold at most \(Self.maxPrefixes) prefixes")
        }
        prefixes = expression.prefix
        if expression.regex.isEmpty {
            regex = nil
        } else {
            guard expression.regex.utf8.count <= Self.maxPatternLength else {
                throw RPCError(
                    code: .invalidArgument, message: "a filter's regular expression may be at most \(Self.maxPatternLength) bytes")
            }
            do { regex = try LinearRegex(expression.regex) } catch {
                throw RPCError(code: .invalidArgument, message: "the filter's regular expression is refused: \(error.description)")
            }
        }
        let window: Int =
            switch options.window {
            case .max(let max): Int(Swift.max(max, 1))
            case .count, nil: 32
            }
        checkpointInterval = window * Int(Swift.max(options.checkpointIntervalMultiplier, 1))
    }

    /// Whether `event` passes the filter.
    func matches(_ event: RecordedEvent) -> Bool {
        let text = target == .streamName ? event.stream.description : event.type
        if let regex { return regex.matches(text) }
        return prefixes.contains { text.hasPrefix($0) }
    }
}
