/// `application_type`: `web` (the default) or `native` (OpenID Connect Registration §2).
public struct ApplicationTypeRule: MetadataRule {
    public let name = "application_type"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let type = m.applicationType ?? .web
        guard ApplicationType.known.contains(type) else {
            throw .invalidClientMetadata("application_type must be \"web\" or \"native\"")
        }
        m.applicationType = type
    }
}
