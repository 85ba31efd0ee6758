import Crypto
import CryptoExtras
import Foundation
import Logging
@testable import RegistrarCore
import RegistrarTesting
import Testing

/// A client's own key pair, to sign assertions as a real client would.
struct ClientKeys: Sendable {
    static let shared: ClientKeys = {
        // RSA generation is slow; one pair serves every test.
        ClientKeys(rsa: try! _RSA.Signing.PrivateKey(keySize: .bits2048), ec: P256.Signing.PrivateKey())
    }()

    let rsa: _RSA.Signing.PrivateKey
    let ec: P256.Signing.PrivateKey

    var jwks: JSONObject {
        let p = try! rsa.publicKey.getKeyPrimitives()
        let point = Array(ec.publicKey.x963Representation)
        return JSONObject([("keys", .array([
            .object(JSONObject([("kty", .string("RSA")), ("kid", .string("rsa-1")), ("use", .string("sig")),
                                ("n", .string(Base64URL.encode(Array(p.modulus)))), ("e", .string(Base64URL.encode(Array(p.publicExponent))))])),
            .object(JSONObject([("kty", .string("EC")), ("crv", .string("P-256")), ("kid", .string("ec-1")),
                                ("x", .string(Base64URL.encode(point[1..<33]))), ("y", .string(Base64URL.encode(point[33..<65])))])),
        ]))])
    }

    /// A compact JWS over claims with `alg`, signed with the matching key (or an HMAC secret).
    func sign(_ claims: JSONObject, alg: String, kid: String?, secret: String? = nil, crit: [String]? = nil) -> String {
        var header = JSONObject([("alg", .string(alg))])
        if let kid { header["kid"] = .string(kid) }
        if let crit {
            header["crit"] = .array(crit.map { .string($0) })
            for name in crit { header[name] = .bool(true) }
        }
        let input = Base64URL.encode(JSONWriter.bytes(.object(header))) + "." + Base64URL.encode(JSONWriter.bytes(.object(claims)))
        let bytes = Array(input.utf8)
        let signature: [UInt8]
        switch alg {
        case "RS256": signature = Array(try! rsa.signature(for: SHA256.hash(data: bytes), padding: .insecurePKCS1v1_5).rawRepresentation)
        case "PS256": signature = Array(try! rsa.signature(for: SHA256.hash(data: bytes), padding: .PSS).rawRepresentation)
        case "ES256": signature = Array(try! ec.signature(for: bytes).rawRepresentation)
        case "HS256": signature = Array(HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: Array((secret ?? "").utf8))))
        case "none": signature = []
        default: signature = []
        }
        return input + "." + Base64URL.encode(signature)
    }
}

/// A key source serving one JWK Set and counting fetches.
actor FakeKeySource: ClientKeySource {
    var jwks: JSONObject
    var fetches = 0
    init(_ jwks: JSONObject) { self.jwks = jwks }
    func set(_ new: JSONObject) { jwks = new }
    func keys(at uri: String, refresh: Bool) async throws -> JSONObject {
        fetches += 1
        return jwks
    }
}

struct TokenFixture {
    static let issuer = "https://id.example.org"
    let store = InMemoryClientStore()
    let clock = TestClock(milliseconds: 1_700_000_000_000)
    let ring: KeyRing
    let registration: RegistrationService
    let tokens: TokenService
    let keySource: FakeKeySource

    init(tokenSettings: TokenSettings = TokenSettings()) async throws {
        var settings = RegistrarSettings()
        settings.policies["anonymous"] = RegistrationPolicy(name: "anonymous")
        ring = KeyRing(try await TestKeys.keys())
        let configuration = ServerConfiguration(issuer: Self.issuer)
        registration = RegistrationService(configuration: configuration, store: store, keyRing: ring, settings: settings, clock: clock)
        keySource = FakeKeySource(ClientKeys.shared.jwks)
        let audiences = tokenSettings.assertionAudience.audiences(issuer: Self.issuer)
        let authenticator = ClientAuthenticator(store: store, tokenState: store, keys: ring, keySource: keySource, clock: clock,
                                                uses: registration.uses, audiences: audiences.values, singleAudience: audiences.single,
                                                logger: Logger(label: "test"))
        // The server's path: one store for clients and revocations, read together by introspection.
        // (`strict` below and the HTTP tests take the two-lookup path.)
        tokens = TokenService(configuration: configuration, settings: tokenSettings, store: store, tokenState: store, keys: ring,
                              authenticator: authenticator, clock: clock, random: SystemRandomSource(), logger: Logger(label: "test"),
                              revocationLookup: store)
    }

