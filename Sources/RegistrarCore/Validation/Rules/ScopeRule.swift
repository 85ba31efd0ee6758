/// `scope`: space-delimited RFC 6749 §3.3 scope tokens, duplicates folded; the configured default
/// scopes when none is asked (as INDIGO IAM does).
public struct ScopeRule: MetadataRule {
    public let name = "scope"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        guard let scope = m.scope, !scope.isEmpty else {
            m.scope = configuration.defaultScopes.isEmpty ? nil : configuration.defaultScopes
            return
        }
        for token in scope where !Self.isScopeToken(token) {
            throw .invalidClientMetadata("scope contains an invalid value; scope values are printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)")
        }
    }

    /// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
    public static func isScopeToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
    }
}
