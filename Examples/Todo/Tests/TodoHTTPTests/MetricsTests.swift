import Chronicle
import ChronicleHTTP
import Foundation
import Metrics
import Prometheus
import ChronicleHTTPTesting
import Testing

/// The one process-wide metrics bootstrap of the test run (swift-metrics allows one).
let testMetrics: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

@Suite struct MetricsTests {
    @Test func metricsShowEventsProcessedAndFaultsPerSubscription() async throws {
        let registry = testMetrics
        // A poison event in a runner of its own: its fault must show in the metrics.
        let store = InMemoryEventStore()
        _ = try await store.append([NewEvent(id: UUID(), type: "Poison", data: Data("{}".utf8))], to: StreamName("thing-1"), expecting: .any)
        let poisoned = SubscriptionRunner(
            InMemoryProjection(name: "metrics_probe", initial: 0) { _, _ in throw CodecError.unknownType("Poison") },
            kind: .projection, store: store)
        let task = Task { await poisoned.run() }
        defer { task.cancel() }

        let harness = try await Harness(metrics: registry)
        try await harness.run { client in
            let added = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "counted"}"#)
            _ = try await client.get("/todos/board?after=\(added.position)")
            var text = ""
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline {
                text = try await client.get("/metrics").text
                if text.contains(#"chronicle_subscription_faults_total{subscription="metrics_probe"} 1"#),
                    text.contains(#"chronicle_subscription_events_total{subscription="todo_board"}"#)
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(text.contains(#"chronicle_subscription_faults_total{subscription="metrics_probe"} 1"#))
            // Other tests' servers count into the same process-wide metric: at least this one event.
            let boardLine = text.split(separator: "\n").first { $0.hasPrefix(#"chronicle_subscription_events_total{subscription="todo_board"} "#) }
            #expect((boardLine?.split(separator: " ").last).flatMap { Int($0) } ?? 0 >= 1)
            #expect(text.contains("hb_requests"))
        }
    }
}
