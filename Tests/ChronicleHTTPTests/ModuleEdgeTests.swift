import Chronicle
import ChronicleHTTP
import ChronicleHTTPTesting
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The generic edge serving a module it knows nothing about: its routes and page, the JSON body rules,
/// the error mapping (the module's rejection through its protocol, a stale version as the edge's 409),
/// a 405 for every path from the route table, and the edge's own event browsing and admin API.
@Suite struct ModuleEdgeTests {
    @Test func aModulesRoutesAnswerAndItsReadModelIsReadAfterItsOwnWrite() async throws {
        let server = try TestServer(modules: [Tally()] as [any HTTPModule])
        try await server.run { client in
            let counted = try await client.send(.post, "/tallies/apples", json: #"{"by": 3}"#)
            #expect(counted.status == 201, "\(counted)")
            let again = try await client.send(.post, "/tallies/apples", json: #"{"by": 4}"#)
            let total = try await client.get("/tallies/apples?after=\(again.position)")
            #expect(total.status == 200 && total["total"] == .number(7), "\(total)")
            #expect(try await client.get("/tallies/apples?after=\(again.position + 100)").status == 400)
            // The edge's own routes see the module's events.
            let stream = try await client.get("/streams/tally-apples")
            #expect(stream["events"]?.arrayCount == 2, "\(stream)")
            let subscriptions = try await client.get("/admin/api/subscriptions")
            #expect(subscriptions["subscriptions"]?.arrayCount == 1)
            #expect(try await client.get("/health").status == 200)
        }
    }

    @Test func errorsBecomeStatusesAtTheEdgeAndChangeNothing() async throws {
        let server = try TestServer(modules: [Tally()] as [any HTTPModule])
        try await server.run { client in
            // The module's rule, mapped by its own APIErrorConvertible.
            let zero = try await client.send(.post, "/tallies/pears", json: #"{"by": 0}"#)
            #expect(zero.status == 422 && zero.error == "a count must not be zero", "\(zero)")
            // The JSON body kit, the same for every module.
            for bad in [#"{"by": 1,}"#, #"{"by": 1, "by": 2}"#, #"{"by": 1, "x": "\u0000"}"#, "[1]", "{", #"{"by": "one"}"#] {
                let answer = try await client.send(.post, "/tallies/pears", json: bad)
                #expect(answer.status == 400 && answer.error != nil, "\(bad): \(answer)")
            }
            let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
            #expect(try await client.send(.post, "/tallies/pears", json: #"{"by": 1, "x": \#(deep)}"#).status == 400)
            #expect(try await client.send(.post, "/tallies/pears", bytes: Array(#"{"by": 1}"#.utf8), contentType: "text/plain").status == 415)
            // A stale expected version: the store's conflict, a 409 without a line of the module's code.
            let first = try await client.send(.post, "/tallies/pears?expected=0", json: #"{"by": 1}"#)
            #expect(first.status == 201, "\(first)")
            let stale = try await client.send(.post, "/tallies/pears?expected=0", json: #"{"by": 1}"#)
            #expect(stale.status == 409 && stale.error?.contains("Wrong expected version") == true, "\(stale)")
            // Only the one accepted count was written.
            #expect(try await server.runtime.store.headPosition() == 1)
            #expect(try await client.get("/tallies/pears?after=1")["total"] == .number(1))
        }
    }

    @Test func anotherMethodOnAModulesPathIs405NamingTheAllowedOnes() async throws {
        let server = try TestServer(modules: [Tally()] as [any HTTPModule])
        try await server.run { client in
            let put = try await client.send(.put, "/tallies/plums", json: #"{"by": 1}"#)
            #expect(put.status == 405, "\(put)")
            #expect(put.headers[.allow] == "POST, GET, HEAD", "\(put.headers)")
            // Whatever its Content-Type: the method is wrong first.
            #expect(try await client.send(.delete, "/tallies/plums", bytes: [], contentType: "text/plain").status == 405)
            #expect(try await client.send(.post, "/health", json: "{}").status == 405)
        }
    }

    @Test func aModulesPagesAreServedUnderItsOwnPathBesideTheAdminConsole() async throws {
        let server = try TestServer(modules: [Tally()] as [any HTTPModule])
        try await server.run { client in
            let page = try await client.get("/tally/")
            #expect(page.status == 200 && page.text.contains("<h1>Tally</h1>"), "\(page)")
            #expect(try await client.get("/tally/index.html").text.contains("<h1>Tally</h1>"))
            #expect(try await client.get("/admin/").text.contains("<html"))
            // No module claimed `/`: there is no home page, and no other application's page.
            #expect(try await client.get("/").status == 404)
            #expect(try await client.get("/app.js").status == 404)
        }
    }
}

/// Two modules registered side by side, one line each: each answers on its own paths, and the one
/// log holds both applications' events.
@Suite struct TwoModulesTests {
    @Test func theGuestbookAndTheTallyServeSideBySideOnOneLog() async throws {
        let server = try TestServer(modules: [Guestbook(), Tally()])
        try await server.run { client in
            #expect(try await client.send(.post, "/guestbook", json: #"{"name": "Ada"}"#).status == 201)
            let counted = try await client.send(.post, "/tallies/visits", json: #"{"by": 1}"#)
            let signed = try await client.send(.post, "/guestbook", json: #"{"name": "Grace"}"#)
            #expect(try await client.send(.post, "/guestbook", json: #"{"name": ""}"#).status == 400)
            let book = try await client.get("/guestbook?after=\(signed.position)")
            #expect(book.json == .array([.string("Ada"), .string("Grace")]), "\(book)")
            #expect(try await client.get("/tallies/visits?after=\(counted.position)")["total"] == .number(1))
            #expect(try await client.get("/log").json?["events"]?.arrayCount == 3)
            let subscriptions = try await client.get("/admin/api/subscriptions")["subscriptions"]?.arrayCount
            #expect(subscriptions == 2)
        }
    }
}

/// Requests wait for the runtime to prepare the database: a query of a read model never meets a table
/// that is not there yet, even before (or without) the runtime's service starting.
@Suite struct ReadinessTests {
    @Test func aRequestBeforeTheRuntimeRunsFindsTheReadModelsTablesCreated() async throws {
        let directory = try TemporaryDirectory()
        let runtime = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("ready.sqlite")), modules: [Tally()] as [any HTTPModule])
        let monitor = SubscriptionMonitor(runners: runtime.runners, store: runtime.store)
        // The router alone: no service runs, so nothing but the request itself can prepare the database.
        let router = ChronicleServer.router(runtime: runtime, monitor: monitor, configuration: .init(), logger: Logger(label: "test"))
        try await Application(router: router).test(.router) { client in
            let answer = try await TestServer.Client(client: client).get("/tallies/figs")
            #expect(answer.status == 200 && answer["total"] == .number(0), "\(answer)")
        }
    }
}

extension JSONValue {
    /// The number of elements of an array; nil otherwise.
    var arrayCount: Int? {
        if case .array(let items) = self { items.count } else { nil }
    }
}
