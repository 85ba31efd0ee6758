import Hummingbird
import HTTPTypes

/// The caching and framing headers of every response (``SecurityHeadersMiddleware/noStore``).
private let securityHeaderFields: HTTPFields = [
    .cacheControl: "no-store",
    HTTPField.Name("Pragma")!: "no-cache",
    HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    HTTPField.Name("X-Frame-Options")!: "DENY",
]

/// Headers on every response, as the seed shows them: no caching of anything that may carry a
/// credential (`Cache-Control: no-store`, `Pragma: no-cache`, RFC 6749 §5.1, RFC 7592 examples),
/// no MIME sniffing, no framing; and CORS open to any origin, as INDIGO IAM's `/iam/**` is (the
/// registration API is called with a bearer token, never with cookies, so `*` exposes nothing).
/// With configured origins instead of `*`, an allowed `Origin` is echoed back (with `Vary: Origin`)
/// and any other gets no CORS header, so browsers refuse it.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: [String]

    init(allowedOrigins: [String] = ["*"]) { self.allowedOrigins = allowedOrigins }

    /// Built once (a generic type cannot store it; a computed property rebuilt the fields, names
    /// parsed included, for every response).
    static var noStore: HTTPFields { securityHeaderFields }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for field in Self.noStore where response.headers[field.name] == nil {
            response.headers.append(field)
        }
        if allowedOrigins.contains("*") {
            response.headers[.accessControlAllowOrigin] = "*"
        } else {
            response.headers[.vary] = "Origin"
            if let origin = request.headers[.origin], allowedOrigins.contains(where: { $0.lowercased() == origin.lowercased() }) {
                response.headers[.accessControlAllowOrigin] = origin
            }
        }
        if request.method != .options {
            response.headers[.accessControlExposeHeaders] = "WWW-Authenticate, Location"
        }
        return response
    }
}
