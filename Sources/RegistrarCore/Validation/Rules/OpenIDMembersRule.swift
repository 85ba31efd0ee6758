/// The remaining OpenID Connect members (Registration §2): `subject_type` among those supported
/// (default `public`), `default_max_age` not negative, `require_auth_time` defaulting to `false`,
/// `default_acr_values` as strings.
public struct OpenIDMembersRule: MetadataRule {
    public let name = "openid"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let subject = m.subjectType ?? "public"
        guard configuration.subjectTypesSupported.contains(subject) else {
            throw .invalidClientMetadata("subject_type must be one of: \(configuration.subjectTypesSupported.joined(separator: ", "))")
        }
        m.subjectType = subject
        if let age = m.defaultMaxAge, age < 0 {
            throw .invalidClientMetadata("default_max_age must not be negative")
        }
        if m.requireAuthTime == nil { m.requireAuthTime = false }
    }
}