    /// Registers a client_credentials client with this auth method and returns (id, secret).
    func client(_ method: String, extra: String = "") async throws -> (String, String?) {
        let body = #"{"grant_types":["client_credentials"],"scope":"read write","token_endpoint_auth_method":"\#(method)"\#(extra)}"#
        let response = try await registration.register(body: Array(body.utf8))
        return (response.client.clientID, response.clientSecret)
    }

    func assertionClaims(_ id: String, aud: String = TokenFixture.issuer + "/token", exp: Int64? = nil, jti: String = UUID().uuidString) -> JSONObject {
        JSONObject([("iss", .string(id)), ("sub", .string(id)), ("aud", .string(aud)), ("jti", .string(jti)),
                    ("exp", .int(exp ?? clock.now().seconds + 60)), ("iat", .int(clock.now().seconds))])
    }

    func grant(_ credentials: ClientCredentials, scope: String? = nil) async throws -> JSONObject {
        var form = ["grant_type": "client_credentials"]
        if let scope { form["scope"] = scope }
        return try await tokens.token(form: form, credentials: credentials)
    }
}

func expectInvalidClient(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("authentication succeeded", sourceLocation: sourceLocation)
    } catch let error as RegistrarError {
        #expect(error.code == .invalidClient && error.status == 401, "\(error)", sourceLocation: sourceLocation)
        #expect(error.errorDescription == "client authentication failed", "the reason must not leak", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Client authentication at the token endpoint")
struct ClientAuthenticationTests {
    @Test("every registered method authenticates", arguments: ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt RS256", "private_key_jwt PS256", "private_key_jwt ES256"])
    func methods(_ method: String) async throws {
        let f = try await TokenFixture()
        let keys = ClientKeys.shared
        switch method {
        case "client_secret_basic":
            let (id, secret) = try await f.client(method)
            _ = try await f.grant(.basic(clientID: id, secret: secret!))
        case "client_secret_post":
            let (id, secret) = try await f.client(method)
            _ = try await f.grant(.post(clientID: id, secret: secret!))
        case "client_secret_jwt":
            let (id, secret) = try await f.client(method)
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "HS256", kid: nil, secret: secret), clientID: id))
        default:
            let alg = String(method.split(separator: " ")[1])
            let (id, _) = try await f.client("private_key_jwt", extra: #","jwks":\#(JSONWriter.string(.object(keys.jwks)))"#)
            let kid = alg == "ES256" ? "ec-1" : "rsa-1"
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: alg, kid: kid), clientID: nil))
            // Without a kid, the key is found by type.
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: alg, kid: nil), clientID: id))
        }
    }

    @Test("a wrong secret, another method, an unknown client: invalid_client, and the reason stays in the log")
    func secrets() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: id, secret: "wrong")) }
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: id, secret: secret! + "x")) }
        await expectInvalidClient { _ = try await f.grant(.post(clientID: id, secret: secret!)) }
        await expectInvalidClient { _ = try await f.grant(.none(clientID: id)) }
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: "unknown", secret: secret!)) }
        // An unknown ID is logged as the start of its SHA-256 (FIPS 180-2's "abc" example).
        #expect(ClientAuthenticator.fingerprint("abc") == "ba7816bf8f01cfea")
        do {
            _ = try await f.grant(.basic(clientID: id, secret: "wrong"))
        } catch let error as RegistrarError {
            #expect(error.challenge == .basic, "a failed Basic attempt is answered with a Basic challenge (RFC 6749 §5.2)")
        }
    }

    @Test("deleted, disabled, expired clients and expired secrets are refused")
    func deadClients() async throws {
        let f = try await TokenFixture()
        let (deleted, deletedSecret) = try await f.client("client_secret_basic")
        _ = await f.store.delete(id: deleted)
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: deleted, secret: deletedSecret!)) }

        let (disabled, disabledSecret) = try await f.client("client_secret_basic")
        var client = try #require(await f.store.client(id: disabled))
        client.active = false
        client.version += 1
        _ = try await f.store.update(client, expectedVersion: client.version - 1)
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: disabled, secret: disabledSecret!)) }

        let (expiring, expiringSecret) = try await f.client("client_secret_basic")
        var secretExpiry = try #require(await f.store.client(id: expiring))
        secretExpiry.secretExpiresAt = f.clock.now().seconds + 10
        secretExpiry.version += 1
        _ = try await f.store.update(secretExpiry, expectedVersion: secretExpiry.version - 1)
        _ = try await f.grant(.basic(clientID: expiring, secret: expiringSecret!))
        f.clock.advance(milliseconds: 10_000)
        await expectInvalidClient { _ = try await f.grant(.basic(clientID: expiring, secret: expiringSecret!)) }
    }

    @Test("assertion failures: expired, replayed, wrong aud, unknown kid, alg none, HS256 keyed with the public key, iss/sub mismatch, dates that are not numbers, crit")
    func assertionFailures() async throws {
        let f = try await TokenFixture()
        let keys = ClientKeys.shared
        let (id, _) = try await f.client("private_key_jwt", extra: #","jwks":\#(JSONWriter.string(.object(keys.jwks)))"#)
        // Expired (beyond the 60 s leeway).
        await expectInvalidClient {
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id, exp: f.clock.now().seconds - 61), alg: "RS256", kid: "rsa-1"), clientID: id))
        }
        // Replayed jti.
        let once = keys.sign(f.assertionClaims(id, jti: "only-once"), alg: "RS256", kid: "rsa-1")
        _ = try await f.grant(.assertion(once, clientID: id))
        await expectInvalidClient { _ = try await f.grant(.assertion(once, clientID: id)) }
        // Wrong audience.
        await expectInvalidClient {
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id, aud: "https://elsewhere.example/token"), alg: "RS256", kid: "rsa-1"), clientID: id))
        }
        // Unknown kid (the key source is asked again, and still has no such key).
        await expectInvalidClient {
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "RS256", kid: "no-such-key"), clientID: id))
        }
        // alg none.
        await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "none", kid: "rsa-1"), clientID: id)) }
        // HS256 "signed" with the client's public key as the HMAC secret (algorithm confusion).
        let publicKeyText = JSONWriter.string(.object(keys.jwks))
        await expectInvalidClient {
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "HS256", kid: "rsa-1", secret: publicKeyText), clientID: id))
        }
        // iss is not the client.
        var claims = f.assertionClaims(id)
        claims["iss"] = .string("someone-else")
        await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(claims, alg: "RS256", kid: "rsa-1"), clientID: id)) }
        // An assertion that lives too long.
        await expectInvalidClient {
            _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id, exp: f.clock.now().seconds + 7200), alg: "RS256", kid: "rsa-1"), clientID: id))
        }
        // Extreme numbers from the request must be refused, not overflow.
        for exp in [Int64.max, Int64.min] {
            var extreme = f.assertionClaims(id)
            extreme["exp"] = .int(exp)
            extreme["nbf"] = .int(Int64.min)
            extreme["iat"] = .int(Int64.max)
            await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(extreme, alg: "RS256", kid: "rsa-1"), clientID: id)) }
        }
        // nbf and iat that are not numbers, or lie in the future as fractions or huge numbers,
        // are refused rather than skipped.
        let later = Double(f.clock.now().seconds) + 1000.5
        for (name, value) in [("nbf", JSONValue.string("9999999999")), ("nbf", .bool(true)), ("nbf", .double(later)),
                              ("iat", .double(1e300)), ("iat", .double(later)), ("iat", .null), ("exp", .string("9999999999"))] {
            var odd = f.assertionClaims(id)
            odd[name] = value
            await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(odd, alg: "RS256", kid: "rsa-1"), clientID: id)) }
        }
        // NumericDates with a fraction (RFC 7519 §2), as some JWT libraries write them, are accepted.
        var fractional = f.assertionClaims(id)
        fractional["exp"] = .double(Double(f.clock.now().seconds) + 59.75)
        fractional["iat"] = .double(Double(f.clock.now().seconds) - 0.25)
        fractional["nbf"] = .double(Double(f.clock.now().seconds) + 0.5)
        _ = try await f.grant(.assertion(keys.sign(fractional, alg: "RS256", kid: "rsa-1"), clientID: id))
        // Critical header extensions this server does not understand (RFC 7515 §4.1.11), with a
        // good signature.
        for crit in [["urn:example:ext"], ["exp"]] {
            await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "ES256", kid: "ec-1", crit: crit), clientID: id)) }
        }
        _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "ES256", kid: "ec-1"), clientID: id))
        // A tampered signature.
        var tampered = keys.sign(f.assertionClaims(id), alg: "ES256", kid: "ec-1")
        tampered.removeLast(4)
        tampered += "AAAA"
        await expectInvalidClient { _ = try await f.grant(.assertion(tampered, clientID: id)) }
    }

    @Test("assertion audiences: the issuer or an endpoint URL, alone or in an array; with assertion_audience: issuer, only the issuer as one string")
    func assertionAudiences() async throws {
        let keys = ClientKeys.shared
        let issuer = TokenFixture.issuer
        func assertion(_ f: TokenFixture, _ id: String, _ aud: JSONValue) -> String {
            var claims = f.assertionClaims(id)
            claims["aud"] = aud
            return keys.sign(claims, alg: "ES256", kid: "ec-1")
        }
        let lenient = try await TokenFixture()
        let (id, _) = try await lenient.client("private_key_jwt", extra: #","jwks":\#(JSONWriter.string(.object(keys.jwks)))"#)
        for aud in [JSONValue.string(issuer), .string(issuer + "/token"), .string(issuer + "/revoke"),
                    .array([.string("https://other.example"), .string(issuer + "/introspect")])] {
            _ = try await lenient.grant(.assertion(assertion(lenient, id, aud), clientID: id))
        }
        var settings = TokenSettings()
        settings.assertionAudience = .issuer
        let strict = try await TokenFixture(tokenSettings: settings)
        let (strictID, _) = try await strict.client("private_key_jwt", extra: #","jwks":\#(JSONWriter.string(.object(keys.jwks)))"#)
        for aud in [JSONValue.string(issuer + "/token"), .array([.string(issuer)]), .string(issuer + "/")] {
            await expectInvalidClient { _ = try await strict.grant(.assertion(assertion(strict, strictID, aud), clientID: strictID)) }
        }
        _ = try await strict.grant(.assertion(assertion(strict, strictID, .string(issuer)), clientID: strictID))
    }

    @Test("jwks_uri keys: an unknown kid makes the server fetch again, so a client can rotate its keys")
    func jwksURIRefetch() async throws {
        let f = try await TokenFixture()
        let keys = ClientKeys.shared
        await f.keySource.set(JSONObject([("keys", .array([]))]))
        let (id, _) = try await f.client("private_key_jwt", extra: #","jwks_uri":"https://client.example/jwks""#)
        await expectInvalidClient { _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "ES256", kid: "ec-1"), clientID: id)) }
        await f.keySource.set(keys.jwks)
        _ = try await f.grant(.assertion(keys.sign(f.assertionClaims(id), alg: "ES256", kid: "ec-1"), clientID: id))
        #expect(await f.keySource.fetches >= 3)
    }
}

