/// One concern of metadata validation: it checks the members it owns and may fill in their
/// defaults. Rules are pure: the result depends only on the metadata and the configuration.
public protocol MetadataRule: Sendable {
    /// A short name, for logs and test output.
    var name: String { get }
    /// Checks (and normalises) the metadata, or throws the error the client should see.
    func apply(to metadata: inout ClientMetadata, configuration: ServerConfiguration) throws(RegistrarError)
}
