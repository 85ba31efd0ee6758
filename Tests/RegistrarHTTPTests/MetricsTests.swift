import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
@testable import RegistrarHTTP
@testable import RegistrarSQL
import RegistrarSQLite
import RegistrarTesting
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

    @Test("the route label is the route's pattern without the issuer's path, or unmatched")
    func routeLabel() async throws {
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route("/idp/iam/api/clients/{client_id}", basePath: "/idp") == "/iam/api/clients/{client_id}")
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route("/idp", basePath: "/idp") == "/")
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route("/idpx/token", basePath: "/idp") == "/idpx/token")
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route("/token", basePath: "") == "/token")
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route("NotFound", basePath: "") == "unmatched")
        #expect(AccessLogMiddleware<RegistrarRequestContext>.route(nil, basePath: "/idp") == "unmatched")
        // Through the router, with an issuer that has a path.
        try await HTTPFixture.withRouter(issuer: "https://id.example.org/tenant-metrics") { client, _ in
            try await client.execute(uri: "/tenant-metrics/iam/api/client-registration/abc", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/tenant-metrics/no-such-path", method: .get) { #expect($0.status == .notFound) }
        }
        let text = String(decoding: RegistrarMetrics.shared.render(), as: UTF8.self)
        #expect(!text.contains("tenant-metrics"), "\(text)")
        #expect(!text.contains(#"route="NotFound""#))
        #expect(text.contains(#"registrar_http_requests_total{route="/iam/api/client-registration/{client_id}",method="GET",status="401"}"#))
        #expect(text.contains(#"registrar_http_requests_total{route="unmatched",method="GET",status="404"}"#))
    }

    @Test("rate limiting is counted per limit, however often it repeats")
    func rateLimitCounts() {
        let limit = "test-limit-\(UInt32.random(in: 0...UInt32.max))"
        for _ in 0..<4 { RegistrarMetrics.rateLimited(limit) }
        RegistrarMetrics.rateLimited(limit + "-other")
        let text = String(decoding: RegistrarMetrics.shared.render(), as: UTF8.self)
        #expect(text.contains(#"registrar_rate_limited_total{limit="\#(limit)"} 4"#), "\(text)")
        #expect(text.contains(#"registrar_rate_limited_total{limit="\#(limit)-other"} 1"#))
    }
}

@Suite("Database call metrics")
struct DatabaseMetricsTests {
    /// The count of the database duration histogram for an operation, from the exposition.
    func count(_ operation: String) -> Int {
        let text = String(decoding: RegistrarMetrics.shared.render(), as: UTF8.self)
        let prefix = #"registrar_database_duration_seconds_count{operation="\#(operation)"} "#
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(line.dropFirst(prefix.count)) ?? -1
    }

    @Test("once the metrics backend is running, each operation's metrics are made once and every call is recorded")
    func recordedOnce() async throws {
        _ = RegistrarMetrics.shared  // the backend
        let first = DatabaseMetrics.of("read"), second = DatabaseMetrics.of("read")
        #expect(first.duration === second.duration && first.inFlight === second.inFlight)
        #expect(DatabaseMetrics.of("write").duration !== first.duration)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-metrics-\(UUID().uuidString).sqlite").path
        let database = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        try await database.store.insert(ClientStoreConformance.sampleClient(id: "m1"))
        let before = count("read")
        for _ in 0..<20 { _ = try await database.store.client(id: "m1") }
        let after = count("read")
        await database.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        #expect(after - before >= 20, "\(before) -> \(after)")
    }
}