@Suite("Token endpoint, introspection, revocation")
struct TokenEndpointTests {
    @Test("client_credentials: an RFC 9068 access token with whole-second times")
    func accessToken() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let body = try await f.grant(.basic(clientID: id, secret: secret!), scope: "read")
        #expect(body["token_type"] == .string("Bearer"))
        #expect(body["expires_in"] == .int(3600))
        #expect(body["scope"] == .string("read"))
        let accessToken = try #require(body["access_token"]?.stringValue)
        let jws = try #require(CompactJWS(accessToken))
        #expect(jws.header["typ"] == .string("at+jwt"))
        #expect(jws.header["alg"] == .string("ES256"), "ES256 by default")
        let kid = try #require(jws.header["kid"]?.stringValue)
        let key = try #require(f.ring.current.key(kid: kid))
        #expect(key.verify(jws.signature, over: jws.signingInput))
        let c = jws.claims
        #expect(c["iss"] == .string(TokenFixture.issuer) && c["sub"] == .string(id) && c["client_id"] == .string(id))
        #expect(c["aud"] == .string(TokenFixture.issuer))
        #expect(c["iat"] == .int(1_700_000_000) && c["exp"] == .int(1_700_003_600))
        #expect(c["scope"] == .string("read"))
        #expect(c["jti"]?.stringValue?.isEmpty == false)
        let all = try await f.grant(.basic(clientID: id, secret: secret!))
        #expect(all["scope"] == .string("read write"), "no scope asked: the client's scopes")
    }

    @Test("a scope of many values: repeats are granted once in the order asked; many unknown values are invalid_scope")
    func manyScopeValues() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let repeated = Array(repeating: "write read", count: 10_000).joined(separator: " ")
        let granted = try await f.grant(.basic(clientID: id, secret: secret!), scope: repeated)
        #expect(granted["scope"] == .string("write read"))
        let unknown = (0..<13_000).map { String($0, radix: 16) }.joined(separator: " ")
        await #expect(throws: RegistrarError(code: .invalidScope, status: 400, description: "")) {
            _ = try await f.grant(.basic(clientID: id, secret: secret!), scope: "read " + unknown)
        }
        await #expect(throws: RegistrarError(code: .invalidScope, status: 400, description: "")) {
            _ = try await f.grant(.basic(clientID: id, secret: secret!), scope: unknown + " bad\\value")
        }
    }

    @Test("scope beyond the client's is invalid_scope; other grants unsupported; a client without the grant unauthorized")
    func errors() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        await #expect(throws: RegistrarError(code: .invalidScope, status: 400, description: "")) {
            _ = try await f.grant(.basic(clientID: id, secret: secret!), scope: "read admin")
        }
        await #expect(throws: RegistrarError(code: .unsupportedGrantType, status: 400, description: "")) {
            _ = try await f.tokens.token(form: ["grant_type": "password"], credentials: .basic(clientID: id, secret: secret!))
        }
        await #expect(throws: RegistrarError.invalidRequest("")) {
            _ = try await f.tokens.token(form: [:], credentials: .basic(clientID: id, secret: secret!))
        }
        let other = try await f.registration.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        do {
            _ = try await f.grant(.basic(clientID: other.client.clientID, secret: other.clientSecret!))
            Issue.record("a client without the grant got a token")
        } catch let error as RegistrarError {
            #expect(error.code == .unauthorizedClient && error.errorDescription.contains("not registered for the client_credentials grant"))
        }
        // A public client registered for the grant: the same code, and a description that says why.
        let (publicID, _) = try await f.client("none")
        do {
            _ = try await f.grant(.none(clientID: publicID))
            Issue.record("a public client got a token")
        } catch let error as RegistrarError {
            #expect(error.code == .unauthorizedClient && error.errorDescription.contains("public client"), "\(error)")
        }
    }

    @Test("introspection: active for a live token; inactive when expired, revoked, foreign, a registration token, or its client deleted")
    func introspection() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let caller = ClientCredentials.basic(clientID: id, secret: secret!)
        let token = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        let active = try await f.tokens.introspect(form: ["token": token], credentials: caller)
        #expect(active["active"] == .bool(true) && active["client_id"] == .string(id) && active["scope"] == .string("read write"))
        let inactive = JSONObject([("active", .bool(false))])
        // Foreign: a token signed by a key this server does not have.
        let foreign = try JWTSigner.sign(claims: CompactJWS(token)!.claims, with: try SigningKey.generate(.es256, createdAt: f.clock.now()), type: "at+jwt")
        #expect(try await f.tokens.introspect(form: ["token": foreign], credentials: caller) == inactive)
        #expect(try await f.tokens.introspect(form: ["token": "not-a-token"], credentials: caller) == inactive)
        let rat = try await f.registration.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8)).registrationAccessToken!
        #expect(try await f.tokens.introspect(form: ["token": rat], credentials: caller) == inactive, "a registration access token is no access token")
        // Revoked by its client.
        let second = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        try await f.tokens.revoke(form: ["token": second], credentials: caller)
        #expect(try await f.tokens.introspect(form: ["token": second], credentials: caller) == inactive)
        // Expired.
        f.clock.advance(milliseconds: 3_600_000)
        #expect(try await f.tokens.introspect(form: ["token": token], credentials: caller) == inactive)
        // Client deleted: its tokens die with it.
        f.clock.advance(milliseconds: -3_600_000)
        let (other, otherSecret) = try await f.client("client_secret_post")
        let otherToken = try #require(try await f.grant(.post(clientID: other, secret: otherSecret!))["access_token"]?.stringValue)
        #expect(try await f.tokens.introspect(form: ["token": otherToken], credentials: caller)["active"] == .bool(true))
        _ = await f.store.delete(id: other)
        #expect(try await f.tokens.introspect(form: ["token": otherToken], credentials: caller) == inactive)
    }

    @Test("a token verified once is not verified again, but its expiry, revocation and client are checked on every use")
    func verifiedTokens() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let caller = ClientCredentials.basic(clientID: id, secret: secret!)
        let inactive = JSONObject([("active", .bool(false))])
        let token = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        #expect(f.tokens.verified.count == 0, "issuing a token verifies nothing")
        for _ in 0..<3 {
            #expect(try await f.tokens.introspect(form: ["token": token], credentials: caller)["active"] == .bool(true))
        }
        #expect(f.tokens.verified.count == 1)
        // The same header and claims under another signature: another digest, verified, refused, not remembered.
        let parts = token.split(separator: ".")
        let forged = "\(parts[0]).\(parts[1]).\(Base64URL.encode([UInt8](repeating: 1, count: 64)))"
        #expect(try await f.tokens.introspect(form: ["token": forged], credentials: caller) == inactive)
        #expect(f.tokens.verified.count == 1)
        // Revoked after it was remembered (revocation, too, goes through the check).
        try await f.tokens.revoke(form: ["token": token], credentials: caller)
        #expect(try await f.tokens.introspect(form: ["token": token], credentials: caller) == inactive)
        // A token whose client was deleted before its first introspection: verified, refused, not remembered.
        let (gone, goneSecret) = try await f.client("client_secret_post")
        let goneToken = try #require(try await f.grant(.post(clientID: gone, secret: goneSecret!))["access_token"]?.stringValue)
        _ = await f.store.delete(id: gone)
        #expect(try await f.tokens.introspect(form: ["token": goneToken], credentials: caller) == inactive)
        #expect(f.tokens.verified.count == 1)
        // Its client deleted after it was remembered.
        let (other, otherSecret) = try await f.client("client_secret_post")
        let otherToken = try #require(try await f.grant(.post(clientID: other, secret: otherSecret!))["access_token"]?.stringValue)
        #expect(try await f.tokens.introspect(form: ["token": otherToken], credentials: caller)["active"] == .bool(true))
        #expect(f.tokens.verified.count == 2)
        _ = await f.store.delete(id: other)
        #expect(try await f.tokens.introspect(form: ["token": otherToken], credentials: caller) == inactive)
        // Expired after it was remembered; an expired token is not remembered.
        let third = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        #expect(try await f.tokens.introspect(form: ["token": third], credentials: caller)["active"] == .bool(true))
        f.clock.advance(milliseconds: 3_600_000)
        #expect(try await f.tokens.introspect(form: ["token": third], credentials: caller) == inactive)
        let before = f.tokens.verified.count
        f.clock.advance(milliseconds: -3_600_000)
        let fourth = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        f.clock.advance(milliseconds: 3_600_000)
        #expect(try await f.tokens.introspect(form: ["token": fourth], credentials: caller) == inactive)
        #expect(f.tokens.verified.count == before)
    }

    @Test("the verified-token cache keeps at most two generations and moves a found entry back to the current one")
    func verifiedTokensBound() {
        let cache = VerifiedAccessTokens(capacity: 2)
        let keys = (0..<5).map { VerifiedAccessTokens.key(of: "token-\($0)") }
        func entry(_ n: Int) -> VerifiedAccessTokens.Entry { .init(kid: "k\(n)", claims: JSONObject([("n", .int(Int64(n)))])) }
        cache.remember(entry(0), for: keys[0])
        cache.remember(entry(1), for: keys[1])
        cache.remember(entry(2), for: keys[2])  // 0 and 1 become the previous generation
        #expect(cache.count == 3)
        #expect(cache.entry(for: keys[0])?.kid == "k0")  // moved back: the current generation is full again
        cache.remember(entry(3), for: keys[3])  // current {3}, previous {2, 0}; 1 is dropped
        #expect(cache.count == 3)
        #expect(cache.entry(for: keys[1]) == nil)
        #expect(cache.entry(for: keys[2])?.claims["n"] == .int(2))
        for n in 0..<5 { cache.remember(entry(n), for: keys[n]) }
        #expect(cache.count <= 4)
        #expect(cache.entry(for: keys[4])?.kid == "k4")
        #expect(VerifiedAccessTokens.key(of: "token-0") == keys[0] && keys[0] != keys[1])
    }

    @Test("public clients cannot introspect or revoke; tokens that outlive the lifetime or postdate a key's retirement are forgeries")
    func hardening() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let caller = ClientCredentials.basic(clientID: id, secret: secret!)
        let token = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        let publicClient = try await f.registration.register(body: Array(#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}"#.utf8))
        await expectInvalidClient { _ = try await f.tokens.introspect(form: ["token": token], credentials: .none(clientID: publicClient.client.clientID)) }
        await expectInvalidClient { try await f.tokens.revoke(form: ["token": token], credentials: .none(clientID: publicClient.client.clientID)) }
        // Signed by the server's own current key, but living ten years: not one of ours.
        var claims = CompactJWS(token)!.claims
        claims["exp"] = .int(f.clock.now().seconds + 10 * 365 * 86_400)
        let key = try #require(f.ring.current.key(for: .es256))
        let longLived = try JWTSigner.sign(claims: claims, with: key, type: "at+jwt")
        #expect(try await f.tokens.introspect(form: ["token": longLived], credentials: caller)["active"] == .bool(false))
        // A key retired long ago "signing" a fresh token: a leaked key.
        var retired = key
        retired.retiredAt = Timestamp(milliseconds: f.clock.now().milliseconds - 3_600_000)
        let ring = KeyRing(ServerKeys(signingKeys: f.ring.current.signingKeys.map { $0.kid == key.kid ? retired : $0 }, sealer: f.ring.current.sealer))
        let authenticator = ClientAuthenticator(store: f.store, tokenState: f.store, keys: ring, keySource: f.keySource, clock: f.clock,
                                                uses: f.registration.uses, audiences: [TokenFixture.issuer], logger: Logger(label: "test"))
        let strict = TokenService(configuration: f.tokens.configuration, settings: f.tokens.settings, store: f.store, tokenState: f.store,
                                  keys: ring, authenticator: authenticator, clock: f.clock, random: SystemRandomSource(), logger: Logger(label: "test"))
        #expect(try await strict.introspect(form: ["token": token], credentials: caller)["active"] == .bool(false))
    }

    @Test("revocation by another client changes nothing; unknown tokens are accepted silently")
    func revocation() async throws {
        let f = try await TokenFixture()
        let (a, aSecret) = try await f.client("client_secret_basic")
        let (b, bSecret) = try await f.client("client_secret_basic")
        let callerA = ClientCredentials.basic(clientID: a, secret: aSecret!)
        let token = try #require(try await f.grant(callerA)["access_token"]?.stringValue)
        try await f.tokens.revoke(form: ["token": token], credentials: .basic(clientID: b, secret: bSecret!))
        #expect(try await f.tokens.introspect(form: ["token": token], credentials: callerA)["active"] == .bool(true))
        try await f.tokens.revoke(form: ["token": "garbage"], credentials: callerA)
        await expectInvalidClient { try await f.tokens.revoke(form: ["token": token], credentials: .basic(clientID: a, secret: "wrong")) }
    }

    @Test("another instance introspects and revokes a token of a key it has not loaded yet: it reloads the keys at once")
    func rotationAcrossInstances() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let caller = ClientCredentials.basic(clientID: id, secret: secret!)
        for key in f.ring.current.signingKeys {
            _ = await f.store.insertSigningKeyIfNone(StoredSigningKey(kid: key.kid, algorithm: key.algorithm.rawValue,
                                                                          privateKeyPEM: key.privateKeyPEM, createdAt: key.createdAt))
        }
        // Instance B: the same store and keys, its own ring, which has not reloaded since A rotated.
        let ringB = KeyRing(f.ring.current)
        func instanceB() -> TokenService {
            let authenticator = ClientAuthenticator(store: f.store, tokenState: f.store, keys: ringB, keySource: f.keySource, clock: f.clock,
                                                    uses: f.registration.uses, audiences: [TokenFixture.issuer, TokenFixture.issuer + "/token"],
                                                    logger: Logger(label: "test"))
            return TokenService(configuration: f.tokens.configuration, settings: f.tokens.settings, store: f.store, tokenState: f.store,
                                keys: ringB, authenticator: authenticator, clock: f.clock, random: SystemRandomSource(),
                                logger: Logger(label: "test"), revocationLookup: f.store)
        }
        let b = instanceB()
        _ = try await f.ring.rotate(.es256, store: f.store, clock: f.clock)
        let token = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        let kid = try #require(CompactJWS(token)?.header["kid"]?.stringValue)
        #expect(ringB.current.key(kid: kid) == nil)
        // Without a store to reload from, B cannot know the key (the failure this guards against).
        #expect(try await b.introspect(form: ["token": token], credentials: caller)["active"] == .bool(false))
        ringB.reloadsOnDemand(from: f.store)
        #expect(try await b.introspect(form: ["token": token], credentials: caller)["active"] == .bool(true))
        #expect(ringB.current.key(kid: kid) != nil)
        // A revocation through B is seen by A.
        try await b.revoke(form: ["token": token], credentials: caller)
        #expect(try await f.tokens.introspect(form: ["token": token], credentials: caller)["active"] == .bool(false))
        // A kid that no key has stays unknown after the reload.
        #expect(await ringB.reloaded(lookingFor: "no-such-key") == false)
    }

    @Test("key rotation: tokens from before still introspect; the retired key stays published until they expire")
    func rotation() async throws {
        let f = try await TokenFixture()
        let (id, secret) = try await f.client("client_secret_basic")
        let caller = ClientCredentials.basic(clientID: id, secret: secret!)
        let before = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        let oldKid = try #require(CompactJWS(before)?.header["kid"]?.stringValue)
        // The ring's keys live in the store, as they do in a server.
        for key in f.ring.current.signingKeys {
            _ = await f.store.insertSigningKeyIfNone(StoredSigningKey(kid: key.kid, algorithm: key.algorithm.rawValue,
                                                                          privateKeyPEM: key.privateKeyPEM, createdAt: key.createdAt))
        }
        _ = try await f.ring.rotate(.es256, store: f.store, clock: f.clock)
        let after = try #require(try await f.grant(caller)["access_token"]?.stringValue)
        let newKid = try #require(CompactJWS(after)?.header["kid"]?.stringValue)
        #expect(newKid != oldKid)
        #expect(try await f.tokens.introspect(form: ["token": before], credentials: caller)["active"] == .bool(true))
        #expect(try await f.tokens.introspect(form: ["token": after], credentials: caller)["active"] == .bool(true))
        func published(_ kid: String) -> Bool {
            f.ring.current.publishedJWKS(now: f.clock.now(), window: 3600 + TokenService.keyReloadAllowance)["keys"]?.arrayValue?.contains { $0.objectValue?["kid"] == .string(kid) } ?? false
        }
        #expect(published(oldKid) && published(newKid))
        f.clock.advance(milliseconds: 3_600_000)
        f.clock.advance(milliseconds: TokenService.keyReloadAllowance * 1000)
        #expect(!published(oldKid) && published(newKid))
    }
}
