import Chronicle
import ChronicleKurrentProtocol
import ChronicleRuntime
import ChronicleSQLite
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf

/// S11–S13: KurrentDB's gRPC protocol beside the HTTP path, on one server in one run (the Todo module
/// served, its read models and notifier running): appends from 1 and from 64 clients, and a `$all`
/// catch-up read. The baseline of each is the HTTP path doing the same: `POST /todo/:id` (one command
/// that appends one event to a new stream) from as many connections, and `GET /log` page after page.
extension Scenarios {
    static let grpcScenarios: [Scenario] = [
        Scenario(id: "S11", title: "append 1 event through gRPC, 1 client (baseline: POST /todo/:id, 1 connection)", run: { try await $0.grpcAppends(clients: 1) }),
        Scenario(id: "S12", title: "append 1 event through gRPC, 64 clients (baseline: POST /todo/:id, 64 connections)", run: { try await $0.grpcAppends(clients: 64) }),
        Scenario(id: "S13", title: "$all catch-up read through gRPC (baseline: GET /log, pages of 1,000)", run: { try await $0.grpcCatchUp() }),
    ]

    private func servedBackend(_ name: String) -> ChronicleRuntime.Backend {
        var configuration = SQLiteDatabase.Configuration()
        configuration.synchronous = synchronous
        return .sqlite(path: path(name), configuration: configuration)
    }

