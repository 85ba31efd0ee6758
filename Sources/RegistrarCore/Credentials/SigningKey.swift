import Crypto
import Foundation
import CryptoExtras

/// A JWS algorithm of the server's own keys.
public enum SigningAlgorithm: String, Sendable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key (the seed's tokens).
    case rs256 = "RS256"
    /// ECDSA on P-256 with SHA-256: about twenty times cheaper to sign than RS256.
    case es256 = "ES256"
}

/// One of the server's private signing keys, with its key ID (the RFC 7638 thumbprint of its
/// public JWK) and the time it was created.
public struct SigningKey: Sendable {
    enum Backing: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ec(P256.Signing.PrivateKey)
    }

    /// The key ID, as in the JWS header and the JWK Set.
    public let kid: String
    /// The algorithm this key signs with.
    public let algorithm: SigningAlgorithm
    /// When the key was created.
    public let createdAt: Timestamp
    /// When a newer key replaced it for signing; `nil` while it is the current key.
    public var retiredAt: Timestamp?
    let backing: Backing
    /// The RFC 7638 required members of the public JWK, computed once.
    let publicMembers: [(String, String)]
    /// The encoded JWS headers of its tokens, without `typ` and with `typ: at+jwt`, computed once.
    let plainHeader: [UInt8], accessTokenHeader: [UInt8]

    /// Loads a key from its PKCS#8 PEM form, as stored.
    public init(algorithm: SigningAlgorithm, pem: String, createdAt: Timestamp, retiredAt: Timestamp? = nil) throws {
        switch algorithm {
        case .rs256: backing = .rsa(try _RSA.Signing.PrivateKey(pemRepresentation: pem))
        case .es256: backing = .ec(try P256.Signing.PrivateKey(pemRepresentation: pem))
        }
        self.algorithm = algorithm
        self.createdAt = createdAt
        self.retiredAt = retiredAt
        self.publicMembers = try Self.publicMembers(backing)
        self.kid = Self.thumbprint(of: publicMembers)
        (plainHeader, accessTokenHeader) = Self.headers(kid: kid, algorithm: algorithm)
    }

    private init(backing: Backing, algorithm: SigningAlgorithm, createdAt: Timestamp) throws {
        self.backing = backing
        self.algorithm = algorithm
        self.createdAt = createdAt
        self.publicMembers = try Self.publicMembers(backing)
        self.kid = Self.thumbprint(of: publicMembers)
        (plainHeader, accessTokenHeader) = Self.headers(kid: kid, algorithm: algorithm)
    }

    /// Generates a new key: RSA 2048 for RS256, P-256 for ES256.
    public static func generate(_ algorithm: SigningAlgorithm, createdAt: Timestamp) throws -> SigningKey {
        switch algorithm {
        case .rs256:
            return try SigningKey(backing: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)), algorithm: algorithm, createdAt: createdAt)
        case .es256:
            return try SigningKey(backing: .ec(P256.Signing.PrivateKey()), algorithm: algorithm, createdAt: createdAt)
        }
    }

    /// The encoded headers without `typ` and with `typ: at+jwt`.
    static func headers(kid: String, algorithm: SigningAlgorithm) -> ([UInt8], [UInt8]) {
        (JWTSigner.encodedHeader(kid: kid, alg: algorithm.rawValue, type: nil),
         JWTSigner.encodedHeader(kid: kid, alg: algorithm.rawValue, type: TokenService.accessTokenType))
    }

    /// The encoded JWS header of a token of this key with this `typ`.
    func header(type: String?) -> [UInt8] {
        switch type {
        case nil: return plainHeader
        case TokenService.accessTokenType?: return accessTokenHeader
        case let type?: return JWTSigner.encodedHeader(kid: kid, alg: algorithm.rawValue, type: type)
        }
    }

    /// The private key in PEM form, for storage.
    public var privateKeyPEM: String {
        switch backing {
        case .rsa(let key): return key.pemRepresentation
        case .ec(let key): return key.pemRepresentation
        }
    }

    /// The public key as a JWK (RFC 7517), with `kid`, `use` and `alg`.
    public var publicJWK: JSONObject {
        var jwk = JSONObject()
        for (name, value) in publicMembers { jwk[name] = .string(value) }
        jwk["kid"] = .string(kid)
        jwk["use"] = .string("sig")
        jwk["alg"] = .string(algorithm.rawValue)
        return jwk
    }

    /// Whether a signature over `input` was made by this key.
    public func verify(_ signature: [UInt8], over input: [UInt8]) -> Bool {
        switch backing {
        case .rsa(let key):
            return key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                                  for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case .ec(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.publicKey.isValidSignature(parsed, for: input)
        }
    }

    /// Signs a JWS signing input, returning the raw signature (RFC 7518 §3.3, §3.4).
    public func sign(_ input: [UInt8]) throws -> [UInt8] {
        switch backing {
        case .rsa(let key):
            let signature = try key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            return Array(signature.rawRepresentation)
        case .ec(let key):
            return Array(try key.signature(for: input).rawRepresentation)
        }
    }

    /// The required public members in lexicographic order (RFC 7638 §3.2).
    static func publicMembers(_ backing: Backing) throws -> [(String, String)] {
        switch backing {
        case .rsa(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            return [("e", Base64URL.encode(Array(primitives.publicExponent))), ("kty", "RSA"),
                    ("n", Base64URL.encode(Array(primitives.modulus)))]
        case .ec(let key):
            let point = Array(key.publicKey.x963Representation)
            return [("crv", "P-256"), ("kty", "EC"), ("x", Base64URL.encode(point[1..<33])), ("y", Base64URL.encode(point[33..<65]))]
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url).
    static func thumbprint(of members: [(String, String)]) -> String {
        let json = JSONWriter.bytes(.object(JSONObject(members.map { ($0.0, JSONValue.string($0.1)) })))
        return Base64URL.encode(Array(SHA256.hash(data: json)))
    }
}
