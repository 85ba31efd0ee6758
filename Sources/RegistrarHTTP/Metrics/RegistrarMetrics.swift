import Metrics
import Prometheus
import CoreMetrics
import Synchronization

/// Registrar's metrics: swift-metrics with the Prometheus backend, served at `GET /metrics`.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `registrar_http_requests_total` | counter | route, method, status |
/// | `registrar_http_request_duration_seconds` | histogram | route, method |
/// | `registrar_registrations_total` | counter | outcome (`created`, `refused`) |
/// | `registrar_rate_limited_total` | counter | limit |
/// | `registrar_clients` | gauge | kind (`dynamic`) |
/// | `registrar_database_duration_seconds` | histogram | operation (`read`, `write`, `transaction`) |
/// | `registrar_database_operations_in_flight` | gauge | — (how much of the pool is busy) |
public final class RegistrarMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    /// The process-wide metrics (swift-metrics has one backend per process).
    public static let shared: RegistrarMetrics = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return RegistrarMetrics(registry: registry)
    }()

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] { registry.emitToBuffer() }

    /// Sets the number of dynamically registered clients.
    public static func setClientCount(_ count: Int) {
        _ = shared
        Gauge(label: "registrar_clients", dimensions: [("kind", "dynamic")]).record(count)
    }

    static func request(route: String, method: String, status: Int, duration: Duration) {
        _ = shared
        let metrics = once(requestMetrics, RequestKey(route: route, method: method, status: status)) {
            RequestMetrics(
                count: Counter(label: "registrar_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))]),
                duration: Metrics.Timer(label: "registrar_http_request_duration_seconds", dimensions: [("route", route), ("method", method)]))
        }
        metrics.count.increment()
        metrics.duration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The value kept in `cache` for `key`, made by `make` the first time. Metrics are made once
    /// per label set: making them anew for every request went through the Prometheus factory's lock
    /// and its label lookups each time (about 2 % of a token request). Label sets are few (routes,
    /// statuses, outcomes); a cache stops growing at ``madeLimit``.
    private static func once<Key: Hashable & Sendable, Value: Sendable>(_ cache: borrowing Mutex<[Key: Value]>, _ key: Key, _ make: () -> Value) -> Value {
        cache.withLock { cache in
            if let known = cache[key] { return known }
            let made = make()
            if cache.count < madeLimit { cache[key] = made }
            return made
        }
    }
    static let madeLimit = 1_024

    private struct RequestKey: Hashable {
        let route: String, method: String, status: Int
    }
    private struct RequestMetrics: Sendable {
        let count: CoreMetrics.Counter
        let duration: Metrics.Timer
    }
    private static let requestMetrics = Mutex<[RequestKey: RequestMetrics]>([:])

    private struct CounterKey: Hashable {
        let label: String, name: String, value: String
    }
    private static let counters = Mutex<[CounterKey: CoreMetrics.Counter]>([:])

    /// A counter with one label.
    private static func counter(_ label: String, _ dimension: (String, String)) -> CoreMetrics.Counter {
        once(counters, CounterKey(label: label, name: dimension.0, value: dimension.1)) { Counter(label: label, dimensions: [dimension]) }
    }

    static func registration(_ outcome: String) {
        _ = shared
        counter("registrar_registrations_total", ("outcome", outcome)).increment()
    }

    static func rateLimited(_ limit: String) {
        _ = shared
        counter("registrar_rate_limited_total", ("limit", limit)).increment()
    }
}
