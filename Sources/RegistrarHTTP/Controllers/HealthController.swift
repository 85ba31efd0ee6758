import Hummingbird
import RegistrarCore

/// Liveness and readiness for orchestrators: `/health/live` answers while the process serves;
/// `/health/ready` also asks the database (a keyed lookup, cheap on any number of clients).
struct HealthController {
    let service: RegistrationService

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        group.get("/health/live") { _, _ in JSONResponse.make(.ok, JSONObject([("status", .string("ok"))])) }
        MethodNotAllowed.add(to: group, path: "/health/live", allowed: [.get])
        let service = self.service
        group.get("/health/ready") { _, _ -> Response in
            do {
                _ = try await service.withStore { try await service.store.client(id: "health-check") }
                return JSONResponse.make(.ok, JSONObject([("status", .string("ok")), ("database", .string("ok"))]))
            } catch {
                return JSONResponse.make(.serviceUnavailable, JSONObject([("status", .string("unavailable")), ("database", .string("unreachable"))]),
                                         headers: [.retryAfter: "2"])
            }
        }
        MethodNotAllowed.add(to: group, path: "/health/ready", allowed: [.get])
    }
}
