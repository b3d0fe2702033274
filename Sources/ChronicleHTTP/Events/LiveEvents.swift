import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// `GET /events/live?after=N`: the log as server-sent events, catch-up then live. Each message's `id` is
/// the event's position (so a reconnecting `EventSource` resumes with `Last-Event-ID`) and its `data`
/// the event as `/log` shows it. A comment line every 15 s keeps proxies open and finds closed clients.
struct LiveEvents {
    let store: any EventStore
    /// How many streams may be open at once.
    let streams: LiveStreamLimit
    /// Catch-up pages a stream reads per second at most (of 200 events each): 300 clients replaying the
    /// whole log cannot starve commands of the database.
    static var catchUpPagesPerSecond: Int { 5 }
    static var keepAlive: Duration { .seconds(15) }
    static var lastEventID: HTTPField.Name? { HTTPField.Name("Last-Event-ID") }

    func register(on router: RouteTable) {
        router.get("/events/live") { request, _ in
            let resume = Self.lastEventID.flatMap { request.headers[$0] }.flatMap { Int64($0) }
            let after = try request.position("after") ?? resume.map { GlobalPosition(rawValue: max(0, $0)) } ?? .start
            let store = self.store
            guard let slot = streams.take() else {
                var response = JSONBody.error(
                    .serviceUnavailable, "too many live streams are open (\(streams.maximum)); retry later")
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
                            buffer.writeBytes(try JSONBody.encoder.encode(EventBody(event)))
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
        router.get("/events/:id") { _, context in
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

/// Counts open live streams against a maximum. A taken slot is given back when its ``Slot`` goes away,
/// whether the stream ended, failed, or its response was never written.
final class LiveStreamLimit: Sendable {
    let maximum: Int
    fileprivate let open = Mutex(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// One open stream.
    final class Slot: Sendable {
        let limit: LiveStreamLimit
        init(_ limit: LiveStreamLimit) { self.limit = limit }
        deinit { limit.open.withLock { $0 -= 1 } }
    }

    /// A slot, or nil when `maximum` streams are open.
    func take() -> Slot? {
        let taken = open.withLock { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
        return taken ? Slot(self) : nil
    }

    /// How many streams are open now.
    var current: Int { open.withLock { $0 } }
}
