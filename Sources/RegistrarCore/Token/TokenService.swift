public import Logging

/// The token endpoint for machine clients (RFC 6749 §4.4), introspection (RFC 7662) and revocation
/// (RFC 7009). Access tokens are JWTs as RFC 9068 profiles them; revocations are remembered, by
/// `jti`, until the token would have expired.
public struct TokenService: Sendable {
    /// What the server supports.
    public let configuration: ServerConfiguration
    /// Token settings.
    public let settings: TokenSettings
    /// Where clients live.
    public let store: any ClientStore
    /// Replay and revocation records.
    public let tokenState: any TokenStateStore
    /// The server's keys.
    public let keys: KeyRing
    /// Client authentication.
    public let authenticator: ClientAuthenticator
    /// "Now".
    public let clock: any WallClock
    /// Randomness for token IDs.
    public let random: any RandomSource
    /// Where the service reports what it does (never tokens).
    public let logger: Logger
    /// When `store` and `tokenState` are one store that can say in one query whether a token is
    /// revoked and what its client is: introspection asks it instead of asking each.
    public let revocationLookup: (any ClientRevocationLookup)?
    /// Access tokens whose signature was verified already.
    public let verified: VerifiedAccessTokens

    /// Creates the service. Pass `revocationLookup` only when it is the store that is both `store`
    /// and `tokenState`.
    public init(configuration: ServerConfiguration, settings: TokenSettings, store: any ClientStore, tokenState: any TokenStateStore,
                keys: KeyRing, authenticator: ClientAuthenticator, clock: any WallClock, random: any RandomSource, logger: Logger,
                revocationLookup: (any ClientRevocationLookup)? = nil, verified: VerifiedAccessTokens = VerifiedAccessTokens()) {
        self.revocationLookup = revocationLookup
        self.verified = verified
        self.configuration = configuration
        self.settings = settings
        self.store = store
        self.tokenState = tokenState
        self.keys = keys
        self.authenticator = authenticator
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// The JOSE `typ` of access tokens (RFC 9068 §2.1).
    public static let accessTokenType = "at+jwt"
    /// Seconds a running instance may go on signing with a key after it was retired elsewhere (it
    /// reloads keys every 10 s), with much slack.
    public static let keyReloadAllowance: Int64 = 120

    // MARK: - Token endpoint (RFC 6749 §3.2, §4.4, §5)

    /// Answers a token request: the JSON body of a successful response.
    public func token(form: [String: String], credentials: ClientCredentials) async throws -> JSONObject {
        let client = try await authenticator.authenticate(credentials)
        guard let grant = form["grant_type"], !grant.isEmpty else {
            throw RegistrarError.invalidRequest("grant_type is required")
        }
        guard grant == GrantType.clientCredentials.rawValue else {
            throw RegistrarError(code: .unsupportedGrantType, status: 400,
                                 description: "this server's token endpoint supports the client_credentials grant only")
        }
        // RFC 6749 §4.4: confidential clients only, and only those registered for the grant.
        guard client.metadata.grantTypes?.contains(.clientCredentials) == true else {
            throw RegistrarError(code: .unauthorizedClient, status: 400, description: "this client is not registered for the client_credentials grant")
        }
        guard client.metadata.tokenEndpointAuthMethod != AuthMethod.none else {
            // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
            throw RegistrarError(code: .unauthorizedClient, status: 400,
                                 description: "a public client (token_endpoint_auth_method none) cannot use the client_credentials grant")
        }
        // The administration scopes belong only to clients an operator created with --admin.
        let held = (client.metadata.scope ?? []).filter { client.admin || !PolicyEnforcer.reservedScopes.contains($0) }
        var granted = held
        if let requested = form["scope"] {
            // A form may carry thousands of values (up to the body limit): the work grows with
            // their number (searching the values kept for each one took 0.4 s for 13,000).
            var scopes = UniqueValues<String>()
            for part in requested.split(separator: " ", omittingEmptySubsequences: true) {
                let token = String(part)
                guard scopes.append(token) else { continue }
                guard ScopeRule.isScopeToken(token) else { throw RegistrarError(code: .invalidScope, status: 400, description: "scope contains an invalid value") }
            }
            let allowed = Set(held)
            guard scopes.allSatisfy(allowed.contains) else {
                throw RegistrarError(code: .invalidScope, status: 400, description: "the requested scope exceeds the scope registered for this client")
            }
            if scopes.count > 0 { granted = scopes.values }
        }
        let (token, lifetime) = try issueAccessToken(client: client, scope: granted)
        logger.info("access token issued", metadata: ["client_id": .string(client.clientID), "grant_type": .string(grant)])
        var body = JSONObject([("access_token", .string(token)), ("token_type", .string("Bearer")), ("expires_in", .int(lifetime))])
        if !granted.isEmpty { body["scope"] = .string(granted.joined(separator: " ")) }
        return body
    }

    /// An RFC 9068 access token for a client.
    func issueAccessToken(client: RegisteredClient, scope: [String]) throws -> (String, Int64) {
        let ring = keys.current
        guard let key = ring.key(for: settings.accessTokenAlgorithm) else { throw RegistrarError.serverError }
        let now = clock.now()
        var claims = JSONObject([
            ("iss", .string(configuration.issuer)),
            ("sub", .string(client.clientID)),
            ("aud", .string(settings.audience ?? configuration.issuer)),
            ("client_id", .string(client.clientID)),
            ("iat", .int(now.seconds)),
            ("exp", .int(now.seconds + settings.accessTokenLifetime)),
            ("jti", .string(random.uuid())),
        ])
        if !scope.isEmpty { claims["scope"] = .string(scope.joined(separator: " ")) }
        return (try JWTSigner.sign(claims: claims, with: key, type: Self.accessTokenType), settings.accessTokenLifetime)
    }

    // MARK: - Introspection (RFC 7662)

    /// Answers an introspection request. Anything but a live access token of this server is
    /// `{"active": false}`, whatever the reason.
    public func introspect(form: [String: String], credentials: ClientCredentials) async throws -> JSONObject {
        // RFC 7662 §2.1: the caller must be authorized; a public client (no credential) is not.
        guard credentials.method != AuthMethod.none else { throw RegistrarError.invalidClient() }
        _ = try await authenticator.authenticate(credentials)
        guard let token = form["token"], !token.isEmpty else { throw RegistrarError.invalidRequest("token is required") }
        guard let claims = try await activeClaims(token)?.claims else { return JSONObject([("active", .bool(false))]) }
        var body = JSONObject([("active", .bool(true))])
        for name in ["scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti"] { body[name] = claims[name] }
        body["token_type"] = .string("Bearer")
        return body
    }

    /// The claims of a token if it is a live access token signed by this server for a client that
    /// still exists, is active and has not expired; otherwise `nil`.
    public func verifyAccessToken(_ token: String) async throws -> JSONObject? { try await activeClaims(token)?.claims }

    /// ``verifyAccessToken(_:)``'s claims, with the token's client as it is stored now (for the
    /// administration API, which checks the client's current scope, not only the token's).
    public func verifiedAccessToken(_ token: String) async throws -> (claims: JSONObject, client: RegisteredClient)? {
        try await activeClaims(token)
    }

    func activeClaims(_ token: String) async throws -> (claims: JSONObject, client: RegisteredClient)? {
        var signed = signedClaims(token)
        if signed == nil, let kid = CompactJWS(token)?.header["kid"]?.stringValue, keys.current.key(kid: kid) == nil,
           await keys.reloaded(lookingFor: kid) {
            // Signed by a key made current since this instance last reloaded its keys.
            signed = signedClaims(token)
        }
        guard let (key, claims, remember) = signed else { return nil }
        let now = clock.now()
        guard claims["iss"]?.stringValue == configuration.issuer, case .int(let exp)? = claims["exp"], exp > now.seconds,
              case .int(let iat)? = claims["iat"], exp.saturatingSubtract(iat) <= settings.accessTokenLifetime,
              case .string(let jti)? = claims["jti"], case .string(let clientID)? = claims["client_id"]
        else { return nil }
        // A retired key signed nothing after its retirement (plus the time instances take to
        // notice it), so a token it "signed" later is a forgery with a leaked key.
        if let retired = key.retiredAt, iat.secondsAsMilliseconds > retired.milliseconds + Self.keyReloadAllowance * 1000 { return nil }
        // A revoked token is inactive, and so is one of a client deleted, disabled or expired since.
        let client: RegisteredClient?
        if let lookup = revocationLookup {
            client = try await storeCall(logger) { try await lookup.client(id: clientID, unlessRevoked: jti) }
        } else {
            guard try await storeCall(logger, { try await !tokenState.isAccessTokenRevoked(jti: jti) }) else { return nil }
            client = try await storeCall(logger) { try await store.client(id: clientID) }
        }
        guard let client, client.active, !client.isExpired(at: now) else { return nil }
        // Remembered only once every check passed: a token refused for any reason takes no room.
        remember?()
        return (claims, client)
    }

    /// The key and claims of an access token whose signature one of the server's keys made, or
    /// `nil`. A token verified before is found by its SHA-256 and not verified again; its key is
    /// still looked up in the keys of now (the retirement checks use its current state, and a key
    /// no longer held verifies nothing). For a token verified now, `remember` records it.
    func signedClaims(_ token: String) -> (SigningKey, JSONObject, remember: (() -> Void)?)? {
        // CompactJWS refuses longer tokens; hashing them first would be wasted.
        guard token.utf8.count <= CompactJWS.maximumLength else { return nil }
        let cacheKey = VerifiedAccessTokens.key(of: token)
        if let entry = verified.entry(for: cacheKey), let key = keys.current.key(kid: entry.kid) {
            return (key, entry.claims, nil)
        }
        guard let jws = CompactJWS(token), jws.header["typ"]?.stringValue == Self.accessTokenType,
              case .string(let kid)? = jws.header["kid"], case .string(let alg)? = jws.header["alg"],
              let key = keys.current.key(kid: kid), key.algorithm.rawValue == alg,
              key.verify(jws.signature, over: jws.signingInput)
        else { return nil }
        let claims = jws.claims, verified = self.verified
        return (key, claims, { verified.remember(.init(kid: kid, claims: claims), for: cacheKey) })
    }

    // MARK: - Revocation (RFC 7009)

    /// Revokes an access token of the calling client. Tokens that are invalid, foreign or another
    /// client's are ignored, and the answer is the same 200 (RFC 7009 §2.2).
    public func revoke(form: [String: String], credentials: ClientCredentials) async throws {
        // Access tokens are issued to confidential clients only, so only they revoke.
        guard credentials.method != AuthMethod.none else { throw RegistrarError.invalidClient() }
        let client = try await authenticator.authenticate(credentials)
        guard let token = form["token"], !token.isEmpty else { throw RegistrarError.invalidRequest("token is required") }
        guard let claims = try await activeClaims(token)?.claims, claims["client_id"]?.stringValue == client.clientID,
              case .string(let jti)? = claims["jti"], case .int(let exp)? = claims["exp"]
        else { return }
        try await storeCall(logger) { try await tokenState.revokeAccessToken(jti: jti, expiresAt: Timestamp(milliseconds: exp.secondsAsMilliseconds)) }
        logger.info("access token revoked", metadata: ["client_id": .string(client.clientID)])
    }
}

/// Settings of issued access tokens.
public struct TokenSettings: Sendable, Equatable {
    /// Seconds an access token lives (default 3600).
    public var accessTokenLifetime: Int64 = 3600
    /// The algorithm that signs access tokens: ES256 by default (cheap to sign); RS256, which every
    /// RFC 9068 resource server must support, is one setting away.
    public var accessTokenAlgorithm: SigningAlgorithm = .es256
    /// The `aud` of access tokens; the issuer when `nil`.
    public var audience: String?
    /// What the `aud` of a client's assertion (`private_key_jwt`, `client_secret_jwt`) may be.
    public var assertionAudience: AssertionAudience = .any

    /// What the `aud` of a client's assertion may be.
    public enum AssertionAudience: String, Sendable, Equatable {
        /// A string, or an array of strings, naming the issuer or the URL of the token,
        /// introspection or revocation endpoint (RFC 7523 §3, OpenID Connect Core §9).
        case any
        /// The issuer, as one string, as draft-ietf-oauth-rfc7523bis requires against audience
        /// injection: an assertion a client made for another server that claims this server's
        /// token endpoint as its own cannot be used here.
        case issuer

        /// The values `aud` may name, and whether it must be a single string.
        public func audiences(issuer: String) -> (values: Set<String>, single: Bool) {
            switch self {
            case .any: ([issuer, issuer + "/token", issuer + "/introspect", issuer + "/revoke"], false)
            case .issuer: ([issuer], true)
            }
        }
    }
    /// Creates the defaults.
    public init() {}
}
