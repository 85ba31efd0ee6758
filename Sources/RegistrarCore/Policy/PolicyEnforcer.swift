/// Applies a registration policy to a request: scopes before validation (filtering, defaults),
/// everything else after (grant types, methods, application types, redirect hosts). On an update
/// it keeps what the client already holds, as INDIGO IAM keeps privileges an administrator granted.
public struct PolicyEnforcer: Sendable {
    /// Scopes that dynamic registration never grants, whatever the policy: the registration
    /// machinery's own (INDIGO IAM's reserved scopes) and the administration scopes.
    public static let reservedScopes = ["registration-token", "resource-token", "iam:admin.read", "iam:admin.write"]

    /// Filters and completes the requested scopes. Call before ``MetadataValidator/validate(_:configuration:)``
    /// and validate with empty default scopes, since the defaults are applied here.
    public static func prepareScopes(
        _ metadata: inout ClientMetadata, policy: RegistrationPolicy, configuration: ServerConfiguration, previous: RegisteredClient?
    ) throws(RegistrarError) {
        guard let requested = metadata.scope, !requested.isEmpty else {
            // The policy's own defaults are taken as configured; the server-wide ones only as far as
            // the policy allows them.
            var defaults = policy.scopes.defaults ?? configuration.defaultScopes.filter { scope in
                !policy.scopes.restricted.contains { PolicyPattern.scope(scope, matches: $0) }
                    && (policy.scopes.allowed.map { allowed in allowed.contains { PolicyPattern.scope(scope, matches: $0) } } ?? true)
            }
            defaults.removeAll { reservedScopes.contains($0) }
            // Once each, as a requested scope is (a default configured twice would be stored twice).
            var seen = Set<String>()
            defaults.removeAll { !seen.insert($0).inserted }
            metadata.scope = defaults.isEmpty ? nil : defaults
            return
        }
        let held = Set(previous?.metadata.scope ?? [])
        var kept: [String] = []
        for scope in requested {
            guard ScopeRule.isScopeToken(scope) else {
                throw .invalidClientMetadata("scope contains an invalid value; scope values are printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)")
            }
            if reservedScopes.contains(scope) { continue }
            if held.contains(scope) { kept.append(scope); continue }
            if policy.scopes.restricted.contains(where: { PolicyPattern.scope(scope, matches: $0) }) { continue }
            let known = policy.scopes.allowed.map { allowed in allowed.contains { PolicyPattern.scope(scope, matches: $0) } }
                ?? configuration.scopesSupported.contains(scope)
            if !known {
                switch policy.scopes.unknown {
                case .keep: break
                case .drop: continue
                case .reject:
                    throw .invalidClientMetadata("scope \(GrantTypesRule.quoted(scope)) is not allowed by this server's registration policy")
                }
            }
            kept.append(scope)
        }
        metadata.scope = kept.isEmpty ? nil : kept
    }

    /// Checks validated metadata against the policy.
    public static func check(_ m: ClientMetadata, policy: RegistrationPolicy, previous: RegisteredClient?) throws(RegistrarError) {
        let heldGrants = Set(previous?.metadata.grantTypes ?? [])
        for grant in m.grantTypes ?? [] where !heldGrants.contains(grant) {
            let allowed = policy.allowedGrantTypes.map { $0.contains(grant) } ?? true
            if !allowed || policy.forbiddenGrantTypes.contains(grant) {
                throw .invalidClientMetadata("grant type \(GrantTypesRule.quoted(grant.rawValue)) is not allowed by this server's registration policy")
            }
        }
        if let method = m.tokenEndpointAuthMethod, let allowed = policy.allowedAuthMethods, !allowed.contains(method),
           previous?.metadata.tokenEndpointAuthMethod != method {
            throw .invalidClientMetadata("token_endpoint_auth_method \(GrantTypesRule.quoted(method.rawValue)) is not allowed by this server's registration policy")
        }
        if let type = m.applicationType, let allowed = policy.allowedApplicationTypes, !allowed.contains(type) {
            throw .invalidClientMetadata("application_type \(GrantTypesRule.quoted(type.rawValue)) is not allowed by this server's registration policy")
        }
        let rules = policy.redirectURIs
        for (member, uris, error) in [("redirect_uris", m.redirectURIs, RegistrarError.invalidRedirectURI),
                                      ("post_logout_redirect_uris", m.postLogoutRedirectURIs, RegistrarError.invalidClientMetadata)] {
            for (index, uri) in uris.enumerated() {
                guard let ref = URIReference(uri), ref.scheme == "http" || ref.scheme == "https" else { continue }
                let host = ref.host.hasPrefix("[") ? ref.host : ref.host
                if rules.deniedHosts.contains(where: { PolicyPattern.host(host, matches: $0) }) {
                    throw error("\(member)[\(index)]: the host is not allowed by this server's registration policy")
                }
                if let allowed = rules.allowedHosts, !allowed.contains(where: { PolicyPattern.host(host, matches: $0) }) {
                    throw error("\(member)[\(index)]: the host is not among those this server's registration policy allows")
                }
                if rules.requireHTTPS, (m.applicationType ?? .web) == .web, ref.scheme == "http" {
                    throw error("\(member)[\(index)]: this server's registration policy requires https")
                }
            }
        }
    }
}
