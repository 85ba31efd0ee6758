/// What the server supports and the defaults it applies: the single source for both validation
/// and discovery, so that the `*_supported` lists advertised are exactly what registration accepts
/// (RFC 8414 §2).
public struct ServerConfiguration: Sendable {
    /// The issuer identifier, `http(s)://host[:port][/path]` without a trailing slash. Every URL
    /// the server hands out is built from it, never from a request's `Host` header.
    public var issuer: String

    /// Grant types a client may register.
    public var grantTypesSupported: [GrantType] = GrantType.known
    /// Response types a client may register.
    public var responseTypesSupported: [ResponseType] = ResponseType.known
    /// Token endpoint authentication methods a client may register.
    public var authMethodsSupported: [AuthMethod] = AuthMethod.known
    /// `token_endpoint_auth_signing_alg` values (RFC 7523 client assertions).
    public var tokenEndpointAuthSigningAlgs: [String] = ["HS256", "HS384", "HS512", "RS256", "PS256", "ES256"]
    /// `id_token_signed_response_alg` values: the algorithms of the server's own keys.
    public var idTokenSigningAlgs: [String] = ["RS256", "ES256"]
    /// `userinfo_signed_response_alg` values.
    public var userinfoSigningAlgs: [String] = ["RS256", "ES256"]
    /// `request_object_signing_alg` values.
    public var requestObjectSigningAlgs: [String] = ["RS256", "PS256", "ES256"]
    /// `subject_type` values.
    public var subjectTypesSupported: [String] = ["public"]
    /// The `id_token_signed_response_alg` given when none is asked (OpenID Connect Registration §2).
    public var defaultIDTokenSigningAlg: String = "RS256"
    /// Scopes given when a client asks for none (INDIGO IAM's defaults).
    public var defaultScopes: [String] = ["openid", "profile", "email", "address", "phone"]
    /// Scopes advertised in discovery.
    public var scopesSupported: [String] = ["openid", "profile", "email", "address", "phone", "offline_access"]

    /// Seconds a client secret lives; `0` means it never expires (`client_secret_expires_at: 0`).
    public var clientSecretLifetime: Int64 = 0
    /// The algorithm that signs registration access tokens: HS256 by default. The token is opaque
    /// to clients and is checked by its stored digest, never by its signature, so the cheapest
    /// signature serves; ES256 and RS256 (IAM's) sign with the published key pairs instead.
    public var registrationTokenAlgorithm: RegistrationTokenAlgorithm = .default

    /// Limits that keep a single registration small.
    public var limits = Limits()

    /// Size limits on metadata.
    public struct Limits: Sendable {
        /// Longest accepted string member (URIs included).
        public var maximumStringLength = 2048
        /// Longest accepted `client_name`.
        public var maximumNameLength = 256
        /// Most entries in any array member.
        public var maximumArrayCount = 100
        /// Most keys in a `jwks`.
        public var maximumJWKSKeys = 16
        /// Most scope values.
        public var maximumScopes = 100
        /// Creates the default limits.
        public init() {}
    }

    /// Creates a configuration for an issuer, with every other setting at its default.
    public init(issuer: String) {
        var issuer = issuer
        while issuer.hasSuffix("/") { issuer.removeLast() }
        self.issuer = issuer
    }

    /// The path of the registration endpoint, as INDIGO IAM names it.
    public static let registrationPath = "/iam/api/client-registration"
    /// The path of the JWK Set.
    public static let jwksPath = "/jwks"

    /// `{issuer}/iam/api/client-registration`.
    public var registrationEndpoint: String { issuer + Self.registrationPath }
    /// `{issuer}/jwks`.
    public var jwksURI: String { issuer + Self.jwksPath }
    /// `{registration_endpoint}/{client_id}` (RFC 7592 §2, built from the issuer).
    public func registrationClientURI(for clientID: String) -> String { registrationEndpoint + "/" + clientID }
}
