import Hummingbird
import Logging
import NIOCore

/// One log line per request: method, path (never the query, which could carry a secret), status
/// and duration. Headers are never logged, so no token reaches the log.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The issuer's path (`/idp` for `https://host/idp`, empty at the root), which the `route`
    /// label leaves out so that dashboards and alerts read the same on every deployment.
    var basePath = ""

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            RegistrarMetrics.request(route: Self.route(context.endpointPath, basePath: basePath), method: request.method.rawValue, status: status, duration: elapsed)
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(status),
                "duration_ms": .string(String(format: "%.2f", ms)),
            ])
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }

    /// The `route` label: the matched route's pattern without the issuer's path, or `unmatched`
    /// for a path no route serves (Hummingbird names that endpoint `NotFound`).
    static func route(_ endpoint: String?, basePath: String) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "unmatched" }
        guard !basePath.isEmpty, endpoint.hasPrefix(basePath) else { return endpoint }
        let rest = endpoint.dropFirst(basePath.count)
        if rest.isEmpty { return "/" }
        return rest.first == "/" ? String(rest) : endpoint
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
