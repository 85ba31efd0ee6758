import Foundation
import RegistrarCore
import RegistrarTesting
import Testing

/// Settings with extra policies, for tests.
func settingsWith(_ policies: [RegistrationPolicy], mode: RegistrationMode = .open, maxClients: Int? = nil) -> RegistrarSettings {
    var settings = RegistrarSettings()
    for policy in policies { settings.policies[policy.name] = policy }
    settings.registration.mode = mode
    settings.registration.maxClients = maxClients
    return settings
}

extension ServiceFixture {
    /// Creates an initial access token in the store and returns the token.
    func makeToken(policy: String, maxUses: Int64? = nil, expiresIn: Int64? = nil) async throws -> String {
        let made = InitialAccessToken.make(policy: policy, note: nil, expiresIn: expiresIn, maxUses: maxUses, clock: clock, random: SystemRandomSource())
        try await store.insertInitialAccessToken(made.record)
        return made.token
    }

    func registerJSON(_ json: String, token: String? = nil) async throws -> JSONObject {
        try await service.register(body: Array(json.utf8), initialAccessToken: token).json
    }
}

func scopes(_ object: JSONObject) -> [String] {
    object["scope"]?.stringValue?.split(separator: " ").map(String.init) ?? []
}

@Suite("Policies: scopes")
struct ScopePolicyTests {
    @Test("restricted scopes are removed silently, matching structured scopes by prefix; reserved ones always")
    func restricted() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.restricted = ["storage.read:/", "scim:*", "proxy:generate"]
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let json = try await f.registerJSON(#"""
            {"redirect_uris":["https://a.example/cb"],
             "scope":"openid storage.read:/home storage.read:/ scim:read scim:write proxy:generate storage.create:/ iam:admin.read registration-token example"}
            """#)
        #expect(scopes(json) == ["openid", "storage.create:/", "example"])
    }

    @Test("no scope asked: the policy's default scopes, else the server's")
    func defaults() async throws {
        var partners = RegistrationPolicy(name: "partners")
        partners.scopes.defaults = ["openid", "compute"]
        let f = try await ServiceFixture(settings: settingsWith([partners]))
        #expect(scopes(try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)) == ["openid", "profile", "email", "address", "phone"])
        let token = try await f.makeToken(policy: "partners")
        #expect(scopes(try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#, token: token)) == ["openid", "compute"])
    }

    @Test("a default scope configured twice is given once, and the read says what the registration said")
    func duplicateDefaults() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.defaults = ["openid", "email", "openid"]
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        #expect(scopes(created.json) == ["openid", "email"])
        let read = try await f.service.read(clientID: created.client.clientID, bearer: created.registrationAccessToken)
        #expect(scopes(read.json) == ["openid", "email"])
    }

    @Test("the server's default scopes are given only as far as the policy allows them")
    func defaultsFiltered() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.allowed = ["openid", "api:*"]
        anonymous.scopes.unknown = .reject
        anonymous.scopes.restricted = ["openid"]
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        #expect(try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)["scope"] == nil)
    }

    @Test("a request whose scopes are all removed holds no scope, not the defaults")
    func allRemoved() async throws {
        let f = try await ServiceFixture()
        let json = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"scope":"iam:admin.write"}"#)
        #expect(json["scope"] == nil)
    }

    @Test("unknown scopes: kept (IAM), dropped or refused", arguments: [RegistrationPolicy.UnknownScopes.keep, .drop, .reject])
    func unknown(_ mode: RegistrationPolicy.UnknownScopes) async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.unknown = mode
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let body = #"{"redirect_uris":["https://a.example/cb"],"scope":"openid custom.thing"}"#
        switch mode {
        case .keep: #expect(scopes(try await f.registerJSON(body)) == ["openid", "custom.thing"])
        case .drop: #expect(scopes(try await f.registerJSON(body)) == ["openid"])
        case .reject:
            await #expect(throws: RegistrarError.invalidClientMetadata("")) { _ = try await f.registerJSON(body) }
        }
    }

    @Test("allowed scopes with wildcards; others refused by default")
    func allowed() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.allowed = ["openid", "storage.*"]
        anonymous.scopes.unknown = .reject
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        #expect(scopes(try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"scope":"openid storage.read:/x"}"#)) == ["openid", "storage.read:/x"])
        await #expect(throws: RegistrarError.invalidClientMetadata("")) {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"scope":"openid email"}"#)
        }
    }

    @Test("on update, restricted scopes the client already holds are kept; new ones are removed")
    func keptOnUpdate() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.scopes.restricted = ["scim:read", "scim:write"]
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"],"scope":"openid"}"#.utf8))
        // An administrator granted scim:read directly in the store.
        var granted = try #require(await f.store.client(id: created.client.clientID))
        granted.metadata.scope = ["openid", "scim:read"]
        granted.version += 1
        _ = try await f.store.update(granted, expectedVersion: granted.version - 1)
        let updated = try await f.service.update(clientID: granted.clientID, bearer: created.registrationAccessToken, body: Array(#"""
            {"client_id":"\#(granted.clientID)","redirect_uris":["https://a.example/cb"],"scope":"openid scim:read scim:write"}
            """#.utf8))
        #expect(scopes(updated.json) == ["openid", "scim:read"])
    }
}

@Suite("Policies: grant types, methods, application types, redirect hosts")
struct GrantPolicyTests {
    @Test("the anonymous policy forbids password, client_credentials and token exchange", arguments: [
        "password", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange",
    ])
    func anonymousForbids(_ grant: String) async throws {
        let f = try await ServiceFixture()
        do {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","\#(grant)"]}"#)
            Issue.record("\(grant) accepted")
        } catch let error as RegistrarError {
            #expect(error.code == .invalidClientMetadata)
            #expect(error.errorDescription.contains(grant))
        }
        #expect(try await f.store.count() == 0)
    }

    @Test("a policy granted by an initial access token can allow them")
    func tokenPolicyAllows() async throws {
        let f = try await ServiceFixture(settings: settingsWith([RegistrationPolicy(name: "machines")]))
        let token = try await f.makeToken(policy: "machines")
        let json = try await f.registerJSON(#"{"grant_types":["client_credentials"]}"#, token: token)
        #expect(json["grant_types"] == .array([.string("client_credentials")]))
    }

    @Test("grant types the client already holds survive an update, even if the policy forbids them now")
    func heldGrantsKept() async throws {
        let f = try await ServiceFixture()
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        var granted = try #require(await f.store.client(id: created.client.clientID))
        granted.metadata.grantTypes = [.authorizationCode, .clientCredentials]
        granted.version += 1
        _ = try await f.store.update(granted, expectedVersion: granted.version - 1)
        let body = #"{"client_id":"\#(granted.clientID)","redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","client_credentials"]}"#
        let updated = try await f.service.update(clientID: granted.clientID, bearer: created.registrationAccessToken, body: Array(body.utf8))
        #expect(updated.json["grant_types"] == .array([.string("authorization_code"), .string("client_credentials")]))
        let adding = #"{"client_id":"\#(granted.clientID)","redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","password"]}"#
        await #expect(throws: RegistrarError.invalidClientMetadata("")) {
            _ = try await f.service.update(clientID: granted.clientID, bearer: created.registrationAccessToken, body: Array(adding.utf8))
        }
    }

    @Test("allowed grant types, methods and application types", arguments: [
        (#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}"#, true),
        (#"{"redirect_uris":["https://a.example/cb"]}"#, false),
        (#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"client_secret_post"}"#, false),
        (#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"application_type":"web"}"#, false),
    ])
    func allowedLists(_ body: String, _ ok: Bool) async throws {
        var device = RegistrationPolicy(name: "device")
        device.allowedGrantTypes = [.deviceCode, .refreshToken]
        device.allowedAuthMethods = [.none, .clientSecretBasic]
        device.allowedApplicationTypes = [.native]
        let f = try await ServiceFixture(settings: settingsWith([device]))
        let token = try await f.makeToken(policy: "device")
        let native = body.replacingOccurrences(of: "{", with: #"{"application_type":"native","#, options: [], range: nil)
        let text = body.contains("application_type") ? body : native
        if ok { _ = try await f.registerJSON(text, token: token) } else {
            await #expect(throws: RegistrarError.invalidClientMetadata("")) { _ = try await f.registerJSON(text, token: token) }
        }
    }

    @Test("redirect hosts: allowed patterns, denied patterns, https required", arguments: [
        ("https://app.partner.example/cb", true), ("https://partner.example/cb", false), ("https://bad.partner.example/cb", false),
        ("https://evil.example/cb", false), ("http://127.0.0.1/cb", false), ("com.partner.app:/cb", true),
    ])
    func redirectHosts(_ uri: String, _ ok: Bool) async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.redirectURIs.allowedHosts = ["*.partner.example"]
        anonymous.redirectURIs.deniedHosts = ["bad.partner.example"]
        anonymous.redirectURIs.requireHTTPS = true
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let body = #"{"redirect_uris":["\#(uri)"]}"#
        if ok { _ = try await f.registerJSON(body) } else {
            await #expect(throws: RegistrarError.invalidRedirectURI("")) { _ = try await f.registerJSON(body) }
        }
    }

    @Test("a denied host is denied in every spelling of it: case, the root's final dot, an IP address's other forms", arguments: [
        "https://bad.example./cb", "https://BAD.Example/cb", "https://x.evil.example./cb", "https://10.1/cb", "https://167772161/cb",
        "https://0x0a000001/cb", "https://012.0.0.1/cb", "https://[::ffff:10.0.0.1]/cb", "https://[0:0:0:0:0:0:0:1]/cb", "https://[0::1]:8443/cb",
        "https://dotted.example/cb",
    ])
    func deniedSpellings(_ uri: String) async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.redirectURIs.deniedHosts = ["bad.example", "*.evil.example", "10.0.0.1", "[::1]", "dotted.example."]
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        await #expect(throws: RegistrarError.invalidRedirectURI("")) { _ = try await f.registerJSON(#"{"redirect_uris":["\#(uri)"]}"#) }
        await #expect(throws: RegistrarError.invalidClientMetadata("")) {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://ok.example/cb"],"post_logout_redirect_uris":["\#(uri)"]}"#)
        }
        // Hosts that only look alike still register.
        _ = try await f.registerJSON(#"{"redirect_uris":["https://notbad.example/cb","https://evil.example/cb","https://10.0.0.10/cb","https://[::2]/cb"]}"#)
    }
}

@Suite("Registration modes and initial access tokens")
struct TokenModeTests {
    @Test("token mode: no token is 401 with a bare challenge; a good token registers under its policy")
    func tokenMode() async throws {
        let f = try await ServiceFixture(settings: settingsWith([RegistrationPolicy(name: "partners")], mode: .token))
        do {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)
            Issue.record("registered without a token")
        } catch let error as RegistrarError {
            #expect(error.status == 401 && error.challenge == .missingToken)
        }
        let token = try await f.makeToken(policy: "partners")
        let response = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8), initialAccessToken: token)
        #expect(response.client.policy == "partners")
        #expect(try await f.store.initialAccessTokens().first?.uses == 1)
    }

    @Test("bad, expired, revoked and used-up tokens are 401 invalid_token and spend nothing")
    func badTokens() async throws {
        let f = try await ServiceFixture(settings: settingsWith([], mode: .token))
        let single = try await f.makeToken(policy: "anonymous", maxUses: 1)
        _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#, token: single)
        let shortLived = try await f.makeToken(policy: "anonymous", expiresIn: 60)
        let revoked = try await f.makeToken(policy: "anonymous")
        let revokedID = try #require(await f.store.initialAccessTokens().first { $0.digest == SecretDigest.of(revoked) }?.id)
        _ = await f.store.revokeInitialAccessToken(id: revokedID, at: f.clock.now())
        f.clock.advance(milliseconds: 61_000)
        for token in [single, shortLived, revoked, "rgi_unknown", "garbage token", InitialAccessToken.prefix] {
            do {
                _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#, token: token)
                Issue.record("registered with a bad token")
            } catch let error as RegistrarError {
                #expect(error.status == 401 && error.challenge == .invalidToken)
            }
        }
        #expect(try await f.store.count() == 1)
    }

    @Test("a registration access token is not an initial access token, nor the other way round")
    func tokensDoNotMix() async throws {
        let f = try await ServiceFixture(settings: settingsWith([], mode: .token))
        let iat = try await f.makeToken(policy: "anonymous")
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8), initialAccessToken: iat)
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#, token: created.registrationAccessToken)
        }
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.service.read(clientID: created.client.clientID, bearer: iat)
        }
    }

    @Test("open mode accepts a token and applies its policy; disabled mode registers nothing")
    func modes() async throws {
        let open = try await ServiceFixture(settings: settingsWith([RegistrationPolicy(name: "machines")]))
        let token = try await open.makeToken(policy: "machines")
        _ = try await open.registerJSON(#"{"grant_types":["client_credentials"]}"#, token: token)
        let disabled = try await ServiceFixture(settings: settingsWith([], mode: .disabled))
        do {
            _ = try await disabled.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)
            Issue.record("registered while disabled")
        } catch let error as RegistrarError {
            #expect(error.status == 404)
        }
    }

    @Test("caps: past the global or the policy's limit, 403 saying so")
    func caps() async throws {
        var capped = RegistrationPolicy.anonymous
        capped.maxClients = 2
        let f = try await ServiceFixture(settings: settingsWith([capped], maxClients: 3))
        for _ in 0..<2 { _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#) }
        do {
            _ = try await f.registerJSON(#"{"redirect_uris":["https://a.example/cb"]}"#)
            Issue.record("the policy cap was passed")
        } catch let error as RegistrarError {
            #expect(error.status == 403 && error.code == .accessDenied)
            #expect(error.errorDescription.contains("\"anonymous\" has reached its limit of 2"))
        }
    }
}

@Suite("Policies: lifetime, token rotation, software statements")
struct LifecyclePolicyTests {
    @Test("a client lifetime sets client_secret_expires_at; the expired client counts as deleted; the reaper removes it")
    func lifetime() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.clientLifetime = 3600
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        #expect(created.json["client_secret_expires_at"] == .int(1_700_000_000 + 3600))
        _ = try await f.service.read(clientID: created.client.clientID, bearer: created.registrationAccessToken)
        f.clock.advance(milliseconds: 3_600_000)
        await #expect(throws: RegistrarError.invalidToken()) {
            _ = try await f.service.read(clientID: created.client.clientID, bearer: created.registrationAccessToken)
        }
        let reaper = ClientReaper(store: f.store, cleanup: CleanupSettings(), clock: f.clock, logger: f.service.logger)
        #expect(try await reaper.runOnce() == 1)
        #expect(try await f.store.count() == 0)
    }

    @Test("the reaper deletes never-used clients after the configured time and spares used ones")
    func reaper() async throws {
        let f = try await ServiceFixture()
        let used = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        let unused = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        f.clock.advance(milliseconds: 1000)
        _ = try await f.service.read(clientID: used.client.clientID, bearer: used.registrationAccessToken)
        try await f.service.uses.flush()
        #expect(try await f.store.client(id: used.client.clientID)?.lastUsedAt == f.clock.now())
        var cleanup = CleanupSettings()
        cleanup.enabled = true
        cleanup.unusedAfter = 86_400
        let reaper = ClientReaper(store: f.store, cleanup: cleanup, clock: f.clock, logger: f.service.logger)
        #expect(try await reaper.runOnce() == 0, "nothing is stale yet")
        f.clock.advance(milliseconds: 86_400_000)
        #expect(try await reaper.runOnce() == 1)
        #expect(try await f.store.client(id: unused.client.clientID) == nil)
        #expect(try await f.store.client(id: used.client.clientID) != nil)
    }

    @Test("rotation on update: the response carries a new token and the old one dies; a failed update rotates nothing")
    func rotationOnUpdate() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.registrationToken.rotation = .onUpdate
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        let id = created.client.clientID, first = try #require(created.registrationAccessToken)
        await #expect(throws: RegistrarError.invalidRedirectURI("")) {
            _ = try await f.service.update(clientID: id, bearer: first, body: Array(#"{"client_id":"\#(id)","redirect_uris":["bad"]}"#.utf8))
        }
        _ = try await f.service.read(clientID: id, bearer: first)
        _ = try await f.service.read(clientID: id, bearer: first)
        let updated = try await f.service.update(clientID: id, bearer: first, body: Array(#"{"client_id":"\#(id)","redirect_uris":["https://b.example/cb"]}"#.utf8))
        let second = try #require(updated.registrationAccessToken)
        #expect(second != first)
        await #expect(throws: RegistrarError.invalidToken()) { _ = try await f.service.read(clientID: id, bearer: first) }
        #expect(try await f.service.read(clientID: id, bearer: second).json["redirect_uris"] == .array([.string("https://b.example/cb")]))
    }

    @Test("never rotating: reads and updates keep the token; past max_age the next update replaces it")
    func maxAge() async throws {
        var anonymous = RegistrationPolicy.anonymous
        anonymous.registrationToken.maxAge = 86_400
        let f = try await ServiceFixture(settings: settingsWith([anonymous]))
        let created = try await f.service.register(body: Array(#"{"redirect_uris":["https://a.example/cb"]}"#.utf8))
        let id = created.client.clientID, token = try #require(created.registrationAccessToken)
        let body = Array(#"{"client_id":"\#(id)","redirect_uris":["https://a.example/cb"]}"#.utf8)
        #expect(try await f.service.update(clientID: id, bearer: token, body: body).registrationAccessToken == token)
        f.clock.advance(milliseconds: 86_400_000)
        #expect(try await f.service.read(clientID: id, bearer: token).registrationAccessToken == token, "an old token still reads")
        let rotated = try await f.service.update(clientID: id, bearer: token, body: body)
        #expect(rotated.registrationAccessToken != token)
        #expect(try await f.service.read(clientID: id, bearer: rotated.registrationAccessToken).registrationAccessToken == rotated.registrationAccessToken)
    }
}
