import Hummingbird
import RegistrarCore

/// Answers `405 Method Not Allowed` with an `Allow` header for the methods a resource lacks.
enum MethodNotAllowed {
    static let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head]

    static func add(to group: RouterGroup<RegistrarRequestContext>, path: RouterPath, allowed: [HTTPRequest.Method]) {
        let allow = (allowed + [.options]).map(\.rawValue).joined(separator: ", ")
        for method in all where !allowed.contains(method) {
            group.on(path, method: method) { _, _ -> Response in
                var response = JSONResponse.error(RegistrarError(
                    code: .methodNotAllowed, status: 405, description: "this resource allows \(allow)"))
                response.headers[.allow] = allow
                return response
            }
        }
    }

    static func add(to router: Router<RegistrarRequestContext>, path: RouterPath, allowed: [HTTPRequest.Method]) {
        add(to: router.group(), path: path, allowed: allowed)
    }
}
