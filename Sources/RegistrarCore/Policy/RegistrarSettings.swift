/// Everything an operator can configure, as read from the configuration file (`--config`, YAML or
/// JSON; see docs/configuration.md). Command-line flags and environment variables override the
/// server members; the rest exists only here.
public struct RegistrarSettings: Sendable, Equatable {
    // server
    public var host: String?
    public var port: Int?
    public var issuer: String?
    public var logLevel: String?
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    public var trustedProxies: [String] = []
    /// Origins allowed by CORS; `["*"]` (the default) allows any.
    public var corsAllowedOrigins: [String] = ["*"]
    /// Whether `GET /metrics` is served (default true).
    public var metricsEnabled = true
    /// The log format: `text` (default) or `json`.
    public var logFormat = "text"
    /// Seconds a connection may stay silent (between requests, or in the middle of one) before the
    /// server closes it.
    public var idleTimeout: Int64 = Self.defaultIdleTimeout
    /// ``idleTimeout`` unless configured.
    public static let defaultIdleTimeout: Int64 = 60

    // database
    public var database: String?
    public var databasePoolSize: Int?
    public var databaseTimeout: Int64?
    /// SQLite only: `process` (default, safe against a process crash) or `full` (fsync on commit).
    public var durability: String?

    // keys
    public var registrationTokenAlgorithm: RegistrationTokenAlgorithm?
    public var sealingKeyFile: String?

    /// Registration settings.
    public var registration = RegistrationSettings()
    /// Named policies; always holds `anonymous`.
    public var policies: [String: RegistrationPolicy] = ["anonymous": .anonymous]
    /// Issuers whose software statements are trusted.
    public var trustedStatementIssuers: [TrustedStatementIssuer] = []
    /// Access tokens issued at the token endpoint.
    public var tokens = TokenSettings()
    /// Fetching clients' `jwks_uri`.
    public var jwksFetch = JWKSFetchSettings()
    /// Seconds audit events are kept (default 90 days).
    public var auditRetention: Int64 = 90 * 86_400

    /// The defaults: open registration under the built-in anonymous policy.
    public init() {}

    /// The policy with this name.
    public func policy(named name: String) -> RegistrationPolicy? { policies[name] }
}

/// What the server may fetch from a client's `jwks_uri` (an SSRF risk, so strict by default).
public struct JWKSFetchSettings: Sendable, Equatable {
    /// Allow `http` URLs.
    public var allowHTTP = false
    /// Allow loopback, private and link-local addresses.
    public var allowPrivateNetworks = false
    /// Seconds for connecting and for the whole response.
    public var timeout: Int64 = 5
    /// Largest document accepted, in bytes.
    public var maximumBytes = 64 * 1024
    /// Seconds a fetched set is reused.
    public var cacheLifetime: Int64 = 300
    /// Seconds between forced refetches of one URL (an unknown `kid`).
    public var minimumRefreshInterval: Int64 = 30
    public init() {}
}

/// How registration works.
public struct RegistrationSettings: Sendable, Equatable {
    /// Who may register.
    public var mode: RegistrationMode = .open
    /// Most dynamically registered clients at one time, all policies together; `nil` for no limit.
    public var maxClients: Int?
    /// Seconds a client secret lives; `0` for ever.
    public var clientSecretLifetime: Int64 = 0
    /// Registrations per client IP.
    public var registrationRate = RateLimit(perMinute: 30, burst: 30)
    /// Failed registration-access-token attempts per client IP.
    public var failedTokenRate = RateLimit(perMinute: 20, burst: 20)
    /// Removal of dynamically registered clients that were never used.
    public var cleanup = CleanupSettings()
    /// Creates the defaults.
    public init() {}
}

/// Who may register (RFC 7591 §3).
public enum RegistrationMode: String, Sendable, Equatable, CaseIterable {
    /// Anyone, under the `anonymous` policy (or the policy of an initial access token, if one is sent).
    case open
    /// Only holders of an initial access token, under the token's policy.
    case token
    /// Nobody: the registration endpoint does not exist and is not advertised. Registered clients
    /// can still read, update and delete themselves.
    case disabled
}

/// A token bucket: `burst` requests at once, refilled at `perMinute`. `0` turns the limit off.
public struct RateLimit: Sendable, Equatable {
    public var perMinute: Int
    public var burst: Int
    public init(perMinute: Int, burst: Int) {
        self.perMinute = perMinute
        self.burst = burst
    }
    /// Whether the limit is on.
    public var isEnabled: Bool { perMinute > 0 }
}

