/// `jwks` and `jwks_uri` (RFC 7591 §2): never both; `private_key_jwt` needs one of them; `jwks` is
/// a JWK Set of public keys that swift-crypto can load (RSA of at least 2048 bits, EC on P-256,
/// P-384 or P-521, Ed25519 for signatures, X25519 for key agreement), whose `alg` and `use` fit
/// the key, with no private or symmetric key material and unique `kid`s.
public struct JWKSRule: MetadataRule {
    public let name = "jwks"
    public init() {}

    /// JWK members that carry private or symmetric key material (RFC 7518 §6).
    static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        if m.jwks != nil && m.jwksURI != nil {
            throw .invalidClientMetadata("jwks and jwks_uri must not both be present (RFC 7591 §2)")
        }
        if m.tokenEndpointAuthMethod == .privateKeyJWT && m.jwks == nil && m.jwksURI == nil {
            throw .invalidClientMetadata("private_key_jwt requires jwks or jwks_uri")
        }
        guard let jwks = m.jwks else { return }
        guard let keysValue = jwks["keys"] else { throw .invalidClientMetadata("jwks must be a JWK Set with a \"keys\" array") }
        guard case .array(let keys) = keysValue else { throw .invalidClientMetadata("jwks.keys must be an array") }
        guard !keys.isEmpty else { throw .invalidClientMetadata("jwks.keys must contain at least one key") }
        guard keys.count <= configuration.limits.maximumJWKSKeys else {
            throw .invalidClientMetadata("jwks.keys has more than \(configuration.limits.maximumJWKSKeys) keys")
        }
        var kids: Set<String> = []
        for (index, value) in keys.enumerated() {
            let name = "jwks.keys[\(index)]"
            guard case .object(let key) = value else { throw .invalidClientMetadata("\(name) must be a JSON object") }
            for member in Self.privateMembers where key[member] != nil {
                throw .invalidClientMetadata("\(name) contains private or symmetric key material (\"\(member)\"); register public keys only")
            }
            if let kid = key["kid"] {
                guard case .string(let s) = kid, !s.isEmpty else { throw .invalidClientMetadata("\(name).kid must be a non-empty string") }
                guard kids.insert(s).inserted else { throw .invalidClientMetadata("\(name).kid duplicates another key's kid") }
            }
            if let use = key["use"] {
                guard case .string(let s) = use, s == "sig" || s == "enc" else {
                    throw .invalidClientMetadata("\(name).use must be \"sig\" or \"enc\"")
                }
            }
            guard case .string(let kty)? = key["kty"] else { throw .invalidClientMetadata("\(name).kty must be a string") }
            do {
                try PublicJWK.check(key, kty: kty)
            } catch {
                throw .invalidClientMetadata("\(name): \(error.reason)")
            }
        }
    }
}
