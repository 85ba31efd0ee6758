import Crypto
import CryptoExtras

/// Checks that a JWK is a loadable public key (RFC 7517, RFC 7518 §6, RFC 8037).
public enum PublicJWK {
    /// Why a JWK was refused.
    public struct Problem: Error, Sendable {
        /// A description safe to show to the client.
        public let reason: String
    }

    /// Throws unless the key parses as a public key of a supported type.
    public static func check(_ key: JSONObject, kty: String) throws(Problem) {
        func member(_ name: String) throws(Problem) -> [UInt8] {
            guard case .string(let text)? = key[name] else { throw Problem(reason: "\"\(name)\" is required for kty \(kty)") }
            guard let bytes = Base64URL.decode(text), !bytes.isEmpty else {
                throw Problem(reason: "\"\(name)\" is not base64url")
            }
            return bytes
        }
        if let alg = key["alg"], alg.stringValue == nil { throw Problem(reason: "\"alg\" must be a string") }
        let alg = key["alg"]?.stringValue
        let use = key["use"]?.stringValue
        switch kty {
        case "RSA":
            let n = try member("n"), e = try member("e")
            do {
                _ = try _RSA.Signing.PublicKey(n: n, e: e)
            } catch {
                throw Problem(reason: "not a usable RSA public key (at least 2048 bits are required)")
            }
            try requireAlgorithm(alg, in: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "RSA-OAEP", "RSA-OAEP-256"], kty: kty)
        case "EC":
            guard case .string(let crv)? = key["crv"] else { throw Problem(reason: "\"crv\" is required for kty EC") }
            let x = try member("x"), y = try member("y")
            let point = [0x04] + x + y
            do {
                switch crv {
                case "P-256": _ = try P256.Signing.PublicKey(x963Representation: point)
                case "P-384": _ = try P384.Signing.PublicKey(x963Representation: point)
                case "P-521": _ = try P521.Signing.PublicKey(x963Representation: point)
                default: throw Problem(reason: "unsupported EC curve \"\(crv)\" (P-256, P-384 and P-521 are supported)")
                }
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem(reason: "x and y are not a point on \(crv)")
            }
            let signing = ["P-256": "ES256", "P-384": "ES384", "P-521": "ES512"][crv]!
            try requireAlgorithm(alg, in: [signing, "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"], kty: "EC \(crv)")
        case "OKP":
            guard case .string(let crv)? = key["crv"] else { throw Problem(reason: "\"crv\" is required for kty OKP") }
            let x = try member("x")
            do {
                switch crv {
                case "Ed25519": _ = try Curve25519.Signing.PublicKey(rawRepresentation: x)
                case "X25519": _ = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: x)
                default: throw Problem(reason: "unsupported OKP curve \"\(crv)\" (Ed25519 and X25519 are supported)")
                }
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem(reason: "x is not a valid \(crv) public key")
            }
            if crv == "X25519" {
                // A key-agreement key cannot verify signatures.
                guard use != "sig" else { throw Problem(reason: "an X25519 key is for key agreement and cannot have use \"sig\"") }
                try requireAlgorithm(alg, in: ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"], kty: "OKP X25519")
            } else {
                guard use != "enc" else { throw Problem(reason: "an Ed25519 key is for signatures and cannot have use \"enc\"") }
                try requireAlgorithm(alg, in: ["EdDSA", "Ed25519"], kty: "OKP Ed25519")
            }
        case "oct":
            throw Problem(reason: "symmetric keys (kty oct) must not be registered")
        default:
            throw Problem(reason: "unsupported kty \"\(kty)\" (RSA, EC and OKP are supported)")
        }
    }

    static func requireAlgorithm(_ alg: String?, in allowed: [String], kty: String) throws(Problem) {
        guard let alg else { return }
        guard allowed.contains(alg) else {
            throw Problem(reason: "\"alg\" \(alg.count <= 20 ? alg : "value") does not fit a \(kty) key")
        }
    }
}
