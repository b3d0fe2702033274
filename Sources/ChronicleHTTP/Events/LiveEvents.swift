import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /events/live?after=N`: the log as server-sent events, catch-up then live. Each message's `id` is
/// the event's position (so a reconnecting `EventSource` resumes with `Last-Event-ID`) and its `data`
/// the event as `/log` shows it. A comment line every 15 s keeps proxies open and finds closed clients.
struct LiveEvents<Context: RequestContext> {
    let store: any EventStore
    static var keepAlive: Duration { .seconds(15) }
    static var lastEventID: HTTPField.Name? { HTTPField.Name("Last-Event-ID") }

    func register(on router: Router<Context>) {
        router.get("/events/live") { request, _ in
            let resume = Self.lastEventID.flatMap { request.headers[$0] }.flatMap { Int64($0) }
            let after = try request.position("after") ?? resume.map { GlobalPosition(rawValue: max(0, $0)) } ?? .start
            let store = self.store
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
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
