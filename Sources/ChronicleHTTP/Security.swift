import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Who may reach the server and its administrative side.
public struct AccessPolicy: Sendable {
    /// The credential `/admin` and every administrative action require (HTTP basic with any user name
    /// and this password, or `Authorization: Bearer <token>`); nil: none required. A server that listens
    /// on anything but loopback must have one (``ChronicleServer/Configuration/validate()``).
    public var adminToken: String?
    /// Host names (besides `localhost` and IP literals, which are always accepted) that requests may name
    /// in their `Host` header. A page on another name that resolves to this server (DNS rebinding) is refused.
    public var allowedHosts: Set<String> = []

    /// Makes a policy: no admin credential, loopback names only.
    public init(adminToken: String? = nil, allowedHosts: Set<String> = []) {
        self.adminToken = adminToken
        self.allowedHosts = allowedHosts
    }

    /// Whether a `Host` header value names this server: `localhost`, an IP literal or an allowed name.
    func accepts(host value: String) -> Bool {
        var name = value.lowercased()
        if name.hasPrefix("[") {  // [::1]:8080
            guard let close = name.firstIndex(of: "]") else { return false }
            return IPv6Literal.isValid(String(name[name.index(after: name.startIndex)..<close]))
        }
        if let colon = name.lastIndex(of: ":") {
            guard name[name.index(after: colon)...].allSatisfy(\.isNumber) else { return false }
            name = String(name[..<colon])
        }
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" || allowedHosts.contains(name) { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Whether a request for `path` (the raw request target's path) reaches the administrative side,
    /// whatever its spelling: the router ignores empty segments (`//admin`), the page middleware decodes
    /// percent-escapes (`/%61dmin`) and resolves `.` and `..`, so the check reads the path as both do.
    public static func isAdministrative(path: String) -> Bool {
        // A decoded segment may itself hold a slash (`%2F`): its first part is what a decoder sees first.
        canonicalSegments(path).first == "admin"
    }

    /// Whether a request for `path` needs the admin credential (when one is configured): the
    /// administrative side, and the generic log browsing — `/log`, `/streams`, `/streams/<name>` and
    /// `/events/<id>` show every stream's ids and data (customer and account ids, e-mail addresses), so
    /// they are the operator's. `/events/live` stays open and gives anonymous clients wake-up hints
    /// only. The applications' own routes decide for themselves. (README, Security.)
    public static func needsCredential(path: String) -> Bool {
        if isAdministrative(path: path) { return true }
        let segments = canonicalSegments(path)
        switch segments.first {
        case "log", "streams": return true
        case "events": return segments.count >= 2 && !["live", "head"].contains(segments[1])
        default: return false
        }
    }

    /// The path's segments as the router and the page middleware read them (percent-decoded, lowercased,
    /// `.` and `..` resolved, empty ones dropped).
    static func canonicalSegments(_ path: String) -> [String] {
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            let segment = (String(raw).removingPercentEncoding ?? String(raw)).lowercased()
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(contentsOf: segment.split(separator: "/").map(String.init))
            }
        }
        return segments
    }

    /// The 401 a request without the admin credential gets.
    static var unauthorized: Response {
        var response = JSONBody.error(.unauthorized, "the admin console needs the admin credential")
        response.headers[.wwwAuthenticate] = "Basic realm=\"Chronicle admin\", charset=\"UTF-8\""
        return response
    }

    /// `handler`, answering 401 to a request without the admin credential.
    func guarding(_ handler: @escaping RouteTable.Handler) -> RouteTable.Handler {
        let policy = self
        return { request, context in
            guard policy.isAuthorized(request) else { return Self.unauthorized }
            return try await handler(request, context)
        }
    }

    /// Whether `request` carries the admin credential.
    func isAuthorized(_ request: Request) -> Bool {
        guard let token = adminToken else { return true }
        guard let header = request.headers[.authorization] else { return false }
        return AdminCredential(token: token).isCarried(by: header)
    }

    /// Whether `host` (an address to listen on) is reachable only from this machine.
    public static func isLoopback(_ host: String) -> Bool { AdminCredential.isLoopback(host) }
}

enum IPv6Literal {
    static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

/// Refuses a request whose `Host` names another site (DNS rebinding) with 421, one with two `Host`
/// headers with 400, and every administrative request without the admin credential with 401 — however
/// its path is spelt (``AccessPolicy/isAdministrative(path:)``). The admin routes check the credential
/// again themselves (``ChronicleServer``), so a spelling this misses still meets the check at the route.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // HTTP/1.1's Host header arrives as the request's authority.
        if let host = request.head.authority, !policy.accepts(host: host) {
            throw APIError(.misdirectedRequest, "this server does not answer for the host \"\(host.prefix(80))\"")
        }
        // HTTPTypes keeps the first Host as the authority and any further one as a field.
        if request.headers[.host] != nil {
            throw APIError.badRequest("a request has one Host header")
        }
        if AccessPolicy.needsCredential(path: request.uri.path), !policy.isAuthorized(request) {
            return AccessPolicy.unauthorized
        }
        return try await next(request, context)
    }
}

/// Headers every answer carries: pages run only their own scripts and styles (no inline script), cannot
/// be framed by another site, and are never content-sniffed.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        return response
    }
}

/// Limits checked on the request head, before any body is read: a `Content-Length` over the limit is a
/// 413 at once.
struct RequestHeadMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let length = request.headers[.contentLength] {
            guard let bytes = Int(length), bytes >= 0 else { throw APIError.badRequest("Content-Length is not a number") }
            guard bytes <= HTTPLimits.maxBodySize else {
                throw APIError(.contentTooLarge, "the body is larger than \(HTTPLimits.maxBodySize) bytes")
            }
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!  // safe: a constant, valid field name
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!  // safe: a constant, valid field name
    static let host = HTTPField.Name("Host")!  // safe: a constant, valid field name
}

/// Answers a request the HTTP parser cannot read (a malformed head, a bad chunk size between requests)
/// with a JSON 400 like every other client error, then closes the connection. The server's own answer to
/// these has an empty body. A parse error in the middle of a request the application is reading is left
/// to the application, which answers it through the error middleware.
final class ParseErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests whose head has arrived and whose response has not ended.
    private var open = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { open += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { open -= 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, open == 0 else { return context.fireErrorCaught(error) }
        let body = ByteBuffer(string: #"{"error":"the request is not valid HTTP/1.1"}"#)
        let head = HTTPResponse(
            status: .badRequest,
            headerFields: [.contentType: "application/json; charset=utf-8", .contentLength: "\(body.readableBytes)", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
