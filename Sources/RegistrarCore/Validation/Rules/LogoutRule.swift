/// Logout members: `post_logout_redirect_uris` follow the redirect URI rules (RP-Initiated Logout
/// §3.1); `backchannel_logout_uri` is an absolute URL without a fragment (Back-Channel Logout §2.2);
/// `frontchannel_logout_uri` shares scheme, host and port with a redirect URI (Front-Channel
/// Logout §2).
public struct LogoutRule: MetadataRule {
    public let name = "logout"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        typealias M = ClientMetadata.Member
        let type = m.applicationType ?? .web
        for (index, uri) in m.postLogoutRedirectURIs.enumerated() {
            try RedirectURIRule.check(uri, member: "post_logout_redirect_uris[\(index)]", applicationType: type, implicit: false,
                                      error: RegistrarError.invalidClientMetadata)
        }
        if let uri = m.backchannelLogoutURI {
            try URIMembersRule.requireWebURL(uri, member: M.backchannelLogoutURI, httpsOnly: false, allowFragment: false)
        }
        if let uri = m.frontchannelLogoutURI {
            try URIMembersRule.requireWebURL(uri, member: M.frontchannelLogoutURI, httpsOnly: false, allowFragment: false)
            let origin = URIReference(uri)?.origin
            let redirectOrigins = m.redirectURIs.compactMap { URIReference($0)?.origin }
            guard let origin, redirectOrigins.contains(origin) else {
                throw .invalidClientMetadata("frontchannel_logout_uri must share scheme, host and port with one of the redirect_uris")
            }
        }
        if m.backchannelLogoutSessionRequired != nil && m.backchannelLogoutURI == nil {
            m.backchannelLogoutSessionRequired = nil
        }
        if m.frontchannelLogoutSessionRequired != nil && m.frontchannelLogoutURI == nil {
            m.frontchannelLogoutSessionRequired = nil
        }
    }
}
