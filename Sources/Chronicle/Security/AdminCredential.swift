import Foundation

/// The admin credential, and the one rule by which every edge (the HTTP admin side, the KurrentDB gRPC
/// port) accepts it: HTTP basic authentication whose password is the token (any user name), or a
/// bearer token.
public struct AdminCredential: Sendable, Hashable {
    /// The token.
    public let token: String

    /// A credential of `token`.
    public init(token: String) { self.token = token }

    /// Whether an `Authorization` header value carries the token.
    public func isCarried(by authorization: String) -> Bool {
        if authorization.hasPrefix("Bearer ") { return Self.equalInConstantTime(String(authorization.dropFirst(7)), token) }
        if authorization.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(authorization.dropFirst(6))),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            return Self.equalInConstantTime(String(text[text.index(after: colon)...]), token)
        }
        return false
    }

    /// Compares without stopping at the first difference, so timing tells nothing of the token.
    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }

    /// Whether `host` (an address to listen on) is reachable only from this machine.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