    func grpcAppends(clients: Int) async throws -> Measurement {
        try await Self.serving(servedBackend("s11-\(clients).sqlite"), directory: directory, grpc: true) { [sizes] _, http, grpc in
            guard let grpc else { throw RawError("no gRPC port") }
            // The HTTP path first, then gRPC, each for the same time on the same server.
            let web = await HTTPLoad.run(port: http, connections: clients, duration: sizes.http) { _ in
                let body = #"{"title": "benchmark", "description": "one of many"}"#
                return Array(
                    ("POST /todo/\(UUID().uuidString.lowercased()) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
            }
            let created = web.statuses[201, default: 0]
            guard web.errors == 0, created == web.latencies.count else { throw RawError("HTTP: \(web.errors) errors, \(web.statuses)") }
            let start = ContinuousClock.now
            let outcome = try await Self.appendThroughGRPC(port: grpc, clients: clients, duration: sizes.http)
            let elapsed = Bench.seconds(start.duration(to: .now))
            guard outcome.failures == 0 else { throw RawError("gRPC: \(outcome.failures) appends failed") }
            let httpRate = Double(created) / Bench.seconds(sizes.http)
            let httpSorted = web.latencies.sorted()
            let httpP50 = httpSorted.isEmpty ? 0 : httpSorted[httpSorted.count / 2] * 1000
            return Measurement(
                rate: Double(outcome.latencies.count) / elapsed, baseline: httpRate, latencies: outcome.latencies,
                note: String(format: "HTTP: %.0f/s, p50 %.2f ms; %d appends through gRPC, 0 failed", httpRate, httpP50, outcome.latencies.count))
        }
    }

    func grpcCatchUp() async throws -> Measurement {
        let events = max(sizes.batched * 2, 2_000)
        return try await Self.serving(servedBackend("s13.sqlite"), directory: directory, grpc: true) { runtime, http, grpc in
            guard let grpc else { throw RawError("no gRPC port") }
            for n in stride(from: 0, to: events, by: 100) {
                _ = try await runtime.store.append(
                    (0..<100).map { _ in Self.event() }, to: try StreamName(category: "catchup", id: "\(n / 100 % 100)"), expecting: .any)
            }
            let head = try await runtime.store.headPosition().rawValue
            // HTTP: GET /log?after=…&limit=1000 until the head.
            let httpTime = try await Self.timed {
                var after: Int64 = 0
                while after < head {
                    let url = try Self.url("http://127.0.0.1:\(http)/log?after=\(after)&limit=1000")
                    let (data, _) = try await URLSession.shared.data(from: url)
                    guard let body = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                        let page = body["events"] as? [[String: Any]], let last = page.last?["position"] as? Int64
                    else { throw RawError("GET /log answered no events after \(after)") }
                    after = last
                }
            }
            // gRPC: one Read of $all from the start, unfiltered.
            let start = ContinuousClock.now
            let read = try await Self.readAllThroughGRPC(port: grpc)
            let elapsed = Bench.seconds(start.duration(to: .now))
            guard read == Int(head) else { throw RawError("gRPC read \(read) of \(head) events") }
            let httpRate = Double(head) / httpTime
            return Measurement(
                rate: Double(read) / elapsed, baseline: httpRate,
                note: String(format: "%d events; HTTP pages: %.0f events/s", read, httpRate))
        }
    }

    static func url(_ text: String) throws -> URL {
        guard let url = URL(string: text) else { throw RawError("not a URL: \(text)") }
        return url
    }

    /// `clients` tasks appending one event each to a new stream, back to back, for `duration`, over one
    /// HTTP/2 connection (as a KurrentDB client shares its channel).
    static func appendThroughGRPC(port: Int, clients: Int, duration: Duration) async throws -> (latencies: [Double], failures: Int) {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        var (latencies, failures) = ([Double](), 0)
                        let deadline = ContinuousClock.now.advanced(by: duration)
                        while ContinuousClock.now < deadline {
                            let started = ContinuousClock.now
                            let answer = try await client.clientStreaming(
                                request: StreamingClientRequest(of: EventStore_Client_Streams_AppendReq.self) { writer in
                                    var options = EventStore_Client_Streams_AppendReq()
                                    options.options.streamIdentifier.streamName = Data("bench-\(UUID().uuidString.lowercased())".utf8)
                                    options.options.noStream = .init()
                                    var proposed = EventStore_Client_Streams_AppendReq()
                                    proposed.proposedMessage.id.string = UUID().uuidString.lowercased()
                                    proposed.proposedMessage.metadata = ["type": "BenchHappened", "content-type": "application/json"]
                                    proposed.proposedMessage.data = Data(Scenarios.payload.utf8)
                                    try await writer.write(contentsOf: [options, proposed])
                                },
                                descriptor: EventStore_Client_Streams_Streams.Method.Append.descriptor,
                                serializer: ProtobufSerializer<EventStore_Client_Streams_AppendReq>(),
                                deserializer: ProtobufDeserializer<EventStore_Client_Streams_AppendResp>(), options: .defaults
                            ) { try $0.message }
                            if case .success = answer.result {
                                latencies.append(Bench.seconds(started.duration(to: .now)))
                            } else {
                                failures += 1
                            }
                        }
                        return (latencies, failures)
                    }
                }
                var total = ([Double](), 0)
                for try await (latencies, failures) in group {
                    total.0 += latencies
                    total.1 += failures
                }
                return (total.0, total.1)
            }
        }
    }

    /// Reads `$all` from the start through one Read; answers how many events came.
    static func readAllThroughGRPC(port: Int) async throws -> Int {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            var request = EventStore_Client_Streams_ReadReq()
            request.options.all.start = .init()
            request.options.readDirection = .forwards
            request.options.count = UInt64(Int64.max)
            request.options.noFilter = .init()
            request.options.uuidOption.string = .init()
            return try await client.serverStreaming(
                request: ClientRequest(message: request), descriptor: EventStore_Client_Streams_Streams.Method.Read.descriptor,
                serializer: ProtobufSerializer<EventStore_Client_Streams_ReadReq>(),
                deserializer: ProtobufDeserializer<EventStore_Client_Streams_ReadResp>(), options: .defaults
            ) { response in
                var count = 0
                for try await message in response.messages {
                    if case .event = message.content { count += 1 }
                }
                return count
            }
        }
    }
}
