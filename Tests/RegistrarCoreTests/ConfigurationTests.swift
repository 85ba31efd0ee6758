import Foundation
import RegistrarCore
import Testing

func settings(_ json: String, files: [String: String] = [:]) throws -> RegistrarSettings {
    guard case .object(let object) = try JSONParser.parse(Array(json.utf8)) else { throw ConfigurationError(member: "", problem: "not an object") }
    return try RegistrarSettings(json: object) { name in
        guard let text = files[name] else { throw ConfigurationError(member: "", problem: "no file \(name)") }
        return Array(text.utf8)
    }
}

func configurationError(_ json: String) -> ConfigurationError? {
    do {
        _ = try settings(json)
        return nil
    } catch let error as ConfigurationError {
        return error
    } catch {
        Issue.record("unexpected \(error)")
        return nil
    }
}

let issuerJWKS = #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#

@Suite("Configuration file")
struct ConfigurationTests {
    @Test("defaults: open registration under the built-in anonymous policy")
    func defaults() throws {
        let s = try settings("{}")
        #expect(s.registration.mode == .open)
        #expect(s.policies.keys.sorted() == ["anonymous"])
        #expect(s.policies["anonymous"]?.forbiddenGrantTypes == [.password, .clientCredentials, .tokenExchange])
        #expect(s.corsAllowedOrigins == ["*"])
        #expect(s.registration.cleanup.enabled == false)
        #expect(s.idleTimeout == 60)
    }

