/// The server's key material: a current RS256 and ES256 signing key (and the keys they replaced),
/// the sealing key for recoverable client secrets and the HMAC key of HS256 registration access
/// tokens. Generated on first start and kept in the ``KeyStore``, so a restart keeps every token
/// valid.
public struct ServerKeys: Sendable {
    /// Every signing key, current and retired.
    public let signingKeys: [SigningKey]
    /// Seals `client_secret_jwt` secrets.
    public let sealer: SecretSealer
    /// Signs registration access tokens when their algorithm is HS256.
    public let registrationTokenKey: RegistrationTokenKey

    /// Creates key material from loaded keys (a random registration token key unless one is given).
    public init(signingKeys: [SigningKey], sealer: SecretSealer, registrationTokenKey: RegistrationTokenKey = .generate()) {
        self.signingKeys = signingKeys
        self.sealer = sealer
        self.registrationTokenKey = registrationTokenKey
    }

    /// The current key for an algorithm: the newest that is not retired.
    public func key(for algorithm: SigningAlgorithm) -> SigningKey? {
        signingKeys.filter { $0.algorithm == algorithm && $0.retiredAt == nil }.max { $0.createdAt < $1.createdAt }
            ?? signingKeys.filter { $0.algorithm == algorithm }.max { $0.createdAt < $1.createdAt }
    }

    /// The key with this ID, current or retired (tokens signed before a rotation still verify).
    public func key(kid: String) -> SigningKey? { signingKeys.first { $0.kid == kid } }

    /// The public JWK Set (RFC 7517 §5) with every key.
    public var jwks: JSONObject {
        JSONObject([("keys", .array(signingKeys.map { .object($0.publicJWK) }))])
    }

    /// The public JWK Set as published at `now`: the current keys, and retired keys for as long as a
    /// token they signed may still be valid (`window` seconds after their retirement).
    public func publishedJWKS(now: Timestamp, window: Int64) -> JSONObject {
        let keys = signingKeys.filter { key in
            guard let retired = key.retiredAt else { return true }
            return now.milliseconds < retired.milliseconds + window * 1000
        }
        return JSONObject([("keys", .array(keys.map { .object($0.publicJWK) }))])
    }

    /// Name of the sealing key among the server secrets.
    public static let sealingKeyName = "secret-sealing-key"

    /// Loads the keys from the store, creating whatever is missing. Safe to run from several
    /// instances at once: the store keeps the first key of each algorithm, and every instance then
    /// uses what the store kept.
    ///
    /// - Parameter sealingKey: a 32-byte sealing key supplied by the operator (a key file kept
    ///   apart from the database); when `nil`, one is generated and kept in the store.
    public static func load(
        from store: any KeyStore, clock: any WallClock, random: any RandomSource, sealingKey: [UInt8]? = nil
    ) async throws -> ServerKeys {
        var stored = try await store.signingKeys()
        for algorithm in SigningAlgorithm.allCases where !stored.contains(where: { $0.algorithm == algorithm.rawValue && $0.retiredAt == nil }) {
            let key = try SigningKey.generate(algorithm, createdAt: clock.now())
            _ = try await store.insertSigningKeyIfNone(StoredSigningKey(
                kid: key.kid, algorithm: algorithm.rawValue, privateKeyPEM: key.privateKeyPEM, createdAt: key.createdAt))
            stored = try await store.signingKeys()
        }
        let keys = try stored.compactMap { record -> SigningKey? in
            guard let algorithm = SigningAlgorithm(rawValue: record.algorithm) else { return nil }
            return try SigningKey(algorithm: algorithm, pem: record.privateKeyPEM, createdAt: record.createdAt, retiredAt: record.retiredAt)
        }
        let sealingBytes: [UInt8]
        if let sealingKey {
            sealingBytes = sealingKey
        } else {
            let candidate = Base64URL.encode(random.bytes(count: 32))
            let text = try await store.serverSecret(named: sealingKeyName, orInsert: candidate)
            guard let bytes = Base64URL.decode(text) else { throw StoreError.corrupt("the stored sealing key is not base64url") }
            sealingBytes = bytes
        }
        let sealer = try SecretSealer(keyBytes: sealingBytes)
        // A canary sealed under the first key this database saw: a different key would make every
        // sealed client secret unreadable, so starting with one is refused.
        let canary = try await store.serverSecret(named: sealingCheckName, orInsert: try sealer.seal(sealingCheckText, clientID: sealingCheckName))
        guard (try? sealer.open(canary, clientID: sealingCheckName)) == sealingCheckText else {
            throw KeyConfigurationError(description: """
                the sealing key differs from the one this database was started with; client_secret_jwt secrets \
                sealed under the old key could not be opened. Start with the original key (or without \
                --sealing-key-file if the key was kept in the database).
                """)
        }
        let tokenKeyText = try await store.serverSecret(named: RegistrationTokenKey.secretName,
                                                        orInsert: Base64URL.encode(random.bytes(count: 32)))
        guard let tokenKeyBytes = Base64URL.decode(tokenKeyText) else {
            throw StoreError.corrupt("the stored registration token key is not base64url")
        }
        return ServerKeys(signingKeys: keys, sealer: sealer, registrationTokenKey: try RegistrationTokenKey(bytes: tokenKeyBytes))
    }

