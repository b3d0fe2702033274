import Chronicle
import ChronicleHTTP
import ChronicleTesting
import Foundation
import HTTPTypes
import ChronicleHTTPTesting
import Testing

/// Each test here pins a defect a hostile or unlucky client could hit, and fails without its fix.
@Suite struct HardeningTests {
    static func rawRequest(_ head: String, body: String = "") -> [UInt8] {
        Array((head.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n" + body).utf8)
    }

    @Test func aNulCharacterInAnyStringFieldIs400AndWritesNothing() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            for field in ["title", "description", "stakeholder_email", "due_date"] {
                var body = ["title": "ok"]
                body[field] = "abc\u{0}def"
                let json = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
                let answer = try await client.send(.post, "/todo/\(id)", json: json)
                #expect(answer.status == 400, "\(field): \(answer)")
                #expect(answer.error == "\(field) holds a NUL character (U+0000), which is not accepted")
            }
            #expect(try await harness.service.store.headPosition() == .start)
            let added = try await client.send(.post, "/todo/\(id)", json: #"{"title": "ok"}"#)
            let amended = try await client.send(.put, "/todo/\(id)", json: #"{"description": "a\u0000b"}"#)
            #expect(amended.status == 400)
            #expect(try await client.send(.post, "/todo/\(newId())", json: #"{"title": "x", "extra": ["\u0000"]}"#).status == 400)
            #expect(try await harness.service.store.headPosition().rawValue == added.position)
            let list = try await client.get("/todos/outstanding?after=\(added.position)")
            #expect(list.array.map { $0["title"] } == [.string("ok")])
        }
    }

    @Test func deepNestingIsRefusedBeforeParsing() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let nested = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
            let answer = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "t", "x": \#(nested)}"#)
            #expect(answer.status == 400)
            #expect(answer.error == "the body nests more than \(HTTPLimits.maxJSONDepth) levels deep")
            let many = (0..<16).map { #""k\#($0)": \#(nested)"# }.joined(separator: ", ")
            #expect(try await client.send(.post, "/todo/\(newId())", json: #"{"title": "t", \#(many)}"#).status == 400)
            #expect(try await client.send(.post, "/todo/\(newId())", json: nested).status == 400)
            // A trailing comma is not JSON, though Foundation's decoder would take it.
            let comma = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "a",}"#)
            #expect(comma.status == 400)
            #expect(comma.error == "the body is not valid JSON")
            // Nesting within the limit is fine.
            let shallow = String(repeating: "[", count: 30) + String(repeating: "]", count: 30)
            #expect(try await client.send(.post, "/todo/\(newId())", json: #"{"title": "t", "x": \#(shallow)}"#).status == 201)
            #expect(try await harness.service.store.headPosition() == 1)
        }
    }

