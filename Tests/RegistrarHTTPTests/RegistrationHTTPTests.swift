import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import NIOCore
import RegistrarCore
import RegistrarHTTP
import RegistrarTesting
import Testing

@Suite("HTTP: the seed's session through the real router")
struct SeedSessionTests {
    @Test("register, read, update, delete, then the token is dead")
    func seedSession() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, token, created) = try await client.execute(
                uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)
            ) { response in
                #expect(response.status == .created)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[HTTPField.Name("Pragma")!] == "no-cache")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                let o = try response.object
                let id = try #require(o["client_id"]?.stringValue)
                #expect(UUID(uuidString: id) != nil)
                #expect(response.headers[.location] == "https://id.example.org/iam/api/client-registration/\(id)")
                #expect(o["registration_client_uri"] == .string("https://id.example.org/iam/api/client-registration/\(id)"))
                #expect(o["client_secret"]?.stringValue?.count == 86)
                for member in ["client_name", "redirect_uris", "contacts", "grant_types", "response_types", "token_endpoint_auth_method",
                               "scope", "reuse_refresh_token", "dynamically_registered", "clear_access_tokens_on_refresh",
                               "require_auth_time", "registration_access_token", "created_at", "client_id_issued_at",
                               "client_secret_expires_at"] {
                    #expect(o[member] != nil, "missing \(member)")
                }
                return (id, o["registration_access_token"]!.stringValue!, o)
            }

            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                var expected = created
                expected["client_secret"] = nil
                let got = try response.object
                #expect(got == expected)
            }

            var changed = created
            changed["client_name"] = .string("renamed-client")
            changed["redirect_uris"] = .array([.string("https://another.client.example/oidc2")])
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put,
                                     headers: bearer(token) + jsonHeaders, body: ByteBuffer(bytes: JSONWriter.bytes(.object(changed)))) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o["client_name"] == .string("renamed-client"))
                #expect(o["redirect_uris"] == .array([.string("https://another.client.example/oidc2")]))
                #expect(o["client_secret"] == nil)
                #expect(o["registration_access_token"] == .string(token))
            }

            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .delete, headers: bearer(token)) { response in
                #expect(response.status == .noContent)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }

            for method in [HTTPRequest.Method.get, .put, .delete] {
                try await client.execute(uri: "/iam/api/client-registration/\(id)", method: method, headers: bearer(token) + jsonHeaders,
                                         body: method == .put ? ByteBuffer(bytes: JSONWriter.bytes(.object(changed))) : nil) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer error=\"invalid_token\"") == true)
                    #expect(response.oauthError?.code == "invalid_token")
                    let got = try response.object
                    #expect(got["client_id"] == nil)
                }
            }
        }
    }

    @Test("the registration access token is a JWT under the server's HMAC key by default; with ES256 or RS256 it verifies against the published JWK Set",
          arguments: RegistrationTokenAlgorithm.allCases)
    func tokenSignature(_ algorithm: RegistrationTokenAlgorithm) async throws {
        try await HTTPFixture.withRouter(configure: { $0.registrationTokenAlgorithm = algorithm }) { client, _ in
            let (id, token, _) = try await registerSeedClient(client)
            let jws = try #require(CompactJWS(token))
            #expect(jws.header["alg"] == .string(algorithm.rawValue))
            let jwks = try await client.execute(uri: "/jwks", method: .get) { String(buffer: $0.body) }
            let keys = JWTKeyCollection()
            try await keys.add(jwksJSON: jwks)
            struct RAT: JWTPayload {
                var iss: IssuerClaim
                var aud: AudienceClaim
                var iat: IssuedAtClaim
                var jti: IDClaim
                func verify(using algorithm: some JWTAlgorithm) throws {}
            }
            if algorithm == .hs256 {
                #expect(try await TestKeys.keys().registrationTokenKey.verify(jws.signature, over: jws.signingInput))
                await #expect(throws: (any Error).self) { _ = try await keys.verify(token, as: RAT.self) }
                #expect(jws.claims["iss"] == .string(HTTPFixture.issuer) && jws.claims["aud"] == .string(id))
            } else {
                let rat = try await keys.verify(token, as: RAT.self)
                #expect(rat.iss.value == HTTPFixture.issuer)
                #expect(rat.aud.value == [id])
            }
        }
    }
}

