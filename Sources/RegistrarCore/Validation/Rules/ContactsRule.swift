/// `contacts` (RFC 7591 §2): e-mail addresses.
public struct ContactsRule: MetadataRule {
    public let name = "contacts"
    public init() {}

    public func apply(to m: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError) {
        for (index, contact) in m.contacts.enumerated() where !EmailAddress.isValid(contact) {
            throw .invalidClientMetadata("contacts[\(index)] must be an e-mail address")
        }
    }
}
