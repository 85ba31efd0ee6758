/// `response_types` (RFC 7591 §2, §2.1): known values only. When omitted (or empty) they are
/// derived from the grants: `code` for `authorization_code`, `token` for `implicit`, none for
/// clients that never use the authorization endpoint (device code, client credentials). An
/// explicit value that needs a grant the client did not register is an error.
public struct ResponseTypesRule: MetadataRule {
    public let name = "response_types"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let grants = m.grantTypes ?? []
        guard let requested = m.responseTypes, !requested.isEmpty else {
            var derived: [ResponseType] = []
            if grants.contains(.authorizationCode) { derived.append(.code) }
            if grants.contains(.implicit) { derived.append(.token) }
            m.responseTypes = derived
            return
        }
        var unique: [ResponseType] = []
        for type in requested where !unique.contains(type) {
            guard configuration.responseTypesSupported.contains(type) else {
                throw .invalidClientMetadata("response_types contains an unsupported value: \(GrantTypesRule.quoted(type.rawValue))")
            }
            unique.append(type)
        }
        for type in unique {
            for grant in type.requiredGrantTypes where !grants.contains(grant) {
                throw .invalidClientMetadata("response type \"\(type.rawValue)\" requires the \"\(grant.rawValue)\" grant type in grant_types")
            }
        }
        m.responseTypes = unique
    }
}
