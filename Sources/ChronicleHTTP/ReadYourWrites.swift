import Chronicle
import ChronicleRuntime
import HTTPTypes

extension ChronicleRuntime {
    /// For a query asked with `?after=<position>` (the position a command answered): waits, at most
    /// ``HTTPLimits/maxCatchUpWait``, until the read model `name` has reached it, so that a client reads
    /// its own writes. Nil: answers at once. A position beyond the log's head is a 400; a read model that
    /// does not get there in time, a 503 saying where it is.
    public func catchUp(readModel name: String, after position: GlobalPosition?) async throws {
        guard let position else { return }
        let head = try await store.headPosition()
        guard position <= head else {
            throw APIError.badRequest("after=\(position) is beyond the newest position \(head)")
        }
        guard await waitForReadModel(name, toReach: position, timeout: HTTPLimits.maxCatchUpWait) else {
            let at = (try? await subscription(named: name)?.projection?.checkpoint()) ?? .start
            throw APIError(.serviceUnavailable, "read model \(name) has not reached position \(position) yet (at \(at))")
        }
    }
}