    static let sealingCheckName = "secret-sealing-check"
    static let sealingCheckText = "registrar sealing key check"
}

/// The server's key configuration does not fit its database.
public struct KeyConfigurationError: Error, CustomStringConvertible {
    public let description: String
}

/// The keys a running server uses, reloaded from the store so that a rotation made by another
/// instance (or by `registrar keys rotate`) is picked up without a restart.
public final class KeyRing: Sendable {
    private let state: Mutex<ServerKeys>
    /// Where ``reloaded(lookingFor:)`` reloads from, and when it last did.
    private let onDemand = Mutex<(store: (any KeyStore)?, last: ContinuousClock.Instant?)>((nil, nil))
    /// The least time between two reloads for an unknown key: a flood of tokens naming made-up
    /// `kid`s costs the database one query a second.
    public static let onDemandInterval: Duration = .seconds(1)

    /// Creates a ring holding keys.
    public init(_ keys: ServerKeys) { state = Mutex(keys) }

    /// Lets ``reloaded(lookingFor:)`` reload from `store` (a running server's database).
    public func reloadsOnDemand(from store: any KeyStore) { onDemand.withLock { $0.store = store } }

    /// Whether the ring holds the key `kid`, after reloading the keys if it did not: a key another
    /// instance (or `registrar keys rotate`) made current since this instance's last periodic
    /// reload signs tokens that the other instances are asked to verify at once. Reloads at most
    /// once per ``onDemandInterval``, and never without ``reloadsOnDemand(from:)``.
    public func reloaded(lookingFor kid: String) async -> Bool {
        if current.key(kid: kid) != nil { return true }
        let store: (any KeyStore)? = onDemand.withLock { state in
            let now = ContinuousClock.now
            guard let store = state.store, state.last.map({ now - $0 >= Self.onDemandInterval }) ?? true else { return nil }
            state.last = now
            return store
        }
        guard let store, (try? await reload(from: store)) != nil else { return false }
        return current.key(kid: kid) != nil
    }

    /// The keys now.
    public var current: ServerKeys { state.withLock { $0 } }

    /// Reloads the signing keys from the store (the sealing key and the registration token key do
    /// not change).
    public func reload(from store: any KeyStore) async throws {
        let records = try await store.signingKeys()
        let keys = try records.compactMap { record -> SigningKey? in
            guard let algorithm = SigningAlgorithm(rawValue: record.algorithm) else { return nil }
            return try SigningKey(algorithm: algorithm, pem: record.privateKeyPEM, createdAt: record.createdAt, retiredAt: record.retiredAt)
        }
        guard !keys.isEmpty else { return }
        state.withLock { $0 = ServerKeys(signingKeys: keys, sealer: $0.sealer, registrationTokenKey: $0.registrationTokenKey) }
    }

    /// Rotates the key of an algorithm: a new key becomes current, the old one is retired.
    public func rotate(_ algorithm: SigningAlgorithm, store: any KeyStore, clock: any WallClock) async throws -> SigningKey {
        let key = try await Self.rotateStored(algorithm, store: store, clock: clock)
        try await reload(from: store)
        return key
    }

    /// Rotates the key of an algorithm in the store only (running servers reload it).
    public static func rotateStored(_ algorithm: SigningAlgorithm, store: any KeyStore, clock: any WallClock) async throws -> SigningKey {
        let now = clock.now()
        let key = try SigningKey.generate(algorithm, createdAt: now)
        try await store.rotateSigningKey(StoredSigningKey(kid: key.kid, algorithm: algorithm.rawValue, privateKeyPEM: key.privateKeyPEM,
                                                          createdAt: now), at: now)
        return key
    }
}

import Synchronization