@Suite("HTTP: bearer tokens (RFC 6750)")
struct BearerTests {
    @Test("no token: 401 with a bare Bearer challenge and a JSON body")
    func noToken() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, _, _) = try await registerSeedClient(client)
            for headers in [HTTPFields(), [.authorization: "Basic dXNlcjpwYXNz"], [.authorization: "Bearer "]] {
                try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(response.oauthError?.code == "invalid_token")
                }
            }
        }
    }

    @Test("forged, malformed and unknown tokens: 401 invalid_token", arguments: [
        "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.", "a b c", String(repeating: "x", count: 5000),
    ])
    func badTokens(_ token: String) async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, _, _) = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true)
                #expect(response.oauthError?.code == "invalid_token")
            }
        }
    }

    @Test("a token of client A at client B's URI: 401, and A's token is revoked")
    func crossClient() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (a, tokenA, _) = try await registerSeedClient(client)
            let (b, tokenB, _) = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration/\(b)", method: .get, headers: bearer(tokenA)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/iam/api/client-registration/\(a)", method: .get, headers: bearer(tokenA)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/iam/api/client-registration/\(b)", method: .get, headers: bearer(tokenB)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("an unknown client is 401, never 404")
    func unknownClient() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (_, token, _) = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration/9bef3e68-f329-4dbf-9c3e-45647c08dfd5", method: .delete, headers: bearer(token)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("two Authorization headers are a malformed request, with a Bearer challenge (RFC 6750 §3)")
    func twoHeaders() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, token, _) = try await registerSeedClient(client)
            var headers = bearer(token)
            headers.append(HTTPField(name: .authorization, value: "Bearer other"))
            for method in [HTTPRequest.Method.get, .delete] {
                try await client.execute(uri: "/iam/api/client-registration/\(id)", method: method, headers: headers) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.oauthError?.code == "invalid_request")
                    #expect(response.headers[.wwwAuthenticate] == #"Bearer error="invalid_request", error_description="only one Authorization header is allowed""#)
                }
            }
            // Nothing was deleted.
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