/// The opt-in reaper of unused dynamically registered clients.
public struct CleanupSettings: Sendable, Equatable {
    /// Whether it runs.
    public var enabled = false
    /// Seconds after registration after which a never-used client is deleted.
    public var unusedAfter: Int64 = 30 * 86_400
    /// Seconds between runs.
    public var interval: Int64 = 3600
    public init() {}
}

/// An issuer of software statements (RFC 7591 §2.3) and the keys its statements are signed with.
public struct TrustedStatementIssuer: Sendable, Equatable {
    /// The statement's `iss`.
    public var issuer: String
    /// Its public keys, as a JWK Set.
    public var jwks: JSONObject
    public init(issuer: String, jwks: JSONObject) {
        self.issuer = issuer
        self.jwks = jwks
    }
}

extension RegistrarSettings {
    /// Reads settings from a parsed configuration file. `readFile` loads a file named by a member
    /// (a statement issuer's `jwks_file`), relative paths resolved by the caller.
    public init(json root: JSONObject, readFile: (String) throws -> [UInt8] = { _ in [] }) throws(ConfigurationError) {
        self.init()
        var reader = ConfigReader(root, path: "")

        if let server = try reader.object("server") {
            var r = ConfigReader(server, path: "server")
            host = try r.string("host")
            port = try r.int("port", range: 1...65535)
            issuer = try r.string("issuer")
            if let issuer {
                guard let ref = URIReference(issuer), ref.scheme == "http" || ref.scheme == "https", ref.hasValidHost, !ref.hasFragment,
                      !issuer.contains("?")
                else { throw r.fail("issuer", "must be an http(s) URL without query or fragment, such as https://id.example.org") }
            }
            logLevel = try r.string("log_level")
            if let logLevel, !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel.lowercased()) {
                throw r.fail("log_level", "must be one of trace, debug, info, notice, warning, error, critical")
            }
            trustedProxies = try r.strings("trusted_proxies") ?? []
            for (i, proxy) in trustedProxies.enumerated() where IPAddressRange(proxy) == nil {
                throw ConfigurationError(member: "server.trusted_proxies[\(i)]", problem: "must be an IP address or a CIDR range such as 10.0.0.0/8")
            }
            corsAllowedOrigins = try r.strings("cors_allowed_origins") ?? ["*"]
            metricsEnabled = try r.bool("metrics") ?? true
            if let idle = try r.duration("idle_timeout") {
                guard (1...3600).contains(idle) else { throw r.fail("idle_timeout", "must be between 1 second and 1 hour") }
                idleTimeout = idle
            }
            if let format = try r.string("log_format") {
                guard ["text", "json"].contains(format) else { throw r.fail("log_format", "must be text or json") }
                logFormat = format
            }
            for (i, origin) in corsAllowedOrigins.enumerated() where origin != "*" {
                guard let ref = URIReference(origin), ["http", "https"].contains(ref.scheme), ref.hasValidHost,
                      !origin.dropFirst(ref.scheme.count + 3).contains("/")
                else {
                    throw ConfigurationError(member: "server.cors_allowed_origins[\(i)]", problem: "must be \"*\" or an origin such as https://app.example.org (no path)")
                }
            }
            try r.finish()
        }

        if let database = try reader.object("database") {
            var r = ConfigReader(database, path: "database")
            self.database = try r.string("url")
            databasePoolSize = try r.int("pool_size", range: 1...1000)
            databaseTimeout = try r.duration("timeout")
            if let value = try r.string("durability") {
                guard ["process", "full"].contains(value) else { throw r.fail("durability", "must be process or full") }
                durability = value
            }
            if databaseTimeout == 0 { throw ConfigurationError(member: "database.timeout", problem: "must be more than 0") }
            try r.finish()
        }

        if let keys = try reader.object("keys") {
            var r = ConfigReader(keys, path: "keys")
            if let name = try r.string("registration_token_algorithm") {
                guard let algorithm = RegistrationTokenAlgorithm(name: name) else {
                    throw r.fail("registration_token_algorithm", "must be \(RegistrationTokenAlgorithm.names)")
                }
                registrationTokenAlgorithm = algorithm
            }
            sealingKeyFile = try r.string("sealing_key_file")
            try r.finish()
        }

