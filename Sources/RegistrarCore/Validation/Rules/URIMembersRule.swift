/// URI members: `client_uri`, `logo_uri`, `tos_uri`, `policy_uri` (and their localized variants)
/// and `jwks_uri` are absolute `http(s)` URLs (RFC 7591 §2); `initiate_login_uri` and
/// `request_uris` use `https` (OpenID Connect Registration §2). `sector_identifier_uri` is refused.
public struct URIMembersRule: MetadataRule {
    public let name = "uris"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        typealias M = ClientMetadata.Member
        var web: [(String, String)] = []
        for (name, value) in [(M.clientURI, m.clientURI), (M.logoURI, m.logoURI), (M.tosURI, m.tosURI),
                              (M.policyURI, m.policyURI), (M.jwksURI, m.jwksURI)] {
            if let value { web.append((name, value)) }
        }
        for key in m.localized.keys.sorted() where !key.hasPrefix(M.clientName + "#") && !key.hasPrefix(M.clientDescription + "#") {
            web.append((key, m.localized[key]!))
        }
        for (name, value) in web {
            try Self.requireWebURL(value, member: name, httpsOnly: false)
        }
        // A sector identifier serves only pairwise subject identifiers, which this server does not
        // issue; and a server that accepts one must fetch it and check that it lists every
        // redirect URI, "or registration MUST fail" (OpenID Connect Registration §5). Accepting
        // and storing it unchecked would claim a check that was never made.
        if m.sectorIdentifierURI != nil {
            throw .invalidClientMetadata("sector_identifier_uri is not supported: this server issues public subject identifiers only (subject_types_supported), which need no sector identifier")
        }
        if let value = m.initiateLoginURI { try Self.requireWebURL(value, member: M.initiateLoginURI, httpsOnly: true) }
        for (index, value) in m.requestURIs.enumerated() {
            // request_uris may carry a fragment (OpenID Connect Core §6.2); only the scheme is constrained.
            guard let ref = URIReference(value), ref.scheme == "https", ref.hasAuthority, ref.hasValidHost else {
                throw .invalidClientMetadata("request_uris[\(index)] must be an absolute https URL")
            }
        }
    }

    /// Throws unless the value is an absolute `http(s)` URL with a valid host and no credentials.
    static func requireWebURL(_ value: String, member: String, httpsOnly: Bool, allowFragment: Bool = true) throws(RegistrarError) {
        let what = httpsOnly ? "an absolute https URL" : "an absolute http or https URL"
        guard let ref = URIReference(value), ref.hasAuthority, ref.hasValidHost else {
            throw .invalidClientMetadata("\(member) must be \(what)")
        }
        guard ref.scheme == "https" || (!httpsOnly && ref.scheme == "http") else {
            throw .invalidClientMetadata("\(member) must be \(what)")
        }
        guard ref.userInfo == nil else { throw .invalidClientMetadata("\(member) must not contain user credentials") }
        guard allowFragment || !ref.hasFragment else { throw .invalidClientMetadata("\(member) must not contain a fragment") }
    }
}
