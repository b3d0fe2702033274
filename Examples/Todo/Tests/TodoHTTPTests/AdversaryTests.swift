import Chronicle
import ChronicleHTTP
import ChronicleHTTPTesting
import ChronicleTesting
import Foundation
import HTTPTypes
import Testing

/// Hardening 2: each test pins a defect an adversary reached through the surfaces added after the first
/// hardening, and fails without its fix.
@Suite struct AdversaryTests {
    static func raw(_ head: String) -> [UInt8] { Array((head.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8) }

    /// The admin credential guards the route that answers, however the path is spelt: empty segments,
    /// the absolute form, percent-escapes, dot segments.
    @Test func everySpellingOfAnAdminPathNeedsTheCredential() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.access.adminToken = "s3cret-token" }) { client in
            let port = client.port
            let paths = [
                "//admin/api/subscriptions", "///admin/api/subscriptions", "/admin//api/subscriptions", "//admin//api//subscriptions",
                "http://127.0.0.1:\(port)//admin/api/subscriptions", "http://127.0.0.1:\(port)/admin/api/subscriptions",
                "/%61dmin/api/subscriptions", "/admin/%61pi/subscriptions", "/./admin/api/subscriptions", "/x/../admin/api/subscriptions",
                "//admin/", "//admin/index.html", "/%61dmin/index.html", "/ADMIN/api/subscriptions", "//admin/api/streams",
                "//admin/api/read-models/outstanding_todos", "//admin/api/history",
            ]
            for path in paths {
                let answer = try await RawHTTP.exchange(port: port, Self.raw("GET \(path) HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n"))
                let status = String(answer.prefix(12))
                #expect(status == "HTTP/1.1 401" || status == "HTTP/1.1 404" || status == "HTTP/1.1 400", "\(path): \(status)")
            }
            for path in ["//admin/api/subscriptions/todo_completed_notifier/pause", "/%61dmin/api/subscriptions/todo_completed_notifier/pause"] {
                let request = "POST \(path) HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 0\nConnection: close\n"
                let answer = try await RawHTTP.exchange(port: port, Self.raw(request))
                #expect(!answer.hasPrefix("HTTP/1.1 2"), "\(path): \(answer.prefix(12))")
            }
            #expect(harness.service.notifier.currentStatus.state != .paused)
            // Not vacuous: with the credential the same route answers.
            let allowed = try await RawHTTP.exchange(
                port: port, Self.raw("GET //admin/api/subscriptions HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer s3cret-token\nConnection: close\n"))
            #expect(allowed.hasPrefix("HTTP/1.1 200"), "\(allowed.prefix(12))")
        }
    }

    @Test func adminPathsAreRecognisedHoweverSpelt() {
        for path in ["/admin", "//admin/x", "/%61dmin", "/x/../admin/api", "/./admin", "/Admin/", "/%61dmin%2Fapi"] {
            #expect(AccessPolicy.isAdministrative(path: path), "\(path)")
        }
        for path in ["/", "/administrator", "/todos/admin", "/../todos", "/adminx/api"] {
            #expect(!AccessPolicy.isAdministrative(path: path), "\(path)")
        }
    }

    /// A second Host header is refused (RFC 9112: a request has one), so no check reads only the first.
    @Test func twoHostHeadersAreRefused() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let answer = try await RawHTTP.exchange(
                port: client.port, Self.raw("GET /health HTTP/1.1\nHost: 127.0.0.1\nHost: rebound.attacker.example\nConnection: close\n"))
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(12))")
        }
    }

    /// A time with more than six fractional digits trapped the parser (SIGILL): one GET killed the server.
    @Test func timesWithManyFractionalDigitsAreReadNotTrapped() async throws {
        #expect(SQLTimestamp(iso8601: "2026-11-30T10:00:00.1234567Z")?.description == "2026-11-30T10:00:00.123456Z")
        #expect(SQLTimestamp(iso8601: "2026-11-30T10:00:00.\(String(repeating: "9", count: 400))Z")?.description == "2026-11-30T10:00:00.999999Z")
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            #expect(try await client.send(.post, "/todo/\(id)", json: #"{"title": "t"}"#).status == 201)
            for uri in [
                "/todos/board?as_of=2026-11-30T10:00:00.1234567Z", "/todos/outstanding?as_of=2999-11-30T10:00:00.12345678901Z",
                "/todo/\(id)?at=2999-11-30T10:00:00.1234567Z",
            ] {
                let status = try await client.get(uri).status
                #expect(status == 200 || status == 400, "\(uri): \(status)")
            }
            #expect(try await client.get("/health").status == 200)
        }
    }

    /// One client address cannot take every live stream: beyond its own limit it is answered 429 with
    /// Retry-After (the server's other streams stay free), and a stream it closes is its own again.
    @Test func oneClientCannotTakeEveryLiveStream() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.maxLiveStreamsPerClient = 3 }) { client in
            let port = client.port
            let heads = try await RawHTTP.onThread { () -> [String] in
                let request = AdversaryTests.raw("GET /events/live?after=head HTTP/1.1\nHost: 127.0.0.1\n")
                var open: [RawHTTP.Connection] = []
                var heads: [String] = []
                for _ in 0..<5 {
                    let connection = try RawHTTP.Connection(port: port)
                    connection.send(request)
                    heads.append(connection.read(until: { $0.contains("\r\n\r\n") }, timeout: .seconds(5)))
                    open.append(connection)
                }
                open.removeFirst()  // one of the three closes: the server notices at its next keep-alives (every 5 s)
                var head = ""
                for _ in 0..<25 where !head.hasPrefix("HTTP/1.1 200") {
                    Thread.sleep(forTimeInterval: 1)
                    let again = try RawHTTP.Connection(port: port)
                    again.send(request)
                    head = again.read(until: { $0.contains("\r\n\r\n") }, timeout: .seconds(5))
                    if head.hasPrefix("HTTP/1.1 200") { open.append(again) }
                }
                heads.append(head)
                withExtendedLifetime(open) {}
                return heads
            }
            #expect(heads.prefix(3).allSatisfy { $0.hasPrefix("HTTP/1.1 200") }, "\(heads.map { $0.prefix(12) })")
            for refused in heads[3...4] {
                #expect(refused.hasPrefix("HTTP/1.1 429") && refused.lowercased().contains("retry-after: 5"), "\(refused.prefix(200))")
            }
            #expect(heads[5].hasPrefix("HTTP/1.1 200"), "a stream given back is the client's again: \(heads[5].prefix(12))")
            #expect(try await client.get("/health").status == 200)
        }
    }

    /// `?after=head` starts the feed at the newest event: a page never replays the whole log.
    @Test func theLiveFeedStartsAtTheHeadWhenAsked() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            for n in 0..<3 { #expect(try await client.send(.post, "/todo/\(newId())", json: #"{"title": "old \#(n)"}"#).status == 201) }
            let port = client.port
            let fresh = newId()
            let received = try await RawHTTP.onThread { () -> String in
                let connection = try RawHTTP.Connection(port: port)
                connection.send(AdversaryTests.raw("GET /events/live?after=head HTTP/1.1\nHost: 127.0.0.1\n"))
                _ = connection.read(until: { $0.contains("retry: 1000") }, timeout: .seconds(5))
                // Posted from another connection while this one listens.
                _ = try RawHTTP.blockingExchange(
                    port: port,
                    AdversaryTests.raw("POST /todo/\(fresh) HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 15\nConnection: close\n")
                        + Array(#"{"title":"new"}"#.utf8),
                    timeout: .seconds(5))
                return connection.read(until: { $0.contains(fresh) }, timeout: .seconds(5))
            }
            #expect(received.contains(fresh), "\(received.prefix(300))")
            #expect(!received.contains("old 0"), "the feed replayed the log: \(received.prefix(300))")
        }
    }

    /// Point-in-time builds are bounded: one runs at a time and a few wait; beyond, a query is answered
    /// 503 with Retry-After at once (before, 40 distinct `?as_of=` ran 40 builds at once), and the
    /// server stays healthy. The answers that are 200 are right.
    @Test func pointInTimeBuildsAreBoundedAndRefusedWithRetryAfter() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            var positions: [Int64] = []
            for n in 0..<120 {
                let answer = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "t \#(n)"}"#)
                positions.append(answer.position)
            }
            let port = client.port
            // Each on a connection of its own, all at once.
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for n in 0..<40 {
                    let request = Self.raw("GET /todos/outstanding?as_of=\(positions[n * 3 + 1]) HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n")
                    group.addTask { (n, try await RawHTTP.exchange(port: port, request, timeout: .seconds(60))) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            var refused = 0
            for (n, answer) in answers {
                let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
                if answer.hasPrefix("HTTP/1.1 200") {
                    let todos = (try? JSONDecoder().decode([JSONValue].self, from: Data(body.utf8)))?.count
                    #expect(todos == n * 3 + 2, "as_of=\(positions[n * 3 + 1]): \(String(describing: todos)) todos")
                } else if answer.hasPrefix("HTTP/1.1 503") {
                    refused += 1
                    #expect(answer.lowercased().contains("retry-after:"), "\(answer.prefix(300))")
                } else {
                    Issue.record("as_of answered \(answer.prefix(300))")
                }
            }
            #expect(refused > 0, "40 distinct point-in-time builds at once were all taken on")
            #expect(try await client.get("/health").status == 200)
            // Later, one at a time, every one is answered.
            #expect(try await client.get("/todos/outstanding?as_of=\(positions[100])").array.count == 101)
        }
    }

    /// With an admin credential configured, the log's own routes (every stream's ids and data) are the
    /// operator's, however spelt; the live feed stays open to pages but tells anonymous clients only
    /// position, type and category. The console reads the same through /admin/api.
    @Test func withACredentialTheLogIsTheOperatorsAndTheLiveFeedGivesHintsOnly() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.access.adminToken = "s3cret-token" }) { client in
            let id = newId()
            let added = try await client.send(.post, "/todo/\(id)", json: #"{"title": "secret title", "stakeholder_email": "ann@example.com"}"#)
            #expect(added.status == 201)
            let event = try await harness.service.store.read(try StreamName("todo-\(id)"), from: 1, direction: .forwards, limit: 1)[0]
            let bearer: HTTPFields = [.authorization: "Bearer s3cret-token"]
            for path in [
                "/log", "/log?after=0", "/streams", "/streams/todo-\(id)", "/events/\(event.id.lowercasedString)", "//log", "/%6cog",
                "/./streams", "/admin/api/log", "/admin/api/streams/todo-\(id)", "/admin/api/events/\(event.id.lowercasedString)",
            ] {
                let answer = try await client.get(path)
                #expect(answer.status == 401, "\(path): \(answer.status)")
                #expect(!answer.text.contains("secret title"), "\(path)")
            }
            for path in ["/log", "/streams", "/streams/todo-\(id)", "/admin/api/log", "/admin/api/streams/todo-\(id)", "/admin/api/events/\(event.id.lowercasedString)"] {
                let answer = try await client.send(.get, path, headers: bearer)
                #expect(answer.status == 200 && answer.text.contains(path == "/streams" ? "todo-\(id)" : "secret title"), "\(path): \(answer)")
            }
            // The head's position is anyone's (pages follow the feed from it): a number, nothing more.
            let head = try await client.get("/events/head")
            #expect(head.status == 200 && head.text == #"{"position":\#(event.position.rawValue)}"#, "\(head)")
            let port = client.port
            let (anonymous, operatorView) = try await RawHTTP.onThread { () -> (String, String) in
                let open = try RawHTTP.Connection(port: port)
                open.send(AdversaryTests.raw("GET /events/live?after=0 HTTP/1.1\nHost: 127.0.0.1\n"))
                let anonymous = open.read(until: { $0.contains("\"category\"") }, timeout: .seconds(5))
                let admin = try RawHTTP.Connection(port: port)
                admin.send(AdversaryTests.raw("GET /admin/api/events/live?after=0 HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer s3cret-token\n"))
                return (anonymous, admin.read(until: { $0.contains("secret title") }, timeout: .seconds(5)))
            }
            #expect(anonymous.hasPrefix("HTTP/1.1 200") && anonymous.contains(#""category":"todo""#), "\(anonymous.prefix(400))")
            #expect(!anonymous.contains("secret title") && !anonymous.contains("ann@example.com") && !anonymous.contains(id), "\(anonymous.prefix(400))")
            #expect(operatorView.hasPrefix("HTTP/1.1 200") && operatorView.contains("secret title"), "\(operatorView.prefix(400))")
        }
    }
}