    @Test func aTooLargeContentLengthIsRefusedBeforeTheBodyArrives() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let port = client.port
            let request = Self.rawRequest(
                "POST /todo/\(newId()) HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 10000000\n")
            let answer = try await RawHTTP.onThread {
                let connection = try RawHTTP.Connection(port: port)
                connection.send(request)
                return connection.read(until: { $0.hasSuffix("}") }, timeout: .seconds(5))
            }
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.contains(#"{"error":"#))
        }
    }

    @Test func aBodyThatNeverArrivesIsAnsweredWithinTheBodyTimeout() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let answer = try await RawHTTP.exchange(
                port: client.port,
                Self.rawRequest(
                    "POST /todo/\(newId()) HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 100\n",
                    body: #"{"title":"#),
                timeout: HTTPLimits.bodyReadTimeout + .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(try await harness.service.store.headPosition() == .start)
        }
    }

    @Test func aMalformedChunkedBodyIs400WithAJSONError() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let answer = try await RawHTTP.exchange(
                port: client.port,
                Self.rawRequest(
                    "POST /todo/\(newId()) HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nTransfer-Encoding: chunked\n",
                    body: "zz\r\n{\"title\":\"x\"}\r\n0\r\n\r\n"))
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains(#"{"error":"#))
            #expect(try await client.get("/health").status == 200)
        }
    }

    @Test func aRequestTheParserCannotReadIs400WithAJSONError() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            for garbage in ["GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", "\u{1}\u{2}NONSENSE\r\n\r\n"] {
                let answer = try await RawHTTP.exchange(port: client.port, Array(garbage.utf8))
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
                #expect(answer.hasSuffix(#"{"error":"the request is not valid HTTP/1.1"}"#), "\(answer)")
            }
            #expect(try await client.get("/health").status == 200)
        }
    }

    @Test func otherMethodsOnARouteAre405AndHeadAnswersLikeGet() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            let id = newId()
            for method in [HTTPRequest.Method.delete, .patch, .options] {
                for path in ["/todo/\(id)", "/todo/\(id)/complete", "/todo/\(id)/moveup"] {
                    let answer = try await client.send(method, path, contentType: "text/plain")
                    #expect(answer.status == 405, "\(method) \(path): \(answer)")
                    #expect(answer.error?.hasPrefix("\(method) is not allowed here") == true)
                }
            }
            #expect(try await client.send(.delete, "/todo/\(id)").headers[.allow] == "POST, PUT, GET, HEAD")
            // Whatever the Content-Type, and on literal paths too.
            #expect(try await client.send(.put, "/todo/\(id)/complete", contentType: "text/plain").status == 405)
            #expect(try await client.send(.post, "/todo/\(id)/moveup", contentType: "text/plain").status == 405)
            #expect(try await client.send(.post, "/todos/outstanding", json: "{}").status == 405)
            #expect(try await client.send(.options, "/todos/board").status == 405)
            #expect(try await client.send(.get, "/todo/\(id)/complete").status == 405)
            for path in ["/health", "/todos/outstanding", "/log"] {
                let head = try await client.send(.head, path)
                #expect(head.status == 200, "HEAD \(path)")
                #expect(head.text.isEmpty)
            }
        }
    }

    @Test func metricsCountAClientErrorAsItsOwnStatus() async throws {
        let harness = try await Harness(metrics: testMetrics)
        try await harness.run { client in
            let id = newId()
            try await client.send(.post, "/todo/\(id)", json: #"{"title": "once"}"#)
            #expect(try await client.send(.post, "/todo/\(id)", json: #"{"title": "twice"}"#).status == 422)
            #expect(try await client.send(.post, "/todo/\(id)", json: #"{"title": 5}"#).status == 400)
            let lines = try await client.get("/metrics").text.split(separator: "\n").filter {
                $0.hasPrefix("hb_requests{") && $0.contains(#"http_route="/todo/{id}""#) && $0.contains(#"method="POST""#)
            }
            #expect(lines.contains { $0.contains(#"status_code="422""#) }, "\(lines)")
            #expect(lines.contains { $0.contains(#"status_code="400""#) }, "\(lines)")
            #expect(!lines.contains { $0.contains(#"status_code="500""#) }, "\(lines)")
        }
    }

    @Test func pagesCarryACSPWithoutInlineScriptsAndCannotBeFramed() async throws {
        let harness = try await Harness()
        try await harness.run { client in
            for path in ["/", "/admin/", "/health", "/todo/\(newId())/nothing"] {
                let answer = try await client.get(path)
                let csp = answer.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'"), "\(path)")
                #expect(csp.contains("frame-ancestors 'none'"), "\(path)")
                #expect(!csp.contains("unsafe-inline"), "\(path)")
                #expect(answer.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(path)")
                #expect(answer.headers[.xContentTypeOptions] == "nosniff", "\(path)")
            }
        }
    }

    @Test func aHostHeaderNamingAnotherSiteIsRefused() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.access.allowedHosts = ["todo.example.org"] }) { client in
            let port = client.port
            var statuses: [String: String] = [:]
            for host in ["rebound.attacker.example:\(port)", "localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)", "todo.example.org"] {
                let answer = try await RawHTTP.exchange(port: port, Self.rawRequest("GET /health HTTP/1.1\nHost: \(host)\nConnection: close\n"))
                statuses[host] = String(answer.prefix(12))
            }
            #expect(
                statuses == [
                    "rebound.attacker.example:\(port)": "HTTP/1.1 421", "localhost:\(port)": "HTTP/1.1 200",
                    "127.0.0.1:\(port)": "HTTP/1.1 200", "[::1]:\(port)": "HTTP/1.1 200", "todo.example.org": "HTTP/1.1 200",
                ])
        }
    }

    @Test func withAnAdminCredentialTheAdminSideAnswers401WithoutIt() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.access.adminToken = "s3cret-token" }) { client in
            for path in ["/admin/api/subscriptions", "/admin/", "/admin/admin.js", "/admin/api/history"] {
                let answer = try await client.get(path)
                #expect(answer.status == 401, "\(path)")
                #expect(answer.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            }
            let pause = try await client.send(.post, "/admin/api/subscriptions/todo_completed_notifier/pause")
            #expect(pause.status == 401)
            #expect(harness.service.notifier.currentStatus.state != .paused)
            let wrong = try await client.send(.get, "/admin/api/subscriptions", headers: [.authorization: "Bearer guess"])
            #expect(wrong.status == 401)
            let bearer = try await client.send(.get, "/admin/api/subscriptions", headers: [.authorization: "Bearer s3cret-token"])
            #expect(bearer.status == 200)
            let basic = "Basic " + Data("admin:s3cret-token".utf8).base64EncodedString()
            #expect(try await client.send(.get, "/admin/", headers: [.authorization: basic]).status == 200)
            // The application itself stays open.
            #expect(try await client.send(.post, "/todo/\(newId())", json: #"{"title": "open"}"#).status == 201)
        }
    }

    @Test func listeningBeyondLoopbackNeedsAnAdminCredential() throws {
        var configuration = ChronicleServer.Configuration()
        configuration.host = "0.0.0.0"
        #expect(throws: ChronicleServer.ConfigurationError.self) { try configuration.validate() }
        configuration.access.adminToken = "s3cret-token"
        try configuration.validate()
        configuration = ChronicleServer.Configuration()
        try configuration.validate()  // loopback: no credential needed
    }

    @Test func liveStreamsAreBounded() async throws {
        let harness = try await Harness()
        try await harness.run(configure: { $0.maxLiveStreams = 1 }) { client in
            let port = client.port
            let request = Self.rawRequest("GET /events/live HTTP/1.1\nHost: 127.0.0.1\n")
            let (first, second) = try await RawHTTP.onThread {
                let held = try RawHTTP.Connection(port: port)
                held.send(request)
                let first = held.read(until: { $0.contains("retry: 1000") }, timeout: .seconds(10))
                let other = try RawHTTP.Connection(port: port)
                other.send(request)
                let second = other.read(until: { $0.contains("\r\n\r\n{") && $0.hasSuffix("}") }, timeout: .seconds(10))
                return (first, second)
            }
            #expect(first.hasPrefix("HTTP/1.1 200"), "\(first)")
            #expect(second.hasPrefix("HTTP/1.1 503"), "\(second)")
            #expect(second.contains("too many live streams"))
        }
    }

    /// A write on a full disk is a 503 with a reason the client can act on, not a 500; the server and
    /// its read models recover on their own once there is room. Needs root for the tmpfs (CI runs as root).
    @Test(.enabled(if: SmallDisk.canMount, "mounting a tmpfs needs root"))
    func aFullDiskIs503AndEverythingRecoversOnceThereIsRoom() async throws {
        let directory = try TemporaryDirectory()
        let disk = try SmallDisk(at: directory.url.path, size: "2m")
        defer { disk.unmount() }
        let harness = try await Harness(directory: directory)
        try await harness.run { client in
            let first = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "before"}"#)
            #expect(first.status == 201)
            let filler = try disk.fill()
            var answer = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "on a full disk"}"#)
            // Free pages in the file may take a write or two: keep writing until the disk says no.
            var tries = 0
            while answer.status == 201, tries < 50 {
                answer = try await client.send(
                    .post, "/todo/\(newId())", json: #"{"title": "\#(String(repeating: "x", count: 20_000))"}"#)
                tries += 1
            }
            #expect(answer.status == 503, "\(answer)")
            #expect(answer.error?.contains("full") == true, "\(answer)")
            #expect(try await client.get("/health").status == 200)
            try FileManager.default.removeItem(atPath: filler)
            let after = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "after"}"#)
            #expect(after.status == 201)
            // The read models retry with backoff (at most 10 s apart) and catch up without an operator.
            await eventually(timeout: .seconds(30), "every read model caught up") {
                harness.service.runners.allSatisfy { $0.currentStatus.state == .running && $0.currentStatus.checkpoint.rawValue >= after.position }
            }
            let list = try await client.get("/todos/outstanding?after=\(after.position)")
            #expect(list.status == 200)
            #expect(list.array.contains { $0["title"] == .string("after") })
        }
    }
}