        if let registration = try reader.object("registration") {
            var r = ConfigReader(registration, path: "registration")
            self.registration.mode = try r.choice("mode", RegistrationMode.self) ?? .open
            self.registration.maxClients = try r.int("max_clients", range: 0...Int.max).flatMap { $0 == 0 ? nil : $0 }
            self.registration.clientSecretLifetime = try r.duration("client_secret_lifetime") ?? 0
            if let limits = try r.object("rate_limits") {
                var l = ConfigReader(limits, path: "registration.rate_limits")
                if let o = try l.object("registrations") {
                    self.registration.registrationRate = try Self.rate(o, path: "registration.rate_limits.registrations", base: self.registration.registrationRate)
                }
                if let o = try l.object("failed_tokens") {
                    self.registration.failedTokenRate = try Self.rate(o, path: "registration.rate_limits.failed_tokens", base: self.registration.failedTokenRate)
                }
                try l.finish()
            }
            if let cleanup = try r.object("cleanup") {
                var c = ConfigReader(cleanup, path: "registration.cleanup")
                self.registration.cleanup.enabled = try c.bool("enabled") ?? false
                self.registration.cleanup.unusedAfter = try c.duration("unused_after") ?? self.registration.cleanup.unusedAfter
                self.registration.cleanup.interval = try c.duration("interval") ?? self.registration.cleanup.interval
                if self.registration.cleanup.unusedAfter == 0 { throw c.fail("unused_after", "must be more than 0") }
                if self.registration.cleanup.interval == 0 { throw c.fail("interval", "must be more than 0") }
                try c.finish()
            }
            try r.finish()
        }