@Suite("HTTP: bad input gets a clear error and loses nothing")
struct BadInputTests {
    @Test("bodies that are not a JSON object: 400 invalid_request", arguments: [
        "", "not json", "[1,2]", "null", "\"string\"", "{\"a\":", "{\"redirect_uris\":[\"https://a.example/cb\"]} trailing",
    ])
    func notJSON(_ text: String) async throws {
        try await HTTPFixture.withRouter { client, service in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: text)) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.oauthError?.code == "invalid_request")
            }
            #expect(try await service.store.count() == 0)
        }
    }

    @Test("invalid UTF-8 is a 400, not a crash")
    func invalidUTF8() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let bytes: [UInt8] = Array(#"{"client_name":""#.utf8) + [0xFF, 0xFE] + Array(#"","redirect_uris":["https://a.example/cb"]}"#.utf8)
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_request")
            }
        }
    }

    @Test("metadata errors carry the RFC 7591 code and name the member")
    func metadataErrors() async throws {
        try await HTTPFixture.withRouter { client, service in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders,
                                     body: ByteBuffer(string: #"{"redirect_uris":["https://a.example/cb#frag"]}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_redirect_uri")
                #expect(response.oauthError?.description.contains("redirect_uris[0]") == true)
            }
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders,
                                     body: ByteBuffer(string: #"{"redirect_uris":["https://a.example/cb"],"grant_types":["bogus"]}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_client_metadata")
                #expect(response.oauthError?.description.contains("grant_types") == true)
            }
            #expect(try await service.store.count() == 0)
        }
    }

    @Test("error descriptions are printable ASCII without quotes or backslashes (RFC 6749 §5.2, RFC 7591 §3.2.2)")
    func asciiDescriptions() async throws {
        @Sendable func allowed(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }
        }
        try await HTTPFixture.withRouter(withTokens: true) { client, service in
            let cases: [(body: String, code: String, contains: String)] = [
                (#"{"redirect_uris":["https://a.example/cb"],"client_name#bad_tag!":"x"}"#, "invalid_client_metadata", "'client_name#bad_tag!'"),
                (#"{"redirect_uris":["https://a.example/cb"],"jwks":{"keys":[]},"jwks_uri":"https://a.example/j"}"#, "invalid_client_metadata", "(RFC 7591 section 2)"),
                (#"{"redirect_uris":["https://a.example/cb"],"grant_types":["gr\"\u00fc\\x\u0001"]}"#, "invalid_client_metadata", "'gr???x?'"),
                (#"{"cl\u00efent\"\\":1,"cl\u00efent\"\\":2}"#, "invalid_request", "cl?ent"),
            ]
            for (body, code, fragment) in cases {
                try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(response.oauthError?.code == code, "\(body)")
                    let description = response.oauthError?.description ?? ""
                    #expect(allowed(description), "\(description)")
                    #expect(description.contains(fragment), "\(description)")
                }
            }
            // A parameter name from the form, decoded, at the token endpoint.
            try await client.execute(uri: "/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "grant_type=client_credentials&x%22%C3%BC%5C=1&x%22%C3%BC%5C=2")) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_request")
                let description = response.oauthError?.description ?? ""
                #expect(allowed(description) && description.contains("x'??"), "\(description)")
            }
            #expect(try await service.store.count() == 0)
        }
    }

    @Test("a body over 64 KiB: 413 with a JSON error, with or without Content-Length")
    func tooLarge() async throws {
        try await HTTPFixture.withRouter { client, service in
            let big = #"{"client_name":""# + String(repeating: "a", count: 70_000) + #""}"#
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.oauthError?.code == "invalid_request")
            }
            #expect(try await service.store.count() == 0)
        }
    }

    @Test("a form-encoded body is refused, never parsed as a form")
    func formEncoded() async throws {
        try await HTTPFixture.withRouter { client, _ in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "redirect_uris=https://a.example/cb")) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.description.contains("application/json") == true)
            }
        }
    }

    @Test("JSON without a Content-Type and with a charset is accepted")
    func lenientContentType() async throws {
        try await HTTPFixture.withRouter { client, _ in
            for headers in [HTTPFields(), [.contentType: "application/json; charset=utf-8"]] {
                try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: headers,
                                         body: ByteBuffer(string: seedBody)) { response in
                    #expect(response.status == .created)
                }
            }
        }
    }

    @Test("an invalid PUT changes nothing")
    func invalidPut() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, token, created) = try await registerSeedClient(client)
            var bad = created
            bad["redirect_uris"] = .array([.string("javascript:alert(1)")])
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(bytes: JSONWriter.bytes(.object(bad)))) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_redirect_uri")
            }
            var wrongID = created
            wrongID["client_id"] = .string("other")
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: bearer(token) + jsonHeaders,
                                     body: ByteBuffer(bytes: JSONWriter.bytes(.object(wrongID)))) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_request")
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(token)) { response in
                var expected = created
                expected["client_secret"] = nil
                let got = try response.object
                #expect(got == expected)
            }
        }
    }
}

@Suite("HTTP: routing, headers, discovery")
struct RoutingTests {
    @Test("unknown paths: 404 with a JSON body")
    func notFound() async throws {
        try await HTTPFixture.withRouter { client, _ in
            try await client.execute(uri: "/register", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.oauthError?.code == "not_found")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test("wrong methods: 405 with Allow", arguments: [
        ("/iam/api/client-registration", HTTPRequest.Method.get, "POST, OPTIONS"),
        ("/iam/api/client-registration", .delete, "POST, OPTIONS"),
        ("/iam/api/client-registration/abc", .post, "GET, PUT, DELETE, HEAD, OPTIONS"),
        ("/iam/api/client-registration/abc", .patch, "GET, PUT, DELETE, HEAD, OPTIONS"),
        ("/.well-known/openid-configuration", .post, "GET, HEAD, OPTIONS"),
        ("/jwks", .delete, "GET, HEAD, OPTIONS"),
    ])
    func methodNotAllowed(_ path: String, _ method: HTTPRequest.Method, _ allow: String) async throws {
        try await HTTPFixture.withRouter { client, _ in
            try await client.execute(uri: path, method: method) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == allow)
                #expect(response.oauthError?.code == "method_not_allowed")
            }
        }
    }

