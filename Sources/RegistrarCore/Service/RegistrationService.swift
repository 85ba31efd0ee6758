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
    /// The server's keys.
    public let keys: ServerKeys
    /// The metadata rules.
    public let validator: MetadataValidator
    /// "Now".
    public let clock: any WallClock
    /// Randomness for IDs, secrets and token IDs.
    public let random: any RandomSource
    /// Where the service reports what it does (never secrets).
    public let logger: Logger

    /// Creates the service.
    public init(
        configuration: ServerConfiguration, store: any ClientStore, keys: ServerKeys,
        validator: MetadataValidator = .standard, clock: any WallClock = SystemWallClock(),
        random: any RandomSource = SystemRandomSource(), logger: Logger = Logger(label: "registrar.registration")
    ) {
        self.configuration = configuration
        self.store = store
        self.keys = keys
        self.validator = validator
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// Members that only the server sets (RFC 7592 §2.2).
    static let serverManagedMembers = ["registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"]

    // MARK: - Register (RFC 7591 §3)

    /// Registers a client from a JSON request body.
    public func register(body: [UInt8]) async throws -> ClientResponse {
        let object = try Self.parseObject(body)
        // RFC 7591 §3.2.1: the server issues the secret; a client cannot pick its own.
        if let secret = object["client_secret"], secret != .null, secret != .string("") {
            throw RegistrarError.invalidClientMetadata("client_secret is issued by the server and must not be sent on registration")
        }
        // A client-chosen client_id and the server-managed members are ignored (RFC 7591 §3.2.1).
        let requested = try ClientMetadata(json: object)
        let metadata = try validator.validate(requested, configuration: configuration)

        let now = clock.now()
        let clientID = random.uuid()
        let credentials = try issueSecret(for: metadata, clientID: clientID, now: now)
        let token = try makeRegistrationToken(clientID: clientID, now: now)
        let client = RegisteredClient(
            clientID: clientID, metadata: metadata, createdAt: now,
            secretDigest: credentials?.digest, sealedSecret: credentials?.sealed,
            secretExpiresAt: credentials?.expiresAt ?? 0,
            registrationTokenDigest: SecretDigest.of(token))
        try await withStore { try await store.insert(client) }
        logger.info("client registered", metadata: ["client_id": .string(clientID), "auth_method": .string(metadata.tokenEndpointAuthMethod?.rawValue ?? "")])
        return ClientResponse(client: client, clientSecret: credentials?.secret, registrationAccessToken: token,
                              registrationClientURI: configuration.registrationClientURI(for: clientID))
    }

    // MARK: - Read (RFC 7592 §2.1)

    /// Reads a client's registration with its registration access token.
    public func read(clientID: String, bearer: String?) async throws -> ClientResponse {
        let authenticated = try await authenticate(clientID: clientID, bearer: bearer)
        let client = authenticated.client, token = authenticated.token
        // The token does not rotate on read; the one presented is returned (RFC 7592 §3).
        return ClientResponse(client: client, clientSecret: nil, registrationAccessToken: token,
                              registrationClientURI: configuration.registrationClientURI(for: clientID))
    }

    // MARK: - Update (RFC 7592 §2.2)

    /// Replaces a client's registration.
    public func update(clientID: String, bearer: String?, body: [UInt8]) async throws -> ClientResponse {
        try await update(try await authenticate(clientID: clientID, bearer: bearer), body: body)
    }

    /// Replaces the registration of a client already authenticated with ``authenticate(clientID:bearer:)``
    /// (the HTTP layer authenticates before it reads the body).
    public func update(_ authenticated: AuthenticatedClient, body: [UInt8]) async throws -> ClientResponse {
        let current = authenticated.client, token = authenticated.token, clientID = current.clientID
        let object = try Self.parseObject(body)
        try checkUpdateIdentity(object, current: current, token: token)

        let requested = try ClientMetadata(json: object)
        let metadata = try validator.validate(requested, configuration: configuration)

        let now = clock.now()
        var updated = current
        updated.metadata = metadata
        updated.updatedAt = now
        updated.version = current.version + 1
        var newSecret: String?
        let method = metadata.tokenEndpointAuthMethod ?? .clientSecretBasic
        if !method.usesSecret {
            updated.secretDigest = nil
            updated.sealedSecret = nil
            updated.secretExpiresAt = 0
        } else if current.secretDigest == nil || (method.needsRecoverableSecret && current.sealedSecret == nil) {
            // Switching to a secret-based method (or to one that needs the secret recoverable,
            // when only its digest is kept) issues a new secret, returned in this response.
            let issued = try issueSecret(for: metadata, clientID: clientID, now: now)
            newSecret = issued?.secret
            updated.secretDigest = issued?.digest
            updated.sealedSecret = issued?.sealed
            updated.secretExpiresAt = issued?.expiresAt ?? 0
        } else if !method.needsRecoverableSecret {
            updated.sealedSecret = nil
        }
        let stored = try await withStore { try await store.update(updated, expectedVersion: current.version) }
        guard stored else {
            // Deleted or changed between our read and our write.
            if try await withStore({ try await store.client(id: clientID) }) == nil { throw RegistrarError.invalidToken() }
            throw RegistrarError.conflict
        }
        logger.info("client updated", metadata: ["client_id": .string(clientID)])
        return ClientResponse(client: updated, clientSecret: newSecret, registrationAccessToken: token,
                              registrationClientURI: configuration.registrationClientURI(for: clientID))
    }

    // MARK: - Delete (RFC 7592 §2.3)

    /// Deletes a client; its token and credentials die with it.
    public func delete(clientID: String, bearer: String?) async throws {
        _ = try await authenticate(clientID: clientID, bearer: bearer)
        guard try await withStore({ try await store.delete(id: clientID) }) else {
            throw RegistrarError.invalidToken()
        }
        logger.info("client deleted", metadata: ["client_id": .string(clientID)])
    }

    // MARK: - Steps

    /// Parses a request body that must be a JSON object.
    static func parseObject(_ body: [UInt8]) throws(RegistrarError) -> JSONObject {
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

    /// RFC 7592 §2: the bearer token must be this client's live registration access token. A
    /// valid token presented for another client is revoked (RFC 7592 §2.1: "the authorization
    /// server ... SHOULD immediately revoke it"), and a missing client answers 401, never 404.
    public func authenticate(clientID: String, bearer: String?) async throws -> AuthenticatedClient {
        guard let bearer else { throw RegistrarError.missingToken }
        guard Self.isWellFormedToken(bearer) else { throw RegistrarError.invalidToken() }
        let digest = SecretDigest.of(bearer)
        guard let client = try await withStore({ try await store.client(registrationTokenDigest: digest) }) else {
            throw RegistrarError.invalidToken()
        }
        // The lookup by digest already matched the token; what remains is whether it belongs here.
        guard client.clientID == clientID else {
            try await withStore { try await store.revokeRegistrationToken(clientID: client.clientID, digest: digest) }
            logger.warning("registration access token presented for another client; token revoked",
                           metadata: ["token_client_id": .string(client.clientID)])
            throw RegistrarError.invalidToken()
        }
        return AuthenticatedClient(client: client, token: bearer)
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
    func issueSecret(for metadata: ClientMetadata, clientID: String, now: Timestamp) throws
        -> (secret: String, digest: String, sealed: String?, expiresAt: Int64)?
    {
        guard let method = metadata.tokenEndpointAuthMethod, method.usesSecret else { return nil }
        let secret = SecretGenerator(random: random).makeSecret()
        let sealed = method.needsRecoverableSecret ? try keys.sealer.seal(secret, clientID: clientID) : nil
        let expiresAt = configuration.clientSecretLifetime > 0 ? now.seconds + configuration.clientSecretLifetime : 0
        return (secret, SecretDigest.of(secret), sealed, expiresAt)
    }

    /// A registration access token as in the seed: a JWT with `kid` in its header and `iss`,
    /// `aud` (the client ID), `iat` and `jti` claims, signed with the configured algorithm.
    func makeRegistrationToken(clientID: String, now: Timestamp) throws -> String {
        guard let key = keys.key(for: configuration.registrationTokenAlgorithm) else {
            throw RegistrarError.serverError
        }
        let claims = JSONObject([
            ("iss", .string(configuration.issuer)),
            ("aud", .string(clientID)),
            ("iat", .int(now.seconds)),
            ("jti", .string(random.uuid())),
        ])
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
    func withStore<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RegistrarError {
            throw error
        } catch let error as StoreError {
            switch error {
            case .unavailable:
                logger.error("store unavailable", metadata: ["error": .string(error.description)])
                throw RegistrarError.temporarilyUnavailable()
            default:
                logger.error("store failure", metadata: ["error": .string(error.description)])
                throw RegistrarError.serverError
            }
        }
    }
}

/// A client whose registration access token has been checked, with the token it presented.
public struct AuthenticatedClient: Sendable {
    /// The client as stored.
    public let client: RegisteredClient
    /// The registration access token that was presented.
    public let token: String
}
