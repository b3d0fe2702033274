import Chronicle
import ChronicleHTTP
import ChronicleTesting
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import TodoApp
import Testing

/// A live `chronicle serve` on a temporary SQLite file, on a free port, with its subscriptions running.
struct Harness {
    let directory: TemporaryDirectory
    let service: TodoService
    let metrics: PrometheusCollectorRegistry?

    init(maxCommandAttempts: Int = 5, directory: TemporaryDirectory? = nil, metrics: PrometheusCollectorRegistry? = nil) async throws {
        self.metrics = metrics
        self.directory = try directory ?? TemporaryDirectory()
        var configuration = TodoService.Configuration(databasePath: self.directory.path("todo.sqlite"))
        configuration.subscriptions.pollInterval = .milliseconds(50)
        configuration.maxCommandAttempts = maxCommandAttempts
        service = try await TodoService(configuration: configuration, today: { "2026-11-22" })
    }

    /// Runs `body` against the live server.
    func run<T: Sendable>(workers: Bool = true, _ body: @Sendable (Client) async throws -> T) async throws -> T {
        var server = ChronicleServer.Configuration()
        server.port = 0
        server.runsSubscriptions = workers
        server.metrics = metrics
        let app = ChronicleServer.application(service: service, configuration: server)
        return try await app.test(.live) { client in try await body(Client(client: client)) }
    }

    /// A JSON client.
    struct Client: Sendable {
        let client: any TestClientProtocol

        var port: Int { client.port ?? 0 }

        /// Sends `body` (raw bytes) and answers the status and the body parsed as JSON (or a string).
        @discardableResult
        func send(
            _ method: HTTPRequest.Method, _ uri: String, bytes: [UInt8]? = nil, contentType: String = "application/json"
        ) async throws -> Answer {
            try await client.execute(
                uri: uri, method: method, headers: [.contentType: contentType],
                body: bytes.map { ByteBuffer(bytes: $0) }
            ) { response in
                let data = Data(buffer: response.body)
                let json = try? JSONDecoder().decode(JSONValue.self, from: data)
                return Answer(status: response.status.code, json: json, text: String(decoding: data, as: UTF8.self))
            }
        }

        @discardableResult
        func send(_ method: HTTPRequest.Method, _ uri: String, json: String) async throws -> Answer {
            try await send(method, uri, bytes: Array(json.utf8))
        }

        func get(_ uri: String) async throws -> Answer { try await send(.get, uri) }
    }

    /// Sends one request on a connection of its own (URLSession with an ephemeral configuration).
    static func sendOnNewConnection(port: Int, method: String, path: String, body: String) async throws -> Answer {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw URLError(.badURL) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return Answer(status: status, json: try? JSONDecoder().decode(JSONValue.self, from: data), text: String(decoding: data, as: UTF8.self))
    }

    struct Answer: Sendable, CustomStringConvertible {
        let status: Int
        let json: JSONValue?
        let text: String

        var error: String? {
            if case .object(let o)? = json, case .string(let e)? = o["error"] { e } else { nil }
        }

        subscript(key: String) -> JSONValue? {
            if case .object(let o)? = json { o[key] } else { nil }
        }

        var array: [JSONValue] {
            if case .array(let a)? = json { a } else { [] }
        }

        var position: Int64 {
            if case .number(let n)? = self["position"] { Int64(n) } else { -1 }
        }

        var description: String { "\(status) \(text)" }
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { o[key] } else { nil }
    }
}

func newId() -> String { UUID().uuidString.lowercased() }