    @Test("CORS preflight allows Authorization and Content-Type from any origin")
    func preflight() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let headers: HTTPFields = [.origin: "https://dashboard.example", .accessControlRequestMethod: "PUT",
                                       .accessControlRequestHeaders: "authorization, content-type"]
            try await client.execute(uri: "/iam/api/client-registration/abc", method: .options, headers: headers) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Content-Type") == true)
                #expect(response.headers[.accessControlAllowMethods]?.contains("PUT") == true)
            }
        }
    }

    @Test("OPTIONS answers with Allow on known resources and 404 elsewhere; HEAD comes with GET")
    func optionsAndHead() async throws {
        try await HTTPFixture.withRouter { client, _ in
            try await client.execute(uri: "/iam/api/client-registration", method: .options) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.allow] == "POST, OPTIONS")
            }
            try await client.execute(uri: "/nowhere", method: .options) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/.well-known/openid-configuration", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test("PUT checks the token before it looks at the body")
    func putAuthenticatesFirst() async throws {
        try await HTTPFixture.withRouter { client, _ in
            let (id, _, _) = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .put, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: "junk")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
        }
    }

    @Test("URLs come from the issuer, never from the Host header")
    func hostHeaderIgnored() async throws {
        try await HTTPFixture.withRouter { client, _ in
            var headers = jsonHeaders
            headers[HTTPField.Name("Host")!] = "evil.example"
            headers[HTTPField.Name("X-Forwarded-Host")!] = "evil.example"
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: headers, body: ByteBuffer(string: seedBody)) { response in
                let o = try response.object
                #expect(o["registration_client_uri"]?.stringValue?.hasPrefix("https://id.example.org/") == true)
                #expect(response.headers[.location]?.hasPrefix("https://id.example.org/") == true)
            }
            try await client.execute(uri: "/.well-known/openid-configuration", method: .get, headers: headers) { response in
                #expect(!String(buffer: response.body).contains("evil"))
            }
        }
    }

    @Test("an issuer with a path serves every endpoint under it")
    func issuerPath() async throws {
        try await HTTPFixture.withRouter(issuer: "https://id.example.org/realms/research/") { client, _ in
            let o = try await client.execute(uri: "/realms/research/iam/api/client-registration", method: .post, headers: jsonHeaders,
                                             body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .created)
                return try response.object
            }
            #expect(o["registration_client_uri"]?.stringValue?.hasPrefix("https://id.example.org/realms/research/iam/api/client-registration/") == true)
            try await client.execute(uri: "/realms/research/.well-known/openid-configuration", method: .get) { response in
                let got = try response.object
                #expect(got["issuer"] == .string("https://id.example.org/realms/research"))
            }
            try await client.execute(uri: "/.well-known/oauth-authorization-server/realms/research", method: .get) { response in
                #expect(response.status == .ok)
                let got = try response.object
                #expect(got["registration_endpoint"] == .string("https://id.example.org/realms/research/iam/api/client-registration"))
            }
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("both discovery documents advertise the endpoints built from the issuer", arguments: [
        "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
    ])
    func discovery(_ path: String) async throws {
        try await HTTPFixture.withRouter { client, service in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o["issuer"] == .string("https://id.example.org"))
                #expect(o["registration_endpoint"] == .string("https://id.example.org/iam/api/client-registration"))
                #expect(o["jwks_uri"] == .string("https://id.example.org/jwks"))
                #expect(o["grant_types_supported"] == .array(service.configuration.grantTypesSupported.map { .string($0.rawValue) }))
                #expect(o["token_endpoint_auth_methods_supported"] == .array(service.configuration.authMethodsSupported.map { .string($0.rawValue) }))
            }
        }
    }

    @Test("every value discovery advertises is accepted by registration (under a policy that allows everything)")
    func discoveryMatchesValidation() async throws {
        try await HTTPFixture.withRouter(settings: permissiveSettings) { client, _ in
            let o = try await client.execute(uri: "/.well-known/openid-configuration", method: .get) { try $0.object }
            func strings(_ name: String) -> [String] { o[name]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            var bodies: [String] = []
            for grant in strings("grant_types_supported") {
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"grant_types":[\#(quoted(grant))]}"#)
            }
            for type in strings("response_types_supported") {
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","implicit"],"response_types":[\#(quoted(type))]}"#)
            }
            for method in strings("token_endpoint_auth_methods_supported") {
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":\#(quoted(method)),"jwks_uri":"https://a.example/jwks"}"#)
            }
            for alg in strings("token_endpoint_auth_signing_alg_values_supported") {
                let method = alg.hasPrefix("HS") ? "client_secret_jwt" : "private_key_jwt"
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"\#(method)","token_endpoint_auth_signing_alg":\#(quoted(alg)),"jwks_uri":"https://a.example/jwks"}"#)
            }
            for alg in strings("id_token_signing_alg_values_supported") {
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":\#(quoted(alg))}"#)
            }
            for type in strings("subject_types_supported") {
                bodies.append(#"{"redirect_uris":["https://a.example/cb"],"subject_type":\#(quoted(type))}"#)
            }
            #expect(bodies.count > 25)
            for text in bodies {
                try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: text)) { response in
                    #expect(response.status == .created, "refused: \(text)")
                }
            }
        }
    }
}

