import Logging

/// What an operator can do to any client, through the administration API (`/iam/api/clients`,
/// INDIGO IAM's shapes) or the command line: list, search, read, create static clients, replace,
/// delete, rotate secrets and registration access tokens, enable and disable.
public struct AdminService: Sendable {
    /// The registration service (validation, credentials, audit).
    public let registration: RegistrationService

    /// Creates the service.
    public init(registration: RegistrationService) { self.registration = registration }

    var store: any ClientStore { registration.store }

    /// The most clients on one page (INDIGO IAM's cap).
    public static let maximumPageSize = 100

    /// A page of clients; `startIndex` is 1-based as in SCIM.
    public func list(startIndex: Int, count: Int, dynamicOnly: Bool) async throws -> JSONObject {
        let (offset, limit) = try Self.paging(startIndex: startIndex, count: count)
        let page = try await registration.withStore { try await store.listClients(offset: offset, limit: limit, dynamicOnly: dynamicOnly) }
        return envelope(page, startIndex: startIndex)
    }

    /// A page of the clients found by a search.
    public func search(text: String, kind: ClientSearchKind, startIndex: Int, count: Int, dynamicOnly: Bool) async throws -> JSONObject {
        guard (1...256).contains(text.count) else { throw RegistrarError.invalidRequest("search must be 1 to 256 characters") }
        let (offset, limit) = try Self.paging(startIndex: startIndex, count: count)
        let page = try await registration.withStore {
            try await store.searchClients(kind: kind, prefix: text, offset: offset, limit: limit, dynamicOnly: dynamicOnly)
        }
        return envelope(page, startIndex: startIndex)
    }

    static func paging(startIndex: Int, count: Int) throws(RegistrarError) -> (Int, Int) {
        guard startIndex >= 1 else { throw RegistrarError.invalidRequest("startIndex must be 1 or more") }
        guard count >= 0 else { throw RegistrarError.invalidRequest("count must not be negative") }
        return (startIndex - 1, min(count, maximumPageSize))
    }

    func envelope(_ page: ClientPage, startIndex: Int) -> JSONObject {
        JSONObject([
            ("totalResults", .int(Int64(page.total))),
            ("itemsPerPage", .int(Int64(page.clients.count))),
            ("startIndex", .int(Int64(startIndex))),
            ("Resources", .array(page.clients.map { .object(view($0)) })),
        ])
    }

    /// The administration view of a client: its registration plus what the server manages.
    public func view(_ client: RegisteredClient, secret: String? = nil, token: String? = nil) -> JSONObject {
        var json = ClientResponse(client: client, clientSecret: secret, registrationAccessToken: token,
                                  registrationClientURI: registration.configuration.registrationClientURI(for: client.clientID)).json
        // A static client has a registration URI only once an operator gave it a registration
        // access token (`/rat`, `registrar clients rotate-token`): the URI is where that token works.
        if !client.dynamicallyRegistered && client.registrationTokenDigest == nil { json["registration_client_uri"] = nil }
        json["policy"] = .string(client.policy)
        json["updated_at"] = .int(client.updatedAt.milliseconds)
        json["last_used_at"] = client.lastUsedAt.map { .int($0.milliseconds) } ?? .null
        if client.admin { json["admin"] = .bool(true) }
        if let changed = client.statusChangedAt { json["status_changed_on"] = .int(changed.milliseconds) }
        if let by = client.statusChangedBy { json["status_changed_by"] = .string(by) }
        return json
    }

    /// One client, or 404 (administrators may know which clients exist).
    public func client(_ id: String) async throws -> RegisteredClient {
        guard let client = try await registration.withStore({ try await store.client(id: id) }) else {
            throw RegistrarError(code: .notFound, status: 404, description: "no client with this client_id")
        }
        return client
    }

    /// Creates a static client (not dynamically registered, no registration access token). The
    /// administration scopes are granted only with `admin` (the command line's `--admin`).
    public func create(body: [UInt8], admin: Bool = false, actor: Actor) async throws -> JSONObject {
        var object = try RegistrationService.parseObject(body)
        if admin {
            // An administration client: client_credentials with both administration scopes (and
            // whatever else was asked).
            object["grant_types"] = .array([.string(GrantType.clientCredentials.rawValue)])
            let extra = object["scope"]?.stringValue.map { [$0] } ?? []
            object["scope"] = .string((["iam:admin.read", "iam:admin.write"] + extra).joined(separator: " "))
        }
        var requested = try ClientMetadata(json: object)
        let configuration = withoutReservedScopes(&requested, admin: admin)
        let metadata = try registration.validator.validate(requested, configuration: configuration)
        let now = registration.clock.now()
        let clientID = registration.random.uuid(timeOrderedAt: now)
        let credentials = try registration.issueSecret(for: metadata, clientID: clientID, now: now)
        var client = RegisteredClient(
            clientID: clientID, metadata: metadata, createdAt: now, secretDigest: credentials?.digest, sealedSecret: credentials?.sealed,
            secretExpiresAt: credentials?.expiresAt ?? 0, dynamicallyRegistered: false, reuseRefreshToken: false, policy: "static")
        client.admin = admin
        try await registration.withStore { try await store.insert(client) }
        registration.logger.info("static client created", metadata: ["client_id": .string(clientID), "admin": .stringConvertible(admin)])
        await registration.record(.created, clientID, actor)
        return view(client, secret: credentials?.secret)
    }

