/// Where clients live. Every implementation (in-memory, SQLite, and any later one) passes the same
/// conformance suite; each call is atomic on its own, so no request can leave a half-written
/// record.
public protocol ClientStore: Sendable {
    /// Stores a new client; throws ``StoreError/duplicate(_:)`` if its ID or token digest exists.
    /// Returns only after the write is durable.
    func insert(_ client: RegisteredClient) async throws
    /// The client with this ID.
    func client(id: String) async throws -> RegisteredClient?
    /// The client whose live registration access token has this digest.
    func client(registrationTokenDigest: String) async throws -> RegisteredClient?
    /// Replaces a client if its stored version is still `expectedVersion`; the new record carries
    /// its own (incremented) version. Returns `false` when another change won or it is gone.
    func update(_ client: RegisteredClient, expectedVersion: Int64) async throws -> Bool
    /// Deletes a client (and with it its token digest). Returns `false` if there was none.
    func delete(id: String) async throws -> Bool
    /// Revokes a client's registration access token if its digest is still this one.
    func revokeRegistrationToken(clientID: String, digest: String) async throws
    /// The number of clients.
    func count() async throws -> Int
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

    /// Creates a stored key.
    public init(kid: String, algorithm: String, privateKeyPEM: String, createdAt: Timestamp) {
        self.kid = kid
        self.algorithm = algorithm
        self.privateKeyPEM = privateKeyPEM
        self.createdAt = createdAt
    }
}

/// Where the server's own keys live: signing keys and named secrets such as the sealing key.
public protocol KeyStore: Sendable {
    /// Every stored signing key, oldest first.
    func signingKeys() async throws -> [StoredSigningKey]
    /// Stores a key unless one with the same algorithm exists already; returns whether it was stored.
    func insertSigningKeyIfNone(_ key: StoredSigningKey) async throws -> Bool
    /// The named secret, storing `candidate` first if there is none yet (first writer wins).
    func serverSecret(named name: String, orInsert candidate: String) async throws -> String
}
