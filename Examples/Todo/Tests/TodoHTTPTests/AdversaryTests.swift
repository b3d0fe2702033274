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
}
