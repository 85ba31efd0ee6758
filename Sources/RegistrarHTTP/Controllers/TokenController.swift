import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistrarCore

/// The token endpoint (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009).
struct TokenController {
    let tokens: TokenService
    let options: HTTPOptions

    static let tokenPath = "/token"
    static let introspectionPath = "/introspect"
    static let revocationPath = "/revoke"

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        group.post(RouterPath(Self.tokenPath), use: token)
        group.post(RouterPath(Self.introspectionPath), use: introspect)
        group.post(RouterPath(Self.revocationPath), use: revoke)
        for path in [Self.tokenPath, Self.introspectionPath, Self.revocationPath] {
            MethodNotAllowed.add(to: group, path: RouterPath(path), allowed: [.post])
        }
    }

    @Sendable func token(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let (form, credentials, address) = try await prepare(request, context)
        let body = try await countingFailures(address) { try await tokens.token(form: form, credentials: credentials) }
        return JSONResponse.make(.ok, body)
    }

    @Sendable func introspect(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let (form, credentials, address) = try await prepare(request, context)
        let body = try await countingFailures(address) { try await tokens.introspect(form: form, credentials: credentials) }
        return JSONResponse.make(.ok, body)
    }

    @Sendable func revoke(_ request: Request, context: RegistrarRequestContext) async throws -> Response {
        let (form, credentials, address) = try await prepare(request, context)
        try await countingFailures(address) { try await tokens.revoke(form: form, credentials: credentials) }
        return Response(status: .ok)
    }

    func prepare(_ request: Request, _ context: RegistrarRequestContext) async throws -> ([String: String], ClientCredentials, String) {
        let address = ClientAddress.of(request, context, trusted: options.trustedProxies)
        try await RegistrationController.limit(options.failedTokenLimiter, address, what: "failed client authentications", peek: true)
        let form = try await Self.formBody(request, context: context)
        // Missing or malformed credentials count as failed attempts too.
        let credentials = try await countingFailures(address) { try Self.credentials(request, form: form) }
        return (form, credentials, address)
    }

    func countingFailures<T>(_ address: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RegistrarError where error.code == .invalidClient {
            _ = await options.failedTokenLimiter?.take(address)
            throw error
        }
    }

    /// The form body (RFC 6749 §3.2: `application/x-www-form-urlencoded`); a parameter sent twice is
    /// refused (RFC 6749 §3.1).
    static func formBody(_ request: Request, context: RegistrarRequestContext) async throws -> [String: String] {
        let media = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingSpaces().lowercased() }
        guard media == "application/x-www-form-urlencoded" else {
            throw RegistrarError.invalidRequest("Content-Type must be application/x-www-form-urlencoded")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        // Bytes sent raw must be UTF-8 as decoded ones must: reading them leniently would turn a
        // stray byte into U+FFFD and accept the form.
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw RegistrarError.invalidRequest("the form body is not valid application/x-www-form-urlencoded")
        }
        return try parseForm(text)
    }

    /// The parameters of an `application/x-www-form-urlencoded` body; a parameter sent twice or a
    /// component that does not decode is refused.
    static func parseForm(_ text: String) throws(RegistrarError) -> [String: String] {
        var form: [String: String] = [:]
        // Split on the bytes of `&` and `=` (ASCII, so always between characters): splitting the
        // String by Character was 1.5 % of a token request.
        for pair in text.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let pair = Substring(pair)
            let equals = pair.utf8.firstIndex(of: UInt8(ascii: "="))
            let rawName = equals.map { pair[..<$0] } ?? pair
            let rawValue = equals.map { pair[pair.utf8.index(after: $0)...] } ?? ""
            guard let name = formDecode(rawName), let value = formDecode(rawValue) else {
                throw RegistrarError.invalidRequest("the form body is not valid application/x-www-form-urlencoded")
            }
            guard form[name] == nil else { throw RegistrarError.invalidRequest("the parameter \(name.prefix(40)) is sent more than once") }
            form[name] = value
        }
        return form
    }

    /// Decodes one form component: `+` is a space, `%XX` a byte; the result must be UTF-8.
    static func formDecode(_ text: Substring) -> String? {
        // Most components (grant types, client IDs, tokens) have nothing to decode.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The client's credentials: exactly one method (RFC 6749 §2.3).
    static func credentials(_ request: Request, form: [String: String]) throws -> ClientCredentials {
        var found: [ClientCredentials] = []
        let headers = request.headers[values: .authorization]
        guard headers.count <= 1 else { throw RegistrarError.invalidRequest("only one Authorization header is allowed") }
        if let header = headers.first {
            // Every failure reads the same, whatever went wrong (RFC 6749 §5.2).
            guard header.count > 6, header.prefix(6).lowercased() == "basic " else { throw RegistrarError.invalidClient() }
            let encoded = header.dropFirst(6).trimmingSpaces()
            guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8),
                  let colon = decoded.firstIndex(of: ":"),
                  let id = formDecode(decoded[..<colon]), let secret = formDecode(decoded[decoded.index(after: colon)...])
            else {
                throw RegistrarError.invalidClient()
            }
            found.append(.basic(clientID: id, secret: secret))
        }
        if let secret = form["client_secret"] {
            guard let id = form["client_id"] else { throw RegistrarError.invalidRequest("client_secret needs client_id") }
            found.append(.post(clientID: id, secret: secret))
        }
        if let type = form["client_assertion_type"] {
            guard type == ClientCredentials.jwtBearerAssertionType else {
                throw RegistrarError.invalidRequest("client_assertion_type must be \(ClientCredentials.jwtBearerAssertionType)")
            }
            guard let assertion = form["client_assertion"], !assertion.isEmpty else { throw RegistrarError.invalidRequest("client_assertion is required") }
            found.append(.assertion(assertion, clientID: form["client_id"]))
        } else if form["client_assertion"] != nil {
            // RFC 7521 §4.2: the assertion and its type come together.
            throw RegistrarError.invalidRequest("client_assertion needs client_assertion_type (RFC 7521 §4.2)")
        }
        guard found.count <= 1 else {
            throw RegistrarError.invalidRequest("use exactly one client authentication method (RFC 6749 §2.3)")
        }
        if let only = found.first {
            if case .basic(let id, _) = only, let formID = form["client_id"], formID != id {
                throw RegistrarError.invalidRequest("client_id in the body does not match the Basic credentials")
            }
            return only
        }
        guard let id = form["client_id"], !id.isEmpty else { throw RegistrarError.invalidClient() }
        return .none(clientID: id)
    }
}
