import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RegistrarCore
@testable import RegistrarHTTP
import RegistrarTesting
import Testing

@Suite("HTTP: registration modes")
struct ModeHTTPTests {
    @Test("token mode: no token is 401 Bearer; a bad one 401 invalid_token; a good one registers")
    func tokenMode() async throws {
        var settings = RegistrarSettings()
        settings.registration.mode = .token
        try await HTTPFixture.withRouter(settings: settings) { client, service in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders + bearer("rgi_nope"),
                                     body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            }
            let made = InitialAccessToken.make(policy: "anonymous", note: nil, expiresIn: nil, maxUses: 1, clock: SystemWallClock(), random: SystemRandomSource())
            try await service.store.insertInitialAccessToken(made.record)
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders + bearer(made.token),
                                     body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders + bearer(made.token),
                                     body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .unauthorized, "a single-use token worked twice")
            }
        }
    }

    @Test("disabled mode: no registration endpoint, none in discovery; registered clients still manage themselves")
    func disabled() async throws {
        var settings = RegistrarSettings()
        settings.registration.mode = .disabled
        try await HTTPFixture.withRouter(settings: settings) { client, service in
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .notFound)
                #expect(response.oauthError?.code == "not_found")
            }
            try await client.execute(uri: "/.well-known/openid-configuration", method: .get) { response in
                let o = try response.object
                #expect(o["registration_endpoint"] == nil)
                #expect(o["issuer"] != nil)
            }
            // A client registered earlier (directly in the store here) can still read itself.
            let token = "eyJ.pre.existing"
            try await service.store.insert(RegisteredClient(clientID: "c-1", metadata: try MetadataValidator.standard.validate(
                try ClientMetadata(json: JSONObject([("redirect_uris", .array([.string("https://a.example/cb")]))])),
                configuration: service.configuration), createdAt: SystemWallClock().now(), registrationTokenDigest: SecretDigest.of(token)))
            try await client.execute(uri: "/iam/api/client-registration/c-1", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("past a cap: 403 with a JSON error that says so")
    func cap() async throws {
        var settings = RegistrarSettings()
        settings.registration.maxClients = 1
        try await HTTPFixture.withRouter(settings: settings) { client, _ in
            _ = try await registerSeedClient(client)
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .forbidden)
                #expect(response.oauthError?.code == "access_denied")
                #expect(response.oauthError?.description.contains("limit of 1") == true)
            }
        }
    }
}

@Suite("HTTP: abuse limits")
struct AbuseLimitHTTPTests {
    func options(registrations: RateLimit, failedTokens: RateLimit, clock: TestClock, proxies: [String] = []) -> HTTPOptions {
        var settings = RegistrarSettings()
        settings.registration.registrationRate = registrations
        settings.registration.failedTokenRate = failedTokens
        settings.trustedProxies = proxies
        return HTTPOptions(settings: settings, clock: clock)
    }

    @Test("registrations per address: 429 with Retry-After once the bucket is empty, allowed again after refill")
    func registrationLimit() async throws {
        let clock = TestClock()
        let options = options(registrations: RateLimit(perMinute: 2, burst: 2), failedTokens: RateLimit(perMinute: 0, burst: 0), clock: clock)
        try await HTTPFixture.withRouter(options: options) { client, service in
            for _ in 0..<2 { _ = try await registerSeedClient(client) }
            try await client.execute(uri: "/iam/api/client-registration", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedBody)) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.oauthError?.code == "too_many_requests")
            }
            #expect(try await service.store.count() == 2)
            clock.advance(milliseconds: 30_000)
            _ = try await registerSeedClient(client)
        }
    }

    @Test("failed token attempts per address: after the burst even a good token waits")
    func failedTokenLimit() async throws {
        let clock = TestClock()
        let options = options(registrations: RateLimit(perMinute: 0, burst: 0), failedTokens: RateLimit(perMinute: 1, burst: 3), clock: clock)
        try await HTTPFixture.withRouter(options: options) { client, _ in
            let (id, token, _) = try await registerSeedClient(client)
            for _ in 0..<3 {
                try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer("wrong.token.value")) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "60")
            }
            // A missing token is not a failed guess and costs nothing; after a minute the good token works.
            clock.advance(milliseconds: 60_000)
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/iam/api/client-registration/\(id)", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("X-Forwarded-For counts only from trusted proxies")
    func forwardedFor() {
        let trusted = ["10.0.0.0/8"].compactMap(IPAddressRange.init)
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"], trusted: trusted) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["198.51.100.7"], trusted: trusted) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, 198.51.100.7, 10.0.0.3"], trusted: trusted) == "198.51.100.7",
                "the nearest untrusted hop is the client; what it claims further left is not believed")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: [], trusted: trusted) == "10.0.0.2")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["not-an-ip"], trusted: trusted) == "10.0.0.2")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: ["1.2.3.4"], trusted: trusted) == "unknown")
    }
}

@Suite("HTTP: CORS origins")
struct CORSHTTPTests {
    @Test("configured origins are echoed with Vary: Origin; others get no CORS header")
    func configuredOrigins() async throws {
        var settings = RegistrarSettings()
        settings.corsAllowedOrigins = ["https://dashboard.example"]
        try await HTTPFixture.withRouter(options: HTTPOptions(settings: settings, clock: SystemWallClock())) { client, _ in
            try await client.execute(uri: "/.well-known/openid-configuration", method: .get, headers: [.origin: "https://dashboard.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "https://dashboard.example")
                #expect(response.headers[.vary] == "Origin")
            }
            try await client.execute(uri: "/.well-known/openid-configuration", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }
}

@Suite("HTTP: the published API description")
struct OpenAPIHTTPTests {
    @Test("/openapi.json serves openapi/openapi.json as it is in the repository, and it names the main routes")
    func servedDocumentIsTheFile() async throws {
        // Tests/RegistrarHTTPTests/<this file> → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("openapi/openapi.json"))
        var fileDocument = try #require(try JSONParser.parse(Array(file)).objectValue)
        fileDocument["servers"] = nil
        let expected = fileDocument
        try await HTTPFixture.withRouter(settings: RegistrarSettings()) { client, _ in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                var served = try #require(try JSONParser.parse(Array(response.body.readableBytesView)).objectValue)
                // The one difference: the server names itself by its configured issuer.
                let servers = served["servers"]?.arrayValue?.compactMap { $0.objectValue?["url"]?.stringValue }
                #expect(servers == [HTTPFixture.issuer])
                served["servers"] = nil
                let same = served == expected  // (not inside #expect: a failure would print both documents)
                #expect(same, "the served document differs from openapi/openapi.json: run scripts/embed-openapi.py")
                let paths = served["paths"]?.objectValue.map { Set($0.keys) } ?? []
                for route in ["/iam/api/client-registration", "/iam/api/client-registration/{client_id}", "/token", "/introspect", "/revoke",
                              "/.well-known/openid-configuration", "/jwks", "/iam/api/clients"] {
                    #expect(paths.contains(route), "\(route) is missing from the API description")
                }
            }
        }
    }
}
