import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// An error answered to the client as `{"error": message}` with `status`.
public struct APIError: Error, Equatable, CustomStringConvertible {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// The reason, for people.
    public let message: String

    /// Makes an error.
    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A malformed request.
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    public var description: String { "\(status.code) \(message)" }
}

/// An error of a module (a decider's rejection, say) that the edge answers with a status of the module's
/// choosing: the one way a module maps its errors to statuses (the domain itself knows no HTTP).
public protocol APIErrorConvertible: Error {
    /// The status and message to answer.
    var apiError: APIError { get }
}

/// Turns every error into a JSON error body, the one place where errors become statuses: client
/// mistakes keep their 4xx status and reason; a module's error its ``APIErrorConvertible`` status;
/// a store conflict is a 409; storage that cannot take a write
/// now (disk full, database unreachable or too slow) is a 503 with the reason; a body the HTTP parser
/// refuses is a 400; a client that went away is noted at debug level; anything else is logged and
/// answered 500 without internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            return response(for: error, to: request)
        }
    }

    func response(for error: any Error, to request: Request) -> Response {
        switch error {
        case let error as APIError:
            return JSONBody.error(error.status, error.message)
        case let error as any APIErrorConvertible:
            return JSONBody.error(error.apiError.status, error.apiError.message)
        case let error as HTTPError:
            let message: String =
                switch error.status {
                case .notFound: "no route for \(request.method) \(request.uri.path)"
                default: error.body ?? error.status.reasonPhrase
                }
            return JSONBody.error(error.status, message)
        case let error as CommandError:
            switch error {
            case .commandIdReused: return JSONBody.error(.conflict, error.description)
            case .unreadableEvent: return JSONBody.error(.unprocessableContent, error.description)
            }
        case let error as EventStoreError:
            switch error {
            case .wrongExpectedVersion, .eventIdReused:
                return JSONBody.error(.conflict, error.description)
            case .unavailable:
                logger.warning("storage unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                var response = JSONBody.error(.serviceUnavailable, error.description)
                response.headers[.retryAfter] = "5"
                return response
            default:
                break
            }
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return JSONBody.error(.contentTooLarge, "the body is larger than \(HTTPLimits.maxBodySize) bytes")
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            return JSONBody.error(error.status, error.status.reasonPhrase)
        case is HTTPParserError:
            return JSONBody.error(.badRequest, "the request is not valid HTTP/1.1")
        case is ChannelError, is IOError, is CancellationError:
            // The client closed the connection mid-request: nobody is left to answer.
            logger.debug("request abandoned by the client", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return JSONBody.error(.badRequest, "the request was not completed")
        default:
            break
        }
        logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
        return JSONBody.error(.internalServerError, "internal error")
    }
}

/// Takes commands (POST and PUT) only as `application/json`: a browser cannot send
/// that cross-site without a CORS preflight, so another web page cannot post commands through a
/// visitor's browser. Anything else is 415.
struct JSONCommandsOnlyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .post || request.method == .put {
            let type = request.headers[.contentType]?.lowercased() ?? ""
            guard type == "application/json" || type.hasPrefix("application/json;") else {
                throw APIError(.unsupportedMediaType, "Content-Type must be application/json")
            }
        }
        return try await next(request, context)
    }
}

/// Limits of the HTTP edge.
public enum HTTPLimits {
    /// The largest request body accepted (1 MiB); larger ones get 413.
    public static let maxBodySize = 1 << 20
    /// The most events one `/log` or `/streams/:name` page holds.
    public static let maxPageSize = 1_000
    /// How long a query with `?after=` waits for its read model at most.
    public static let maxCatchUpWait: Duration = .seconds(5)
    /// How deeply a JSON body may nest (objects and arrays); deeper is a 400 before any parsing.
    public static let maxJSONDepth = 32
    /// How long a request body may take to arrive (10 s); slower is a 408.
    public static let bodyReadTimeout: Duration = .seconds(10)
    /// How long a connection may stay silent — no request, or a request's head never completed — before
    /// it is closed (30 s): slow or stalled clients cannot hold connections for ever.
    public static let idleTimeout: Duration = .seconds(30)
}

/// JSON bodies in and out, the same rules for every module.
public enum JSONBody {
    static let encoder = StoredJSON.encoder()

