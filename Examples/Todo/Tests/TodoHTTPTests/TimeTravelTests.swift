import Chronicle
import ChronicleRuntime
import ChronicleTesting
import ChronicleHTTPTesting
import Foundation
import TodoDomain
import TodoHTTP
import Testing

/// `GET /todo/:id`: the todo now, or as it was at a version of its stream or at a time.
@Suite struct TimeTravelTests {
    @Test func aTodoAsItWasAtAVersionOrATime() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            #expect(try await client.get("/todo/\(id)").status == 404)
            _ = try await client.send(.post, "/todo/\(id)", json: #"{"title": "Buy milk", "due_date": "2026-12-01"}"#)
            _ = try await client.send(.put, "/todo/\(id)", json: #"{"title": "Buy oat milk", "due_date": null}"#)
            _ = try await client.send(.post, "/todo/\(id)/complete", json: #"{"completed_on": "2026-11-30"}"#)

            let now = try await client.get("/todo/\(id)")
            #expect(now.status == 200 && now["status"] == "completed" && now["title"] == "Buy oat milk" && now["version"] == .number(3), "\(now)")
            #expect(now["todo_id"] == .string(id) && now["due_date"] == .null && now["description"] == .null && now["stakeholder_email"] == .null)
            let first = try await client.get("/todo/\(id)?version=1")
            #expect(first["status"] == "outstanding" && first["title"] == "Buy milk" && first["due_date"] == "2026-12-01", "\(first)")
            #expect(try await client.get("/todo/\(id)?version=2")["title"] == "Buy oat milk")
            #expect(try await client.get("/todo/\(id)?version=0").status == 404)
            #expect(try await client.get("/todo/\(id)?version=4").status == 404)
            #expect(try await client.get("/todo/\(id)?version=two").status == 400)

            // By time: each event's recorded time is when the state changed.
            let events = try await client.get("/streams/todo-\(id)")["events"]?.arrayValue ?? []
            let times = events.compactMap { $0["recorded_at"]?.stringValue }
            #expect(times.count == 3)
            // At the first event's time (to the millisecond shown): that event and any in the same millisecond.
            let atAdd = try await client.get("/todo/\(id)?at=\(times[0])")
            var reached = 0
            if case .number(let n)? = atAdd["version"] { reached = Int(n) }
            #expect(reached >= 1 && times.prefix(reached).allSatisfy { $0 == times[0] } && (reached == 3 || times[reached] != times[0]), "\(atAdd)")
            let sameVersion = try await client.get("/todo/\(id)?version=\(reached)")
            #expect(atAdd.json == sameVersion.json)
            let atCompletion = try await client.get("/todo/\(id)?at=\(times[2])")
            #expect(atCompletion["status"] == "completed", "\(times) \(atCompletion)")
            #expect(try await client.get("/todo/\(id)?at=2000-01-01T00:00:00Z").status == 404)
            #expect(try await client.get("/todo/\(id)?at=yesterday").status == 400)

            // Cleared shows as such; abandoned too.
            _ = try await client.send(.post, "/todo/\(id)/clear", json: "{}")
            #expect(try await client.get("/todo/\(id)")["status"] == "cleared")
            let other = newId()
            _ = try await client.send(.post, "/todo/\(other)", json: #"{"title": "Call Bob"}"#)
            _ = try await client.send(.post, "/todo/\(other)/abandon", json: #"{"abandoned_on": "2026-11-30"}"#)
            #expect(try await client.get("/todo/\(other)")["status"] == "abandoned")
            #expect(try await client.get("/todo/not-a-uuid").status == 400)
        }
    }

    @Test func theAdminRevertBringsATodoBackAndSendsNoMail() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            _ = try await client.send(.post, "/todo/\(id)", json: #"{"title": "Buy milk", "stakeholder_email": "ada@example.com"}"#)
            _ = try await client.send(.put, "/todo/\(id)", json: #"{"title": "Buy oat milk"}"#)
            _ = try await client.send(.post, "/todo/\(id)/complete", json: #"{"completed_on": "2026-11-30"}"#)
            _ = try await client.send(.post, "/todo/\(id)/reopen", json: "{}")
            // The notifier records its mail in the stream: let it, so the revert reads the stream whole.
            @Sendable func notifierDone() async throws {
                try await eventually("the notifier has read the log") {
                    try await harness.server.runtime.checkpoint(of: "todo_completed_notifier") >= (try await harness.server.runtime.store.headPosition())
                }
            }
            try await notifierDone()
            let reverted = try await client.send(.post, "/admin/api/streams/todo-\(id)/revert", json: #"{"to_version": 3}"#)
            #expect(reverted.status == 200 && reverted["reverted"] == true, "\(reverted)")
            let now = try await client.get("/todo/\(id)")
            let then = try await client.get("/todo/\(id)?version=3")  // completed, before the mail and the reopen
            #expect(now["status"] == "completed" && now["title"] == then["title"] && now["completed_on"] == then["completed_on"], "\(now) / \(then)")
            // The completion a revert appended restores one the stakeholder heard of: one mail in all.
            try await notifierDone()
            let back = try await client.send(.post, "/admin/api/streams/todo-\(id)/revert", json: #"{"to_version": 1}"#)
            let restored = try await client.get("/todo/\(id)")
            #expect(back.status == 200 && restored["title"] == "Buy milk" && restored["status"] == "outstanding", "\(back) / \(restored)")
            // Refused, naming the event; nothing appended.
            _ = try await client.send(.put, "/todo/\(id)/moveup", json: "{}")
            let refused = try await client.send(.post, "/admin/api/streams/todo-\(id)/revert", json: #"{"to_version": 1}"#)
            #expect(refused.status == 422 && refused["reverted"] == false, "\(refused)")
            #expect(try await client.send(.post, "/admin/api/streams/todo-\(newId())/revert", json: #"{"to_version": 1}"#).status == 404)
            #expect(try await client.send(.post, "/admin/api/streams/todo-\(id)/revert", json: #"{"to_version": 99}"#).status == 400)
            #expect(try await client.send(.post, "/admin/api/streams/todo-\(id)/revert", json: #"{"to_version": "1"}"#).status == 400)
            try await notifierDone()
            #expect(try FileMailbox.read(path: harness.server.directory.path("todo.mailbox")).count == 1)
        }
    }
}
