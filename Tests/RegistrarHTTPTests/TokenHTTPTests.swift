import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistrarCore
@testable import RegistrarHTTP
import RegistrarTesting
import Testing

/// The router with the token endpoints, over a real SQLite file.
func withTokenRouter<T>(_ body: @Sendable (any TestClientProtocol, RegistrationService) async throws -> T) async throws -> T {
    try await HTTPFixture.withRouter(settings: permissiveSettings, withTokens: true, body)
}

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

func basicAuth(_ id: String, _ secret: String) -> HTTPFields {
    func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
    return [.authorization: "Basic " + Data("\(encode(id)):\(encode(secret))".utf8).base64EncodedString()]
}

func registerMachine(_ client: any TestClientProtocol, method: String = "client_secret_basic") async throws -> (String, String) {
    let body = #"{"grant_types":["client_credentials"],"scope":"read write","token_endpoint_auth_method":"\#(method)"}"#
    let (id, _, object) = try await registerSeedClient(client, body: body)
    return (id, object["client_secret"]?.stringValue ?? "")
}

@Suite("HTTP: token endpoint")
struct TokenHTTPTests {
    @Test("client_secret_basic with form-URL-encoded credentials; no-store; discovery advertises the endpoints")
    func basic() async throws {
        try await withTokenRouter { client, _ in
            let (id, secret) = try await registerMachine(client)
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                     body: ByteBuffer(string: "grant_type=client_credentials&scope=read")) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let o = try response.object
                #expect(o["token_type"] == .string("Bearer") && o["scope"] == .string("read"))
            }
            try await client.execute(uri: "/.well-known/openid-configuration", method: .get) { response in
                let o = try response.object
                #expect(o["token_endpoint"] == .string("https://id.example.org/token"))
                #expect(o["introspection_endpoint"] == .string("https://id.example.org/introspect"))
                #expect(o["revocation_endpoint"] == .string("https://id.example.org/revoke"))
            }
        }
    }

    @Test("a registration access token is no access token, whatever signs it: introspection calls it inactive, the admin API refuses it",
          arguments: RegistrationTokenAlgorithm.allCases)
    func registrationTokenIsNoAccessToken(_ algorithm: RegistrationTokenAlgorithm) async throws {
        try await HTTPFixture.withRouter(settings: permissiveSettings, withTokens: true, configure: { $0.registrationTokenAlgorithm = algorithm }) { client, _ in
            let (id, secret) = try await registerMachine(client)
            let (_, registrationToken, _) = try await registerSeedClient(client)
            let header = try #require(JSONParser.parse(Base64URL.decode(String(registrationToken.split(separator: ".")[0])) ?? []).objectValue)
            #expect(header["alg"] == .string(algorithm.rawValue))
            try await client.execute(uri: "/introspect", method: .post, headers: formHeaders + basicAuth(id, secret),
                                     body: ByteBuffer(string: "token=\(registrationToken)")) { response in
                #expect(response.status == .ok)
                let o = try response.object
                #expect(o == JSONObject([("active", .bool(false))]))
            }
            try await client.execute(uri: "/iam/api/clients", method: .get, headers: [.authorization: "Bearer \(registrationToken)"]) { response in
                #expect(response.status == .unauthorized)
            }
            // The HS256 key is no key of the JWK Set; the ES256 and RS256 ones are.
            try await client.execute(uri: ServerConfiguration.jwksPath, method: .get) { response in
                let keys = try response.object["keys"]?.arrayValue ?? []
                #expect(keys.count == 2)
                #expect(keys.contains { $0.objectValue?["kid"] == header["kid"] } == (algorithm != .hs256))
                #expect(!keys.contains { $0.objectValue?["alg"] == .string("HS256") })
            }
        }
    }

    @Test("client_secret_post, then introspection and revocation round trips")
    func postIntrospectRevoke() async throws {
        try await withTokenRouter { client, _ in
            let (id, secret) = try await registerMachine(client, method: "client_secret_post")
            let encodedSecret = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let credentials = "client_id=\(id)&client_secret=\(encodedSecret)"
            let token = try await client.execute(uri: "/token", method: .post, headers: formHeaders,
                                                 body: ByteBuffer(string: "grant_type=client_credentials&\(credentials)")) { response in
                #expect(response.status == .ok)
                return try response.object["access_token"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/introspect", method: .post, headers: formHeaders,
                                     body: ByteBuffer(string: "token=\(token)&\(credentials)")) { response in
                let o = try response.object
                #expect(o["active"] == .bool(true) && o["client_id"] == .string(id))
            }
            try await client.execute(uri: "/revoke", method: .post, headers: formHeaders,
                                     body: ByteBuffer(string: "token=\(token)&token_type_hint=access_token&\(credentials)")) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/introspect", method: .post, headers: formHeaders,
                                     body: ByteBuffer(string: "token=\(token)&\(credentials)")) { response in
                let o = try response.object
                #expect(o == JSONObject([("active", .bool(false))]))
            }
        }
    }

    @Test("malformed requests are invalid_request; bad credentials invalid_client with a Basic challenge", arguments: [
        ("grant_type=client_credentials&grant_type=client_credentials", "basic", 400, "invalid_request"),
        ("grant_type=client_credentials&client_id=x&client_secret=y", "basic", 400, "invalid_request"),
        ("grant_type=client_credentials&scope=%ZZ", "basic", 400, "invalid_request"),
        ("grant_type=client_credentials", "wrong", 401, "invalid_client"),
        ("grant_type=client_credentials", "none", 401, "invalid_client"),
        ("grant_type=authorization_code&code=x", "basic", 400, "unsupported_grant_type"),
        ("grant_type=client_credentials&scope=admin", "basic", 400, "invalid_scope"),
    ])
    func errors(_ form: String, _ auth: String, _ status: Int, _ code: String) async throws {
        try await withTokenRouter { client, _ in
            let (id, secret) = try await registerMachine(client)
            let headers: HTTPFields
            switch auth {
            case "basic": headers = formHeaders + basicAuth(id, secret)
            case "wrong": headers = formHeaders + basicAuth(id, "wrong")
            default: headers = formHeaders
            }
            try await client.execute(uri: "/token", method: .post, headers: headers, body: ByteBuffer(string: form)) { response in
                #expect(response.status.code == status)
                #expect(response.oauthError?.code == code)
                // Every 401 carries a challenge (RFC 9110 §15.5.2), also when the client sent no Authorization header.
                if status == 401 { #expect(response.headers[.wwwAuthenticate] == #"Basic realm="registrar", charset="UTF-8""#) }
            }
        }
    }

    @Test("two Authorization headers are invalid_request; malformed Basic reads like any other failure")
    func headers() async throws {
        try await withTokenRouter { client, _ in
            let (id, secret) = try await registerMachine(client)
            var twice = formHeaders + basicAuth(id, secret)
            twice.append(HTTPField(name: .authorization, value: "Basic eDp5"))
            try await client.execute(uri: "/token", method: .post, headers: twice, body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.oauthError?.code == "invalid_request")
            }
            for header in ["Basic !!!", "Bearer abc", "Basic " + Data("no-colon".utf8).base64EncodedString()] {
                try await client.execute(uri: "/token", method: .post, headers: formHeaders + [.authorization: header],
                                         body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.oauthError?.description == "client authentication failed")
                }
            }
            // An assertion without its type is a malformed request (RFC 7521 §4.2), not a failed authentication.
            try await client.execute(uri: "/token", method: .post, headers: formHeaders,
                                     body: ByteBuffer(string: "grant_type=client_credentials&client_id=\(id)&client_assertion=a.b.c")) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_request")
                #expect(response.oauthError?.description.contains("client_assertion_type") == true)
            }
        }
    }

    @Test("TRACE and QUERY on a resource are 405 with Allow, like any other method it lacks", arguments: ["TRACE", "QUERY"])
    func otherMethods(_ method: String) async throws {
        try await withTokenRouter { client, _ in
            try await client.execute(uri: "/token", method: HTTPRequest.Method(method)!) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST, OPTIONS")
            }
        }
    }

    @Test("a database outage at the token endpoint is 503, not 500")
    func outage() async throws {
        try await HTTPFixture.withRouter(store: FailingStore(error: StoreError.unavailable("down")), withTokens: true) { client, _ in
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth("c", "s"),
                                     body: ByteBuffer(string: "grant_type=client_credentials")) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.oauthError?.code == "temporarily_unavailable")
            }
        }
    }

    @Test("a form body with bytes that are not UTF-8 is invalid_request, sent raw as when percent-encoded",
          arguments: [[0xFF], [0xC3], [0xED, 0xA0, 0x80]] as [[UInt8]])
    func formNotUTF8(_ bad: [UInt8]) async throws {
        try await withTokenRouter { client, _ in
            let (id, secret) = try await registerMachine(client)
            for body in [Array("grant_type=client_credentials&x=".utf8) + bad, Array("grant_type=client_credentials&".utf8) + bad + Array("=1".utf8)] {
                try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                         body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.oauthError?.code == "invalid_request")
                }
            }
            // The same form in valid UTF-8 gets its token.
            try await client.execute(uri: "/token", method: .post, headers: formHeaders + basicAuth(id, secret),
                                     body: ByteBuffer(string: "grant_type=client_credentials&x=é")) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("a JSON body is refused: the token endpoint takes forms only")
    func jsonRefused() async throws {
        try await withTokenRouter { client, _ in
            try await client.execute(uri: "/token", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"grant_type":"client_credentials"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(response.oauthError?.code == "invalid_request")
            }
            try await client.execute(uri: "/token", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
            }
        }
    }

    @Test("form parsing: pairs split at & and the first =, empty pairs ignored, repeats and bad escapes refused")
    func formParsing() throws {
        #expect(try TokenController.parseForm("a=b=c&&d&e=&f%C3%A9=%C3%BC+x") == ["a": "b=c", "d": "", "e": "", "fé": "ü x"])
        #expect(try TokenController.parseForm("") == [:])
        #expect(try TokenController.parseForm("émoji=🙂&x=1") == ["émoji": "🙂", "x": "1"])
        #expect(throws: RegistrarError.self) { try TokenController.parseForm("scope=a&scope=b") }
        #expect(throws: RegistrarError.self) { try TokenController.parseForm("scope=%ZZ") }
        #expect(throws: RegistrarError.self) { try TokenController.parseForm("%2=x") }
    }

    @Test("form decoding: + is a space, percent escapes are bytes, bad escapes are refused")
    func formDecoding() {
        #expect(TokenController.formDecode("a+b%2Bc%3D%25") == "a b+c=%")
        #expect(TokenController.formDecode("caf%C3%A9") == "café")
        #expect(TokenController.formDecode("bad%2") == nil)
        #expect(TokenController.formDecode("%FF") == nil)
        #expect(TokenController.formDecode("plain-value_1.2~") == "plain-value_1.2~")
        #expect(TokenController.formDecode("") == "")
        #expect(TokenController.formDecode("%41%42a%2fb%2F") == "ABa/b/")
        // Only two hexadecimal digits follow a `%`: no sign, no other letters.
        #expect(TokenController.formDecode("%+f") == nil)
        #expect(TokenController.formDecode("%-0") == nil)
        #expect(TokenController.formDecode("%2g") == nil)
        #expect(TokenController.formDecode("%") == nil)
    }
}
