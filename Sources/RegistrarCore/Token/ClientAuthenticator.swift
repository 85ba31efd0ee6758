import Crypto
public import Logging

/// Authenticates clients at the token, introspection and revocation endpoints with the method they
/// registered (RFC 6749 §2.3, RFC 7523 §3, OpenID Connect Core §9). Every failure is the same
/// `invalid_client`, so a caller cannot tell a wrong secret from an unknown client.
public struct ClientAuthenticator: Sendable {
    let store: any ClientStore
    let tokenState: any TokenStateStore
    let keys: KeyRing
    let keySource: any ClientKeySource
    let clock: any WallClock
    let uses: LastUseRecorder
    let logger: Logger
    /// The URLs an assertion's `aud` may name: the issuer and the endpoint URLs.
    let audiences: Set<String>
    /// Whether `aud` must be one string (`tokens.assertion_audience: issuer`) rather than a string
    /// or an array naming one of `audiences`.
    let singleAudience: Bool

    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    public static let leeway: Int64 = 60

    /// The first 16 hexadecimal digits of the SHA-256 of `value`'s UTF-8 bytes.
    static func fingerprint(_ value: String) -> String {
        Hex.encode(SHA256.hash(data: Array(value.utf8)).prefix(8))
    }

    /// Longest lifetime accepted for an assertion (so that replay records stay bounded).
    public static let maximumAssertionLifetime: Int64 = 3600

    /// Creates an authenticator.
    public init(store: any ClientStore, tokenState: any TokenStateStore, keys: KeyRing, keySource: any ClientKeySource,
                clock: any WallClock, uses: LastUseRecorder, audiences: Set<String>, singleAudience: Bool = false, logger: Logger) {
        self.store = store
        self.tokenState = tokenState
        self.keys = keys
        self.keySource = keySource
        self.clock = clock
        self.uses = uses
        self.audiences = audiences
        self.singleAudience = singleAudience
        self.logger = logger
    }

    /// The client these credentials authenticate, or `invalid_client`.
    public func authenticate(_ credentials: ClientCredentials) async throws -> RegisteredClient {
        func refuse(_ reason: String, _ clientID: String?) -> RegistrarError {
            // The reason goes to the log, never to the client.
            logger.info("client authentication failed", metadata: ["client_id": .string(clientID ?? "-"), "reason": .string(reason)])
            return .invalidClient()
        }
        let now = clock.now()
        let claimedID: String?
        switch credentials {
        case .basic(let id, _), .post(let id, _), .none(let id): claimedID = id
        case .assertion(let jwt, let id): claimedID = id ?? CompactJWS(jwt)?.claims["sub"]?.stringValue
        }
        guard let clientID = claimedID, !clientID.isEmpty, clientID.utf8.count <= 256 else { throw refuse("no client_id", nil) }
        let found: RegisteredClient?
        do { found = try await store.client(id: clientID) } catch { throw storeFailure(error, logger) }
        guard let client = found else {
            // An unknown ID may be a secret sent in its place (the two swapped in a Basic header):
            // it is logged only as the start of its SHA-256, which an operator can compare with
            // `printf %s ID | sha256sum`.
            logger.info("client authentication failed", metadata: ["client_id_sha256": .string(Self.fingerprint(clientID)), "reason": "unknown client"])
            throw RegistrarError.invalidClient()
        }
        guard client.active else { throw refuse("client disabled", clientID) }
        guard !client.isExpired(at: now) else { throw refuse("client expired", clientID) }
        let registered = client.metadata.tokenEndpointAuthMethod ?? .clientSecretBasic

        switch credentials {
        case .basic(_, let secret), .post(_, let secret):
            // A client may use only the method it registered.
            guard registered == credentials.method else { throw refuse("method \(credentials.method) but registered \(registered)", clientID) }
            guard let digest = client.secretDigest else { throw refuse("no secret", clientID) }
            guard client.secretExpiresAt == 0 || now.seconds < client.secretExpiresAt else { throw refuse("secret expired", clientID) }
            guard SecretDigest.matches(secret, digest: digest) else { throw refuse("wrong secret", clientID) }
        case .none:
            guard registered == .none else { throw refuse("no credentials but registered \(registered)", clientID) }
        case .assertion(let jwt, _):
            guard registered == .privateKeyJWT || registered == .clientSecretJWT else {
                throw refuse("assertion but registered \(registered)", clientID)
            }
            try await verifyAssertion(jwt, client: client, now: now, refuse: refuse)
        }
        await uses.record(clientID, at: now, stored: client.lastUsedAt)
        return client
    }

