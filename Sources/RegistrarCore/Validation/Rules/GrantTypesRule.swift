/// `grant_types` (RFC 7591 §2): known values only, default `["authorization_code"]`; asking for the
/// `offline_access` scope adds `refresh_token`, as INDIGO IAM does.
public struct GrantTypesRule: MetadataRule {
    public let name = "grant_types"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        var grants = m.grantTypes ?? []
        if grants.isEmpty { grants = [.authorizationCode] }
        for grant in grants where !configuration.grantTypesSupported.contains(grant) {
            throw .invalidClientMetadata("grant_types contains an unsupported value: \(Self.quoted(grant.rawValue))")
        }
        if m.scope?.contains("offline_access") == true, !grants.contains(.refreshToken),
           configuration.grantTypesSupported.contains(.refreshToken) {
            grants.append(.refreshToken)
        }
        m.grantTypes = grants
    }

    static func quoted(_ value: String) -> String {
        "\"" + String(value.unicodeScalars.prefix(100).map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" ? Character($0) : "?" }) + "\""
    }
}
