/// Signing and encryption algorithms (OpenID Connect Registration §2): each `*_alg` must be one the
/// server advertises in discovery. Registrar does not encrypt ID tokens, userinfo responses or
/// request objects, so the `*_encrypted_*` and `*_encryption_*` members are refused (an `enc`
/// without its `alg` is refused in any case).
public struct AlgorithmsRule: MetadataRule {
    public let name = "algorithms"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        typealias M = ClientMetadata.Member
        let alg = m.idTokenSignedResponseAlg ?? configuration.defaultIDTokenSigningAlg
        guard configuration.idTokenSigningAlgs.contains(alg) else {
            throw .invalidClientMetadata("id_token_signed_response_alg must be one of: \(configuration.idTokenSigningAlgs.joined(separator: ", "))")
        }
        m.idTokenSignedResponseAlg = alg
        if let alg = m.userinfoSignedResponseAlg, !configuration.userinfoSigningAlgs.contains(alg) {
            throw .invalidClientMetadata("userinfo_signed_response_alg must be one of: \(configuration.userinfoSigningAlgs.joined(separator: ", "))")
        }
        if let alg = m.requestObjectSigningAlg, !configuration.requestObjectSigningAlgs.contains(alg) {
            throw .invalidClientMetadata("request_object_signing_alg must be one of: \(configuration.requestObjectSigningAlgs.joined(separator: ", "))")
        }
        let pairs: [(alg: String, algValue: String?, enc: String, encValue: String?)] = [
            (M.idTokenEncryptedResponseAlg, m.idTokenEncryptedResponseAlg, M.idTokenEncryptedResponseEnc, m.idTokenEncryptedResponseEnc),
            (M.userinfoEncryptedResponseAlg, m.userinfoEncryptedResponseAlg, M.userinfoEncryptedResponseEnc, m.userinfoEncryptedResponseEnc),
            (M.requestObjectEncryptionAlg, m.requestObjectEncryptionAlg, M.requestObjectEncryptionEnc, m.requestObjectEncryptionEnc),
        ]
        for pair in pairs {
            if pair.encValue != nil && pair.algValue == nil {
                throw .invalidClientMetadata("\(pair.enc) requires \(pair.alg)")
            }
            if pair.algValue != nil {
                throw .invalidClientMetadata("\(pair.alg) is not supported: this server does not encrypt tokens or request objects")
            }
        }
    }
}
