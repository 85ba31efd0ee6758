import Hummingbird
import RegistrarCore

/// OpenID Connect Discovery 1.0 and RFC 8414 metadata, and the JWK Set. The `*_supported` lists
/// come from the same ``ServerConfiguration`` that validation uses, so they cannot disagree.
struct DiscoveryController {
    let configuration: ServerConfiguration
    let keys: KeyRing
    let registrationEnabled: Bool
    let tokenEndpoints: Bool
    /// Seconds a retired key stays in the JWK Set (the access token lifetime).
    let jwksWindow: Int64
    let clock: any WallClock

    func addRoutes(to group: RouterGroup<RegistrarRequestContext>) {
        let document = Self.metadata(configuration, registrationEnabled: registrationEnabled, tokenEndpoints: tokenEndpoints)
        for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
            group.get(RouterPath(path)) { _, _ in JSONResponse.make(.ok, document) }
            MethodNotAllowed.add(to: group, path: RouterPath(path), allowed: [.get])
        }
        let keys = self.keys, clock = self.clock, window = jwksWindow
        // Retired keys stay published while tokens they signed may still be valid (RFC 7517 §5).
        group.get(RouterPath(ServerConfiguration.jwksPath)) { _, _ in
            JSONResponse.make(.ok, keys.current.publishedJWKS(now: clock.now(), window: window))
        }
        MethodNotAllowed.add(to: group, path: RouterPath(ServerConfiguration.jwksPath), allowed: [.get])
    }

    /// RFC 8414 §3.1: `/.well-known/oauth-authorization-server` followed by the issuer's path.
    func addPathInsertedMetadata(to group: RouterGroup<RegistrarRequestContext>, issuerPath: String) {
        let document = Self.metadata(configuration, registrationEnabled: registrationEnabled, tokenEndpoints: tokenEndpoints)
        let path = RouterPath("/.well-known/oauth-authorization-server" + issuerPath)
        group.get(path) { _, _ in JSONResponse.make(.ok, document) }
        MethodNotAllowed.add(to: group, path: path, allowed: [.get])
    }

    static func metadata(_ c: ServerConfiguration, registrationEnabled: Bool = true, tokenEndpoints: Bool = false) -> JSONObject {
        func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
        var document = JSONObject([
            ("issuer", .string(c.issuer)),
            ("registration_endpoint", .string(c.registrationEndpoint)),
            ("jwks_uri", .string(c.jwksURI)),
            ("scopes_supported", strings(c.scopesSupported)),
            ("response_types_supported", strings(c.responseTypesSupported.map(\.rawValue))),
            ("grant_types_supported", strings(c.grantTypesSupported.map(\.rawValue))),
            ("token_endpoint_auth_methods_supported", strings(c.authMethodsSupported.map(\.rawValue))),
            ("token_endpoint_auth_signing_alg_values_supported", strings(c.tokenEndpointAuthSigningAlgs)),
            ("subject_types_supported", strings(c.subjectTypesSupported)),
            ("id_token_signing_alg_values_supported", strings(c.idTokenSigningAlgs)),
            ("userinfo_signing_alg_values_supported", strings(c.userinfoSigningAlgs)),
            ("request_object_signing_alg_values_supported", strings(c.requestObjectSigningAlgs)),
            ("claims_parameter_supported", .bool(false)),
            ("request_parameter_supported", .bool(false)),
            ("request_uri_parameter_supported", .bool(false)),
        ])
        // OIDC Discovery §3: advertised only while registration is enabled.
        if !registrationEnabled { document["registration_endpoint"] = nil }
        if tokenEndpoints {
            let methods = strings(c.authMethodsSupported.filter { $0 != AuthMethod.none }.map(\.rawValue))
            let algs = strings(c.tokenEndpointAuthSigningAlgs)
            document["token_endpoint"] = .string(c.issuer + TokenController.tokenPath)
            document["introspection_endpoint"] = .string(c.issuer + TokenController.introspectionPath)
            document["introspection_endpoint_auth_methods_supported"] = methods
            document["introspection_endpoint_auth_signing_alg_values_supported"] = algs
            document["revocation_endpoint"] = .string(c.issuer + TokenController.revocationPath)
            document["revocation_endpoint_auth_methods_supported"] = methods
            document["revocation_endpoint_auth_signing_alg_values_supported"] = algs
        }
        return document
    }
}
