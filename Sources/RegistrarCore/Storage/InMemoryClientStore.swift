/// A store in memory, for unit tests only: it forgets everything when the process ends.
public actor InMemoryClientStore: ClientStore, KeyStore, TokenStateStore, AuditStore, ClientRevocationLookup {
    private var clients: [String: RegisteredClient] = [:]
    private var keys: [StoredSigningKey] = []
    private var secrets: [String: String] = [:]
    private var tokens: [String: InitialAccessToken] = [:]
    private var assertions: [String: Timestamp] = [:]
    private var revoked: [String: Timestamp] = [:]
    private var audit: [AuditEvent] = []

    /// Creates an empty store.
    public init() {}

    public func insert(_ client: RegisteredClient) throws {
        guard clients[client.clientID] == nil else { throw StoreError.duplicate("client_id") }
        clients[client.clientID] = client
    }

    public func client(id: String) -> RegisteredClient? { clients[id] }

    public func client(id: String, unlessRevoked jti: String) -> RegisteredClient? { revoked[jti] == nil ? clients[id] : nil }

    public func update(_ client: RegisteredClient, expectedVersion: Int64) throws -> Bool {
        guard let current = clients[client.clientID], current.version == expectedVersion else { return false }
        var stored = client
        stored.lastUsedAt = current.lastUsedAt
        clients[client.clientID] = stored
        return true
    }

    public func delete(id: String) -> Bool {
        clients.removeValue(forKey: id) != nil
    }

    public func revokeRegistrationToken(clientID: String, digest: String) {
        guard var client = clients[clientID], client.registrationTokenDigest == digest else { return }
        client.registrationTokenDigest = nil
        client.version += 1
        clients[clientID] = client
    }

    public func count() -> Int { clients.count }

    public func register(_ client: RegisteredClient, spendingToken tokenID: String?, limits: ClientLimits, now: Timestamp) throws {
        // An actor runs one call at a time, so this is one transaction.
        if let tokenID {
            guard var token = tokens[tokenID], token.isUsable(at: now) else { throw StoreError.tokenUnusable }
            token.uses += 1
            try checkLimits(client, limits, now: now)
            try insert(client)
            tokens[tokenID] = token
        } else {
            try checkLimits(client, limits, now: now)
            try insert(client)
        }
    }

    private func checkLimits(_ client: RegisteredClient, _ limits: ClientLimits, now: Timestamp) throws {
        guard client.dynamicallyRegistered else { return }
        func live(_ policy: String?) -> Int {
            clients.values.filter { $0.dynamicallyRegistered && (policy == nil || $0.policy == policy) && !$0.isExpired(at: now) }.count
        }
        if let total = limits.total, live(nil) >= total { throw StoreError.limitReached("all") }
        if let perPolicy = limits.perPolicy, live(client.policy) >= perPolicy { throw StoreError.limitReached(client.policy) }
    }

    public func countDynamicClients(policy: String?) -> Int {
        clients.values.filter { $0.dynamicallyRegistered && (policy == nil || $0.policy == policy) }.count
    }

    public func recordUse(_ uses: [String: Timestamp]) {
        for (id, time) in uses where clients[id] != nil {
            clients[id]!.lastUsedAt = max(clients[id]!.lastUsedAt ?? time, time)
        }
    }

    public func deleteStaleClients(now: Timestamp, unusedSince: Timestamp?) -> Int {
        let stale = clients.values.filter { client in
            guard client.dynamicallyRegistered else { return false }
            if client.isExpired(at: now) { return true }
            if let unusedSince, client.lastUsedAt == nil, client.createdAt < unusedSince { return true }
            return false
        }
        for client in stale { _ = delete(id: client.clientID) }
        return stale.count
    }

    public func insertInitialAccessToken(_ token: InitialAccessToken) throws {
        guard tokens[token.id] == nil, !tokens.values.contains(where: { $0.digest == token.digest }) else {
            throw StoreError.duplicate("initial access token")
        }
        tokens[token.id] = token
    }

    public func initialAccessToken(digest: String) -> InitialAccessToken? {
        tokens.values.first { $0.digest == digest }
    }

    public func initialAccessTokens() -> [InitialAccessToken] {
        tokens.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    public func revokeInitialAccessToken(id: String, at time: Timestamp) -> Bool {
        guard var token = tokens[id] else { return false }
        if token.revokedAt == nil { token.revokedAt = time }
        tokens[id] = token
        return true
    }

    public func signingKeys() -> [StoredSigningKey] { keys }

    public func insertSigningKeyIfNone(_ key: StoredSigningKey) -> Bool {
        guard !keys.contains(where: { $0.algorithm == key.algorithm && $0.retiredAt == nil }) else { return false }
        keys.append(key)
        return true
    }

    public func rotateSigningKey(_ key: StoredSigningKey, at time: Timestamp) {
        for i in keys.indices where keys[i].algorithm == key.algorithm && keys[i].retiredAt == nil { keys[i].retiredAt = time }
        keys.append(key)
    }

    public func listClients(offset: Int, limit: Int, dynamicOnly: Bool) -> ClientPage {
        let all = clients.values.filter { !dynamicOnly || $0.dynamicallyRegistered }.sorted { $0.clientID < $1.clientID }
        return ClientPage(clients: Array(all.dropFirst(offset).prefix(limit)), total: all.count)
    }

    public func searchClients(kind: ClientSearchKind, prefix: String, offset: Int, limit: Int, dynamicOnly: Bool) -> ClientPage {
        let needle = prefix.lowercased()
        let all = clients.values.filter { client in
            (!dynamicOnly || client.dynamicallyRegistered) && kind.terms(of: client).contains { ClientSearchKind.matches($0, prefix: needle) }
        }.sorted { $0.clientID < $1.clientID }
        return ClientPage(clients: Array(all.dropFirst(offset).prefix(limit)), total: all.count)
    }

    public func appendAudit(_ events: [AuditEvent]) { audit += events }

    public func auditEvents(clientID: String?, since: Timestamp?, limit: Int) -> [AuditEvent] {
        let matching = audit.enumerated().filter { entry in
            (clientID == nil || entry.element.clientID == clientID) && (since.map { entry.element.time >= $0 } ?? true)
        }
        return Array(matching.sorted { ($0.element.time, $0.offset) > ($1.element.time, $1.offset) }.map(\.element).prefix(limit))
    }

    public func purgeAudit(before: Timestamp) -> Int {
        let before_ = audit.count
        audit.removeAll { $0.time < before }
        return before_ - audit.count
    }

    public func useAssertion(jti: String, clientID: String, expiresAt: Timestamp) -> Bool {
        let key = clientID + " " + jti
        guard assertions[key] == nil else { return false }
        assertions[key] = expiresAt
        return true
    }

    public func revokeAccessToken(jti: String, expiresAt: Timestamp) { revoked[jti] = expiresAt }

    public func isAccessTokenRevoked(jti: String) -> Bool { revoked[jti] != nil }

    public func purgeExpiredTokenState(now: Timestamp) {
        assertions = assertions.filter { $0.value > now }
        revoked = revoked.filter { $0.value > now }
    }

    public func serverSecret(named name: String, orInsert candidate: String) -> String {
        if let existing = secrets[name] { return existing }
        secrets[name] = candidate
        return candidate
    }
}
