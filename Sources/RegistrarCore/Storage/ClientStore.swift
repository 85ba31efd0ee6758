/// Where clients live. Every implementation (in-memory, SQLite, and any later one) passes the same
/// conformance suite; each call is atomic on its own, so no request can leave a half-written
/// record.
public protocol ClientStore: Sendable {
    /// Stores a new client; throws ``StoreError/duplicate(_:)`` if its ID exists. Returns only
    /// after the write is durable.
    func insert(_ client: RegisteredClient) async throws
    /// The client with this ID. A registration access token is checked against the digest of the
    /// client named in the URL it is presented at: no store looks clients up by token digest, so
    /// none keeps an index of them (each registration wrote one entry at a random place of it).
    func client(id: String) async throws -> RegisteredClient?
    /// The client with this ID as stored, not decoded: a read of its registration is answered
    /// from it (``StoredClientResponse``). By default, the client's own row.
    func storedClient(id: String) async throws -> StoredClientRow?
    /// Replaces a client if its stored version is still `expectedVersion`; the new record carries
    /// its own (incremented) version. Returns `false` when another change won or it is gone.
    func update(_ client: RegisteredClient, expectedVersion: Int64) async throws -> Bool
    /// Replaces `previous`, the client as it was read, by `client`, if the stored version is still
    /// `previous.version`. The same as ``update(_:expectedVersion:)``; a store may use `previous`
    /// to write only what changed (the version check makes `previous` the stored record).
    func update(_ client: RegisteredClient, replacing previous: RegisteredClient) async throws -> Bool
    /// Deletes a client (and with it its token digest). Returns `false` if there was none.
    func delete(id: String) async throws -> Bool
    /// Revokes a client's registration access token if its digest is still this one.
    func revokeRegistrationToken(clientID: String, digest: String) async throws
    /// The number of clients.
    func count() async throws -> Int

    /// Registers a client in one transaction: spends one use of the initial access token with
    /// this ID (if any; ``StoreError/tokenUnusable`` when it cannot be spent), checks the caps on
    /// dynamically registered clients (``StoreError/limitReached(_:)``), and inserts the client.
    /// Either all of it happens or none of it: two registrations can never both spend a token's
    /// last use, nor both take the last place under a cap.
    func register(_ client: RegisteredClient, spendingToken tokenID: String?, limits: ClientLimits, now: Timestamp) async throws

    /// The number of dynamically registered clients, under one policy or all of them.
    func countDynamicClients(policy: String?) async throws -> Int

    /// Records when clients last used their credentials (a batch, written in one go).
    func recordUse(_ uses: [String: Timestamp]) async throws

    /// Deletes dynamically registered clients that have expired at `now`, or that were registered
    /// before `unusedSince` and never used. Returns how many were deleted.
    func deleteStaleClients(now: Timestamp, unusedSince: Timestamp?) async throws -> Int

    /// Stores a new initial access token.
    func insertInitialAccessToken(_ token: InitialAccessToken) async throws
    /// The initial access token with this digest.
    func initialAccessToken(digest: String) async throws -> InitialAccessToken?
    /// Every initial access token, newest first.
    func initialAccessTokens() async throws -> [InitialAccessToken]
    /// Revokes an initial access token; returns `false` if there is none with this ID.
    func revokeInitialAccessToken(id: String, at: Timestamp) async throws -> Bool

    /// A page of clients ordered by client ID (`offset` from 0).
    func listClients(offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage
    /// A page of the clients with a term of this kind starting with `prefix` (lower-cased), by client ID.
    func searchClients(kind: ClientSearchKind, prefix: String, offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage
}

/// The audit trail.
public protocol AuditStore: Sendable {
    /// Appends events (a batch, written in one go).
    func appendAudit(_ events: [AuditEvent]) async throws
    /// Events, newest first, for one client or all, since a time.
    func auditEvents(clientID: String?, since: Timestamp?, limit: Int) async throws -> [AuditEvent]
    /// Deletes events older than `before`; returns how many.
    func purgeAudit(before: Timestamp) async throws -> Int
}

/// Caps on dynamically registered clients, checked when a client is registered.
public struct ClientLimits: Sendable, Equatable {
    /// Most dynamically registered clients in all.
    public var total: Int?
    /// Most under the client's policy.
    public var perPolicy: Int?
    /// Creates limits.
    public init(total: Int? = nil, perPolicy: Int? = nil) {
        self.total = total
        self.perPolicy = perPolicy
    }
    /// No limits.
    public static let none = ClientLimits()
}

/// A stored private signing key.
public struct StoredSigningKey: Sendable, Equatable {
    /// The key ID.
    public var kid: String
    /// The JWS algorithm.
    public var algorithm: String
    /// The PKCS#8 PEM of the private key.
    public var privateKeyPEM: String
    /// When it was created.
    public var createdAt: Timestamp
    /// When a newer key replaced it; `nil` for the current key of its algorithm.
    public var retiredAt: Timestamp?

    /// Creates a stored key.
    public init(kid: String, algorithm: String, privateKeyPEM: String, createdAt: Timestamp, retiredAt: Timestamp? = nil) {
        self.kid = kid
        self.algorithm = algorithm
        self.privateKeyPEM = privateKeyPEM
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// Where the server's own keys live: signing keys and named secrets such as the sealing key.
public protocol KeyStore: Sendable {
    /// Every stored signing key, oldest first.
    func signingKeys() async throws -> [StoredSigningKey]
    /// Stores a key unless a current key of the same algorithm exists already; returns whether it was stored.
    func insertSigningKeyIfNone(_ key: StoredSigningKey) async throws -> Bool
    /// In one transaction, retires the current key of the new key's algorithm and stores the new one.
    func rotateSigningKey(_ key: StoredSigningKey, at time: Timestamp) async throws
    /// The named secret, storing `candidate` first if there is none yet (first writer wins).
    func serverSecret(named name: String, orInsert candidate: String) async throws -> String
}

/// State kept for issued access tokens and client assertions, shared by every instance.
public protocol TokenStateStore: Sendable {
    /// Records a client assertion's `jti` until it expires; `false` if it was seen already (a replay).
    func useAssertion(jti: String, clientID: String, expiresAt: Timestamp) async throws -> Bool
    /// Records a revoked access token until it would have expired.
    func revokeAccessToken(jti: String, expiresAt: Timestamp) async throws
    /// Whether an access token has been revoked.
    func isAccessTokenRevoked(jti: String) async throws -> Bool
    /// Forgets assertions and revocations whose tokens have expired by `now`.
    func purgeExpiredTokenState(now: Timestamp) async throws
}

/// A store of both clients and access-token revocations that reads a token's client and whether
/// the token is revoked in one query: introspection's last two lookups in one round trip (on
/// PostgreSQL, a third of an introspection's statements).
public protocol ClientRevocationLookup: Sendable {
    /// The client with this ID unless the access token `jti` is revoked: `nil` when the token is
    /// revoked or there is no such client.
    func client(id: String, unlessRevoked jti: String) async throws -> RegisteredClient?
}

extension ClientStore {
    public func storedClient(id: String) async throws -> StoredClientRow? {
        try await client(id: id).map(StoredClientRow.init)
    }

    /// By default, a replacement of the whole record at `previous.version`.
    public func update(_ client: RegisteredClient, replacing previous: RegisteredClient) async throws -> Bool {
        try await update(client, expectedVersion: previous.version)
    }
}
