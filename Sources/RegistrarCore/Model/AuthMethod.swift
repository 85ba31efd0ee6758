/// A token endpoint authentication method (RFC 7591 §2 `token_endpoint_auth_method`).
public struct AuthMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// RFC 6749 §2.3.1, HTTP Basic. The default (RFC 7591 §2).
    public static let clientSecretBasic = AuthMethod(rawValue: "client_secret_basic")
    /// RFC 6749 §2.3.1, in the form body.
    public static let clientSecretPost = AuthMethod(rawValue: "client_secret_post")
    /// OpenID Connect Core §9 / RFC 7523: a JWT signed with the client secret (HMAC).
    public static let clientSecretJWT = AuthMethod(rawValue: "client_secret_jwt")
    /// OpenID Connect Core §9 / RFC 7523: a JWT signed with the client's private key.
    public static let privateKeyJWT = AuthMethod(rawValue: "private_key_jwt")
    /// A public client: no authentication.
    public static let none = AuthMethod(rawValue: "none")

    /// Every method Registrar accepts, in the order discovery lists them.
    public static let known: [AuthMethod] = [.clientSecretBasic, .clientSecretPost, .clientSecretJWT, .privateKeyJWT, .none]

    /// Whether the method needs a client secret issued by the server.
    public var usesSecret: Bool { self == .clientSecretBasic || self == .clientSecretPost || self == .clientSecretJWT }

    /// Whether the server must be able to recover the secret (an HMAC key), so that it cannot be
    /// stored as a one-way digest.
    public var needsRecoverableSecret: Bool { self == .clientSecretJWT }
}
