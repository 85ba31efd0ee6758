/// A client as the server keeps it: its registered metadata plus what the server manages.
/// Secrets and tokens appear only as digests (and, for `client_secret_jwt`, sealed).
public struct RegisteredClient: Sendable, Equatable {
    /// The client identifier (a random UUID).
    public var clientID: String
    /// The registered metadata, defaults applied.
    public var metadata: ClientMetadata
    /// When the client was registered (`created_at`; `client_id_issued_at` is its seconds).
    public var createdAt: Timestamp
    /// When the registration last changed.
    public var updatedAt: Timestamp
    /// The digest of the client secret, when the auth method uses one.
    public var secretDigest: String?
    /// The client secret sealed with the server's sealing key, for `client_secret_jwt` only.
    public var sealedSecret: String?
    /// `client_secret_expires_at`: seconds since the epoch, `0` for never.
    public var secretExpiresAt: Int64
    /// The digest of the live registration access token; `nil` once revoked.
    public var registrationTokenDigest: String?
    /// Whether the client came through dynamic registration.
    public var dynamicallyRegistered: Bool
    /// INDIGO IAM's `reuse_refresh_token` (server-managed, `true` for dynamic clients).
    public var reuseRefreshToken: Bool
    /// INDIGO IAM's `clear_access_tokens_on_refresh` (server-managed, `true`).
    public var clearAccessTokensOnRefresh: Bool
    /// Whether the client may be used (an operator can suspend it).
    public var active: Bool
    /// Incremented on every change; updates are conditional on it, so concurrent writers cannot
    /// silently overwrite each other.
    public var version: Int64
    /// The registration policy the client was registered under, applied again on every update.
    public var policy: String
    /// When the client stops existing (a policy's client lifetime); `nil` for never.
    public var expiresAt: Timestamp?
    /// When the client last used its credentials; `nil` if never (kept by the store, not by updates).
    public var lastUsedAt: Timestamp?
    /// The software statement the registration carried, returned unmodified (RFC 7591 §3.2.1).
    public var softwareStatement: String?
    /// When the live registration access token was issued (for a policy's `max_age`).
    public var tokenIssuedAt: Timestamp
    /// Whether the client may hold the administration scopes (`registrar clients create --admin`).
    public var admin = false
    /// When an operator last enabled or disabled the client.
    public var statusChangedAt: Timestamp?
    /// Who did: the administration client's ID, or `cli`.
    public var statusChangedBy: String?

    /// Creates a client record.
    public init(
        clientID: String, metadata: ClientMetadata, createdAt: Timestamp, updatedAt: Timestamp? = nil,
        secretDigest: String? = nil, sealedSecret: String? = nil, secretExpiresAt: Int64 = 0,
        registrationTokenDigest: String? = nil, dynamicallyRegistered: Bool = true,
        reuseRefreshToken: Bool = true, clearAccessTokensOnRefresh: Bool = true, active: Bool = true,
        version: Int64 = 1, policy: String = "anonymous", expiresAt: Timestamp? = nil, lastUsedAt: Timestamp? = nil,
        softwareStatement: String? = nil, tokenIssuedAt: Timestamp? = nil
    ) {
        self.clientID = clientID
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.secretDigest = secretDigest
        self.sealedSecret = sealedSecret
        self.secretExpiresAt = secretExpiresAt
        self.registrationTokenDigest = registrationTokenDigest
        self.dynamicallyRegistered = dynamicallyRegistered
        self.reuseRefreshToken = reuseRefreshToken
        self.clearAccessTokensOnRefresh = clearAccessTokensOnRefresh
        self.active = active
        self.version = version
        self.policy = policy
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.softwareStatement = softwareStatement
        self.tokenIssuedAt = tokenIssuedAt ?? createdAt
    }

    /// Whether the client has outlived its lifetime at `now` (an expired client counts as deleted).
    public func isExpired(at now: Timestamp) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }
}
