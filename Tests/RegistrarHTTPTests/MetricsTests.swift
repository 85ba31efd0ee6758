@testable import RegistrarHTTP
import Testing

@Suite("HTTP request metrics")
struct MetricsTests {
    @Test("requests are counted per route, method and status, and timed per route and method, however often they repeat")
    func requestCounts() {
        let route = "/metrics-test-\(UInt32.random(in: 0...UInt32.max))"
        for _ in 0..<3 { RegistrarMetrics.request(route: route, method: "GET", status: 200, duration: .milliseconds(2)) }
        RegistrarMetrics.request(route: route, method: "GET", status: 404, duration: .milliseconds(1))
        RegistrarMetrics.request(route: route, method: "POST", status: 200, duration: .milliseconds(1))
        let text = String(decoding: RegistrarMetrics.shared.render(), as: UTF8.self)
        #expect(text.contains(#"registrar_http_requests_total{route="\#(route)",method="GET",status="200"} 3"#), "\(text)")
        #expect(text.contains(#"registrar_http_requests_total{route="\#(route)",method="GET",status="404"} 1"#))
        #expect(text.contains(#"registrar_http_requests_total{route="\#(route)",method="POST",status="200"} 1"#))
        #expect(text.contains(#"registrar_http_request_duration_seconds_count{route="\#(route)",method="GET"} 4"#))
        #expect(text.contains(#"registrar_http_request_duration_seconds_count{route="\#(route)",method="POST"} 1"#))
    }
}
