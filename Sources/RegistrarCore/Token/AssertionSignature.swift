import Crypto
import CryptoExtras

/// Checks the signature of a client assertion (RFC 7523) against a key, with swift-crypto directly:
/// HS256/384/512 with the client secret, RS256 and PS256 with RSA keys, ES256 with P-256 keys.
enum AssertionSignature {
    /// Algorithms for `client_secret_jwt`.
    static let hmacAlgorithms: Set<String> = ["HS256", "HS384", "HS512"]
    /// Algorithms for `private_key_jwt`.
    static let asymmetricAlgorithms: Set<String> = ["RS256", "PS256", "ES256"]

    static func verifyHMAC(_ jws: CompactJWS, alg: String, secret: String) -> Bool {
        let key = SymmetricKey(data: Array(secret.utf8))
        switch alg {
        case "HS256": return HMAC<SHA256>.isValidAuthenticationCode(jws.signature, authenticating: jws.signingInput, using: key)
        case "HS384": return HMAC<SHA384>.isValidAuthenticationCode(jws.signature, authenticating: jws.signingInput, using: key)
        case "HS512": return HMAC<SHA512>.isValidAuthenticationCode(jws.signature, authenticating: jws.signingInput, using: key)
        default: return false
        }
    }

    /// Whether a JWK fits an algorithm (key type, curve, declared `alg` and `use`).
    static func fits(_ jwk: JSONObject, alg: String) -> Bool {
        if let use = jwk["use"]?.stringValue, use != "sig" { return false }
        if let declared = jwk["alg"]?.stringValue, declared != alg { return false }
        switch alg {
        case "RS256", "PS256": return jwk["kty"]?.stringValue == "RSA"
        case "ES256": return jwk["kty"]?.stringValue == "EC" && jwk["crv"]?.stringValue == "P-256"
        default: return false
        }
    }

    static func verify(_ jws: CompactJWS, alg: String, jwk: JSONObject) -> Bool {
        func member(_ name: String) -> [UInt8]? { jwk[name]?.stringValue.flatMap(Base64URL.decode) }
        switch alg {
        case "RS256", "PS256":
            guard let n = member("n"), let e = member("e"), let key = try? _RSA.Signing.PublicKey(n: n, e: e) else { return false }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: jws.signature)
            return key.isValidSignature(signature, for: SHA256.hash(data: jws.signingInput),
                                        padding: alg == "RS256" ? .insecurePKCS1v1_5 : .PSS)
        case "ES256":
            guard let x = member("x"), let y = member("y"), x.count == 32, y.count == 32,
                  let key = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y),
                  let signature = try? P256.Signing.ECDSASignature(rawRepresentation: jws.signature)
            else { return false }
            return key.isValidSignature(signature, for: jws.signingInput)
        default:
            return false
        }
    }
}