/// A store whose every call fails, to check what a client sees when the database does.
struct FailingStore: ClientStore {
    let error: any Error
    func insert(_ client: RegisteredClient) async throws { throw error }
    func client(id: String) async throws -> RegisteredClient? { throw error }
    func update(_ client: RegisteredClient, expectedVersion: Int64) async throws -> Bool { throw error }
    func delete(id: String) async throws -> Bool { throw error }
    func revokeRegistrationToken(clientID: String, digest: String) async throws { throw error }
    func count() async throws -> Int { throw error }
    func register(_ client: RegisteredClient, spendingToken tokenID: String?, limits: ClientLimits, now: Timestamp) async throws { throw error }
    func countDynamicClients(policy: String?) async throws -> Int { throw error }
    func recordUse(_ uses: [String: Timestamp]) async throws { throw error }
    func deleteStaleClients(now: Timestamp, unusedSince: Timestamp?) async throws -> Int { throw error }
    func insertInitialAccessToken(_ token: InitialAccessToken) async throws { throw error }
    func initialAccessToken(digest: String) async throws -> InitialAccessToken? { throw error }
    func initialAccessTokens() async throws -> [InitialAccessToken] { throw error }
    func revokeInitialAccessToken(id: String, at: Timestamp) async throws -> Bool { throw error }
    func listClients(offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage { throw error }
    func searchClients(kind: ClientSearchKind, prefix: String, offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage { throw error }
}

@Suite("HTTP: failures inside the server")
struct FailureTests {
    struct SecretInternalError: Error, CustomStringConvertible {
        var description: String { "SELECT * FROM clients -- /var/lib/registrar/db.sqlite" }
    }

    @Test("an internal failure is a 500 server_error with no internals")
    func internalError() async throws {
        try await HTTPFixture.withRouter(store: FailingStore(error: SecretInternalError())) { client, _ in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .internalServerError)
                #expect(response.oauthError?.code == "server_error")
                let text = String(buffer: response.body)
                #expect(!text.contains("SELECT") && !text.contains("sqlite"))
            }
        }
    }

    @Test("an unavailable store is a 503 temporarily_unavailable")
    func unavailable() async throws {
        try await HTTPFixture.withRouter(store: FailingStore(error: StoreError.unavailable("connection refused"))) { client, _ in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.oauthError?.code == "temporarily_unavailable")
            }
            try await client.execute(uri: "/iam/api/client-registration/x", method: .get, headers: bearer("abc.def.ghi")) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }
}

func quoted(_ s: String) -> String { JSONWriter.string(.string(s)) }

func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
    var out = lhs
    out.append(contentsOf: rhs)
    return out
}
