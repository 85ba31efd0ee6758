import Hummingbird
import NIOCore
import RegistrarCore

/// The registration endpoint (RFC 7591 §3) and the client configuration endpoint (RFC 7592 §2),
/// at INDIGO IAM's path.
struct RegistrationController {
    let service: RegistrationService

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        group.post(use: register)
        group.get(":client_id", use: read)
        group.put(":client_id", use: update)
        group.delete(":client_id", use: delete)
        MethodNotAllowed.add(to: group, path: "", allowed: [.post])
        MethodNotAllowed.add(to: group, path: ":client_id", allowed: [.get, .put, .delete])
    }

    @Sendable func register(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let body = try await Self.jsonBody(request, context: context)
        let response = try await service.register(body: body)
        return JSONResponse.make(.created, response.json, headers: [.location: response.registrationClientURI])
    }

    @Sendable func read(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let clientID = try context.parameters.require("client_id")
        let response = try await service.read(clientID: clientID, bearer: try Self.bearerToken(request))
        return JSONResponse.make(.ok, response.json)
    }

    @Sendable func update(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let clientID = try context.parameters.require("client_id")
        // Authenticate first, so that an unauthenticated caller learns nothing about body rules.
        let authenticated = try await service.authenticate(clientID: clientID, bearer: try Self.bearerToken(request))
        let body = try await Self.jsonBody(request, context: context)
        let response = try await service.update(authenticated, body: body)
        return JSONResponse.make(.ok, response.json)
    }

    @Sendable func delete(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let clientID = try context.parameters.require("client_id")
        try await service.delete(clientID: clientID, bearer: try Self.bearerToken(request))
        return Response(status: .noContent)
    }

    /// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1). Another scheme or no
    /// header means no token; two Authorization headers are a malformed request.
    static func bearerToken(_ request: Request) throws(RegistrarError) -> String? {
        let values = request.headers[values: .authorization]
        guard !values.isEmpty else { return nil }
        guard values.count == 1 else { throw RegistrarError.invalidRequest("only one Authorization header is allowed") }
        let value = values[0]
        guard value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        let token = value.dropFirst(7).trimmingSpaces()
        return token.isEmpty ? nil : token
    }

    /// The request body, which must be JSON (`application/json`, or no media type at all, which
    /// curl and httpie users sometimes leave out) and at most 64 KiB.
    static func jsonBody(_ request: Request, context: RegistrarRequestContext) async throws -> [UInt8] {
        if let type = request.headers[.contentType] {
            let media = type.split(separator: ";").first.map { $0.trimmingSpaces().lowercased() } ?? ""
            guard media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json")) else {
                throw RegistrarError.invalidRequest("Content-Type must be application/json")
            }
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw RegistrarError(code: .invalidRequest, status: 413, description: "the request body is larger than \(context.maxUploadSize) bytes")
        }
        var buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

extension String {
    func trimmingSpaces() -> String { self[...].trimmingSpaces() }
}
