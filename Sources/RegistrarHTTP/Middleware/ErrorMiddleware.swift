import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RegistrarCore

/// Turns every failure into a JSON OAuth error body: Registrar's own errors as they are, a body
/// over the limit as 413, a body that is not valid HTTP/1.1 (a malformed chunk, a connection closed
/// before the whole body came) as 400, an unknown path as 404, and anything else as a generic `500
/// server_error` whose details go to the log only.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as RegistrarError {
            return JSONResponse.error(error)
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(RegistrarError(
                code: .invalidRequest, status: 413,
                description: "the request body is larger than \(HTTPLimits.maximumBodySize) bytes"))
        } catch is HTTPParserError {
            // The client's fault, not the server's: a 500 would count in the server-error alert
            // (a client that disconnects in the middle of its body ends here too).
            return JSONResponse.error(RegistrarError.invalidRequest("the request body is not valid HTTP/1.1: a malformed chunk or an incomplete body"))
        } catch is CancellationError {
            // The server is stopping and its grace period is over (a request still waiting for its
            // body): not a failure of the server's, and nothing to retry here but elsewhere.
            context.logger.info("request cancelled: the server is stopping")
            return JSONResponse.error(RegistrarError.temporarilyUnavailable("the server is stopping; retry"))
        } catch let error as HTTPError where error.status == .notFound {
            return JSONResponse.error(RegistrarError(code: .notFound, status: 404, description: "no resource at this path"))
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            return JSONResponse.error(RegistrarError(code: .invalidRequest, status: error.status.code, description: error.status.reasonPhrase))
        } catch {
            // A store's errors say what failed without values (a client ID, SQLite's or PostgreSQL's
            // message about a statement, never its parameters); any other error by its type only.
            let detail = (error as? StoreError).map { String(describing: $0) } ?? String(reflecting: type(of: error))
            context.logger.error("request failed", metadata: ["error": .string(detail)])
            return JSONResponse.error(.serverError)
        }
    }
}
