import Chronicle
import ChronicleHTTPTesting
import Foundation
import TodoDomain
import TodoHTTP
import Testing

@Suite struct TodoAPITests {
    @Test func aBlankOrInvalidFieldIsA400AndABrokenRuleA422() {
        let id = TodoID(UUID())
        #expect(Todo.Rejection.titleBlank.apiError.status == .badRequest && Todo.Rejection.doesNotExist(id).apiError.status == .unprocessableContent)
        #expect(Todo.Rejection.invalidDate(field: "due_date").apiError.status == .badRequest)
        #expect(Todo.Rejection.blank(field: "completed_on").apiError.status == .badRequest)
        #expect(Todo.Rejection.isComplete(id).apiError.message == "Todo \"\(id)\" is complete")
    }

    @Test func addAnswers201WithThePositionAndTheListsShowTheTodo() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            let added = try await client.send(
                .post, "/todo/\(id.uppercased())",
                json: #"{"title": "Buy milk", "description": "Semi-skimmed", "due_date": "2017-01-02", "stakeholder_email": "ada@example.com"}"#)
            #expect(added.status == 201)
            #expect(added["todo_id"] == .string(id))
            #expect(added.position == 1)
            let outstanding = try await client.get("/todos/outstanding?after=\(added.position)")
            #expect(outstanding.status == 200)
            #expect(
                outstanding.array == [
                    .object([
                        "todo_id": .string(id), "title": .string("Buy milk"), "description": .string("Semi-skimmed"),
                        "due_date": .string("2017-01-02"), "stakeholder_email": .string("ada@example.com"),
                    ])
                ])
            let scheduled = try await client.get("/todos/scheduled?after=\(added.position)")
            #expect(scheduled.array.count == 1)
            let bare = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "Only a title"}"#)
            let list = try await client.get("/todos/outstanding?after=\(bare.position)")
            #expect(list.array.last?["description"] == .null)
            #expect(list.array.last?["due_date"] == .null)
            #expect(try await client.get("/todos/scheduled?after=\(bare.position)").array.count == 1)
        }
    }

    @Test func inputErrorsAre400AndRuleViolations422WithTheReason() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            try await client.send(.post, "/todo/\(id)", json: #"{"title": "Once"}"#)
            let cases: [(String, String, Int, String)] = [
                ("/todo/\(id)", #"{"title": "Twice"}"#, 422, "Todo \"\(id)\" already exists"),
                ("/todo/\(newId())", #"{"description": "no title"}"#, 400, "title is blank"),
                ("/todo/\(newId())", #"{"title": "   "}"#, 400, "title is blank"),
                ("/todo/\(newId())", #"{"title": "x", "due_date": "soon"}"#, 400, "due_date is invalid"),
                ("/todo/\(newId())", #"{"title": 5}"#, 400, "title must be a string"),
                ("/todo/\(newId())", #"{"title": "x""#, 400, "the body is not valid JSON"),
                ("/todo/\(newId())", #"["title"]"#, 400, "the body must be a JSON object"),
                ("/todo/\(newId())", #"{"title": "x", "d": {"title": 1}, "title": 1}"#, 400, "the body holds the key \"title\" twice"),
                ("/todo/\(newId())", #"{"ti\u0074le": "x", "title": "y"}"#, 400, "the body holds the key \"title\" twice"),
                ("/todo/not-a-uuid", #"{"title": "x"}"#, 400, "todo_id is not a UUID"),
                ("/todo/\(id)/complete", #"{}"#, 400, "completed_on is blank"),
                ("/todo/\(id)/complete", #"{"completed_on": "2017-02-30"}"#, 400, "completed_on is invalid"),
                ("/todo/\(id)/abandon", #"{"abandoned_on": ""}"#, 400, "abandoned_on is blank"),
                ("/todo/\(newId())/complete", #"{"completed_on": "2017-01-01"}"#, 422, "does not exist"),
                ("/todo/\(id)/reopen", "", 422, "Todo \"\(id)\" is not complete"),
                ("/todo/\(id)/clear", "", 422, "Todo \"\(id)\" is not complete"),
            ]
            for (uri, body, status, reason) in cases {
                let answer = try await client.send(.post, uri, json: body)
                #expect(answer.status == status, "\(uri) \(body)")
                #expect(answer.error?.hasSuffix(reason) == true, "\(uri) \(body): \(answer)")
            }
            let invalidUTF8 = try await client.send(.post, "/todo/\(newId())", bytes: [0x7B, 0x22, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D])
            #expect(invalidUTF8.status == 400 && invalidUTF8.error == "the body is not valid UTF-8")
            let huge = try await client.send(
                .post, "/todo/\(newId())", bytes: Array(#"{"title": ""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array(#""}"#.utf8))
            #expect(huge.status == 413 && huge.error?.contains("larger than") == true)
            let form = try await client.send(.post, "/todo/\(newId())", bytes: Array("title=x".utf8), contentType: "application/x-www-form-urlencoded")
            #expect(form.status == 415 && form.error == "Content-Type must be application/json")
            let plain = try await client.send(.post, "/todo/\(id)/clear", bytes: [], contentType: "text/plain")
            #expect(plain.status == 415)
            let unknownRoute = try await client.get("/nowhere")
            #expect(unknownRoute.status == 404 && unknownRoute.error == "no route for GET /nowhere")
            // Nothing was written by any refused command: one todo, one event.
            #expect(try await client.get("/log").json?["events"].map { if case .array(let a) = $0 { a.count } else { -1 } } == 1)
            #expect(try await client.get("/health").status == 200)
        }
    }

    @Test func amendCompleteAbandonMoveUpReopenAndClear() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let (a, b, c) = (newId(), newId(), newId())
            for (id, title, due) in [(a, "A", "2017-03-01"), (b, "B", "2017-01-01"), (c, "C", "2017-02-01")] {
                #expect(try await client.send(.post, "/todo/\(id)", json: #"{"title": "\#(title)", "due_date": "\#(due)", "description": "d"}"#).status == 201)
            }
            func titles(_ list: String, after position: Int64) async throws -> [String] {
                try await client.get("/todos/\(list)?after=\(position)").array.compactMap { $0["title"]?.stringValue }
            }
            var last = try await client.send(.put, "/todo/\(c)/moveup")
            #expect(last.status == 200)
            #expect(try await titles("outstanding", after: last.position) == ["A", "C", "B"])
            #expect(try await titles("scheduled", after: last.position) == ["B", "C", "A"])

            last = try await client.send(.put, "/todo/\(a)", json: #"{"title": "A2", "description": null}"#)
            #expect(last.status == 200)
            let amended = try await client.get("/todos/outstanding?after=\(last.position)").array.first
            #expect(amended?["title"] == .string("A2") && amended?["description"] == .null && amended?["due_date"] == .string("2017-03-01"))
            #expect(try await client.send(.put, "/todo/\(newId())", json: #"{"title": "x"}"#).status == 422)

            last = try await client.send(.post, "/todo/\(b)/complete", json: #"{"completed_on": "2017-01-05"}"#)
            #expect(last.status == 200)
            #expect(try await titles("outstanding", after: last.position) == ["A2", "C"])
            let completed = try await client.get("/todos/completed?after=\(last.position)").array
            #expect(completed.map { $0["completed_on"] } == [.string("2017-01-05")])
            let again = try await client.send(.post, "/todo/\(b)/complete", json: #"{"completed_on": "2017-01-06"}"#)
            #expect(again.status == 422 && again.error == "Todo \"\(b)\" already complete")
            let amendCompleted = try await client.send(.put, "/todo/\(b)", json: #"{"title": "x"}"#)
            #expect(amendCompleted.status == 422 && amendCompleted.error == "Todo \"\(b)\" is complete")
            #expect(try await client.send(.post, "/todo/\(b)/abandon", json: #"{"abandoned_on": "2017-01-06"}"#).error == "Todo \"\(b)\" is complete")

            last = try await client.send(.post, "/todo/\(c)/abandon", json: #"{"abandoned_on": "2017-01-06"}"#)
            #expect(last.status == 200)
            #expect(try await titles("outstanding", after: last.position) == ["A2"])
            #expect(try await client.send(.post, "/todo/\(c)/complete", json: #"{"completed_on": "2017-01-06"}"#).error == "Todo \"\(c)\" is abandoned")

            // The board: outstanding and completed-not-cleared, in board order, with the completed flag.
            let board = try await client.get("/todos/board?after=\(last.position)").array
            #expect(board.map { $0["title"] } == [.string("A2"), .string("B")])
            #expect(board.map { $0["completed"] } == [.bool(false), .bool(true)])

            last = try await client.send(.post, "/todo/\(b)/reopen")
            #expect(last.status == 200)
            #expect(try await titles("outstanding", after: last.position) == ["A2", "B"])
            _ = try await client.send(.post, "/todo/\(b)/complete", json: #"{"completed_on": "2017-01-07"}"#)
            last = try await client.send(.post, "/todo/\(b)/clear")
            #expect(last.status == 200)
            #expect(try await titles("board", after: last.position) == ["A2"])
            #expect(try await titles("completed", after: last.position) == ["B"])
            #expect(try await client.send(.post, "/todo/\(b)/reopen").error == "Todo \"\(b)\" is cleared")
        }
    }

    @Test func aRestartedServerKeepsEveryTodo() async throws {
        let first = try await Harness()
        let id = newId()
        try await first.run { client in
            let survive = try await client.send(.post, "/todo/\(id)", json: #"{"title": "Survive"}"#)
            let done = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "Done"}"#)
            #expect(survive.status == 201 && done.status == 201)
        }
        let second = try await Harness(directory: first.directory)
        try await second.run { client in
            let board = try await client.get("/todos/board?after=2")
            #expect(board.array.compactMap { $0["title"]?.stringValue } == ["Survive", "Done"])
            let again = try await client.send(.post, "/todo/\(id)", json: #"{"title": "Survive"}"#)
            #expect(again.status == 422)
        }
    }

    @Test func nestedAndEscapedKeysAreNotMistakenForRepeats() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let body = #"{"title": "say \"title\", {x: [1,2]}", "description": "{\"title\": 1}", "extra": {"title": [{"title": 2}]}}"#
            let answer = try await client.send(.post, "/todo/\(newId())", json: body)
            #expect(answer.status == 201, "\(answer)")
        }
    }

    @Test func queriesValidateAfter() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            #expect(try await client.get("/todos/outstanding?after=-1").status == 400)
            #expect(try await client.get("/todos/outstanding?after=abc").status == 400)
            let beyond = try await client.get("/todos/outstanding?after=99")
            #expect(beyond.status == 400 && beyond.error == "after=99 is beyond the newest position 0")
            #expect(try await client.get("/todos/outstanding?after=0").array.isEmpty)
        }
    }

    @Test func aQueryWaitsForItsReadModelOrSays503() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            harness.service.readModels[.outstanding]?.pause()
            let added = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "x"}"#)
            // A paused read model cannot reach the position: the bounded wait ends in 503, not in stale data.
            let stale = try await client.get("/todos/outstanding?after=\(added.position)")
            #expect(stale.status == 503)
            #expect(stale.error?.contains("has not reached position \(added.position)") == true)
            harness.service.readModels[.outstanding]?.resume()
            #expect(try await client.get("/todos/outstanding?after=\(added.position)").array.count == 1)
        }
    }

    @Test func concurrentWritersGet409OnlyWhenRetriesRunOut() async throws {
        let harness = try await Harness(maxCommandAttempts: 1)
        try await harness.run { client in
            let id = newId()
            try await client.send(.post, "/todo/\(id)", json: #"{"title": "contended"}"#)
            // Separate connections, so that the requests really run at the same time.
            let statuses = try await withThrowingTaskGroup(of: Harness.Answer.self) { group in
                for n in 0..<40 {
                    group.addTask {
                        try await Harness.sendOnNewConnection(
                            port: client.port, method: "PUT", path: "/todo/\(id)", body: #"{"title": "v\#(n)"}"#)
                    }
                }
                return try await group.reduce(into: [Harness.Answer]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0.status == 200 || $0.status == 409 })
            let conflicts = statuses.filter { $0.status == 409 }
            #expect(!conflicts.isEmpty)
            #expect(conflicts.allSatisfy { $0.error?.hasPrefix("Wrong expected version") == true })
            // Every 200 wrote exactly one event; every 409 wrote none.
            let stream = try await client.get("/streams/todo-\(id)")
            if case .array(let events)? = stream["events"] {
                #expect(events.count == 1 + statuses.filter { $0.status == 200 }.count)
            } else {
                Issue.record("no events in \(stream)")
            }
        }
    }
}
