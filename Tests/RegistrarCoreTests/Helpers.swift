import RegistrarCore
import Testing

let testConfiguration = ServerConfiguration(issuer: "https://id.example.org")

/// Parses a JSON text into request metadata.
func metadata(_ json: String) throws -> ClientMetadata {
    guard case .object(let object) = try JSONParser.parse(Array(json.utf8)) else {
        Issue.record("not an object: \(json)")
        return ClientMetadata()
    }
    return try ClientMetadata(json: object)
}

/// Parses and validates a JSON text, returning the registered metadata.
func validated(_ json: String, configuration: ServerConfiguration = testConfiguration) throws -> ClientMetadata {
    try MetadataValidator.standard.validate(try metadata(json), configuration: configuration)
}

/// The error that parsing and validating raises, if any.
func validationError(_ json: String) -> RegistrarError? {
    do {
        _ = try validated(json)
        return nil
    } catch let error as RegistrarError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// A JSON string literal.
func quoted(_ s: String) -> String {
    JSONWriter.string(.string(s))
}