    @Test("host patterns in every form a URI writes a host are accepted")
    func hostPatterns() throws {
        let s = try settings(#"""
        {"policies": {"p": {"redirect_uris": {"allowed_hosts": ["app.example.org", "*.example.org", "bad.example.", "10.0.0.1", "[::1]", "xn--bcher-kva.example", "A.Example"],
                                              "denied_hosts": ["[2001:db8::1]", "2130706433"]}}}}
        """#)
        #expect(s.policies["p"]?.redirectURIs.allowedHosts?.count == 7)
    }

    @Test("every member of a complete file is read")
    func complete() throws {
        let s = try settings(#"""
        {
          "server": {"host": "0.0.0.0", "port": 8443, "issuer": "https://id.example.org", "log_level": "debug",
                     "trusted_proxies": ["10.0.0.0/8", "::1"], "cors_allowed_origins": ["https://app.example.org"], "idle_timeout": "2m"},
          "database": {"url": "postgres://r:s@db/r", "pool_size": 20, "timeout": "5s"},
          "keys": {"registration_token_algorithm": "es256", "sealing_key_file": "/etc/registrar/sealing.key"},
          "registration": {"mode": "token", "max_clients": 1000, "client_secret_lifetime": "90d",
                           "rate_limits": {"registrations": {"per_minute": 5, "burst": 10}, "failed_tokens": {"per_minute": 0}},
                           "cleanup": {"enabled": true, "unused_after": "14d", "interval": "30m"}},
          "policies": {
            "anonymous": {"scopes": {"restricted": ["storage.read:/"], "default": ["openid"]}},
            "partners": {"grant_types": {"allowed": ["client_credentials"], "forbidden": []},
                         "token_endpoint_auth_methods": ["private_key_jwt"], "application_types": ["web"],
                         "scopes": {"allowed": ["openid", "storage.*"], "unknown": "drop"},
                         "redirect_uris": {"allowed_hosts": ["*.partner.example"], "denied_hosts": ["bad.partner.example"], "require_https": true},
                         "client_lifetime": "30d", "max_clients": 50,
                         "registration_access_token": {"rotation": "on-update", "max_age": "180d"},
                         "software_statement": "required"}
          },
          "software_statements": {"trusted_issuers": [{"issuer": "https://directory.example", "jwks_file": "dir.json"}]}
        }
        """#, files: ["dir.json": issuerJWKS])
        #expect(s.host == "0.0.0.0" && s.port == 8443 && s.issuer == "https://id.example.org" && s.logLevel == "debug")
        #expect(s.trustedProxies == ["10.0.0.0/8", "::1"] && s.idleTimeout == 120)
        #expect(s.database == "postgres://r:s@db/r" && s.databasePoolSize == 20 && s.databaseTimeout == 5)
        #expect(s.registrationTokenAlgorithm == .es256 && s.sealingKeyFile == "/etc/registrar/sealing.key")
        #expect(s.registration.mode == .token && s.registration.maxClients == 1000)
        #expect(s.registration.clientSecretLifetime == 90 * 86_400)
        #expect(s.registration.registrationRate == RateLimit(perMinute: 5, burst: 10))
        #expect(!s.registration.failedTokenRate.isEnabled)
        #expect(s.registration.cleanup == { var c = CleanupSettings(); c.enabled = true; c.unusedAfter = 14 * 86_400; c.interval = 1800; return c }())
        let anonymous = try #require(s.policies["anonymous"])
        #expect(anonymous.forbiddenGrantTypes == [.password, .clientCredentials, .tokenExchange], "configuring anonymous keeps its safe defaults")
        #expect(anonymous.scopes.restricted == ["storage.read:/"] && anonymous.scopes.defaults == ["openid"])
        let partners = try #require(s.policies["partners"])
        #expect(partners.allowedGrantTypes == [.clientCredentials] && partners.forbiddenGrantTypes == [])
        #expect(partners.allowedAuthMethods == [.privateKeyJWT] && partners.allowedApplicationTypes == [.web])
        #expect(partners.scopes.allowed == ["openid", "storage.*"] && partners.scopes.unknown == .drop)
        #expect(partners.redirectURIs.allowedHosts == ["*.partner.example"] && partners.redirectURIs.requireHTTPS)
        #expect(partners.clientLifetime == 30 * 86_400 && partners.maxClients == 50)
        #expect(partners.registrationToken.rotation == .onUpdate && partners.registrationToken.maxAge == 180 * 86_400)
        #expect(partners.requireSoftwareStatement)
        #expect(s.trustedStatementIssuers.first?.issuer == "https://directory.example")
    }

    @Test("a bad member stops with a message naming it", arguments: [
        (#"{"registraton": {}}"#, "registraton", "unknown member"),
        (#"{"registration": {"mode": "closed"}}"#, "registration.mode", "open, token, disabled"),
        (#"{"registration": {"client_secret_lifetime": "forever"}}"#, "registration.client_secret_lifetime", "duration"),
        (#"{"registration": {"rate_limits": {"registrations": {"per_minute": 5, "burst": 0}}}}"#, "registration.rate_limits.registrations.burst", "at least 1"),
        (#"{"registration": {"cleanup": {"enabled": "yes"}}}"#, "registration.cleanup.enabled", "true or false"),
        (#"{"server": {"port": 70000}}"#, "server.port", "between"),
        (#"{"server": {"trusted_proxies": ["10.0.0.0/33"]}}"#, "server.trusted_proxies[0]", "CIDR"),
        (#"{"server": {"cors_allowed_origins": ["https://a.example/path"]}}"#, "server.cors_allowed_origins[0]", "origin"),
        (#"{"server": {"idle_timeout": 0}}"#, "server.idle_timeout", "between 1 second and 1 hour"),
        (#"{"policies": {"p": {"redirect_uris": {"denied_hosts": ["ok.example", "port.example:8443"]}}}}"#, "policies.p.redirect_uris.denied_hosts[1]", "not a host pattern"),
        (#"{"policies": {"p": {"redirect_uris": {"denied_hosts": ["https://scheme.example"]}}}}"#, "policies.p.redirect_uris.denied_hosts[0]", "not a host pattern"),
        (#"{"policies": {"p": {"redirect_uris": {"denied_hosts": ["bücher.example"]}}}}"#, "policies.p.redirect_uris.denied_hosts[0]", "xn--"),
        (#"{"policies": {"p": {"redirect_uris": {"denied_hosts": ["bad example"]}}}}"#, "policies.p.redirect_uris.denied_hosts[0]", "not a host pattern"),
        (#"{"policies": {"p": {"redirect_uris": {"denied_hosts": ["a.example/path"]}}}}"#, "policies.p.redirect_uris.denied_hosts[0]", "not a host pattern"),
        (#"{"policies": {"p": {"redirect_uris": {"allowed_hosts": ["*"]}}}}"#, "policies.p.redirect_uris.allowed_hosts[0]", "not a host pattern"),
        (#"{"policies": {"p": {"redirect_uris": {"allowed_hosts": ["*.10.0.0.1"]}}}}"#, "policies.p.redirect_uris.allowed_hosts[0]", "not an address"),
        (#"{"policies": {"p": {"redirect_uris": {"allowed_hosts": ["user@a.example"]}}}}"#, "policies.p.redirect_uris.allowed_hosts[0]", "not a host pattern"),
        (#"{"policies": {"static": {"max_clients": 2}}}"#, "policies.static", "choose another name"),
        (#"{"tokens": {"audience": ""}}"#, "tokens.audience", "must not be empty"),
        (#"{"server": {"idle_timeout": "2h"}}"#, "server.idle_timeout", "between 1 second and 1 hour"),
        (#"{"keys": {"registration_token_algorithm": "PS256"}}"#, "keys.registration_token_algorithm", "HS256, ES256 or RS256"),
        (#"{"keys": {"registration_token_algorithm": "none"}}"#, "keys.registration_token_algorithm", "HS256, ES256 or RS256"),
        (#"{"policies": {"p": {"grant_types": {"allowed": ["magic"]}}}}"#, "policies.p.grant_types.allowed", "magic"),
        (#"{"policies": {"p": {"scopes": {"allowed": ["a"], "unknown": "keep"}}}}"#, "policies.p.scopes.unknown", "pointless"),
        (#"{"policies": {"p": {"scopes": {"restricted": ["bad scope"]}}}}"#, "policies.p.scopes.restricted", "not a scope"),
        (#"{"policies": {"p": {"registration_access_token": {"rotation": "always"}}}}"#, "policies.p.registration_access_token.rotation", "never, on-update"),
        (#"{"policies": {"p": {"software_statement": "required"}}}"#, "policies.p.software_statement", "trusted_issuers"),
        (#"{"policies": {"p": {"colour": "blue"}}}"#, "policies.p.colour", "unknown member"),
        (#"{"policies": {"bad name": {}}}"#, "policies.bad name", "policy name"),
        (#"{"software_statements": {"trusted_issuers": [{"issuer": "x"}]}}"#, "software_statements.trusted_issuers[0]", "jwks"),
        (#"{"software_statements": {"trusted_issuers": [{"issuer": "x", "jwks": {"keys": [{"kty": "oct", "k": "AA"}]}}]}}"#, "software_statements.trusted_issuers[0]", "private key material"),
        (#"{"database": {"timeout": 0}}"#, "database.timeout", "more than 0"),
        (#"{"policies": {"p": {"software_statement": "required"}}, "software_statements": {}}"#, "policies.p.software_statement", "trusted_issuers"),
        (#"{"software_statements": {"trusted_issuers": [{"issuer": "x", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "d": "AA", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}]}}"#, "software_statements.trusted_issuers[0]", "private key material"),
        (#"{"server": {"issuer": "ftp://id.example.org"}}"#, "server.issuer", "http(s) URL"),
        (#"{"server": {"log_level": "loud"}}"#, "server.log_level", "trace, debug"),
        (#"{"tokens": {"access_token_algorithm": "HS256"}}"#, "tokens.access_token_algorithm", "RS256 or ES256"),
        (#"{"tokens": {"assertion_audience": "token_endpoint"}}"#, "tokens.assertion_audience", "must be any or issuer"),
        (#"{"jwks_uri_fetch": {"allow_http": "yes"}}"#, "jwks_uri_fetch.allow_http", "true or false"),
    ])
    func badMembers(_ json: String, _ member: String, _ problem: String) throws {
        let error = try #require(configurationError(json))
        #expect(error.member == member)
        #expect(error.description.contains(problem), "\(error)")
    }

    @Test("a rate limit that leaves members out keeps their defaults")
    func partialRate() throws {
        let s = try settings(#"{"registration": {"rate_limits": {"registrations": {"burst": 50}, "failed_tokens": {"per_minute": 5}}}}"#)
        #expect(s.registration.registrationRate == RateLimit(perMinute: 30, burst: 50))
        #expect(s.registration.failedTokenRate == RateLimit(perMinute: 5, burst: 5))
    }

    @Test("durations", arguments: [("90s", 90), ("15m", 900), ("12h", 43_200), ("7d", 604_800), ("2w", 1_209_600), ("42", 42), ("0", 0)])
    func durations(_ text: String, _ seconds: Int64) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test("bad durations", arguments: ["", "7y", "-5s", "d", "1.5h", "99999999999999999999d"])
    func badDurations(_ text: String) {
        #expect(DurationText.seconds(text) == nil)
    }
}

@Suite("IP addresses and ranges")
struct IPAddressRangeTests {
    @Test("ranges contain the addresses they should", arguments: [
        ("10.0.0.0/8", "10.1.2.3", true), ("10.0.0.0/8", "11.0.0.1", false), ("127.0.0.1", "127.0.0.1", true),
        ("127.0.0.1", "127.0.0.2", false), ("192.168.1.0/24", "192.168.1.255", true), ("192.168.1.0/25", "192.168.1.200", false),
        ("::1", "::1", true), ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
        ("10.0.0.0/8", "::ffff:10.9.8.7", true), ("0.0.0.0/0", "8.8.8.8", true), ("10.0.0.0/8", "not-an-ip", false),
    ])
    func contains(_ range: String, _ address: String, _ expected: Bool) throws {
        #expect(try #require(IPAddressRange(range)).contains(address) == expected)
    }

    @Test("malformed ranges are refused", arguments: ["", "10.0.0", "10.0.0.256", "10.0.0.0/33", "1::2::3", "::1/129", "example.org", "1.2.3.4/x"])
    func malformed(_ text: String) {
        #expect(IPAddressRange(text) == nil)
    }
}

@Suite("Rate limiter (token buckets on an injected clock)")
struct RateLimiterTests {
    @Test("a burst is allowed, then the bucket refills at the configured rate")
    func bucket() async {
        let clock = TestClockFixture()
        let limiter = RateLimiter(limit: RateLimit(perMinute: 6, burst: 3), clock: clock.clock)
        for _ in 0..<3 { #expect(await limiter.take("1.2.3.4") == .allowed) }
        #expect(await limiter.take("1.2.3.4") == .limited(retryAfter: 10))
        #expect(await limiter.take("5.6.7.8") == .allowed, "another address has its own bucket")
        clock.clock.advance(milliseconds: 9_000)
        #expect(await limiter.check("1.2.3.4") == .limited(retryAfter: 1))
        clock.clock.advance(milliseconds: 1_000)
        #expect(await limiter.check("1.2.3.4") == .allowed)
        #expect(await limiter.check("1.2.3.4") == .allowed, "check does not take a token")
        #expect(await limiter.take("1.2.3.4") == .allowed)
        #expect(await limiter.take("1.2.3.4") != .allowed)
        clock.clock.advance(milliseconds: 3_600_000)
        for _ in 0..<3 { #expect(await limiter.take("1.2.3.4") == .allowed) }
        #expect(await limiter.take("1.2.3.4") != .allowed, "the bucket never holds more than the burst")
    }

    @Test("a zero rate turns the limit off")
    func disabled() async {
        let limiter = RateLimiter(limit: RateLimit(perMinute: 0, burst: 0), clock: TestClockFixture().clock)
        for _ in 0..<1000 { #expect(await limiter.take("x") == .allowed) }
    }
}

import RegistrarTesting

struct TestClockFixture {
    let clock = TestClock()
}