    /// A JSON response: every field written, a missing one as `null` (``ResponseEncoding``).
    public static func response(_ status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        let data = (try? ResponseEncoding.encode(value)) ?? Data("{\"error\":\"response could not be encoded\"}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": message}` with `status`.
    public static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        response(status, ["error": message])
    }

    /// The request's body as a JSON object; an empty body is an empty object.
    ///
    /// Refuses with a 4xx, before any work that grows faster than the body: a body not in time (408),
    /// invalid UTF-8, JSON nested deeper than ``HTTPLimits/maxJSONDepth`` (checked by a linear scan
    /// before parsing), malformed JSON, anything but an object, a key given twice, and U+0000 in any
    /// string (not every backend can store it: invariant 9).
    public static func object(of request: Request, context: some RequestContext) async throws -> [String: JSONValue] {
        let bytes = Data(buffer: try await collect(request))
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw APIError.badRequest("the body is not valid UTF-8") }
        let shape = scan(bytes)
        guard shape.depth <= HTTPLimits.maxJSONDepth else {
            throw APIError.badRequest("the body nests more than \(HTTPLimits.maxJSONDepth) levels deep")
        }
        // Foundation's decoder forgives a trailing comma; JSON does not, and neither do we.
        guard !shape.trailingComma else { throw APIError.badRequest("the body is not valid JSON") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: bytes)
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
        guard case .object(let object) = value else { throw APIError.badRequest("the body must be a JSON object") }
        // A key given twice would silently lose one of its values.
        var seen = Set<String>()
        for key in shape.topLevelKeys where !seen.insert(key).inserted {
            throw APIError.badRequest("the body holds the key \"\(key.prefix(80))\" twice")
        }
        if let path = firstNUL(in: value, path: "") {
            throw APIError.badRequest("\(path.isEmpty ? "the body" : path) holds a NUL character (U+0000), which is not accepted")
        }
        return object
    }

    /// The body, up to ``HTTPLimits/maxBodySize`` (413 beyond) and within ``HTTPLimits/bodyReadTimeout``
    /// (408 after): a client that announces more than it sends cannot hold a request open for ever.
    static func collect(_ request: Request) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await request.body.collect(upTo: HTTPLimits.maxBodySize) }
            group.addTask {
                try await Task.sleep(for: HTTPLimits.bodyReadTimeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw APIError(.requestTimeout, "the body did not arrive within \(HTTPLimits.bodyReadTimeout)")
            }
            return buffer
        }
    }

    /// The first string (key or value) holding U+0000, named by its path (`title`, `tags[2]`); nil if none.
    static func firstNUL(in value: JSONValue, path: String) -> String? {
        switch value {
        case .string(let s):
            return s.utf8.contains(0) ? path : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstNUL(in: item, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for (key, member) in members {
                let memberPath = path.isEmpty ? String(key.prefix(80)) : "\(path).\(key.prefix(80))"
                if key.utf8.contains(0) { return memberPath }
                if let found = firstNUL(in: member, path: memberPath) { return found }
            }
            return nil
        case .null, .bool, .number:
            return nil
        }
    }

    /// What one linear pass over a JSON text finds: how deep it nests, whether a comma comes right before
    /// a closing bracket, and the keys of its outermost object in order, repeats included (meaningful
    /// only once the text is known to be valid JSON).
    static func scan(_ bytes: Data) -> (depth: Int, trailingComma: Bool, topLevelKeys: [String]) {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var keys: [String] = []
        var depth = 0, deepest = 0
        var expectingKey = false
        var trailingComma = false
        var previous: UInt8 = 0  // the last byte outside strings that is not white space
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { trailingComma = trailingComma || previous == UInt8(ascii: ",") }
            if byte != 0x20, byte != 0x0A, byte != 0x0D, byte != 0x09 { previous = byte }
            switch byte {
            case quote:
                let start = i
                var escaped = false
                i += 1
                while i < bytes.endIndex, bytes[i] != quote {
                    if bytes[i] == backslash { escaped = true; i += 1 }
                    i += 1
                }
                if depth == 1, expectingKey, i < bytes.endIndex {
                    let raw = bytes[(start + 1)..<i]
                    if !escaped {
                        keys.append(String(decoding: raw, as: UTF8.self))
                    } else if let key = try? JSONDecoder().decode(String.self, from: Data(bytes[start...i])) {
                        keys.append(key)
                    }
                }
                expectingKey = false
            case UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
                expectingKey = depth == 1
            case UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            default:
                break
            }
            i += 1
        }
        return (deepest, trailingComma, keys)
    }
}

extension [String: JSONValue] {
    /// A string field: nil when absent or null; 400 when of another type.
    public func string(_ key: String) throws -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw APIError.badRequest("\(key) must be a string")
        }
    }
}

/// Reads query parameters, answering 400 for malformed ones.
extension Request {
    /// The query parameter `name` as a position; nil when absent, 400 when malformed.
    public func position(_ name: String) throws -> GlobalPosition? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(raw), value >= 0 else { throw APIError.badRequest("\(name) must be a position (a whole number from 0)") }
        return GlobalPosition(rawValue: value)
    }

    /// The `limit` query parameter, at most ``HTTPLimits/maxPageSize``; 400 when malformed.
    public func limit(default value: Int) throws -> Int {
        guard let raw = uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(raw), limit >= 1 else { throw APIError.badRequest("limit must be a whole number from 1") }
        return Swift.min(limit, HTTPLimits.maxPageSize)
    }
}
