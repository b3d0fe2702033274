import Chronicle
import GRPCCore
import Metrics
import Synchronization

/// What the KurrentDB port allows, and its limits.
public struct KurrentPolicy: Sendable {
    /// Categories the hosted applications own: their streams are written by their deciders only, so a
    /// protocol client may read them but not append to, delete or tombstone them (`PERMISSION_DENIED`).
    public var protectedCategories: Set<String> = []
    /// The most bytes of data and custom metadata in one append.
    public var maxAppendSize = 16 * 1024 * 1024
    /// The most events in one append.
    public var maxAppendEvents = 10_000
    /// The most subscriptions open at once on the port.
    public var maxSubscriptions = 10_000
    /// The most batch appends one BatchAppend call may hold open (sent in part, not final yet).
    public var maxPendingBatches = 1_000
    /// How often a live subscription looks for events when no wake-up came (appends of other processes
    /// on PostgreSQL arrive as notifications; this is the fallback).
    public var livePollInterval: Duration = .seconds(1)

    /// The default policy.
    public init() {}

    func checkWritable(_ stream: StreamName) throws(RPCError) {
        guard !protectedCategories.contains(stream.category) else { throw KurrentErrors.accessDenied(stream) }
    }

    func checkAppendSize(_ bytes: Int, events: Int) throws(RPCError) {
        guard bytes <= maxAppendSize else { throw KurrentErrors.maximumAppendSizeExceeded(maxAppendSize) }
        guard events <= maxAppendEvents else {
            throw RPCError(code: .invalidArgument, message: "an append may hold at most \(maxAppendEvents) events")
        }
    }
}

/// Counts open subscriptions; one more than the limit is refused with `RESOURCE_EXHAUSTED`.
final class SubscriptionGate: Sendable {
    private let open = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var count: Int { open.load(ordering: .relaxed) }

    private let gauge = Gauge(label: "chronicle_grpc_subscriptions_open")

    func hold(_ body: () async throws -> Void) async throws {
        let now = open.add(1, ordering: .relaxed).newValue
        gauge.record(now)
        defer { gauge.record(open.subtract(1, ordering: .relaxed).newValue) }
        guard now <= limit else {
            throw RPCError(code: .resourceExhausted, message: "more than \(limit) subscriptions are open on this server")
        }
        try await body()
    }
}
