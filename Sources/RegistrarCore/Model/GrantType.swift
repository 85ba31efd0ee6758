/// An OAuth 2.0 grant type (RFC 7591 §2 `grant_types`).
public struct GrantType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// RFC 6749 §4.1.
    public static let authorizationCode = GrantType(rawValue: "authorization_code")
    /// RFC 6749 §4.2.
    public static let implicit = GrantType(rawValue: "implicit")
    /// RFC 6749 §6.
    public static let refreshToken = GrantType(rawValue: "refresh_token")
    /// RFC 6749 §4.4.
    public static let clientCredentials = GrantType(rawValue: "client_credentials")
    /// RFC 6749 §4.3.
    public static let password = GrantType(rawValue: "password")
    /// RFC 8628 (device authorization grant).
    public static let deviceCode = GrantType(rawValue: "urn:ietf:params:oauth:grant-type:device_code")
    /// RFC 8693 (token exchange).
    public static let tokenExchange = GrantType(rawValue: "urn:ietf:params:oauth:grant-type:token-exchange")
    /// RFC 7523 §2.1 (JWT bearer assertion as a grant).
    public static let jwtBearer = GrantType(rawValue: "urn:ietf:params:oauth:grant-type:jwt-bearer")

    /// Every grant type Registrar knows, in the order discovery lists them.
    public static let known: [GrantType] = [
        .authorizationCode, .implicit, .refreshToken, .clientCredentials, .password,
        .deviceCode, .tokenExchange, .jwtBearer,
    ]
}
