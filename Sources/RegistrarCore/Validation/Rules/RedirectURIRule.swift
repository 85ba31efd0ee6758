/// `redirect_uris` (RFC 7591 §2, §5; OpenID Connect Registration §2; RFC 8252 §7):
///
/// - required when the client uses `authorization_code` or `implicit`;
/// - every URI absolute, without a fragment or user credentials, never a scheme that runs or
///   reads local content (`javascript:`, `data:`, `vbscript:`, `file:`, `blob:`, `about:`);
/// - `web` clients: `https`, `http` on a loopback host, or a reverse-domain private-use scheme
///   (`edu.kit.data.oidc-agent:/redirect`, which oidc-agent registers without declaring itself
///   native); with `implicit`, `https` only and never a host that may be this machine
///   (``URIReference/mayBeLoopbackHost``: `localhost`, `foo.localhost`, `127.1`, `[::ffff:127.0.0.1]`...);
/// - `native` clients: a reverse-domain private-use scheme (RFC 8252 §7.1), `http` on a loopback
///   host (§7.3) or `https` on a non-loopback host (§7.2).
///
/// Every URI is checked, not just the first (OpenID Connect Registration §2).
public struct RedirectURIRule: MetadataRule {
    public let name = "redirect_uris"
    public init() {}

    /// Schemes that are never acceptable as a redirect target.
    public static let forbiddenSchemes: Set<String> = ["javascript", "data", "vbscript", "file", "blob", "about", "filesystem", "view-source", "jar"]

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let grants = m.grantTypes ?? []
        if m.redirectURIs.isEmpty, grants.contains(.authorizationCode) || grants.contains(.implicit) {
            throw .invalidRedirectURI("redirect_uris is required for the authorization_code and implicit grant types")
        }
        let implicit = grants.contains(.implicit)
        let type = m.applicationType ?? .web
        for (index, uri) in m.redirectURIs.enumerated() {
            try Self.check(uri, member: "redirect_uris[\(index)]", applicationType: type, implicit: implicit, error: RegistrarError.invalidRedirectURI)
        }
    }

    /// Checks one redirection URI; also used for `post_logout_redirect_uris`.
    static func check(
        _ uri: String, member: String, applicationType: ApplicationType, implicit: Bool,
        error: (String) -> RegistrarError
    ) throws(RegistrarError) {
        guard let ref = URIReference(uri) else {
            throw error("\(member) must be an absolute URI (RFC 3986) without spaces or non-ASCII characters")
        }
        guard !ref.hasFragment else { throw error("\(member) must not contain a fragment (#)") }
        guard !forbiddenSchemes.contains(ref.scheme) else {
            throw error("\(member) uses the forbidden scheme \"\(ref.scheme):\"")
        }
        if ref.scheme == "http" || ref.scheme == "https" {
            guard ref.hasAuthority, ref.hasValidHost else { throw error("\(member) must name a valid host") }
            guard ref.userInfo == nil else { throw error("\(member) must not contain user credentials") }
        }
        let privateUse = ref.scheme != "http" && ref.scheme != "https"
        if privateUse && !ref.scheme.contains(".") {
            throw error("\(member) uses the scheme \"\(ref.scheme):\"; private-use schemes must be reverse domain names such as com.example.app: (RFC 8252 §7.1)")
        }
        switch applicationType {
        case .native:
            if ref.scheme == "http" && !ref.isLoopbackHost {
                throw error("\(member): native clients may use http only on a loopback host (RFC 8252 §7.3)")
            }
            if ref.scheme == "https" && ref.isLoopbackHost {
                throw error("\(member): native clients must use http, not https, on a loopback host (RFC 8252 §7.3)")
            }
        default:
            if implicit {
                guard ref.scheme == "https" else {
                    throw error("\(member): web clients using the implicit grant must use https redirect URIs")
                }
                guard !ref.mayBeLoopbackHost else {
                    throw error("\(member): web clients using the implicit grant must not redirect to localhost or another loopback host")
                }
            } else if ref.scheme == "http" && !ref.isLoopbackHost {
                throw error("\(member): web clients must use https; http is allowed only on a loopback host")
            }
        }
    }
}
