/// How a client presented itself at the token, introspection or revocation endpoint
/// (RFC 6749 §2.3, RFC 7523 §2.2), as the HTTP layer found it.
public enum ClientCredentials: Sendable, Equatable {
    /// `Authorization: Basic` with the form-URL-decoded client ID and secret (RFC 6749 §2.3.1).
    case basic(clientID: String, secret: String)
    /// `client_id` and `client_secret` in the form body.
    case post(clientID: String, secret: String)
    /// A JWT assertion (`client_assertion_type` = `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`),
    /// with the `client_id` parameter if one was sent.
    case assertion(String, clientID: String?)
    /// Only a `client_id`: a public client (`none`).
    case none(clientID: String)

    /// The assertion type of RFC 7523 §2.2.
    public static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// The method these credentials amount to.
    public var method: AuthMethod {
        switch self {
        case .basic: return .clientSecretBasic
        case .post: return .clientSecretPost
        case .assertion: return .privateKeyJWT  // or client_secret_jwt; decided by the client's registration
        case .none: return .none
        }
    }
}
