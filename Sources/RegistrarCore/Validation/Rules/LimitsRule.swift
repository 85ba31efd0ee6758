/// Caps the size of every member, so that one registration stays small however the body is built.
public struct LimitsRule: MetadataRule {
    public let name = "limits"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        let limits = configuration.limits
        typealias M = ClientMetadata.Member
        let strings: [(String, String?)] = [
            (M.clientURI, m.clientURI), (M.logoURI, m.logoURI), (M.tosURI, m.tosURI), (M.policyURI, m.policyURI),
            (M.jwksURI, m.jwksURI), (M.softwareID, m.softwareID), (M.softwareVersion, m.softwareVersion),
            (M.clientDescription, m.clientDescription), (M.sectorIdentifierURI, m.sectorIdentifierURI),
            (M.initiateLoginURI, m.initiateLoginURI), (M.frontchannelLogoutURI, m.frontchannelLogoutURI),
            (M.backchannelLogoutURI, m.backchannelLogoutURI),
        ] + m.localized.map { ($0.key, Optional($0.value)) }
        for (name, value) in strings {
            if let value, value.utf8.count > limits.maximumStringLength {
                throw .invalidClientMetadata("\(name) is longer than \(limits.maximumStringLength) bytes")
            }
        }
        if let clientName = m.clientName, clientName.count > limits.maximumNameLength || clientName.utf8.count > 4 * limits.maximumNameLength {
            throw .invalidClientMetadata("client_name is longer than \(limits.maximumNameLength) characters (or \(4 * limits.maximumNameLength) bytes)")
        }
        for (key, value) in m.localized where key.hasPrefix(M.clientName + "#")
            && (value.count > limits.maximumNameLength || value.utf8.count > 4 * limits.maximumNameLength) {
            throw .invalidClientMetadata("\(key) is longer than \(limits.maximumNameLength) characters")
        }
        let arrays: [(String, [String])] = [
            (M.redirectURIs, m.redirectURIs), (M.contacts, m.contacts), (M.defaultACRValues, m.defaultACRValues),
            (M.requestURIs, m.requestURIs), (M.postLogoutRedirectURIs, m.postLogoutRedirectURIs),
            (M.grantTypes, m.grantTypes?.map(\.rawValue) ?? []), (M.responseTypes, m.responseTypes?.map(\.rawValue) ?? []),
        ]
        for (name, values) in arrays {
            if values.count > limits.maximumArrayCount {
                throw name == M.redirectURIs
                    ? .invalidRedirectURI("redirect_uris has more than \(limits.maximumArrayCount) entries")
                    : .invalidClientMetadata("\(name) has more than \(limits.maximumArrayCount) entries")
            }
            for value in values where value.utf8.count > limits.maximumStringLength {
                throw name == M.redirectURIs
                    ? .invalidRedirectURI("a redirect URI is longer than \(limits.maximumStringLength) bytes")
                    : .invalidClientMetadata("an entry of \(name) is longer than \(limits.maximumStringLength) bytes")
            }
        }
        if let scope = m.scope {
            if scope.count > limits.maximumScopes {
                throw .invalidClientMetadata("scope has more than \(limits.maximumScopes) values")
            }
            if scope.contains(where: { $0.utf8.count > 256 }) {
                throw .invalidClientMetadata("a scope value is longer than 256 bytes")
            }
        }
    }
}
