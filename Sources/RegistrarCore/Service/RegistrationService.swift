public import Logging

/// Dynamic client registration (RFC 7591 §3) and management (RFC 7592 §2): each operation is a
/// short list of named steps — parse, authenticate, validate, issue credentials, store, respond.
///
/// The store, clock and random source are injected, so that every identifier, secret and time in
/// a response can be predicted in tests.
public struct RegistrationService: Sendable {
    /// What the server supports and its defaults.
    public let configuration: ServerConfiguration
    /// Where clients live.
    public let store: any ClientStore
    /// The server's keys, reloaded after rotations.
    public let keyRing: KeyRing
    /// The keys now.
    public var keys: ServerKeys { keyRing.current }
    /// The metadata rules.
    public let validator: MetadataValidator
    /// "Now".
    public let clock: any WallClock
    /// Randomness for IDs, secrets and token IDs.
    public let random: any RandomSource
    /// Where the service reports what it does (never secrets).
    public let logger: Logger
    /// The operator's settings: registration mode, policies, caps.
    public let settings: RegistrarSettings
    /// Verifies software statements; `nil` when no issuer is trusted.
    public let statements: SoftwareStatementVerifier?
    /// Notes when clients use their registration access tokens.
    public let uses: LastUseRecorder
    /// The audit trail; `nil` when the store keeps none.
    public let audit: AuditLog?

    /// Creates the service.
    public init(
        configuration: ServerConfiguration, store: any ClientStore, keys: ServerKeys? = nil, keyRing: KeyRing? = nil,
        settings: RegistrarSettings = RegistrarSettings(), statements: SoftwareStatementVerifier? = nil,
        validator: MetadataValidator = .standard, clock: any WallClock = SystemWallClock(),
        random: any RandomSource = SystemRandomSource(), logger: Logger = Logger(label: "registrar.registration")
    ) {
        self.configuration = configuration
        self.store = store
        guard let ring = keyRing ?? keys.map(KeyRing.init) else { preconditionFailure("RegistrationService needs keys or a key ring") }
        self.keyRing = ring
        self.settings = settings
        self.statements = statements
        self.validator = validator
        self.clock = clock
        self.random = random
        self.logger = logger
        self.uses = LastUseRecorder(store: store)
        self.audit = (store as? any AuditStore).map { AuditLog(store: $0, logger: logger) }
    }

    /// Records an event in the audit trail.
    public func record(_ kind: AuditEvent.Kind, _ clientID: String?, _ actor: Actor, outcome: String = "success", detail: String? = nil) async {
        await audit?.record(AuditEvent(time: clock.now(), kind: kind, clientID: clientID, actorIP: actor.ip,
                                       initialAccessTokenID: actor.initialAccessTokenID, adminClientID: actor.adminClientID,
                                       outcome: outcome, detail: detail))
    }

    /// Records a refusal the HTTP layer decided on its own (a malformed `Authorization` header, a
    /// body of the wrong type or size), so that every `4xx` of the registration API is in the audit
    /// trail. (The handlers call it from a `catch` rather than wrapping the check in
    /// ``auditingRefusals(_:_:_:)``: a generic closure on every read cost about 6 % of its CPU.)
    public func recordRefusal(_ error: any Error, _ clientID: String?, _ actor: Actor) async {
        guard let error = error as? RegistrarError, error.status < 500 else { return }
        await record(.denied, clientID, actor, outcome: "failure", detail: error.code.rawValue)
    }

