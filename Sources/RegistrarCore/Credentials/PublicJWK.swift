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
        switch kty {
        case "RSA":
            let n = try member("n"), e = try member("e")
            do {
                _ = try _RSA.Signing.PublicKey(n: n, e: e)
            } catch {
                throw Problem(reason: "not a usable RSA public key (at least 2048 bits are required)")
            }
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
        case "oct":
            throw Problem(reason: "symmetric keys (kty oct) must not be registered")
        default:
            throw Problem(reason: "unsupported kty \"\(kty)\" (RSA, EC and OKP are supported)")
        }
    }
}
