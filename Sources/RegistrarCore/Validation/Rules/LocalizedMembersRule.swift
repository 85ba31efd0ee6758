/// Human-readable members (`client_name`, `client_description`, `software_id`, `software_version`)
/// and members with a language tag (`client_name#ja-Jpan-JP`, RFC 7591 §2.2):
///
/// - a tag must be a well-formed BCP 47 tag, and a member may appear once per language: tags are
///   case-insensitive (RFC 5646 §2.1.1), so `client_name#en` and `client_name#EN` are one member
///   sent twice;
/// - text shown to people or written to logs carries no control characters (U+0000-U+001F,
///   U+007F-U+009F); a description may have line breaks and tabs.
///
/// Members are kept and returned verbatim.
public struct LocalizedMembersRule: MetadataRule {
    public let name = "localized"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        typealias M = ClientMetadata.Member
        var seen: [String: String] = [:]
        for key in m.localized.keys.sorted() {
            guard let hash = key.firstIndex(of: "#") else { continue }
            let tag = String(key[key.index(after: hash)...])
            guard LanguageTag.isWellFormed(tag) else {
                throw .invalidClientMetadata("\(GrantTypesRule.quoted(key)): the language tag is not a well-formed BCP 47 tag")
            }
            if let other = seen.updateValue(key, forKey: key.lowercased()) {
                throw .invalidClientMetadata("\(GrantTypesRule.quoted(other)) and \(GrantTypesRule.quoted(key)) are the same member: language tags are case-insensitive")
            }
        }
        var texts: [(String, String?, Bool)] = [
            (M.clientName, m.clientName, false), (M.clientDescription, m.clientDescription, true),
            (M.softwareID, m.softwareID, false), (M.softwareVersion, m.softwareVersion, false),
        ]
        for (key, value) in m.localized.sorted(by: { $0.key < $1.key }) {
            if key.hasPrefix(M.clientName + "#") { texts.append((key, value, false)) }
            if key.hasPrefix(M.clientDescription + "#") { texts.append((key, value, true)) }
        }
        for (member, value, multiline) in texts {
            guard let value else { continue }
            if value.unicodeScalars.contains(where: { Self.isControl($0, multiline: multiline) }) {
                throw .invalidClientMetadata("\(GrantTypesRule.quoted(member)) must not contain control characters"
                                             + (multiline ? " other than tabs and line breaks" : ""))
            }
        }
    }

    static func isControl(_ s: Unicode.Scalar, multiline: Bool) -> Bool {
        if multiline && (s == "\t" || s == "\n" || s == "\r") { return false }
        return s.value < 0x20 || (0x7F...0x9F).contains(s.value)
    }
}
