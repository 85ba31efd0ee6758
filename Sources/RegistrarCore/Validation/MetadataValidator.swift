/// Turns the metadata a client sent into the metadata it is registered with: a pure function of
/// (metadata, configuration) that runs the rules in a fixed order and stops at the first failure.
///
/// The order matters where one rule relies on another's defaults: scopes come before grant types
/// (`offline_access` adds `refresh_token`), grant types before response types (which are derived
/// from them), and both before redirect URIs (whose requirement depends on the grants).
public struct MetadataValidator: Sendable {
    /// The rules, in the order they run.
    public let rules: [any MetadataRule]

    /// The standard rule set.
    public static let standard = MetadataValidator(rules: [
        LimitsRule(),
        ApplicationTypeRule(),
        AuthMethodRule(),
        ScopeRule(),
        GrantTypesRule(),
        ResponseTypesRule(),
        RedirectURIRule(),
        JWKSRule(),
        URIMembersRule(),
        LogoutRule(),
        LocalizedMembersRule(),
        ContactsRule(),
        AlgorithmsRule(),
        OpenIDMembersRule(),
    ])

    /// Creates a validator from rules.
    public init(rules: [any MetadataRule]) { self.rules = rules }

    /// Validates metadata and returns it with defaults applied.
    public func validate(_ metadata: ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) -> ClientMetadata {
        var result = metadata
        for rule in rules {
            try rule.apply(to: &result, configuration: configuration)
        }
        return result
    }
}
