import HTTPTypes
import Hummingbird
import NIOCore
import RegistrarCore

/// The registration endpoint (RFC 7591 §3) and the client configuration endpoint (RFC 7592 §2),
/// at INDIGO IAM's path.
struct RegistrationController {
    let service: RegistrationService
    let options: HTTPOptions

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        // With registration disabled, the endpoint does not exist; clients already registered can
        // still read, update and delete themselves.
        if service.settings.registration.mode != .disabled {
            group.post(use: register)
            MethodNotAllowed.add(to: group, path: "", allowed: [.post])
        }
        group.get(":client_id", use: read)
        group.put(":client_id", use: update)
        group.delete(":client_id", use: delete)
        MethodNotAllowed.add(to: group, path: ":client_id", allowed: [.get, .put, .delete])
        group.post(":client_id/secret", use: rotateSecret)
        MethodNotAllowed.add(to: group, path: ":client_id/secret", allowed: [.post])
    }

    @Sendable func register(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let address = clientAddress(request, context)
        try await Self.limit(options.registrationLimiter, address, what: "registrations", audit: service.audit)
        let actor = Actor(ip: address)
        let bearer = try await bearerToken(request, auditing: nil, actor)
        if bearer != nil { try await Self.limit(options.failedTokenLimiter, address, what: "failed token attempts", peek: true) }
        let body = try await jsonBody(request, context, auditing: nil, actor)
        let response: ClientResponse
        do {
            response = try await countingFailedTokens(address) { try await service.register(body: body, initialAccessToken: bearer, actor: actor) }
        } catch {
            RegistrarMetrics.registration("refused")
            throw error
        }
        RegistrarMetrics.registration("created")
        return JSONResponse.make(.created, json: response.bytes, headers: [.location: response.registrationClientURI])
    }

    @Sendable func read(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let call = try await clientCall(request, context)
        let response = try await countingFailedTokens(call.address) { try await service.read(clientID: call.clientID, bearer: call.bearer, actor: call.actor) }
        return JSONResponse.make(.ok, json: response.bytes)
    }

    @Sendable func update(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let call = try await clientCall(request, context)
        // Authenticate first, so that an unauthenticated caller learns nothing about body rules.
        let authenticated: AuthenticatedClient
        do {
            authenticated = try await countingFailedTokens(call.address) { try await service.authenticate(clientID: call.clientID, bearer: call.bearer) }
        } catch {
            await service.recordRefusal(error, call.clientID, call.actor)
            throw error
        }
        let body = try await jsonBody(request, context, auditing: call.clientID, call.actor)
        let response = try await service.update(authenticated, body: body, actor: call.actor)
        return JSONResponse.make(.ok, json: response.bytes)
    }

    @Sendable func delete(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let call = try await clientCall(request, context)
        try await countingFailedTokens(call.address) { try await service.delete(clientID: call.clientID, bearer: call.bearer, actor: call.actor) }
        return Response(status: .noContent)
    }

    /// Owner-level secret rotation: a new secret for the holder of the registration access token.
    @Sendable func rotateSecret(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let call = try await clientCall(request, context)
        let response = try await countingFailedTokens(call.address) {
            try await service.rotateSecret(clientID: call.clientID, bearer: call.bearer, actor: call.actor)
        }
        return JSONResponse.make(.ok, json: response.bytes)
    }

    /// What a request at a client's URL starts with.
    struct ClientCall {
        let clientID: String
        let address: String
        let actor: Actor
        let bearer: String?
    }

    /// The client ID of the URL, the caller's address (`429` once it has used up its failed-token
    /// bucket) and the bearer token (a malformed `Authorization` is audited as a refusal).
    func clientCall(_ request: Request, _ context: RegistrarRequestContext) async throws -> ClientCall {
        let clientID = try context.parameters.require("client_id")
        let address = clientAddress(request, context)
        try await Self.limit(options.failedTokenLimiter, address, what: "failed token attempts", peek: true, audit: service.audit, clientID: clientID)
        let actor = Actor(ip: address)
        return ClientCall(clientID: clientID, address: address, actor: actor, bearer: try await bearerToken(request, auditing: clientID, actor))
    }

    /// ``bearerToken(_:)``, its refusal recorded in the audit trail.
    func bearerToken(_ request: Request, auditing clientID: String?, _ actor: Actor) async throws -> String? {
        do { return try Self.bearerToken(request) } catch { await service.recordRefusal(error, clientID, actor); throw error }
    }

    /// ``jsonBody(_:context:)``, its refusal recorded in the audit trail.
    func jsonBody(_ request: Request, _ context: RegistrarRequestContext, auditing clientID: String?, _ actor: Actor) async throws -> [UInt8] {
        do { return try await Self.jsonBody(request, context: context) } catch { await service.recordRefusal(error, clientID, actor); throw error }
    }

    func clientAddress(_ request: Request, _ context: RegistrarRequestContext) -> String {
        ClientAddress.of(request, context, trusted: options.trustedProxies)
    }

    /// Runs `body`; a rejected token (not a missing one) costs the client address a token of the
    /// failed-attempt bucket, so that guessing tokens is slowed down (RFC 7592 §2).
    func countingFailedTokens<T>(_ address: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RegistrarError where error.challenge == .invalidToken {
            _ = await options.failedTokenLimiter?.take(address)
            throw error
        }
    }

    /// Answers 429 with `Retry-After` when the address has used up its bucket.
    static func limit(_ limiter: RateLimiter?, _ address: String, what: String, peek: Bool = false, audit: AuditLog? = nil,
                      clientID: String? = nil) async throws {
        guard let limiter else { return }
        let decision = peek ? await limiter.check(address) : await limiter.take(address)
        if case .limited(let retryAfter) = decision {
            RegistrarMetrics.rateLimited(what)
            await audit?.record(AuditEvent(time: SystemWallClock().now(), kind: .rateLimited, clientID: clientID, actorIP: address,
                                           outcome: "failure", detail: what))
            throw RegistrarError(code: .tooManyRequests, status: 429,
                                 description: "too many \(what) from this address; retry after \(retryAfter) seconds",
                                 retryAfter: retryAfter)
        }
    }

    /// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1). Another scheme or no
    /// header means no token; two Authorization headers are a malformed request.
    static func bearerToken(_ request: Request) throws(RegistrarError) -> String? {
        let values = request.headers[values: .authorization]
        guard !values.isEmpty else { return nil }
        guard values.count == 1 else {
            throw RegistrarError(code: .invalidRequest, status: 400, description: "only one Authorization header is allowed", challenge: .invalidRequest)
        }
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
