/// `token_endpoint_auth_method` (RFC 7591 §2; default `client_secret_basic`) and
/// `token_endpoint_auth_signing_alg` (OpenID Connect Registration §2).
public struct AuthMethodRule: MetadataRule {
    public let name = "token_endpoint_auth_method"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let method = m.tokenEndpointAuthMethod ?? .clientSecretBasic
        guard configuration.authMethodsSupported.contains(method) else {
            let list = configuration.authMethodsSupported.map(\.rawValue).joined(separator: ", ")
            throw .invalidClientMetadata("token_endpoint_auth_method must be one of: \(list)")
        }
        m.tokenEndpointAuthMethod = method

        guard let alg = m.tokenEndpointAuthSigningAlg else { return }
        // OIDC Registration §2: "none" MUST NOT be used.
        guard alg != "none" else {
            throw .invalidClientMetadata("token_endpoint_auth_signing_alg must not be \"none\"")
        }
        guard method == .clientSecretJWT || method == .privateKeyJWT else {
            throw .invalidClientMetadata("token_endpoint_auth_signing_alg is only meaningful with client_secret_jwt or private_key_jwt")
        }
        guard configuration.tokenEndpointAuthSigningAlgs.contains(alg) else {
            let list = configuration.tokenEndpointAuthSigningAlgs.joined(separator: ", ")
            throw .invalidClientMetadata("token_endpoint_auth_signing_alg must be one of: \(list)")
        }
        let symmetric = alg.hasPrefix("HS")
        if method == .clientSecretJWT && !symmetric {
            throw .invalidClientMetadata("client_secret_jwt needs an HMAC token_endpoint_auth_signing_alg (HS256, HS384 or HS512)")
        }
        if method == .privateKeyJWT && symmetric {
            throw .invalidClientMetadata("private_key_jwt needs an asymmetric token_endpoint_auth_signing_alg, not \(alg)")
        }
    }
}
