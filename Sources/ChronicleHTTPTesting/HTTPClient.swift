import Chronicle
import ChronicleHTTP
import ChronicleTesting
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import ChronicleRuntime
import HTTPTypes
import Hummingbird
import HummingbirdTesting

/// A live server of a runtime's modules on a free port, on a temporary SQLite file, its subscriptions
/// running (unless told otherwise) with a short poll interval.
public struct TestServer: Sendable {
    /// Where the SQLite file lives.
    public let directory: TemporaryDirectory
    /// The runtime the server serves.
    public let runtime: ChronicleRuntime

    /// A server of `modules` on `database` in `directory` (a new one by default).
    public init(
        modules: [any HTTPModule], directory: TemporaryDirectory? = nil, database: String = "chronicle.sqlite", workers: Bool = true,
        clock: any ProcessClock = SystemProcessClock()
    ) throws {
        let directory = try directory ?? TemporaryDirectory()
        try self.init(modules: modules, backend: .sqlite(path: directory.path(database)), directory: directory, workers: workers, clock: clock)
    }

    /// A server of `modules` on `backend` (on PostgreSQL, its client must be running).
    public init(
        modules: [any HTTPModule], backend: ChronicleRuntime.Backend, directory: TemporaryDirectory? = nil, workers: Bool = true,
        clock: any ProcessClock = SystemProcessClock()
    ) throws {
        self.directory = try directory ?? TemporaryDirectory()
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.subscriptions.pollInterval = .milliseconds(50)
        configuration.runsSubscriptions = workers
        configuration.clock = clock
        runtime = try ChronicleRuntime(configuration: configuration, modules: modules)
    }

    /// Runs `body` against the live server, `configure` changing its configuration first.
    public func run<T: Sendable>(
        configure: (inout ChronicleServer.Configuration) -> Void = { _ in }, _ body: @Sendable (Client) async throws -> T
    ) async throws -> T {
        var server = ChronicleServer.Configuration()
        server.port = 0
        configure(&server)
        let app = ChronicleServer.application(runtime: runtime, configuration: server)
        return try await app.test(.live) { client in try await body(Client(client: client)) }
    }

    /// A JSON client.
    public struct Client: Sendable {
        let client: any TestClientProtocol

        public init(client: any TestClientProtocol) {
            self.client = client
        }

        /// The server's port.
        public var port: Int { client.port ?? 0 }

        /// Sends `body` (raw bytes) and answers the status and the body parsed as JSON (or a string).
        @discardableResult
        public func send(
            _ method: HTTPRequest.Method, _ uri: String, bytes: [UInt8]? = nil, contentType: String = "application/json",
            headers extra: HTTPFields = [:]
        ) async throws -> Answer {
            var headers: HTTPFields = [.contentType: contentType]
            headers.append(contentsOf: extra)
            return try await client.execute(
                uri: uri, method: method, headers: headers,
                body: bytes.map { ByteBuffer(bytes: $0) }
            ) { response in
                let data = Data(buffer: response.body)
                let json = try? JSONDecoder().decode(JSONValue.self, from: data)
                return Answer(
                    status: response.status.code, json: json, text: String(decoding: data, as: UTF8.self), headers: response.headers)
            }
        }

        @discardableResult
        public func send(_ method: HTTPRequest.Method, _ uri: String, json: String) async throws -> Answer {
            try await send(method, uri, bytes: Array(json.utf8))
        }

        public func get(_ uri: String) async throws -> Answer { try await send(.get, uri) }
    }

    /// Sends one request on a connection of its own (URLSession with an ephemeral configuration).
    public static func sendOnNewConnection(port: Int, method: String, path: String, body: String) async throws -> Answer {
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

    public struct Answer: Sendable, CustomStringConvertible {
        public let status: Int
        public let json: JSONValue?
        public let text: String
        public var headers: HTTPFields = [:]

        public init(status: Int, json: JSONValue?, text: String, headers: HTTPFields = [:]) {
            self.status = status
            self.json = json
            self.text = text
            self.headers = headers
        }

        public var error: String? {
            if case .object(let o)? = json, case .string(let e)? = o["error"] { e } else { nil }
        }

        public subscript(key: String) -> JSONValue? {
            if case .object(let o)? = json { o[key] } else { nil }
        }

        public var array: [JSONValue] {
            if case .array(let a)? = json { a } else { [] }
        }

        public var position: Int64 {
            if case .number(let n)? = self["position"] { Int64(n) } else { -1 }
        }

        public var description: String { "\(status) \(text)" }
    }
}

extension JSONValue {
    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { a } else { nil }
    }

    /// The member `key` of an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { o[key] } else { nil }
    }
}

/// A new lowercase UUID.
public func newId() -> String { UUID().uuidString.lowercased() }

/// Raw bytes over one TCP connection to 127.0.0.1, for what an HTTP client library would not send
/// (a lying Content-Length, a malformed chunk, a half-sent body).
public enum RawHTTP {
    /// Sends `request`, then reads until the server closes or `timeout` passes; answers what was read.
    /// The socket work blocks, so it runs on a thread of its own, never on the concurrency pool (two
    /// threads on this machine) that the server under test needs.
    /// Sends `request` on a new connection and answers what came back before the server closed it, or
    /// `timeout` passed (a deadline, generous: under a loaded test run one answer took over 5 s).
    public static func exchange(port: Int, _ request: [UInt8], timeout: Duration = .seconds(30)) async throws -> String {
        try await onThread { try blockingExchange(port: port, request, timeout: timeout) }
    }

    public static func blockingExchange(port: Int, _ request: [UInt8], timeout: Duration) throws -> String {
        let connection = try Connection(port: port)
        connection.send(request)
        return connection.read(until: { _ in false }, timeout: timeout)
    }

    /// Runs blocking socket work on a thread of its own.
    public static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// One TCP connection to 127.0.0.1 (blocking calls: use it inside ``onThread(_:)``).
    public final class Connection {
        let fd: Int32

        public init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EIO) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                throw POSIXError(.ECONNREFUSED)
            }
            var wait = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        public func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// Reads until `done` holds for what arrived, the server closes, or `timeout` passes.
        public func read(until done: (String) -> Bool, timeout: Duration) -> String {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = ContinuousClock.now.advanced(by: timeout)
            while ContinuousClock.now < deadline {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { break }
                // A reset connection answers nothing more; only a read that timed out is tried again.
                if n < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { break }
                if n > 0 {
                    received += buffer[0..<n]
                    if done(String(decoding: received, as: UTF8.self)) { break }
                }
            }
            return String(decoding: received, as: UTF8.self)
        }
    }
}