        if let policies = try reader.object("policies") {
            for name in policies.keys {
                let path = "policies.\(name)"
                guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                    throw ConfigurationError(member: path, problem: "a policy name is 1 to 64 letters, digits, '-', '_' or '.'")
                }
                guard name != "static" else {
                    throw ConfigurationError(member: path, problem: "static is the policy name of clients an operator creates; choose another name")
                }
                guard case .object(let object)? = policies[name] else { throw ConfigurationError(member: path, problem: "must be a mapping of members") }
                let base = name == "anonymous" ? RegistrationPolicy.anonymous : RegistrationPolicy(name: name)
                self.policies[name] = try Self.policy(object, base: base, path: path)
            }
        }

        if let tokens = try reader.object("tokens") {
            var r = ConfigReader(tokens, path: "tokens")
            if let lifetime = try r.duration("access_token_lifetime") {
                guard lifetime > 0 else { throw r.fail("access_token_lifetime", "must be more than 0") }
                self.tokens.accessTokenLifetime = lifetime
            }
            if let name = try r.string("access_token_algorithm") {
                guard let algorithm = SigningAlgorithm(rawValue: name.uppercased()) else { throw r.fail("access_token_algorithm", "must be RS256 or ES256") }
                self.tokens.accessTokenAlgorithm = algorithm
            }
            if let value = try r.string("assertion_audience") {
                guard let mode = TokenSettings.AssertionAudience(rawValue: value) else { throw r.fail("assertion_audience", "must be any or issuer") }
                self.tokens.assertionAudience = mode
            }
            self.tokens.audience = try r.string("audience")
            if let audience = self.tokens.audience, audience.allSatisfy(\.isWhitespace) {
                throw r.fail("audience", "must not be empty (leave it out for the issuer)")
            }
            try r.finish()
        }

        if let audit = try reader.object("audit") {
            var r = ConfigReader(audit, path: "audit")
            if let retention = try r.duration("retention") {
                guard retention > 0 else { throw r.fail("retention", "must be more than 0") }
                auditRetention = retention
            }
            try r.finish()
        }

        if let fetch = try reader.object("jwks_uri_fetch") {
            var r = ConfigReader(fetch, path: "jwks_uri_fetch")
            jwksFetch.allowHTTP = try r.bool("allow_http") ?? false
            jwksFetch.allowPrivateNetworks = try r.bool("allow_private_networks") ?? false
            jwksFetch.timeout = try r.duration("timeout") ?? jwksFetch.timeout
            jwksFetch.maximumBytes = try r.int("max_bytes", range: 1024...10_485_760) ?? jwksFetch.maximumBytes
            jwksFetch.cacheLifetime = try r.duration("cache_lifetime") ?? jwksFetch.cacheLifetime
            jwksFetch.minimumRefreshInterval = try r.duration("min_refresh_interval") ?? jwksFetch.minimumRefreshInterval
            if jwksFetch.timeout == 0 { throw r.fail("timeout", "must be more than 0") }
            try r.finish()
        }

        if let statements = try reader.object("software_statements") {
            var r = ConfigReader(statements, path: "software_statements")
            let list = r.value("trusted_issuers") ?? .array([])
            guard case .array(let issuers) = list else { throw r.fail("trusted_issuers", "must be a list") }
            for (i, entry) in issuers.enumerated() {
                let path = "software_statements.trusted_issuers[\(i)]"
                guard case .object(let object) = entry else { throw ConfigurationError(member: path, problem: "must be a mapping with issuer and jwks or jwks_file") }
                var e = ConfigReader(object, path: path)
                guard let issuer = try e.string("issuer"), !issuer.isEmpty else { throw e.fail("issuer", "is required") }
                let inline = try e.object("jwks")
                let file = try e.string("jwks_file")
                guard (inline == nil) != (file == nil) else { throw ConfigurationError(member: path, problem: "needs exactly one of jwks and jwks_file") }
                var jwks: JSONObject
                if let inline {
                    jwks = inline
                } else {
                    let bytes: [UInt8]
                    do { bytes = try readFile(file!) } catch { throw e.fail("jwks_file", "cannot be read: \(error)") }
                    guard case .object(let o)? = try? JSONParser.parse(bytes) else { throw e.fail("jwks_file", "is not a JSON object") }
                    jwks = o
                }
                guard case .array(let keys)? = jwks["keys"], !keys.isEmpty else {
                    throw ConfigurationError(member: path, problem: "the JWK Set has no keys")
                }
                for (k, key) in keys.enumerated() {
                    guard case .object(let jwk) = key, case .string(let kty)? = jwk["kty"] else {
                        throw ConfigurationError(member: path, problem: "key \(k) of the JWK Set has no kty")
                    }
                    for member in JWKSRule.privateMembers where jwk[member] != nil {
                        throw ConfigurationError(member: path, problem: "key \(k) of the JWK Set holds private key material (\"\(member)\"); configure public keys only")
                    }
                    do { try PublicJWK.check(jwk, kty: kty) } catch {
                        throw ConfigurationError(member: path, problem: "key \(k) of the JWK Set: \(error.reason)")
                    }
                    // Statements verify with RS256, PS256 or ES256 only.
                    guard kty == "RSA" || (kty == "EC" && jwk["crv"]?.stringValue == "P-256") else {
                        throw ConfigurationError(member: path, problem: "key \(k) of the JWK Set cannot verify RS256, PS256 or ES256 statements (use an RSA or EC P-256 key)")
                    }
                }
                jwks = JSONObject([("keys", .array(keys))])
                try e.finish()
                trustedStatementIssuers.append(TrustedStatementIssuer(issuer: issuer, jwks: jwks))
            }
            try r.finish()
        }
        try reader.finish()

        for (name, policy) in self.policies where policy.requireSoftwareStatement && trustedStatementIssuers.isEmpty {
            throw ConfigurationError(member: "policies.\(name).software_statement", problem: "is required but software_statements.trusted_issuers is empty")
        }
    }

    /// A rate limit; members left out keep the defaults (`per_minute: 0` turns the limit off).
    static func rate(_ object: JSONObject, path: String, base: RateLimit) throws(ConfigurationError) -> RateLimit {
        var r = ConfigReader(object, path: path)
        let perMinute = try r.int("per_minute", range: 0...1_000_000) ?? base.perMinute
        let burst = try r.int("burst", range: 0...1_000_000) ?? (object["per_minute"] != nil ? perMinute : base.burst)
        try r.finish()
        if perMinute > 0 && burst == 0 { throw ConfigurationError(member: "\(path).burst", problem: "must be at least 1 when per_minute is set") }
        return RateLimit(perMinute: perMinute, burst: burst)
    }

    static func policy(_ object: JSONObject, base: RegistrationPolicy, path: String) throws(ConfigurationError) -> RegistrationPolicy {
        var p = base
        var r = ConfigReader(object, path: path)
        if let grants = try r.object("grant_types") {
            var g = ConfigReader(grants, path: "\(path).grant_types")
            if let allowed = try g.strings("allowed") { p.allowedGrantTypes = try Self.known(allowed, GrantType.known.map(\.rawValue), "\(path).grant_types.allowed").map(GrantType.init) }
            if let forbidden = try g.strings("forbidden") { p.forbiddenGrantTypes = try Self.known(forbidden, GrantType.known.map(\.rawValue), "\(path).grant_types.forbidden").map(GrantType.init) }
            try g.finish()
        }
        if let methods = try r.strings("token_endpoint_auth_methods") {
            p.allowedAuthMethods = try Self.known(methods, AuthMethod.known.map(\.rawValue), "\(path).token_endpoint_auth_methods").map(AuthMethod.init)
        }
        if let types = try r.strings("application_types") {
            p.allowedApplicationTypes = try Self.known(types, ApplicationType.known.map(\.rawValue), "\(path).application_types").map(ApplicationType.init)
        }
        if let scopes = try r.object("scopes") {
            var s = ConfigReader(scopes, path: "\(path).scopes")
            p.scopes.allowed = try s.strings("allowed")
            p.scopes.restricted = try s.strings("restricted") ?? []
            p.scopes.defaults = try s.strings("default")
            p.scopes.unknown = try s.choice("unknown", RegistrationPolicy.UnknownScopes.self) ?? .keep
            for (name, list) in [("allowed", p.scopes.allowed ?? []), ("restricted", p.scopes.restricted), ("default", p.scopes.defaults ?? [])] {
                for value in list where !ScopeRule.isScopeToken(value.hasSuffix("*") ? String(value.dropLast()) + "x" : value) {
                    throw ConfigurationError(member: "\(path).scopes.\(name)", problem: "\"\(value)\" is not a scope value")
                }
            }
            if p.scopes.allowed != nil && p.scopes.unknown == .keep && scopes["unknown"] != nil {
                throw ConfigurationError(member: "\(path).scopes.unknown", problem: "keep would make scopes.allowed pointless; use drop or reject")
            }
            if p.scopes.allowed != nil && scopes["unknown"] == nil { p.scopes.unknown = .reject }
            try s.finish()
        }
        if let redirects = try r.object("redirect_uris") {
            var d = ConfigReader(redirects, path: "\(path).redirect_uris")
            p.redirectURIs.allowedHosts = try d.strings("allowed_hosts")
            p.redirectURIs.deniedHosts = try d.strings("denied_hosts") ?? []
            // A pattern that can match no host would silently allow (denied) or refuse (allowed)
            // everything it was meant to catch.
            for (name, list) in [("allowed_hosts", p.redirectURIs.allowedHosts ?? []), ("denied_hosts", p.redirectURIs.deniedHosts)] {
                for (i, pattern) in list.enumerated() {
                    if let problem = PolicyPattern.hostPatternProblem(pattern) {
                        throw ConfigurationError(member: "\(path).redirect_uris.\(name)[\(i)]", problem: problem)
                    }
                }
            }
            p.redirectURIs.requireHTTPS = try d.bool("require_https") ?? false
            try d.finish()
        }
        if let lifetime = try r.duration("client_lifetime") { p.clientLifetime = lifetime == 0 ? nil : lifetime }
        if let max = try r.int("max_clients", range: 0...Int.max) { p.maxClients = max == 0 ? nil : max }
        if let token = try r.object("registration_access_token") {
            var t = ConfigReader(token, path: "\(path).registration_access_token")
            p.registrationToken.rotation = try t.choice("rotation", RegistrationPolicy.Rotation.self) ?? .never
            if let age = try t.duration("max_age") { p.registrationToken.maxAge = age == 0 ? nil : age }
            try t.finish()
        }
        if let statement = try r.string("software_statement") {
            switch statement {
            case "required": p.requireSoftwareStatement = true
            case "optional": p.requireSoftwareStatement = false
            default: throw r.fail("software_statement", "must be required or optional")
            }
        }
        try r.finish()
        return p
    }

    static func known(_ values: [String], _ known: [String], _ path: String) throws(ConfigurationError) -> [String] {
        for value in values where !known.contains(value) {
            throw ConfigurationError(member: path, problem: "\"\(value)\" is not one of \(known.joined(separator: ", "))")
        }
        return values
    }
}
