/// A store in memory, for unit tests only: it forgets everything when the process ends.
public actor InMemoryClientStore: ClientStore, KeyStore {
    private var clients: [String: RegisteredClient] = [:]
    private var byToken: [String: String] = [:]
    private var keys: [StoredSigningKey] = []
    private var secrets: [String: String] = [:]

    /// Creates an empty store.
    public init() {}

    public func insert(_ client: RegisteredClient) throws {
        guard clients[client.clientID] == nil else { throw StoreError.duplicate("client_id") }
        if let digest = client.registrationTokenDigest {
            guard byToken[digest] == nil else { throw StoreError.duplicate("registration token") }
            byToken[digest] = client.clientID
        }
        clients[client.clientID] = client
    }

    public func client(id: String) -> RegisteredClient? { clients[id] }

    public func client(registrationTokenDigest digest: String) -> RegisteredClient? {
        byToken[digest].flatMap { clients[$0] }
    }

    public func update(_ client: RegisteredClient, expectedVersion: Int64) throws -> Bool {
        guard let current = clients[client.clientID], current.version == expectedVersion else { return false }
        if let digest = client.registrationTokenDigest, let owner = byToken[digest], owner != client.clientID {
            throw StoreError.duplicate("registration token")
        }
        if let old = current.registrationTokenDigest { byToken[old] = nil }
        if let new = client.registrationTokenDigest { byToken[new] = client.clientID }
        clients[client.clientID] = client
        return true
    }

    public func delete(id: String) -> Bool {
        guard let client = clients.removeValue(forKey: id) else { return false }
        if let digest = client.registrationTokenDigest { byToken[digest] = nil }
        return true
    }

    public func revokeRegistrationToken(clientID: String, digest: String) {
        guard var client = clients[clientID], client.registrationTokenDigest == digest else { return }
        byToken[digest] = nil
        client.registrationTokenDigest = nil
        client.version += 1
        clients[clientID] = client
    }

    public func count() -> Int { clients.count }

    public func signingKeys() -> [StoredSigningKey] { keys }

    public func insertSigningKeyIfNone(_ key: StoredSigningKey) -> Bool {
        guard !keys.contains(where: { $0.algorithm == key.algorithm }) else { return false }
        keys.append(key)
        return true
    }

    public func serverSecret(named name: String, orInsert candidate: String) -> String {
        if let existing = secrets[name] { return existing }
        secrets[name] = candidate
        return candidate
    }
}
