import Chronicle
import ChronicleTesting
import Foundation
import ChronicleHTTPTesting
import Testing

@Suite struct EventAPITests {
    @Test func browsesStreamsTheLogAndConversations() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let (a, b) = (newId(), newId())
            try await client.send(.post, "/todo/\(a)", json: #"{"title": "A", "stakeholder_email": "ada@example.com"}"#)
            try await client.send(.post, "/todo/\(b)", json: #"{"title": "B"}"#)
            let done = try await client.send(.post, "/todo/\(a)/complete", json: #"{"completed_on": "2017-01-01"}"#)
            #expect(done.position == 3)

            let streams = try await client.get("/streams")
            guard case .array(let rows)? = streams["streams"] else { return #expect(Bool(false), "\(streams)") }
            #expect(Set(rows.compactMap { $0["name"]?.stringValue }) == ["todo-\(a)", "todo-\(b)"])

            let stream = try await client.get("/streams/todo-\(a)")
            guard case .array(let events)? = stream["events"], let first = events.first else { return #expect(Bool(false)) }
            #expect(first["type"] == .string("TodoAdded"))
            #expect(first["version"] == .number(1) && first["position"] == .number(1))
            #expect(first["stream"] == .string("todo-\(a)"))
            #expect(first["data"]?["title"] == .string("A"))
            #expect(first["recorded_at"]?.stringValue?.hasSuffix("Z") == true)
            #expect(first["id"]?.stringValue.flatMap(UUID.init(uuidString:)) != nil)

            let page = try await client.get("/log?after=1&limit=1")
            guard case .array(let logPage)? = page["events"] else { return #expect(Bool(false)) }
            #expect(logPage.map { $0["position"] } == [.number(2)])
            #expect(try await client.get("/log?limit=0").status == 400)

            // The notifier's event names the completion as its cause and shares its conversation.
            let completed = try #require(events.first { $0["type"] == .string("TodoCompleted") })
            let completion = try #require(completed["id"]?.stringValue)
            let correlation = try #require(completed["metadata"]?["correlation_id"]?.stringValue)
            var notified: JSONValue?
            await eventually("the notifier records its mail") {
                let all = try? await client.get("/log?correlation=\(correlation)")
                if case .array(let conversation)? = all?["events"], conversation.count == 2 { notified = conversation.last }
                return notified != nil
            }
            #expect(notified?["type"] == .string("StakeholderNotifiedOfTodoCompletion"))
            #expect(notified?["metadata"]?["causation_id"] == .string(completion))
            let cause = try await client.get("/events/\(completion)")
            #expect(cause["type"] == .string("TodoCompleted"))
            #expect(try await client.get("/events/\(newId())").status == 404)
            #expect(try await client.get("/events/nope").status == 400)
            #expect(try await client.get("/log?correlation=nope").status == 400)
        }
    }

    @Test func refusesHostileStreamNames() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            // Any name a client may have stored (KurrentDB's clients choose any) reads, bound as a value:
            // SQL in a name is only a name nobody wrote to.
            for name in ["todo-'%3B%20DROP%20TABLE%20events", "nodash", "-x", "%F0%9F%98%80-1"] {
                let answer = try await client.get("/streams/\(name)")
                #expect(answer.status == 200, "\(name)")
                #expect(answer.json?["events"] == .array([]), "\(name): \(answer)")
            }
            // What no store holds: a NUL, or more than 1,024 bytes.
            for name in ["a-%00", "a-" + String(repeating: "x", count: 1_100)] {
                let answer = try await client.get("/streams/\(name)")
                #expect(answer.status == 400, "\(name)")
                #expect(answer.error?.hasPrefix("invalid stream name") == true, "\(name): \(answer)")
            }
            #expect(try await client.get("/streams/todo-unknown").json?["events"] == .array([]))
            #expect(try await client.get("/streams?after=%00").status == 400)
            // The log is intact.
            let added = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "still here"}"#)
            #expect(added.status == 201)
        }
    }

    @Test func aServerWithoutWorkersShowsSubscriptionsStandingByAtTheirStoredCheckpoints() async throws {
        let first = try await Harness()
        try await first.run { client in
            let added = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "x"}"#)
            #expect(try await client.get("/todos/board?after=\(added.position)").status == 200)
            await eventually("the notifier catches up") { first.service.notifier.currentStatus.checkpoint == 1 }
        }
        let webOnly = try await Harness(directory: first.directory, workers: false)
        try await webOnly.run { client in
            _ = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "y"}"#)
            let answer = try await client.get("/admin/api/subscriptions")
            guard case .array(let rows)? = answer["subscriptions"] else { return #expect(Bool(false), "\(answer)") }
            #expect(rows.count == 5)
            #expect(rows.allSatisfy { $0["state"] == .string("standby") && $0["checkpoint"] == .number(1) && $0["lag"] == .number(1) })
        }
    }

