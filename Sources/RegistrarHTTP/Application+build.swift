import Foundation
public import Hummingbird
public import Logging
public import RegistrarCore
import NIOCore

/// Builds the router with every Registrar route and middleware; `main` and the tests both use it.
/// Routes are mounted under the issuer's path, so `https://host/prefix` serves
/// `/prefix/iam/api/client-registration`.
public func buildRouter(service: RegistrationService, tokens: TokenService? = nil, options: HTTPOptions = HTTPOptions()) -> Router<RegistrarRequestContext> {
    let router = Router(context: RegistrarRequestContext.self, options: .autoGenerateHeadEndpoints)
    let base = issuerPath(service.configuration.issuer)
    router.add(middleware: AccessLogMiddleware(basePath: base))
    router.add(middleware: SecurityHeadersMiddleware(allowedOrigins: options.corsAllowedOrigins))
    router.add(middleware: ErrorMiddleware())
    let root = router.group(RouterPath(base))
    RegistrationController(service: service, options: options).addRoutes(to: root.group(RouterPath(ServerConfiguration.registrationPath)))
    HealthController(service: service).addRoutes(to: root)
    OpenAPIDocument.addRoute(to: root, issuer: service.configuration.issuer)
    if options.benchmarkRoutes {
        // The ceiling of Benchmarks/run.sh: read and parse a JSON body, answer JSON, touch nothing.
        root.post("/bench/noop") { request, context -> Response in
            let body = try await RegistrationController.jsonBody(request, context: context)
            _ = try RegistrationService.parseObject(body)
            return JSONResponse.make(.ok, JSONObject([("ok", .bool(true))]))
        }
    }
    if options.metricsEnabled {
        // Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
        let metrics = RegistrarMetrics.shared
        root.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        MethodNotAllowed.add(to: root, path: "/metrics", allowed: [.get])
    }
    if let tokens {
        TokenController(tokens: tokens, options: options).addRoutes(to: root)
        AdminController(admin: AdminService(registration: service), tokens: tokens, options: options).addRoutes(to: root)
    }
    let discovery = DiscoveryController(configuration: service.configuration, keys: service.keyRing,
                                        registrationEnabled: service.settings.registration.mode != .disabled,
                                        tokenEndpoints: tokens != nil,
                                        jwksWindow: (tokens?.settings.accessTokenLifetime ?? 0) + TokenService.keyReloadAllowance,
                                        clock: service.clock)
    discovery.addRoutes(to: root)
    if !base.isEmpty {
        // RFC 8414 §3: for an issuer with a path, the metadata lives at
        // /.well-known/oauth-authorization-server{path}.
        discovery.addPathInsertedMetadata(to: router.group(), issuerPath: base)
    }
    return router
}

/// Builds the HTTP application around the router.
public func buildApplication(
    service: RegistrationService, tokens: TokenService? = nil, options: HTTPOptions = HTTPOptions(), host: String, port: Int, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(service: service, tokens: tokens, options: options),
        // A connection that goes silent is closed, so that clients that open connections and send
        // nothing, or stop in the middle of a request, cannot hold them (and the server's file
        // descriptors) for ever.
        server: .http1(configuration: .init(idleTimeout: .seconds(options.idleTimeout))),
        configuration: .init(address: .hostname(host, port: port), serverName: "Registrar"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}

/// The path component of the issuer (`""` for an issuer at the root).
func issuerPath(_ issuer: String) -> String {
    guard let schemeEnd = issuer.range(of: "://") else { return "" }
    let afterScheme = issuer[schemeEnd.upperBound...]
    guard let slash = afterScheme.firstIndex(of: "/") else { return "" }
    var path = String(afterScheme[slash...])
    while path.hasSuffix("/") { path.removeLast() }
    return path
}
