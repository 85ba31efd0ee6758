@testable import RegistrarCore
import RegistrarTesting
import Testing

/// A service over an in-memory store with a fixed clock and a seeded random source.
struct ServiceFixture {
    let service: RegistrationService
    let store: InMemoryClientStore
    let clock: TestClock
    let seed: UInt64

    init(seed: UInt64 = 5, settings: RegistrarSettings = RegistrarSettings(), statements: SoftwareStatementVerifier? = nil,
         configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var configuration = ServerConfiguration(issuer: "https://id.example.org/")
        configure(&configuration)
        store = InMemoryClientStore()
        clock = TestClock(milliseconds: 1_700_000_000_123)
        self.seed = seed
        service = RegistrationService(configuration: configuration, store: store, keys: try await TestKeys.keys(),
                                      settings: settings, statements: statements, clock: clock, random: SeededRandom(seed: seed))
    }

    func register(_ json: String) async throws -> (ClientResponse, JSONObject) {
        let response = try await service.register(body: Array(json.utf8))
        return (response, response.json)
    }
}

let seedRequest = #"""
{"redirect_uris":["https://another.client.example/oidc"],"client_name":"another-example-client",
 "contacts":["test@iam.test"],"token_endpoint_auth_method":"client_secret_basic",
 "scope":"address phone openid email profile offline_access","grant_types":["refresh_token","authorization_code"],
 "response_types":["code"]}