    /// On a server that runs no subscriptions (`serve --no-workers`), pause and resume are refused with
    /// where the subscription runs; a rebuild is carried out from here all the same.
    @Test func adminControlsOnAProcessThatDoesNotRunTheSubscriptionSaySo() async throws {
        let harness = try await Harness(workers: false)
        try await harness.run { client in
            _ = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "x"}"#)
            for action in ["pause", "resume"] {
                let answer = try await client.send(.post, "/admin/api/subscriptions/todo_board/\(action)")
                #expect(answer.status == 409 && answer.error?.contains("--no-workers") == true, "\(action): \(answer)")
            }
            #expect(harness.service.readModels[.board]?.currentStatus.state == .standby)
            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_board/rebuild").status == 200)
            let rebuilt = await eventually("rebuilt from this process") {
                let rows = (try? await client.get("/admin/api/subscriptions")["subscriptions"]?.arrayValue) ?? []
                return rows.first { $0["name"] == "todo_board" }?["rebuild"]?["phase"] == "done"
            }
            #expect(rebuilt)
            // Built here, swapped in: the board shows the todo although no runner ran.
            #expect(try await client.get("/todos/board").json?.arrayValue?.count == 1)
        }
    }

    @Test func adminAPIShowsAndControlsSubscriptions() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let added = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "x"}"#)
            await eventually("all subscriptions catch up") {
                let answer = try? await client.get("/admin/api/subscriptions")
                guard case .array(let rows)? = answer?["subscriptions"] else { return false }
                return rows.count == 5 && rows.allSatisfy { $0["checkpoint"] == .number(Double(added.position)) && $0["lag"] == .number(0) }
            }
            let answer = try await client.get("/admin/api/subscriptions")
            guard case .array(let rows)? = answer["subscriptions"] else { return #expect(Bool(false)) }
            #expect(rows.compactMap { $0["name"]?.stringValue } == ["outstanding_todos", "scheduled_todos", "completed_todos", "todo_board", "todo_completed_notifier"])
            #expect(rows.last?["kind"] == .string("reactor"))
            #expect(rows.allSatisfy { $0["state"] == .string("running") && $0["fault"] == .null })

            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_board/pause").status == 200)
            await eventually("paused") { harness.service.readModels[.board]?.currentStatus.state == .paused }
            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_board/resume").status == 200)
            await eventually("running") { harness.service.readModels[.board]?.currentStatus.state == .running }
            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_board/rebuild").status == 200)
            // Built beside the live read model and swapped in; the live runner read nothing again.
            let rebuilt = await eventually("rebuilt") {
                let rows = (try? await client.get("/admin/api/subscriptions")["subscriptions"]?.arrayValue) ?? []
                return rows.first { $0["name"] == "todo_board" }?["rebuild"]?["phase"] == "done"
            }
            #expect(rebuilt && harness.service.readModels[.board]?.currentStatus.processed == 1)
            #expect(try await client.get("/todos/board").json?.arrayValue?.count == 1)
            let reactor = try await client.send(.post, "/admin/api/subscriptions/todo_completed_notifier/rebuild")
            #expect(reactor.status == 422)
            #expect(try await client.send(.post, "/admin/api/subscriptions/nope/pause").status == 404)
            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_board/explode").status == 404)
            let redirect = try await client.get("/admin")
            #expect(redirect.status == 302)
            #expect(try await client.get("/admin/").text.contains("<html"))
            let history = try await client.get("/admin/api/history")
            #expect(history["interval_seconds"] == .number(2))
        }
    }
}
