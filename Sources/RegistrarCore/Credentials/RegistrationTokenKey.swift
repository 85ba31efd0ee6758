import Crypto

/// The algorithm that signs registration access tokens.
///
/// A registration access token is authenticated by the SHA-256 digest stored with its client,
/// never by its signature: the signature only gives it the JWT shape INDIGO IAM's tokens have.
/// HS256 is therefore as safe as the asymmetric choices and the cheapest to sign; RS256 and ES256
/// sign with the server's published keys, so that anyone can check the signature against the JWK Set.
public enum RegistrationTokenAlgorithm: String, Sendable, CaseIterable {
    /// HMAC SHA-256 under ``RegistrationTokenKey``, a secret that never leaves the server.
    case hs256 = "HS256"
    /// The server's current ES256 key.
    case es256 = "ES256"
    /// The server's current RS256 key (INDIGO IAM's choice).
    case rs256 = "RS256"

    /// The server key pair that signs, or `nil` for HS256.
    public var signingAlgorithm: SigningAlgorithm? {
        switch self {
        case .hs256: return nil
        case .es256: return .es256
        case .rs256: return .rs256
        }
    }

    /// Parses a name in any case (`hs256`, `ES256`, ...).
    public init?(name: String) { self.init(rawValue: name.uppercased()) }

    /// The accepted names, for error messages.
    public static let names = "HS256, ES256 or RS256"

    /// The algorithm used when none is configured.
    public static let `default` = RegistrationTokenAlgorithm.hs256
}

/// The secret key that signs registration access tokens with HS256.
///
/// 32 random bytes kept among the server secrets of the database (`server_secrets`), so that every
/// instance and the `registrar clients` commands sign with the same key. It is not a signing key of
/// the JWK Set: it is never published, never listed in discovery, and no token signed with it is
/// accepted anywhere a signature is checked (access tokens are verified only against the key pairs).
public struct RegistrationTokenKey: Sendable {
    /// The key ID written in the token header: a SHA-256 of the key under a fixed label, so that it
    /// names the key without revealing anything of it.
    public let kid: String
    let key: SymmetricKey
    /// The encoded JWS header of its tokens, computed once.
    let header: [UInt8]

    /// Name of the key among the server secrets.
    public static let secretName = "registration-token-hmac-key"

    /// A key from its 32 bytes, as stored.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else {
            throw StoreError.corrupt("the stored registration token key is \(bytes.count) bytes, not 32")
        }
        self.init(key: SymmetricKey(data: bytes))
    }

    private init(key: SymmetricKey) {
        self.key = key
        let bytes = key.withUnsafeBytes { Array($0) }
        kid = "hs256-" + Base64URL.encode(Array(SHA256.hash(data: Array("registrar registration token key id:".utf8) + bytes).prefix(16)))
        header = JWTSigner.encodedHeader(kid: kid, alg: RegistrationTokenAlgorithm.hs256.rawValue, type: nil)
    }

    /// A new random 256-bit key (key material made in memory; tests).
    public static func generate() -> RegistrationTokenKey {
        RegistrationTokenKey(key: SymmetricKey(size: .bits256))
    }

    /// The HMAC SHA-256 of a JWS signing input (RFC 7518 §3.2).
    public func sign(_ input: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
    }

    /// Whether `mac` is this key's HMAC of `input`, compared in constant time.
    public func verify(_ mac: [UInt8], over input: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: input, using: key)
    }
}
