import HTTPTypes
import Hummingbird
import RegistrarCore

/// Completes a resource's methods: `405 Method Not Allowed` with an `Allow` header for the methods
/// it lacks, and `OPTIONS` (including CORS preflight) answered with what it allows. `HEAD` comes
/// with `GET` (the router generates it).
enum MethodNotAllowed {
    static let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .trace, .connect, HTTPRequest.Method("QUERY")!]

    static func add(to group: RouterGroup<RegistrarRequestContext>, path: RouterPath, allowed: [HTTPRequest.Method]) {
        var methods = allowed
        if allowed.contains(.get) { methods.append(.head) }
        let allow = (methods + [.options]).map(\.rawValue).joined(separator: ", ")
        for method in all where !methods.contains(method) {
            group.on(path, method: method) { _, _ -> Response in
                var response = JSONResponse.error(RegistrarError(
                    code: .methodNotAllowed, status: 405, description: "this resource allows \(allow)"))
                response.headers[.allow] = allow
                return response
            }
        }
        group.on(path, method: .options) { _, _ -> Response in
            // CORS preflight (and plain OPTIONS): what this resource allows, from any origin.
            Response(status: .noContent, headers: [
                .allow: allow,
                .accessControlAllowMethods: allow,
                .accessControlAllowHeaders: "Authorization, Content-Type",
                .accessControlMaxAge: "600",
            ])
        }
    }
}
