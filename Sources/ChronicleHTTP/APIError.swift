import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import Logging

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

/// Turns every error into a JSON error body: client mistakes keep their 4xx status and reason, anything
/// else is logged and answered 500 without internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSONBody.error(error.status, error.message)
        } catch let error as HTTPError {
            let message: String = switch error.status {
            case .notFound: "no route for \(request.method) \(request.uri.path)"
            default: error.body ?? error.status.reasonPhrase
            }
            return JSONBody.error(error.status, message)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return JSONBody.error(.contentTooLarge, "the body is larger than \(HTTPLimits.maxBodySize) bytes")
        } catch let error as any HTTPResponseError where (400..<500).contains(error.status.code) {
            return JSONBody.error(error.status, error.status.reasonPhrase)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return JSONBody.error(.internalServerError, "internal error")
        }
    }
}

/// Takes commands (every request but GET and HEAD) only as `application/json`: a browser cannot send
/// that cross-site without a CORS preflight, so another web page cannot post commands through a
/// visitor's browser. Anything else is 415.
struct JSONCommandsOnlyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method != .get, request.method != .head {
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
}

/// JSON bodies in and out.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response.
    static func response(_ status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{\"error\":\"response could not be encoded\"}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": message}` with `status`.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        response(status, ["error": message])
    }

    /// The request's body as a JSON object; an empty body is an empty object.
    static func object(of request: Request, context: some RequestContext) async throws -> [String: JSONValue] {
        let buffer = try await request.body.collect(upTo: HTTPLimits.maxBodySize)
        let bytes = Data(buffer: buffer)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw APIError.badRequest("the body is not valid UTF-8") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: bytes)
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
        guard case .object(let object) = value else { throw APIError.badRequest("the body must be a JSON object") }
        // A key given twice would silently lose one of its values.
        var seen = Set<String>()
        for key in topLevelKeys(of: bytes) where !seen.insert(key).inserted {
            throw APIError.badRequest("the body holds the key \"\(key.prefix(80))\" twice")
        }
        return object
    }

    /// The keys of the outermost object of a JSON text already known to be valid, in order, repeats included.
    static func topLevelKeys(of bytes: Data) -> [String] {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var keys: [String] = []
        var depth = 0
        var expectingKey = false
        var i = bytes.startIndex
        while i < bytes.endIndex {
            switch bytes[i] {
            case quote:
                let start = i
                i += 1
                while i < bytes.endIndex, bytes[i] != quote { i += bytes[i] == backslash ? 2 : 1 }
                if depth == 1, expectingKey, i < bytes.endIndex,
                    let key = try? JSONDecoder().decode(String.self, from: Data(bytes[start...i]))
                {
                    keys.append(key)
                }
                expectingKey = false
            case UInt8(ascii: "{"):
                depth += 1
                expectingKey = depth == 1
            case UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            default:
                break
            }
            i += 1
        }
        return keys
    }
}

extension [String: JSONValue] {
    /// A string field: nil when absent or null; 400 when of another type.
    func string(_ key: String) throws -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw APIError.badRequest("\(key) must be a string")
        }
    }
}

/// Reads query parameters, answering 400 for malformed ones.
extension Request {
    func position(_ name: String) throws -> GlobalPosition? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(raw), value >= 0 else { throw APIError.badRequest("\(name) must be a position (a whole number from 0)") }
        return GlobalPosition(rawValue: value)
    }

    func limit(default value: Int) throws -> Int {
        guard let raw = uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(raw), limit >= 1 else { throw APIError.badRequest("limit must be a whole number from 1") }
        return Swift.min(limit, HTTPLimits.maxPageSize)
    }
}
