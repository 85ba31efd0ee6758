public import Metrics
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
        let key = RequestKey(route: route, method: method, status: status)
        let metrics = requestMetrics.withLock { cache in
            if let known = cache[key] { return known }
            let made = RequestMetrics(
                count: Counter(label: "registrar_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))]),
                duration: Metrics.Timer(label: "registrar_http_request_duration_seconds", dimensions: [("route", route), ("method", method)]))
            if cache.count < Self.requestMetricsLimit { cache[key] = made }
            return made
        }
        metrics.count.increment()
        metrics.duration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// A request's metrics by route, method and status, made once: making them anew for every
    /// request went through the Prometheus factory's lock and its label lookups each time (about 2 %
    /// of a token request). Routes and statuses are few; the cache stops growing at this many.
    static let requestMetricsLimit = 1_024
    private struct RequestKey: Hashable {
        let route: String, method: String, status: Int
    }
    private struct RequestMetrics: Sendable {
        let count: CoreMetrics.Counter
        let duration: Metrics.Timer
    }
    private static let requestMetrics = Mutex<[RequestKey: RequestMetrics]>([:])

    /// A counter with one label, made once (as the request metrics are).
    private static func counter(_ label: String, _ dimension: (String, String)) -> CoreMetrics.Counter {
        let key = label + "\u{0}" + dimension.1
        return counters.withLock { cache in
            if let known = cache[key] { return known }
            let made = Counter(label: label, dimensions: [dimension])
            if cache.count < requestMetricsLimit { cache[key] = made }
            return made
        }
    }
    private static let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    static func registration(_ outcome: String) {
        _ = shared
        counter("registrar_registrations_total", ("outcome", outcome)).increment()
    }

    static func rateLimited(_ limit: String) {
        _ = shared
        counter("registrar_rate_limited_total", ("limit", limit)).increment()
    }
}
