
/// Verifies software statements (RFC 7591 §2.3, §3.1.1) against the configured trusted issuers
/// and returns the metadata they carry.
public struct SoftwareStatementVerifier: Sendable {
    let issuers: [String: [JSONObject]]

    /// JWT claims that describe the statement itself rather than the client.
    static let statementClaims: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]
    /// Members a statement must never carry (credentials, or another statement).
    static let forbiddenClaims = ["client_id", "client_secret", "registration_access_token", "registration_client_uri",
                                  "software_statement", "client_id_issued_at", "client_secret_expires_at"]

    /// Takes the trusted issuers' keys (statements are signed with RS256, PS256 or ES256; a key
    /// needs no `kid` when it is the only one that fits).
    public init(trustedIssuers: [TrustedStatementIssuer]) async throws {
        var issuers: [String: [JSONObject]] = [:]
        for trusted in trustedIssuers {
            issuers[trusted.issuer, default: []] += trusted.jwks["keys"]?.arrayValue?.compactMap(\.objectValue) ?? []
        }
        self.issuers = issuers
    }

    /// Whether statements from this issuer are trusted.
    public func trusts(issuer: String) -> Bool { issuers[issuer] != nil }

    /// Whether any issuer is trusted.
    public var isEmpty: Bool { issuers.isEmpty }

    /// Verifies a statement and returns the client metadata members it asserts.
    ///
    /// - Throws: `invalid_software_statement` when it is not a signed JWT with an `iss`, is signed
    ///   with `none`, has a bad signature, has expired, or carries credentials;
    ///   `unapproved_software_statement` when its issuer is not trusted.
    public func verify(_ statement: String, now: Timestamp) async throws -> JSONObject {
        let parts = statement.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, statement.utf8.count <= 16_384,
              let headerBytes = Base64URL.decode(String(parts[0])), let claimBytes = Base64URL.decode(String(parts[1])),
              case .object(let header)? = try? JSONParser.parse(headerBytes),
              case .object(let claims)? = try? JSONParser.parse(claimBytes)
        else {
            throw Self.invalid("the software statement is not a JWT (RFC 7591 §2.3)")
        }
        guard case .string(let alg)? = header["alg"], alg.lowercased() != "none", !parts[2].isEmpty else {
            throw Self.invalid("the software statement must be signed (alg none is not accepted)")
        }
        guard header["crit"] == nil else {
            // RFC 7515 §4.1.11: extensions marked critical must be understood; this server knows none.
            throw Self.invalid("the software statement marks header parameters as critical (crit), which this server does not support")
        }
        guard case .string(let issuer)? = claims["iss"], !issuer.isEmpty else {
            throw Self.invalid("the software statement has no iss claim")
        }
        guard let keys = issuers[issuer] else {
            throw RegistrarError(code: .unapprovedSoftwareStatement, status: 400,
                                 description: "the software statement's issuer is not trusted by this server")
        }
        guard AssertionSignature.asymmetricAlgorithms.contains(alg) else {
            throw Self.invalid("the software statement must be signed with RS256, PS256 or ES256")
        }
        guard let jws = CompactJWS(statement) else {
            throw Self.invalid("the software statement's signature is not base64url (RFC 7515 §2)")
        }
        let kid = header["kid"]?.stringValue
        let candidates = keys.filter { AssertionSignature.fits($0, alg: alg) && (kid == nil || $0["kid"] == nil || $0["kid"]?.stringValue == kid) }
        guard candidates.contains(where: { AssertionSignature.verify(jws, alg: alg, jwk: $0) }) else {
            throw Self.invalid("the software statement's signature does not verify with the issuer's keys")
        }
        if let exp = claims["exp"] {
            guard let seconds = NumericDate.seconds(exp, rounding: .down) else { throw Self.invalid("the software statement's exp is not a number of seconds") }
            if seconds.secondsAsMilliseconds <= now.milliseconds { throw Self.invalid("the software statement has expired") }
        }
        if let nbf = claims["nbf"] {
            guard let seconds = NumericDate.seconds(nbf, rounding: .up) else { throw Self.invalid("the software statement's nbf is not a number of seconds") }
            if seconds.secondsAsMilliseconds > now.milliseconds + 60_000 { throw Self.invalid("the software statement is not valid yet") }
        }
        for name in Self.forbiddenClaims where claims[name] != nil {
            throw Self.invalid("a software statement must not carry \(name)")
        }
        var metadata = JSONObject()
        for (name, value) in claims.members where !Self.statementClaims.contains(name) {
            metadata[name] = value
        }
        return metadata
    }

    /// The metadata members of a statement, without verifying it (for a statement verified before).
    public static func unverifiedClaims(_ statement: String) -> JSONObject? {
        let parts = statement.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = Base64URL.decode(String(parts[1])), case .object(let claims)? = try? JSONParser.parse(bytes) else {
            return nil
        }
        var metadata = JSONObject()
        for (name, value) in claims.members where !statementClaims.contains(name) { metadata[name] = value }
        return metadata
    }

    static func invalid(_ description: String) -> RegistrarError {
        RegistrarError(code: .invalidSoftwareStatement, status: 400, description: description)
    }

}
