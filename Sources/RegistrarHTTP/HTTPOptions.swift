public import RegistrarCore
import HTTPTypes
import Hummingbird

/// What the HTTP layer needs beyond the registration service: abuse limits, the proxies whose
/// `X-Forwarded-For` is believed, and the CORS origins.
public struct HTTPOptions: Sendable {
    /// Registrations per client IP.
    public var registrationLimiter: RateLimiter?
    /// Failed token attempts (registration access tokens and initial access tokens) per client IP.
    public var failedTokenLimiter: RateLimiter?
    /// Proxies trusted to report the client's address in `X-Forwarded-For`.
    public var trustedProxies: [IPAddressRange] = []
    /// Allowed CORS origins; `["*"]` allows any.
    public var corsAllowedOrigins: [String] = ["*"]
    /// Whether `GET /metrics` is served.
    public var metricsEnabled = true
    /// Whether `POST /bench/noop` is served (the benchmark suite's ceiling; off unless asked for).
    public var benchmarkRoutes = false
    /// Seconds a connection may stay silent before the server closes it: between requests, or in
    /// the middle of one (a head or a body that stops coming); not while a request is answered.
    public var idleTimeout: Int64 = RegistrarSettings.defaultIdleTimeout

    /// No limits, no trusted proxies, CORS open to any origin.
    public init() {}

    /// Options from the operator's settings, with limiters on the given clock.
    public init(settings: RegistrarSettings, clock: any WallClock) {
        registrationLimiter = RateLimiter(limit: settings.registration.registrationRate, clock: clock)
        failedTokenLimiter = RateLimiter(limit: settings.registration.failedTokenRate, clock: clock)
        trustedProxies = settings.trustedProxies.compactMap(IPAddressRange.init)
        corsAllowedOrigins = settings.corsAllowedOrigins
        metricsEnabled = settings.metricsEnabled
        idleTimeout = settings.idleTimeout
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address in
/// `X-Forwarded-For` that is not itself a trusted proxy (so a client cannot forge its way past the
/// limits by sending the header itself).
enum ClientAddress {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// The address of the client that sent `request`.
    static func of(_ request: Request, _ context: RegistrarRequestContext, trusted: [IPAddressRange]) -> String {
        resolve(peer: context.remoteAddress, forwardedFor: trusted.isEmpty ? [] : request.headers[values: forwardedFor], trusted: trusted)
    }

    static func resolve(peer: String?, forwardedFor: [String], trusted: [IPAddressRange]) -> String {
        guard let peer else { return "unknown" }
        guard trusted.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        for hop in hops.reversed() {
            guard IPAddressRange(hop) != nil else { return peer }
            if !trusted.contains(where: { $0.contains(hop) }) { return hop }
        }
        return hops.first ?? peer
    }
}
