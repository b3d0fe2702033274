import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// `GET /events/live?after=N`: the log as server-sent events, catch-up then live. Each message's `id` is
/// the event's position (so a reconnecting `EventSource` resumes with `Last-Event-ID`) and its `data`
/// the event as `/log` shows it. A comment line every 5 s keeps proxies open and finds closed clients
/// (whose streams then count no more against their limits).
struct LiveEvents {
    let store: any EventStore
    /// How many streams may be open at once.
    let streams: LiveStreamLimit
    /// Catch-up pages a stream reads per second at most (of 200 events each): 300 clients replaying the
    /// whole log cannot starve commands of the database.
    static var catchUpPagesPerSecond: Int { 5 }
    static var keepAlive: Duration { .seconds(5) }
    static var lastEventID: HTTPField.Name? { HTTPField.Name("Last-Event-ID") }

    /// Whether a client without the admin credential gets only wake-up hints (position, type, category):
    /// true when a credential is configured (README, Security).
    let thinForAnonymous: @Sendable (Request) -> Bool

    /// Registers the routes under `prefix` (`""`, and `/admin/api` for the console: behind the credential).
    func register(on router: RouteTable, prefix: String = "") {
        // The log's head, `{"position"}`: what a page has to know to follow the feed from where its
        // lists were read (anyone may ask: it says no more than the live feed's hints).
        router.get(prefix + "/events/head") { _, _ in
            JSONBody.response(.ok, ["position": try await store.headPosition().rawValue])
        }
        router.get(prefix + "/events/live") { request, context in
            let thin = prefix.isEmpty && thinForAnonymous(request)
            let resume = Self.lastEventID.flatMap { request.headers[$0] }.flatMap { Int64($0) }.map { GlobalPosition(rawValue: max(0, $0)) }
            let store = self.store
            let after: GlobalPosition
            if request.uri.queryParameters.get("after") == "head" {
                // From now on (a page that has just read its lists); a reconnecting EventSource resumes.
                after = if let resume { resume } else { try await store.headPosition() }
            } else {
                after = try request.position("after") ?? resume ?? .start
            }
            let slot: LiveStreamLimit.Slot
            switch streams.take(for: context.clientKey) {
            case .success(let taken): slot = taken
            case .failure(let refusal):
                var response = JSONBody.error(refusal.status, refusal.message)
                response.headers[.retryAfter] = "5"
                return response
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    defer { withExtendedLifetime(slot) {} }
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    var checkpoint = after
                    var quietSince = ContinuousClock.now
                    // Short waits so that a graceful shutdown ends the stream within a second.
                    while !Task.isCancelled, !Task.isShuttingDownGracefully {
                        let batch = try await store.nextEvents(after: checkpoint, limit: 200, maxWait: .seconds(1))
                        if batch.isEmpty {
                            if quietSince.duration(to: .now) >= Self.keepAlive {
                                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                                quietSince = .now
                            }
                            continue
                        }
                        var buffer = ByteBuffer()
                        for event in batch {
                            buffer.writeString("id: \(event.position.rawValue)\ndata: ")
                            buffer.writeBytes(try thin ? JSONBody.encoder.encode(HintBody(event)) : JSONBody.encoder.encode(EventBody(event)))
                            buffer.writeString("\n\n")
                        }
                        try await writer.write(buffer)
                        checkpoint = batch[batch.count - 1].position
                        quietSince = .now
                        if batch.count == 200 {  // catching up: pace the pages
                            try await Task.sleep(for: .milliseconds(1000 / Self.catchUpPagesPerSecond))
                        }
                    }
                    try await writer.finish(nil)
                })
        }
        router.get(prefix + "/events/:id") { _, context in
            guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else {
                throw APIError.badRequest("the event id is not a UUID")
            }
            guard let event = try await store.event(id: id) else {
                throw APIError(.notFound, "no stored event has id \(id.uuidString.lowercased())")
            }
            return JSONBody.response(.ok, EventBody(event))
        }
    }
}

/// What an anonymous client of the live feed reads when an admin credential is configured: that
/// something happened, and where — enough for a page to know when to read its lists again — but no
/// stream id, data or metadata.
struct HintBody: Encodable {
    let position: Int64
    let type: String
    let category: String

    init(_ event: RecordedEvent) {
        (position, type, category) = (event.position.rawValue, event.type, event.stream.category)
    }
}

/// Counts open live streams against a maximum for the server and one for each client (by address), so
/// that no client can take every stream. A taken slot is given back when its ``Slot`` goes away,
/// whether the stream ended, failed, or its response was never written.
final class LiveStreamLimit: Sendable {
    let maximum: Int
    let maximumPerClient: Int
    fileprivate struct Counts {
        var total = 0
        var byClient: [String: Int] = [:]
    }
    fileprivate let open = Mutex(Counts())

    init(maximum: Int, perClient: Int) {
        self.maximum = maximum
        self.maximumPerClient = perClient
    }

    /// One open stream of `client`.
    final class Slot: Sendable {
        let limit: LiveStreamLimit
        let client: String
        init(_ limit: LiveStreamLimit, _ client: String) { (self.limit, self.client) = (limit, client) }
        deinit {
            limit.open.withLock { counts in
                counts.total -= 1
                let left = (counts.byClient[client] ?? 1) - 1
                counts.byClient[client] = left > 0 ? left : nil
            }
        }
    }

    /// A slot for `client`; 429 when it has `maximumPerClient` open, 503 when the server has `maximum`.
    func take(for client: String) -> Result<Slot, APIError> {
        let refusal: APIError? = open.withLock { counts in
            if counts.byClient[client, default: 0] >= maximumPerClient {
                return APIError(.tooManyRequests, "this client has \(maximumPerClient) live streams open already; close one or retry later")
            }
            guard counts.total < maximum else {
                return APIError(.serviceUnavailable, "too many live streams are open (\(maximum)); retry later")
            }
            counts.total += 1
            counts.byClient[client, default: 0] += 1
            return nil
        }
        if let refusal { return .failure(refusal) }
        return .success(Slot(self, client))
    }

    /// How many streams are open now.
    var current: Int { open.withLock { $0.total } }
}
