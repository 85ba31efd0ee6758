/// Human-readable members with a language tag (`client_name#ja-Jpan-JP`, RFC 7591 §2.2): the tag
/// must be a well-formed BCP 47 tag; the member is kept and returned verbatim.
public struct LocalizedMembersRule: MetadataRule {
    public let name = "localized"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        for key in m.localized.keys.sorted() {
            guard let hash = key.firstIndex(of: "#") else { continue }
            let tag = String(key[key.index(after: hash)...])
            guard LanguageTag.isWellFormed(tag) else {
                throw .invalidClientMetadata("\(GrantTypesRule.quoted(key)): the language tag is not a well-formed BCP 47 tag")
            }
        }
    }
}