"""#

@Suite("Registration service")
struct RegistrationServiceTests {
    @Test("registration returns predictable credentials and every registered member")
    func register() async throws {
        let f = try await ServiceFixture()
        let (response, json) = try await f.register(seedRequest)
        // The service draws, in order: the client ID, the secret, the token ID.
        let random = SeededRandom(seed: f.seed)
        let expectedID = random.uuid(timeOrderedAt: Timestamp(milliseconds: 1_700_000_000_123))
        let expectedSecret = Base64URL.encode(random.bytes(count: 64))
        #expect(json["client_id"] == .string(expectedID))
        #expect(json["client_secret"] == .string(expectedSecret))
        #expect(json["registration_client_uri"] == .string("https://id.example.org/iam/api/client-registration/\(expectedID)"))
        #expect(json["created_at"] == .int(1_700_000_000_123))
        #expect(json["client_id_issued_at"] == .int(1_700_000_000))
        #expect(json["client_secret_expires_at"] == .int(0))
        #expect(json["scope"] == .string("address phone openid email profile offline_access"))
        #expect(json["dynamically_registered"] == .bool(true))
        #expect(json["reuse_refresh_token"] == .bool(true))
        #expect(json["clear_access_tokens_on_refresh"] == .bool(true))
        #expect(json["require_auth_time"] == .bool(false))
        #expect(json["token_endpoint_auth_method"] == .string("client_secret_basic"))
        #expect(json.keys.prefix(3) == ["client_id", "client_secret", "client_name"])

        let token = try #require(response.registrationAccessToken)
        let claims = try #require(JSONParser.parse(Base64URL.decode(String(token.split(separator: ".")[1])) ?? []).objectValue)
        #expect(claims["iss"] == .string("https://id.example.org"))
        #expect(claims["aud"] == .string(expectedID))
        #expect(claims["iat"] == .int(1_700_000_000))
        #expect(claims["exp"] == nil)

        let stored = try #require(await f.store.client(id: expectedID))
        #expect(stored.secretDigest == SecretDigest.of(expectedSecret))
        #expect(stored.registrationTokenDigest == SecretDigest.of(token))
        #expect(!stored.document.contains(expectedSecret) && !stored.document.contains(token))
    }

    @Test("secrets are issued only for secret-based methods; client_secret_jwt keeps it sealed", arguments: [
        ("client_secret_basic", true), ("client_secret_post", true), ("client_secret_jwt", true), ("none", false),
    ])
    func secretsByMethod(_ method: String, _ issued: Bool) async throws {
        let f = try await ServiceFixture()
        let (response, json) = try await f.register(#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"\#(method)"}"#)
        #expect((json["client_secret"] != nil) == issued)
        #expect((json["client_secret_expires_at"] != nil) == issued)
        let stored = try #require(await f.store.client(id: response.client.clientID))
        #expect((stored.sealedSecret != nil) == (method == "client_secret_jwt"))
        if let sealed = stored.sealedSecret, case .string(let secret)? = json["client_secret"] {
            #expect(try f.service.keys.sealer.open(sealed, clientID: stored.clientID) == secret)
        }
    }

    @Test("a configured secret lifetime sets client_secret_expires_at")
    func secretLifetime() async throws {
        let f = try await ServiceFixture { $0.clientSecretLifetime = 86_400 }
        let (_, json) = try await f.register(#"{"redirect_uris":["https://a.example/cb"]}"#)
        #expect(json["client_secret_expires_at"] == .int(1_700_000_000 + 86_400))
    }

    @Test("ES256 registration tokens when configured")
    func es256() async throws {
        let f = try await ServiceFixture { $0.registrationTokenAlgorithm = .es256 }
        let (response, _) = try await f.register(#"{"redirect_uris":["https://a.example/cb"]}"#)
        let header = try #require(JSONParser.parse(Base64URL.decode(String(response.registrationAccessToken!.split(separator: ".")[0])) ?? []).objectValue)
        #expect(header["alg"] == .string("ES256"))
    }

    @Test("HS256 registration tokens by default, under the server's registration token key, outside the JWK Set")
    func hs256ByDefault() async throws {
        let f = try await ServiceFixture()
        let (response, _) = try await f.register(#"{"redirect_uris":["https://a.example/cb"]}"#)
        let token = try #require(response.registrationAccessToken)
        let jws = try #require(CompactJWS(token))
        let key = try await TestKeys.keys().registrationTokenKey
        #expect(jws.header == JSONObject([("kid", .string(key.kid)), ("alg", .string("HS256"))]))
        #expect(key.kid.hasPrefix("hs256-") && key.kid.count == 6 + 22)
        #expect(jws.claims["aud"] == .string(response.client.clientID) && jws.claims["iss"] == .string("https://id.example.org"))
        #expect(key.verify(jws.signature, over: jws.signingInput))
        #expect(!RegistrationTokenKey.generate().verify(jws.signature, over: jws.signingInput))
        #expect(try await TestKeys.keys().key(kid: key.kid) == nil)
        // The token still works by its digest.
        _ = try await f.service.read(clientID: response.client.clientID, bearer: token)
    }

    @Test("a client-chosen secret is refused; a client-chosen ID and server-managed members are ignored")
    func clientChosenValues() async throws {
        let f = try await ServiceFixture()
        await #expect(throws: RegistrarError.invalidClientMetadata("")) {
            _ = try await f.register(#"{"redirect_uris":["https://a.example/cb"],"client_secret":"mine"}"#)
        }
        #expect(try await f.store.count() == 0)
        _ = try await f.register(#"{"redirect_uris":["https://a.example/cb"],"client_secret":""}"#)
        let (response, json) = try await f.register(#"""
            {"redirect_uris":["https://a.example/cb"],"client_id":"my-id","client_id_issued_at":1,"client_secret_expires_at":5,
             "registration_access_token":"x","registration_client_uri":"https://evil.example/"}
            """#)
        #expect(response.client.clientID != "my-id")
        #expect(json["client_id_issued_at"] == .int(1_700_000_000))
        #expect(json["client_secret_expires_at"] == .int(0))
        #expect(json["registration_client_uri"] != .string("https://evil.example/"))
    }

    @Test("bodies that are not a JSON object are invalid_request", arguments: ["[]", "null", "\"x\"", "{", "", "42"])
    func notAnObject(_ text: String) async throws {
        let f = try await ServiceFixture()
        await #expect(throws: RegistrarError.invalidRequest("")) { _ = try await f.register(text) }
    }

    @Test("read returns the registration without the secret and echoes the presented token")
    func read() async throws {
        let f = try await ServiceFixture()
        let (created, createdJSON) = try await f.register(seedRequest)
        let token = created.registrationAccessToken!
        let read = try await f.service.read(clientID: created.client.clientID, bearer: token)
        var expected = createdJSON
        expected["client_secret"] = nil
        #expect(read.json == expected)
        #expect(read.registrationAccessToken == token)
    }

    @Test("missing, malformed and unknown tokens are refused with the right challenge")
    func badTokens() async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        let id = created.client.clientID
        do {
            _ = try await f.service.read(clientID: id, bearer: nil)
            Issue.record("no token accepted")
        } catch let error as RegistrarError {
            #expect(error.status == 401 && error.challenge == .missingToken)
        }
        for bad in ["garbage with spaces", "eyJ.eyJ.sig", String(repeating: "a", count: 5000), created.registrationAccessToken! + "x"] {
            do {
                _ = try await f.service.read(clientID: id, bearer: bad)
                Issue.record("bad token accepted")
            } catch let error as RegistrarError {
                #expect(error.status == 401 && error.challenge == .invalidToken)
            }
        }
        // An unknown client answers 401 too, never 404.
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.service.read(clientID: "00000000-0000-4000-8000-000000000000", bearer: created.registrationAccessToken!)
        }
    }

    @Test("a token presented at another client's URI is refused and revoked")
    func crossClient() async throws {
        let f = try await ServiceFixture()
        let (a, _) = try await f.register(seedRequest)
        let (b, _) = try await f.register(seedRequest)
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.service.read(clientID: b.client.clientID, bearer: a.registrationAccessToken!)
        }
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.service.read(clientID: a.client.clientID, bearer: a.registrationAccessToken!)
        }
        _ = try await f.service.read(clientID: b.client.clientID, bearer: b.registrationAccessToken!)
    }

    @Test("a made-up token naming another client in aud is refused and revokes nothing; the URL's client decides")
    func forgedAudience() async throws {
        let f = try await ServiceFixture()
        let (a, _) = try await f.register(seedRequest)
        let (b, _) = try await f.register(seedRequest)
        // A JWT-shaped token whose payload names A, signed by nobody: not A's token.
        let payload = Base64URL.encode(Array(#"{"aud":"\#(a.client.clientID)","jti":"x"}"#.utf8))
        let forged = "eyJhbGciOiJub25lIn0.\(payload).c2ln"
        #expect(RegistrationService.audience(ofRegistrationToken: forged) == a.client.clientID)
        #expect(RegistrationService.audience(ofRegistrationToken: "not.a.jwt") == nil)
        #expect(RegistrationService.audience(ofRegistrationToken: "abc") == nil)
        for clientID in [b.client.clientID, a.client.clientID] {
            await #expect(throws: RegistrarError.invalidToken()) {
                _ = try await f.service.read(clientID: clientID, bearer: forged)
            }
        }
        // A's own token still works (nothing was revoked), and only at A's URL.
        _ = try await f.service.read(clientID: a.client.clientID, bearer: a.registrationAccessToken!)
        let stored = try #require(try await f.store.client(id: a.client.clientID))
        #expect(stored.registrationTokenDigest == SecretDigest.of(a.registrationAccessToken!))
    }

    @Test("update replaces the registration: omitted members are cleared and defaults re-applied")
    func updateReplaces() async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        let id = created.client.clientID, token = created.registrationAccessToken!
        f.clock.advance(milliseconds: 5000)
        let updated = try await f.service.update(clientID: id, bearer: token, body: Array(#"""
            {"client_id":"\#(id)","redirect_uris":["https://new.example/cb"],"client_name":"renamed"}
            """#.utf8))
        let json = updated.json
        #expect(json["redirect_uris"] == .array([.string("https://new.example/cb")]))
        #expect(json["client_name"] == .string("renamed"))
        #expect(json["contacts"] == nil)
        #expect(json["scope"] == .string("openid profile email address phone"))
        #expect(json["grant_types"] == .array([.string("authorization_code")]))
        #expect(json["client_secret"] == nil)
        #expect(json["created_at"] == .int(1_700_000_000_123))
        #expect(updated.registrationAccessToken == token)
        let read = try await f.service.read(clientID: id, bearer: token)
        #expect(read.json == json)
        #expect(read.row.updatedAt == 1_700_000_005_123)
    }

    @Test("update accepts its own previous response back, including the current secret")
    func updateWithOwnResponse() async throws {
        let f = try await ServiceFixture()
        let (created, json) = try await f.register(seedRequest)
        let result = try await f.service.update(clientID: created.client.clientID, bearer: created.registrationAccessToken!,
                                                body: JSONWriter.bytes(.object(json)))
        var expected = json
        expected["client_secret"] = nil
        #expect(result.json == expected)
    }

    @Test("update refuses identity changes and wrong server-managed values, and changes nothing", arguments: [
        #""client_id":"someone-else""#,
        #""client_secret":"not-the-secret""#,
        #""registration_access_token":"eyJ.other""#,
        #""registration_client_uri":"https://id.example.org/iam/api/client-registration/other""#,
        #""client_secret_expires_at":12"#,
        #""client_id_issued_at":12"#,
    ])
    func updateRefused(_ member: String) async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        let id = created.client.clientID
        var text = #"{"client_id":"\#(id)","redirect_uris":["https://changed.example/cb"],\#(member)}"#
        if member.hasPrefix(#""client_id""#) { text = #"{"redirect_uris":["https://changed.example/cb"],\#(member)}"# }
        let before = try #require(await f.store.client(id: id))
        await #expect(throws: RegistrarError.invalidRequest("")) {
            _ = try await f.service.update(clientID: id, bearer: created.registrationAccessToken!, body: Array(text.utf8))
        }
        #expect(try await f.store.client(id: id) == before)
    }

    @Test("update without client_id is refused")
    func updateWithoutClientID() async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        await #expect(throws: RegistrarError.invalidRequest("")) {
            _ = try await f.service.update(clientID: created.client.clientID, bearer: created.registrationAccessToken!,
                                           body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        }
    }

    @Test("invalid metadata in an update changes nothing")
    func updateInvalid() async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        let id = created.client.clientID
        let before = try #require(await f.store.client(id: id))
        await #expect(throws: RegistrarError.invalidRedirectURI("")) {
            _ = try await f.service.update(clientID: id, bearer: created.registrationAccessToken!,
                                           body: Array(#"{"client_id":"\#(id)","redirect_uris":["https://a.example/cb#frag"]}"#.utf8))
        }
        #expect(try await f.store.client(id: id) == before)
    }

    @Test("switching auth method drops or issues the secret")
    func switchMethods() async throws {
        let f = try await ServiceFixture()
        let (created, createdJSON) = try await f.register(#"{"redirect_uris":["https://a.example/cb"]}"#)
        let id = created.client.clientID, token = created.registrationAccessToken!
        func put(_ method: String) async throws -> JSONObject {
            try await f.service.update(clientID: id, bearer: token, body: Array(
                #"{"client_id":"\#(id)","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"\#(method)"}"#.utf8)).json
        }
        let toPost = try await put("client_secret_post")
        #expect(toPost["client_secret"] == nil, "the secret is kept, not re-issued, between basic and post")
        #expect(try await f.store.client(id: id)?.secretDigest == SecretDigest.of(createdJSON["client_secret"]!.stringValue!))

        let toNone = try await put("none")
        #expect(toNone["client_secret"] == nil && toNone["client_secret_expires_at"] == nil)
        #expect(try await f.store.client(id: id)?.secretDigest == nil)

        let back = try await put("client_secret_basic")
        let newSecret = try #require(back["client_secret"]?.stringValue)
        #expect(newSecret != createdJSON["client_secret"]?.stringValue)
        #expect(try await f.store.client(id: id)?.secretDigest == SecretDigest.of(newSecret))

        let toJWT = try await put("client_secret_jwt")
        let jwtSecret = try #require(toJWT["client_secret"]?.stringValue, "a recoverable secret must be issued for client_secret_jwt")
        let stored = try #require(await f.store.client(id: id))
        #expect(try f.service.keys.sealer.open(stored.sealedSecret!, clientID: id) == jwtSecret)

        // An administrator who moves the client back to client_secret_basic keeps its secret
        // (as a digest) and drops the sealed copy that only client_secret_jwt needs.
        let admin = AdminService(registration: f.service)
        let replaced = try await admin.replace(id, body: Array(
            #"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#.utf8), actor: .commandLine)
        #expect(replaced["client_secret"] == nil)
        let afterAdmin = try #require(await f.store.client(id: id))
        #expect(afterAdmin.sealedSecret == nil, "the sealed secret outlived client_secret_jwt")
        #expect(afterAdmin.secretDigest == SecretDigest.of(jwtSecret))
    }

    @Test("delete removes the client; its token is dead afterwards")
    func delete() async throws {
        let f = try await ServiceFixture()
        let (created, _) = try await f.register(seedRequest)
        let id = created.client.clientID, token = created.registrationAccessToken!
        try await f.service.delete(clientID: id, bearer: token)
        #expect(try await f.store.client(id: id) == nil)
        await #expect(throws: RegistrarError.invalidToken()) { try await f.service.delete(clientID: id, bearer: token) }
        await #expect(throws: RegistrarError.invalidToken()) { _ = try await f.service.read(clientID: id, bearer: token) }
    }
}
