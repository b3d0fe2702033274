import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// A load generator in the manner of `wrk`: `connections` keep-alive connections to 127.0.0.1, each on
/// an OS thread of its own (never on the concurrency pool the server needs), sending requests back to
/// back for `duration`; answers every request's latency and status.
enum HTTPLoad {
    struct Outcome {
        var latencies: [Double] = []
        var errors = 0
        var statuses: [Int: Int] = [:]
    }

    /// Runs the load; `request` makes the bytes of the n-th request of a connection.
    static func run(port: Int, connections: Int, duration: Duration, request: @escaping @Sendable (Int) -> [UInt8]) async -> Outcome {
        await withTaskGroup(of: Outcome.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        Thread.detachNewThread { continuation.resume(returning: connection(port: port, duration: duration, request: request)) }
                    }
                }
            }
            var total = Outcome()
            for await outcome in group {
                total.latencies += outcome.latencies
                total.errors += outcome.errors
                total.statuses.merge(outcome.statuses, uniquingKeysWith: +)
            }
            return total
        }
    }

    private static func connection(port: Int, duration: Duration, request: (Int) -> [UInt8]) -> Outcome {
        var outcome = Outcome()
        let deadline = ContinuousClock.now.advanced(by: duration)
        var socket = open(port: port)
        var n = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            guard let fd = socket else {
                outcome.errors += 1
                socket = open(port: port)
                continue
            }
            let bytes = request(n)
            n += 1
            let start = ContinuousClock.now
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == bytes.count, let status = readResponse(fd, &buffer) else {
                outcome.errors += 1
                close(fd)
                socket = open(port: port)
                continue
            }
            let elapsed = start.duration(to: .now)
            outcome.latencies.append(Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
            outcome.statuses[status, default: 0] += 1
        }
        if let fd = socket { close(fd) }
        return outcome
    }

    private static func open(port: Int) -> Int32? {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var noDelay: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var wait = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Reads one response (head, then a body of its Content-Length); answers its status.
    private static func readResponse(_ fd: Int32, _ buffer: inout [UInt8]) -> Int? {
        var received: [UInt8] = []
        var headEnd: Int?
        var bodyLength = 0
        while true {
            if let end = headEnd, received.count >= end + bodyLength { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            received += buffer[0..<n]
            if headEnd == nil, let range = find([13, 10, 13, 10], in: received) {
                headEnd = range
                let head = String(decoding: received[0..<range], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    bodyLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let statusLine = String(decoding: received.prefix(12), as: UTF8.self)
        return Int(statusLine.dropFirst(9).prefix(3))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i + needle.count
        }
        return nil
    }
}