    /// Removes the reserved scopes from what a client that is not an administration client asks
    /// for, and returns the configuration to validate it with. As on registration, a client whose
    /// every requested scope was removed has no scope: the default scopes are for a client that
    /// asked for none.
    func withoutReservedScopes(_ requested: inout ClientMetadata, admin: Bool) -> ServerConfiguration {
        var configuration = registration.configuration
        guard !admin, let asked = requested.scope, !asked.isEmpty else { return configuration }
        let kept = asked.filter { !PolicyEnforcer.reservedScopes.contains($0) }
        requested.scope = kept.isEmpty ? nil : kept
        if kept.isEmpty { configuration.defaultScopes = [] }
        return configuration
    }

    /// Replaces a client's metadata (standard validation; no registration policy applies to an
    /// administrator). A secret is issued when the method starts needing one.
    public func replace(_ id: String, body: [UInt8], actor: Actor) async throws -> JSONObject {
        let current = try await client(id)
        let object = try RegistrationService.parseObject(body)
        if let sent = object["client_id"], sent != .string(id), sent != .null {
            throw RegistrarError.invalidRequest("client_id in the body does not match the client being updated")
        }
        var requested = try ClientMetadata(json: object)
        let configuration = withoutReservedScopes(&requested, admin: current.admin)
        let metadata = try registration.validator.validate(requested, configuration: configuration)
        let now = registration.clock.now()
        var updated = current
        updated.metadata = metadata
        updated.updatedAt = now
        updated.version += 1
        let secret = try registration.reconcileSecret(of: &updated, current: current, now: now)
        guard try await registration.withStore({ try await store.update(updated, replacing: current) }) else {
            throw RegistrarError.conflict
        }
        await registration.record(.updated, id, actor)
        if secret != nil { await registration.record(.secretRotated, id, actor) }
        return view(updated, secret: secret)
    }

    /// Deletes a client.
    public func delete(_ id: String, actor: Actor) async throws {
        guard try await registration.withStore({ try await store.delete(id: id) }) else {
            throw RegistrarError(code: .notFound, status: 404, description: "no client with this client_id")
        }
        registration.logger.info("client deleted by an administrator", metadata: ["client_id": .string(id)])
        await registration.record(.deleted, id, actor)
    }

    /// A new client secret, returned once; the old one dies at once.
    public func rotateSecret(_ id: String, actor: Actor) async throws -> JSONObject {
        let response = try await registration.replaceSecret(of: try await client(id), token: nil)
        await registration.record(.secretRotated, id, actor)
        return view(response.client, secret: response.clientSecret)
    }

    /// A new registration access token, returned once; the old one dies at once.
    public func rotateRegistrationToken(_ id: String, actor: Actor) async throws -> JSONObject {
        let current = try await client(id)
        // A registration access token reaches the registration API, where its holder could rotate
        // the secret and so get administration tokens: a bearer token that never expires standing
        // in for the operator's credentials.
        guard !current.admin else {
            throw RegistrarError.invalidRequest("an administration client has no registration access token: the operator manages it (registrar clients, or this API)")
        }
        let now = registration.clock.now()
        let token = try registration.makeRegistrationToken(clientID: id, now: now)
        var updated = current
        updated.registrationTokenDigest = SecretDigest.of(token)
        updated.tokenIssuedAt = now
        updated.updatedAt = now
        updated.version += 1
        guard try await registration.withStore({ try await store.update(updated, replacing: current) }) else {
            throw RegistrarError.conflict
        }
        await registration.record(.tokenRotated, id, actor)
        return view(updated, token: token)
    }

    /// Enables or disables a client. A disabled client cannot authenticate, and its owner cannot
    /// change it through the registration API (403).
    public func setActive(_ id: String, _ active: Bool, actor: Actor) async throws {
        let current = try await client(id)
        var updated = current
        updated.active = active
        updated.statusChangedAt = registration.clock.now()
        updated.statusChangedBy = actor.adminClientID
        updated.version += 1
        guard try await registration.withStore({ try await store.update(updated, replacing: current) }) else {
            throw RegistrarError.conflict
        }
        await registration.record(active ? .enabled : .disabled, id, actor)
    }

    /// Audit events, newest first.
    public func auditEvents(clientID: String?, since: Timestamp?, limit: Int = 1000) async throws -> [AuditEvent] {
        guard let store = store as? any AuditStore, limit > 0 else { return [] }
        try? await registration.audit?.flush()
        return try await registration.withStore { try await store.auditEvents(clientID: clientID, since: since, limit: min(limit, 10_000)) }
    }
}
