import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistrarCore

/// The administration API, in INDIGO IAM's shapes: `/iam/api/clients`, `/iam/api/search/clients`,
/// and the audit trail at `/iam/api/audit`. Callers present an access token from this server's token
/// endpoint carrying `iam:admin.read` (reads) or `iam:admin.write` (changes).
struct AdminController {
    let admin: AdminService
    let tokens: TokenService
    let options: HTTPOptions

    static let readScope = "iam:admin.read"
    static let writeScope = "iam:admin.write"

    func addRoutes(to root: RouterGroup<RegistrarRequestContext>) {
        let clients = root.group("/iam/api/clients")
        clients.get(use: list)
        clients.post(use: create)
        MethodNotAllowed.add(to: clients, path: "", allowed: [.get, .post])
        clients.get(":client_id", use: read)
        clients.put(":client_id", use: replace)
        clients.delete(":client_id", use: delete)
        MethodNotAllowed.add(to: clients, path: ":client_id", allowed: [.get, .put, .delete])
        clients.post(":client_id/secret", use: rotateSecret)
        MethodNotAllowed.add(to: clients, path: ":client_id/secret", allowed: [.post])
        clients.post(":client_id/rat", use: rotateToken)
        MethodNotAllowed.add(to: clients, path: ":client_id/rat", allowed: [.post])
        clients.patch(":client_id/enable") { request, context in try await setActive(request, context, true) }
        MethodNotAllowed.add(to: clients, path: ":client_id/enable", allowed: [.patch])
        clients.patch(":client_id/disable") { request, context in try await setActive(request, context, false) }
        MethodNotAllowed.add(to: clients, path: ":client_id/disable", allowed: [.patch])
        root.get("/iam/api/search/clients", use: search)
        MethodNotAllowed.add(to: root, path: "/iam/api/search/clients", allowed: [.get])
        root.get("/iam/api/audit", use: audit)
        MethodNotAllowed.add(to: root, path: "/iam/api/audit", allowed: [.get])
    }

    /// RFC 6750: no token → 401 `Bearer`; a bad one → 401 `invalid_token`; a good one without the
    /// scope → 403 `insufficient_scope`. Returns the acting administration client.
    func authorize(_ request: Request, _ context: RegistrarRequestContext, scope: String) async throws -> Actor {
        let address = ClientAddress.of(request, context, trusted: options.trustedProxies)
        try await RegistrationController.limit(options.failedTokenLimiter, address, what: "failed token attempts", peek: true)
        guard let token = try RegistrationController.bearerToken(request) else { throw RegistrarError.missingToken }
        guard let (claims, client) = try await tokens.verifiedAccessToken(token), case .string(let clientID)? = claims["client_id"] else {
            _ = await options.failedTokenLimiter?.take(address)
            throw RegistrarError.invalidToken("the access token is invalid, expired or revoked")
        }
        // A scope counts if the token was granted it and the client still holds it: an operator
        // who takes the administration scopes from a client ends its tokens' access at once.
        let held = client.admin ? Set(client.metadata.scope ?? []) : []
        let granted = (claims["scope"]?.stringValue?.split(separator: " ").map(String.init) ?? []).filter(held.contains)
        // Writing implies reading.
        guard granted.contains(scope) || (scope == Self.readScope && granted.contains(Self.writeScope)) else {
            throw RegistrarError(code: .insufficientScope, status: 403, description: "this operation needs the \(scope) scope",
                                 challenge: .insufficientScope(scope))
        }
        return Actor(ip: address, adminClientID: clientID)
    }

    static func integer(_ request: Request, _ name: String, default value: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        if let n = Int(text) { return n }
        // A whole number too large for 64 bits counts as the largest (or smallest) one, so that
        // `count=99999999999999999999` is capped like any large count.
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw RegistrarError.invalidRequest("\(name) must be a whole number")
        }
        return text.first == "-" ? Int.min : Int.max
    }

    static func flag(_ request: Request, _ name: String) -> Bool {
        request.uri.queryParameters.get(name)?.lowercased() == "true"
    }

    @Sendable func list(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        _ = try await authorize(request, context, scope: Self.readScope)
        let page = try await admin.list(startIndex: try Self.integer(request, "startIndex", default: 1),
                                        count: try Self.integer(request, "count", default: 10), dynamicOnly: Self.flag(request, "drOnly"))
        return JSONResponse.make(.ok, page)
    }

    @Sendable func search(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        _ = try await authorize(request, context, scope: Self.readScope)
        guard let text = request.uri.queryParameters.get("search"), !text.isEmpty else { throw RegistrarError.invalidRequest("search is required") }
        let typeName = request.uri.queryParameters.get("searchType") ?? "name"
        guard let kind = ClientSearchKind(rawValue: typeName) else {
            throw RegistrarError.invalidRequest("searchType must be one of \(ClientSearchKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let page = try await admin.search(text: text, kind: kind, startIndex: try Self.integer(request, "startIndex", default: 1),
                                          count: try Self.integer(request, "count", default: 10), dynamicOnly: Self.flag(request, "drOnly"))
        return JSONResponse.make(.ok, page)
    }

    @Sendable func read(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        _ = try await authorize(request, context, scope: Self.readScope)
        return JSONResponse.make(.ok, admin.view(try await admin.client(try context.parameters.require("client_id"))))
    }

    @Sendable func create(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        let body = try await RegistrationController.jsonBody(request, context: context)
        return JSONResponse.make(.created, try await admin.create(body: body, actor: actor))
    }

    @Sendable func replace(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        let body = try await RegistrationController.jsonBody(request, context: context)
        return JSONResponse.make(.ok, try await admin.replace(try context.parameters.require("client_id"), body: body, actor: actor))
    }

    @Sendable func delete(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        try await admin.delete(try context.parameters.require("client_id"), actor: actor)
        return Response(status: .noContent)
    }

    @Sendable func rotateSecret(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        return JSONResponse.make(.created, try await admin.rotateSecret(try context.parameters.require("client_id"), actor: actor))
    }

    @Sendable func rotateToken(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        return JSONResponse.make(.created, try await admin.rotateRegistrationToken(try context.parameters.require("client_id"), actor: actor))
    }

    func setActive(_ request: Request, _ context: RegistrarRequestContext, _ active: Bool) async throws -> Response {
        let actor = try await authorize(request, context, scope: Self.writeScope)
        try await admin.setActive(try context.parameters.require("client_id"), active, actor: actor)
        return Response(status: .ok)
    }

    @Sendable func audit(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        _ = try await authorize(request, context, scope: Self.readScope)
        var since: Timestamp?
        if let text = request.uri.queryParameters.get("since") {
            guard let seconds = Int64(text), seconds >= 0 else {
                throw RegistrarError.invalidRequest("since must be a time in seconds since the epoch")
            }
            // Events carry their time in milliseconds, so a copied `time` is an easy mistake; read
            // as seconds it would be a date thousands of years ahead and silently match nothing.
            guard seconds < 100_000_000_000 else {
                throw RegistrarError.invalidRequest("since must be a time in seconds since the epoch; \(seconds) looks like milliseconds")
            }
            since = Timestamp(milliseconds: seconds.secondsAsMilliseconds)
        }
        let events = try await admin.auditEvents(clientID: request.uri.queryParameters.get("client_id").map { String($0) }, since: since,
                                                 limit: try Self.integer(request, "count", default: 1000))
        return JSONResponse.make(.ok, JSONObject([("events", .array(events.map { .object($0.json) }))]))
    }
}