    /// Runs an operation and records a refusal (`denied`, with the error code) if it throws one.
    func auditingRefusals<T>(_ clientID: String?, _ actor: Actor, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            await recordRefusal(error, clientID, actor)
            throw error
        }
    }

    /// The policy a stored client runs under (the anonymous one if its policy was removed).
    func policy(for client: RegisteredClient) -> RegistrationPolicy {
        if let policy = settings.policy(named: client.policy) { return policy }
        logger.warning("client's policy is no longer configured; applying the anonymous policy",
                       metadata: ["client_id": .string(client.clientID), "policy": .string(client.policy)])
        return settings.policy(named: "anonymous") ?? .anonymous
    }

    /// Members that only the server sets (RFC 7592 §2.2).
    static let serverManagedMembers = ["registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"]

    // MARK: - Register (RFC 7591 §3)

    /// Registers a client from a JSON request body, presented with an optional initial access token.
    public func register(body: [UInt8], initialAccessToken bearer: String? = nil, actor: Actor = .unknown) async throws -> ClientResponse {
        try await auditingRefusals(nil, actor) { try await registerSteps(body: body, bearer: bearer, actor: actor) }
    }

    func registerSteps(body: [UInt8], bearer: String?, actor: Actor) async throws -> ClientResponse {
        // Step 1: who is registering, and under which policy (RFC 7591 §3).
        guard settings.registration.mode != .disabled else {
            throw RegistrarError(code: .notFound, status: 404, description: "registration is disabled on this server")
        }
        let grant = try await initialAccessGrant(bearer)
        let policy = grant?.policy ?? settings.policy(named: "anonymous") ?? .anonymous

        // Step 2: the request, with a software statement's members taking precedence (RFC 7591 §3.1.1).
        var object = try Self.parseObject(body)
        if let secret = object["client_secret"], secret != .null, secret != .string("") {
            // RFC 7591 §3.2.1: the server issues the secret; a client cannot pick its own.
            throw RegistrarError.invalidClientMetadata("client_secret is issued by the server and must not be sent on registration")
        }
        let statement = try await applySoftwareStatement(to: &object, policy: policy)

        // Step 3: validate under the policy. A client-chosen client_id and the server-managed
        // members are ignored (RFC 7591 §3.2.1).
        let metadata = try evaluate(object, policy: policy, previous: nil)

        // Step 4: credentials, then one transaction that spends the token, checks the caps and stores.
        let now = clock.now()
        let clientID = random.uuid(timeOrderedAt: now)
        let expiresAt = policy.clientLifetime.map { Timestamp(milliseconds: now.milliseconds + $0 * 1000) }
        let credentials = try issueSecret(for: metadata, clientID: clientID, now: now, clientExpiresAt: expiresAt)
        let token = try makeRegistrationToken(clientID: clientID, now: now)
        let client = RegisteredClient(
            clientID: clientID, metadata: metadata, createdAt: now,
            secretDigest: credentials?.digest, sealedSecret: credentials?.sealed,
            secretExpiresAt: credentials?.expiresAt ?? 0,
            registrationTokenDigest: SecretDigest.of(token), policy: policy.name, expiresAt: expiresAt,
            softwareStatement: statement)
        let limits = ClientLimits(total: settings.registration.maxClients, perPolicy: policy.maxClients)
        do {
            try await withStore { try await store.register(client, spendingToken: grant?.token.id, limits: limits, now: now) }
        } catch StoreError.tokenUnusable {
            throw RegistrarError.invalidToken("the initial access token is expired, revoked or used up")
        } catch StoreError.limitReached(let scope) {
            logger.warning("registration refused: client limit reached", metadata: ["policy": .string(policy.name), "limit": .string(scope)])
            throw scope == "all"
                ? RegistrarError(code: .accessDenied, status: 403, description: "registration refused: this server has reached its limit of \(limits.total ?? 0) dynamically registered clients")
                : RegistrarError(code: .accessDenied, status: 403, description: "registration refused: the registration policy \"\(policy.name)\" has reached its limit of \(limits.perPolicy ?? 0) clients")
        }
        var logMetadata: Logger.Metadata = ["client_id": .string(clientID), "policy": .string(policy.name),
                                            "auth_method": .string(metadata.tokenEndpointAuthMethod?.rawValue ?? "")]
        if let grant { logMetadata["initial_access_token_id"] = .string(grant.token.id) }
        logger.info("client registered", metadata: logMetadata)
        var who = actor
        who.initialAccessTokenID = grant?.token.id
        await record(.created, clientID, who)
        return ClientResponse(client: client, clientSecret: credentials?.secret, registrationAccessToken: token,
                              registrationClientURI: configuration.registrationClientURI(for: clientID))
    }

    /// What an initial access token grants: its record and the policy it names.
    struct InitialAccessGrant {
        let token: InitialAccessToken
        let policy: RegistrationPolicy
    }

    /// RFC 7591 §3: in `token` mode a usable initial access token is required; in `open` mode one
    /// may be sent to register under its policy. A token that is sent must be good in either mode.
    func initialAccessGrant(_ bearer: String?) async throws -> InitialAccessGrant? {
        guard let bearer else {
            if settings.registration.mode == .token { throw RegistrarError.missingToken }
            return nil
        }
        guard bearer.hasPrefix(InitialAccessToken.prefix), Self.isWellFormedToken(bearer) else {
            throw RegistrarError.invalidToken("the initial access token is invalid, revoked or unknown")
        }
        let now = clock.now()
        guard let token = try await withStore({ try await store.initialAccessToken(digest: SecretDigest.of(bearer)) }),
              ConstantTime.equals(token.digest, SecretDigest.of(bearer)), token.isUsable(at: now)
        else {
            throw RegistrarError.invalidToken("the initial access token is invalid, expired, revoked or used up")
        }
        guard let policy = settings.policy(named: token.policy) else {
            logger.error("initial access token names a policy that is not configured", metadata: ["initial_access_token_id": .string(token.id), "policy": .string(token.policy)])
            throw RegistrarError.invalidToken("the initial access token's policy is no longer configured")
        }
        return InitialAccessGrant(token: token, policy: policy)
    }

    /// Verifies a `software_statement` and lays its members over the request's (RFC 7591 §3.1.1).
    /// Returns the statement, to be stored and returned unmodified.
    func applySoftwareStatement(to object: inout JSONObject, policy: RegistrationPolicy, previous: String? = nil) async throws -> String? {
        guard let value = object["software_statement"], value != .null, value != .string("") else {
            if policy.requireSoftwareStatement {
                throw RegistrarError(code: .invalidSoftwareStatement, status: 400,
                                     description: "the registration policy requires a software_statement")
            }
            return nil
        }
        guard case .string(let statement) = value else {
            throw RegistrarError(code: .invalidSoftwareStatement, status: 400, description: "software_statement must be a string (a JWT)")
        }
        if statement == previous, let claims = SoftwareStatementVerifier.unverifiedClaims(statement),
           let issuer = CompactJWS(statement)?.claims["iss"]?.stringValue, statements?.trusts(issuer: issuer) == true {
            // The very statement verified when it was first presented (an update echoing the
            // registration): its members apply again even if it has expired since, as long as its
            // issuer is still trusted.
            for (name, claim) in claims.members { object[name] = claim }
            return statement
        }
        guard let statements, !statements.isEmpty else {
            // RFC 7591 §3.1.1: a server that does not use statements may ignore them; this one has
            // no trusted issuer, so the statement cannot be approved.
            throw RegistrarError(code: .unapprovedSoftwareStatement, status: 400,
                                 description: "this server trusts no software statement issuer")
        }
        let claims = try await statements.verify(statement, now: clock.now())
        for (name, claim) in claims.members { object[name] = claim }
        return statement
    }

    /// Parses, filters and validates metadata under a policy.
    func evaluate(_ object: JSONObject, policy: RegistrationPolicy, previous: RegisteredClient?) throws(RegistrarError) -> ClientMetadata {
        var requested = try ClientMetadata(json: object)
        try PolicyEnforcer.prepareScopes(&requested, policy: policy, configuration: configuration, previous: previous)
        var rules = configuration
        rules.defaultScopes = []  // applied above, under the policy
        let metadata = try validator.validate(requested, configuration: rules)
        try PolicyEnforcer.check(metadata, policy: policy, previous: previous)
        return metadata
    }

    // MARK: - Read (RFC 7592 §2.1)

    /// Reads a client's registration with its registration access token.
    /// Answered from the stored row, without decoding the client (``StoredClientResponse``).
    public func read(clientID: String, bearer: String?, actor: Actor = .unknown) async throws -> StoredClientResponse {
        // ``auditingRefusals(_:_:_:)`` spelt out: a generic closure on every read costs more than
        // this catch.
        let row: StoredClientRow, token: String
        do {
            (row, token) = try await authenticatedRow(clientID: clientID, bearer: bearer)
        } catch {
            await recordRefusal(error, clientID, actor)
            throw error
        }
        // The token does not rotate on read; the one presented is returned (RFC 7592 §3). A row
        // that cannot be answered from fails before the read counts as a use or a read.
        let response = try StoredClientResponse(clientID: clientID, row: row, registrationAccessToken: token,
                                                registrationClientURI: configuration.registrationClientURI(for: clientID))
        await noteUse(clientID, row)
        await record(.read, clientID, actor)
        return response
    }

    // MARK: - Update (RFC 7592 §2.2)

    /// Replaces a client's registration.
    public func update(clientID: String, bearer: String?, body: [UInt8], actor: Actor = .unknown) async throws -> ClientResponse {
        let authenticated = try await auditingRefusals(clientID, actor) { try await authenticate(clientID: clientID, bearer: bearer) }
        return try await update(authenticated, body: body, actor: actor)
    }

    /// Replaces the registration of a client already authenticated with ``authenticate(clientID:bearer:)``
    /// (the HTTP layer authenticates before it reads the body).
    public func update(_ authenticated: AuthenticatedClient, body: [UInt8], actor: Actor = .unknown) async throws -> ClientResponse {
        try await auditingRefusals(authenticated.client.clientID, actor) { try await updateSteps(authenticated, body: body, actor: actor) }
    }

    func updateSteps(_ authenticated: AuthenticatedClient, body: [UInt8], actor: Actor) async throws -> ClientResponse {
        let current = authenticated.client, token = authenticated.token, clientID = current.clientID
        guard current.active else {
            throw RegistrarError(code: .accessDenied, status: 403, description: "this client is suspended; it cannot be changed through the registration API")
        }
        var object = try Self.parseObject(body)
        try checkUpdateIdentity(object, current: current, token: token)
        let policy = policy(for: current)
        // The body is the whole new registration (RFC 7592 §2.2: an omitted member is a request to
        // delete it), so an update without `software_statement` removes the stored one, as `null`
        // or "" does, and a policy that requires a statement refuses it
        // (``applySoftwareStatement(to:policy:previous:)``). Echoing the stored statement keeps it.
        let statement = try await applySoftwareStatement(to: &object, policy: policy, previous: current.softwareStatement)
        // Grants and scopes the client already holds are kept (INDIGO IAM keeps what an
        // administrator granted), so the policy judges only what is new.
        let metadata = try evaluate(object, policy: policy, previous: current)

        let now = clock.now()
        var updated = current
        updated.metadata = metadata
        updated.updatedAt = now
        updated.version = current.version + 1
        updated.softwareStatement = statement
        // A new token only if the policy says so, and only if this update is stored: a failed
        // request never rotates the token.
        var responseToken = token
        let tooOld = policy.registrationToken.maxAge.map { now.milliseconds - current.tokenIssuedAt.milliseconds >= $0 * 1000 } ?? false
        if policy.registrationToken.rotation == .onUpdate || tooOld {
            responseToken = try makeRegistrationToken(clientID: clientID, now: now)
            updated.registrationTokenDigest = SecretDigest.of(responseToken)
            updated.tokenIssuedAt = now
        }
        let newSecret = try reconcileSecret(of: &updated, current: current, now: now)
        let stored = try await withStore { try await store.update(updated, replacing: current) }
        guard stored else {
            // Deleted or changed between our read and our write.
            if try await withStore({ try await store.client(id: clientID) }) == nil { throw RegistrarError.invalidToken() }
            throw RegistrarError.conflict
        }
        logger.info("client updated", metadata: ["client_id": .string(clientID), "token_rotated": .stringConvertible(responseToken != token)])
        await record(.updated, clientID, actor)
        if responseToken != token { await record(.tokenRotated, clientID, actor) }
        if newSecret != nil { await record(.secretRotated, clientID, actor) }
        return ClientResponse(client: updated, clientSecret: newSecret, registrationAccessToken: responseToken,
                              registrationClientURI: configuration.registrationClientURI(for: clientID))
    }

    // MARK: - Delete (RFC 7592 §2.3)

    /// Deletes a client; its token and credentials die with it.
    public func delete(clientID: String, bearer: String?, actor: Actor = .unknown) async throws {
        try await auditingRefusals(clientID, actor) {
            // The row is enough: a client whose document no longer reads can still delete itself.
            _ = try await authenticatedRow(clientID: clientID, bearer: bearer)
            guard try await withStore({ try await store.delete(id: clientID) }) else {
                throw RegistrarError.invalidToken()
            }
        }
        logger.info("client deleted", metadata: ["client_id": .string(clientID)])
        await record(.deleted, clientID, actor)
    }

    // MARK: - Owner secret rotation (beyond RFC 7592; INDIGO IAM lacks it)

    /// Issues a new client secret to the holder of the registration access token; the old secret
    /// stops working at once. The new secret is in the response, once.
    public func rotateSecret(clientID: String, bearer: String?, actor: Actor = .unknown) async throws -> ClientResponse {
        try await auditingRefusals(clientID, actor) {
            let authenticated = try await authenticate(clientID: clientID, bearer: bearer)
            guard authenticated.client.active else {
                throw RegistrarError(code: .accessDenied, status: 403, description: "this client is suspended; it cannot be changed through the registration API")
            }
            let response = try await replaceSecret(of: authenticated.client, token: authenticated.token)
            await record(.secretRotated, clientID, actor)
            return response
        }
    }

    /// Stores a new secret for a client that uses one.
    func replaceSecret(of current: RegisteredClient, token: String?) async throws -> ClientResponse {
        guard let method = current.metadata.tokenEndpointAuthMethod, method.usesSecret else {
            throw RegistrarError.invalidRequest("this client's token_endpoint_auth_method (\(current.metadata.tokenEndpointAuthMethod?.rawValue ?? "none")) uses no client secret")
        }
        let now = clock.now()
        guard let issued = try issueSecret(for: current.metadata, clientID: current.clientID, now: now, clientExpiresAt: current.expiresAt) else {
            throw RegistrarError.serverError
        }
        var updated = current
        updated.secretDigest = issued.digest
        updated.sealedSecret = issued.sealed
        updated.secretExpiresAt = issued.expiresAt
        updated.updatedAt = now
        updated.version = current.version + 1
        guard try await withStore({ try await store.update(updated, replacing: current) }) else { throw RegistrarError.conflict }
        logger.info("client secret rotated", metadata: ["client_id": .string(current.clientID)])
        return ClientResponse(client: updated, clientSecret: issued.secret, registrationAccessToken: token,
                              registrationClientURI: configuration.registrationClientURI(for: current.clientID))
    }

    // MARK: - Steps

    /// Parses a request body that must be a JSON object.
    public static func parseObject(_ body: [UInt8]) throws(RegistrarError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw RegistrarError.invalidRequest("the request body is not valid JSON: \(error.description)")
        }
        guard case .object(let object) = value else {
            throw RegistrarError.invalidRequest("the request body must be a JSON object, not \(value.typeDescription)")
        }
        return object
    }

    /// RFC 7592 §2: the bearer token must be this client's live registration access token: the
    /// digest of the token presented must be the one stored with the client named in the URL
    /// (compared in constant time). A valid token presented for another client is revoked
    /// (RFC 7592 §2.1: "the authorization server ... SHOULD immediately revoke it"): the token
    /// names its client in `aud`, and is revoked if it is that client's live token. A missing
    /// client answers 401, never 404.
    public func authenticate(clientID: String, bearer: String?) async throws -> AuthenticatedClient {
        let (row, token) = try await authenticatedRow(clientID: clientID, bearer: bearer)
        let client = try row.client(id: clientID)
        await noteUse(clientID, row)
        // An administration client that holds a registration access token from an earlier version
        // (which issued them) may not change itself or its secret with it.
        guard !client.admin else {
            throw RegistrarError(code: .accessDenied, status: 403,
                                 description: "an administration client is managed by the operator, not through the registration API")
        }
        return AuthenticatedClient(client: client, token: token)
    }

    /// Notes a use of the client's registration access token (written at most once an hour).
    func noteUse(_ clientID: String, _ row: StoredClientRow) async {
        await uses.record(clientID, at: clock.now(), stored: row.lastUsedAt.map(Timestamp.init(milliseconds:)))
    }

    /// The stored row of the client whose registration access token `bearer` is, and the token;
    /// the checks of ``authenticate(clientID:bearer:)``. Its caller notes the use
    /// (``noteUse(_:_:)``) once the row has served.
    func authenticatedRow(clientID: String, bearer: String?) async throws -> (StoredClientRow, String) {
        guard let bearer else { throw RegistrarError.missingToken }
        guard Self.isWellFormedToken(bearer) else { throw RegistrarError.invalidToken() }
        let digest = SecretDigest.of(bearer)
        let found: StoredClientRow?
        do { found = try await store.storedClient(id: clientID) } catch { throw storeFailure(error, logger) }
        guard let row = found, let stored = row.registrationTokenDigest, ConstantTime.equals(stored, digest)
        else {
            try await revokeIfAnotherClients(bearer, digest: digest, presentedFor: clientID)
            throw RegistrarError.invalidToken()
        }
        // An expired client counts as deleted (the reaper removes it later).
        guard !row.isExpired(at: clock.now()) else { throw RegistrarError.invalidToken() }
        return (row, bearer)
    }

    /// Revokes `token` if it is the live registration access token of a client other than
    /// `clientID`: the client its `aud` claim names (every registration access token is a JWT
    /// naming its client; its signature is not needed, the stored digest decides).
    func revokeIfAnotherClients(_ token: String, digest: String, presentedFor clientID: String) async throws {
        guard let owner = Self.audience(ofRegistrationToken: token), owner != clientID,
              let other = try await withStore({ try await store.storedClient(id: owner) }),
              let stored = other.registrationTokenDigest, ConstantTime.equals(stored, digest)
        else { return }
        try await withStore { try await store.revokeRegistrationToken(clientID: owner, digest: digest) }
        logger.warning("registration access token presented for another client; token revoked",
                       metadata: ["token_client_id": .string(owner)])
    }

    /// The `aud` claim of a token shaped as a compact JWS, or `nil`.
    static func audience(ofRegistrationToken token: String) -> String? {
        guard let audience = CompactJWS(token)?.claims["aud"]?.stringValue, !audience.isEmpty else { return nil }
        return audience
    }

    /// RFC 7592 §2.2: `client_id` must be the client's; a `client_secret` must be the current one;
    /// the server-managed members are accepted only when equal to the current values.
    func checkUpdateIdentity(_ object: JSONObject, current: RegisteredClient, token: String) throws(RegistrarError) {
        guard case .string(let sentID)? = object["client_id"] else {
            throw RegistrarError.invalidRequest("client_id is required in the request body and must equal the client's identifier (RFC 7592 §2.2)")
        }
        guard sentID == current.clientID else {
            throw RegistrarError.invalidRequest("client_id in the body does not match the client being updated")
        }
        if let secret = object["client_secret"], secret != .null, secret != .string("") {
            guard case .string(let value) = secret, let digest = current.secretDigest,
                  SecretDigest.matches(value, digest: digest)
            else { throw RegistrarError.invalidRequest("client_secret does not match the client's current secret; a client cannot choose its secret") }
        }
        let currentValues: [String: JSONValue] = [
            "registration_access_token": .string(token),
            "registration_client_uri": .string(configuration.registrationClientURI(for: current.clientID)),
            "client_secret_expires_at": .int(current.secretExpiresAt),
            "client_id_issued_at": .int(current.createdAt.seconds),
        ]
        for name in Self.serverManagedMembers {
            guard let sent = object[name], sent != .null, sent != .string("") else { continue }
            let matches: Bool
            if name == "registration_access_token", case .string(let s) = sent {
                matches = ConstantTime.equals(s, token)
            } else {
                matches = sent == currentValues[name]
            }
            guard matches else {
                throw RegistrarError.invalidRequest("\(name) is managed by the server and may only be sent with its current value (RFC 7592 §2.2)")
            }
        }
    }

    /// A new secret for methods that use one: its digest always, sealed too for `client_secret_jwt`.
    /// The secret expires with the configured secret lifetime, or with the client, whichever is first.
    func issueSecret(for metadata: ClientMetadata, clientID: String, now: Timestamp, clientExpiresAt: Timestamp? = nil) throws
        -> (secret: String, digest: String, sealed: String?, expiresAt: Int64)?
    {
        guard let method = metadata.tokenEndpointAuthMethod, method.usesSecret else { return nil }
        let secret = SecretGenerator(random: random).makeSecret()
        let sealed = method.needsRecoverableSecret ? try keys.sealer.seal(secret, clientID: clientID) : nil
        var expiresAt = configuration.clientSecretLifetime > 0 ? now.seconds + configuration.clientSecretLifetime : 0
        if let clientExpiresAt {
            expiresAt = expiresAt == 0 ? clientExpiresAt.seconds : min(expiresAt, clientExpiresAt.seconds)
        }
        return (secret, SecretDigest.of(secret), sealed, expiresAt)
    }

    /// Brings an updated client's secret in line with its new `token_endpoint_auth_method`: no
    /// secret for a method without one; a new secret (returned, to be shown in this response only)
    /// when the client moves to a secret-based method, or to `client_secret_jwt` while only a
    /// digest is kept; the sealed copy dropped when the client leaves `client_secret_jwt`.
    func reconcileSecret(of updated: inout RegisteredClient, current: RegisteredClient, now: Timestamp) throws -> String? {
        let method = updated.metadata.tokenEndpointAuthMethod ?? .clientSecretBasic
        if !method.usesSecret {
            updated.secretDigest = nil
            updated.sealedSecret = nil
            updated.secretExpiresAt = 0
        } else if current.secretDigest == nil || (method.needsRecoverableSecret && current.sealedSecret == nil) {
            let issued = try issueSecret(for: updated.metadata, clientID: current.clientID, now: now, clientExpiresAt: current.expiresAt)
            updated.secretDigest = issued?.digest
            updated.sealedSecret = issued?.sealed
            updated.secretExpiresAt = issued?.expiresAt ?? 0
            return issued?.secret
        } else if !method.needsRecoverableSecret {
            updated.sealedSecret = nil
        }
        return nil
    }

    /// A registration access token as in the seed: a JWT with `kid` in its header and `iss`,
    /// `aud` (the client ID), `iat` and `jti` claims, signed with the configured algorithm.
    public func makeRegistrationToken(clientID: String, now: Timestamp) throws -> String {
        let claims = JSONObject([
            ("iss", .string(configuration.issuer)),
            ("aud", .string(clientID)),
            ("iat", .int(now.seconds)),
            ("jti", .string(random.uuid())),
        ])
        guard let algorithm = configuration.registrationTokenAlgorithm.signingAlgorithm else {
            return JWTSigner.sign(claims: claims, with: keys.registrationTokenKey)
        }
        guard let key = keys.key(for: algorithm) else { throw RegistrarError.serverError }
        return try JWTSigner.sign(claims: claims, with: key)
    }

    /// A bearer token is base64url segments separated by dots, and not absurdly long.
    static func isWellFormedToken(_ token: String) -> Bool {
        guard !token.isEmpty, token.utf8.count <= 4096 else { return false }
        return token.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
        }
    }

    /// Runs a store call, turning store failures into the errors a client should see.
    public func withStore<T>(_ body: () async throws -> T) async throws -> T {
        try await storeCall(logger, body)
    }
}

/// A client whose registration access token has been checked, with the token it presented.
public struct AuthenticatedClient: Sendable {
    /// The client as stored.
    public let client: RegisteredClient
    /// The registration access token that was presented.
    public let token: String
}