    /// RFC 7523 §3: signature, `iss` = `sub` = client_id, `aud`, `exp` (with leeway), single-use `jti`.
    func verifyAssertion(_ jwt: String, client: RegisteredClient, now: Timestamp,
                         refuse: (String, String?) -> RegistrarError) async throws {
        let clientID = client.clientID
        guard let jws = CompactJWS(jwt), case .string(let alg)? = jws.header["alg"] else { throw refuse("malformed assertion", clientID) }
        // RFC 7515 §4.1.11: extensions marked critical must be understood; this server knows none.
        guard jws.header["crit"] == nil else { throw refuse("critical header extensions (crit) are not supported", clientID) }
        let registered = client.metadata.tokenEndpointAuthMethod
        if let expected = client.metadata.tokenEndpointAuthSigningAlg, expected != alg { throw refuse("alg \(alg) but registered \(expected)", clientID) }
        if registered == .clientSecretJWT {
            guard AssertionSignature.hmacAlgorithms.contains(alg) else { throw refuse("alg \(alg) for client_secret_jwt", clientID) }
            guard let sealed = client.sealedSecret, let secret = try? keys.current.sealer.open(sealed, clientID: clientID) else {
                throw refuse("no recoverable secret", clientID)
            }
            guard client.secretExpiresAt == 0 || now.seconds < client.secretExpiresAt else { throw refuse("secret expired", clientID) }
            guard AssertionSignature.verifyHMAC(jws, alg: alg, secret: secret) else { throw refuse("bad HMAC", clientID) }
        } else {
            // Only asymmetric algorithms: an HS256 assertion "signed" with a public key is refused here.
            guard AssertionSignature.asymmetricAlgorithms.contains(alg) else { throw refuse("alg \(alg) for private_key_jwt", clientID) }
            let kid = jws.header["kid"]?.stringValue
            var set = try await clientKeys(client, refresh: false)
            if let kid, !set.contains(where: { $0["kid"]?.stringValue == kid }), client.metadata.jwksURI != nil {
                // An unknown kid may be a key the client just rotated in: fetch again (rate-limited).
                set = try await clientKeys(client, refresh: true)
            }
            // A key without a kid is a candidate whatever kid the assertion names.
            let candidates = set.filter { key in
                AssertionSignature.fits(key, alg: alg) && (kid == nil || key["kid"] == nil || key["kid"]?.stringValue == kid)
            }
            guard !candidates.isEmpty else { throw refuse("no key for kid \(kid ?? "-")", clientID) }
            guard candidates.contains(where: { AssertionSignature.verify(jws, alg: alg, jwk: $0) }) else { throw refuse("bad signature", clientID) }
        }
        let claims = jws.claims
        guard claims["iss"]?.stringValue == clientID, claims["sub"]?.stringValue == clientID else { throw refuse("iss/sub is not the client", clientID) }
        let audience: [String]
        switch claims["aud"] {
        case .string(let a)?: audience = [a]
        case .array(let list)? where !singleAudience: audience = list.compactMap(\.stringValue)
        default: audience = []
        }
        guard audience.contains(where: { audiences.contains($0) }) else { throw refuse("aud does not name this server", clientID) }
        // Saturating arithmetic: the numbers come from the request.
        // NumericDates (RFC 7519 §2): numbers, a fraction allowed; any other type is refused, not
        // skipped, so that `"nbf": "9999999999"` cannot pass for an absent `nbf`.
        guard let expValue = claims["exp"] else { throw refuse("no exp", clientID) }
        guard let exp = NumericDate.seconds(expValue, rounding: .down) else { throw refuse("exp is not a number", clientID) }
        guard exp.saturatingAdd(Self.leeway) > now.seconds else { throw refuse("assertion expired", clientID) }
        guard exp.saturatingSubtract(now.seconds) <= Self.maximumAssertionLifetime else { throw refuse("assertion lives too long", clientID) }
        for (name, reason) in [("nbf", "assertion not valid yet"), ("iat", "assertion issued in the future")] {
            guard let value = claims[name] else { continue }
            guard let seconds = NumericDate.seconds(value, rounding: .up) else { throw refuse("\(name) is not a number", clientID) }
            if seconds > now.seconds.saturatingAdd(Self.leeway) { throw refuse(reason, clientID) }
        }
        guard case .string(let jti)? = claims["jti"], !jti.isEmpty, jti.utf8.count <= 256 else { throw refuse("no jti", clientID) }
        let keepUntil = Timestamp(milliseconds: exp.saturatingAdd(Self.leeway).secondsAsMilliseconds)
        guard try await storeCall(logger, { try await tokenState.useAssertion(jti: jti, clientID: clientID, expiresAt: keepUntil) }) else {
            throw refuse("replayed jti", clientID)
        }
    }

    func clientKeys(_ client: RegisteredClient, refresh: Bool) async throws -> [JSONObject] {
        if let jwks = client.metadata.jwks { return jwks["keys"]?.arrayValue?.compactMap(\.objectValue) ?? [] }
        guard let uri = client.metadata.jwksURI else { return [] }
        do {
            return try await keySource.keys(at: uri, refresh: refresh)["keys"]?.arrayValue?.compactMap(\.objectValue) ?? []
        } catch {
            logger.warning("cannot fetch the client's jwks_uri", metadata: ["client_id": .string(client.clientID), "error": .string("\(error)")])
            return []
        }
    }
}
