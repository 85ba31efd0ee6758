/// An error that Registrar shows to a client: an OAuth error code, an HTTP status and a
/// description that is safe to display.
///
/// Errors are values (in the style of jwt-kit's `JWTError`): two errors are equal when their
/// codes are equal, so tests match a kind of failure rather than its prose. The description never
/// carries secrets or internals; anything that is not a `RegistrarError` reaches the client as a
/// generic `server_error`.
public struct RegistrarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OAuth error code (`invalid_client_metadata`, `invalid_token`, ...), extensible.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// RFC 7591 §3.2.2: a redirect URI is invalid.
        public static let invalidRedirectURI = Code(rawValue: "invalid_redirect_uri")
        /// RFC 7591 §3.2.2: any other metadata value is invalid.
        public static let invalidClientMetadata = Code(rawValue: "invalid_client_metadata")
        /// RFC 7591 §3.2.2: the software statement is invalid.
        public static let invalidSoftwareStatement = Code(rawValue: "invalid_software_statement")
        /// RFC 7591 §3.2.2: the software statement is not approved.
        public static let unapprovedSoftwareStatement = Code(rawValue: "unapproved_software_statement")
        /// RFC 6749 §5.2 / RFC 7592 §2.2: the request is malformed.
        public static let invalidRequest = Code(rawValue: "invalid_request")
        /// RFC 6750 §3.1: the bearer token is missing, expired, revoked or malformed.
        public static let invalidToken = Code(rawValue: "invalid_token")
        /// RFC 6749 §4.1.2.1: the server refuses the request.
        public static let accessDenied = Code(rawValue: "access_denied")
        /// RFC 6749 §4.1.2.1: an unexpected condition on the server.
        public static let serverError = Code(rawValue: "server_error")
        /// RFC 6749 §4.1.2.1: the server is temporarily unable to answer.
        public static let temporarilyUnavailable = Code(rawValue: "temporarily_unavailable")
        /// No resource at this path.
        public static let notFound = Code(rawValue: "not_found")
        /// The method is not allowed on this path.
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        /// RFC 6749 §5.2: client authentication failed.
        public static let invalidClient = Code(rawValue: "invalid_client")
        /// RFC 6749 §5.2: the client may not use this grant type.
        public static let unauthorizedClient = Code(rawValue: "unauthorized_client")
        /// RFC 6749 §5.2: the requested scope is invalid or exceeds what the client holds.
        public static let invalidScope = Code(rawValue: "invalid_scope")
        /// RFC 6749 §5.2: the grant type is not supported.
        public static let unsupportedGrantType = Code(rawValue: "unsupported_grant_type")
        /// RFC 6750 §3.1: the token lacks the scope the request needs (403).
        public static let insufficientScope = Code(rawValue: "insufficient_scope")
        /// RFC 7009 §2.2.1: the token type cannot be revoked.
        public static let unsupportedTokenType = Code(rawValue: "unsupported_token_type")
        /// The client has sent too many requests (HTTP 429); `retryAfter` says when to come back.
        public static let tooManyRequests = Code(rawValue: "too_many_requests")
    }

    /// How a 401 response challenges the client (RFC 6750 §3).
    public enum BearerChallenge: Sendable, Equatable {
        /// No credentials were sent: `WWW-Authenticate: Bearer`, without an error attribute.
        case missingToken
        /// Credentials were sent and rejected: `WWW-Authenticate: Bearer error="invalid_token"`.
        case invalidToken
        /// The credentials are malformed (two `Authorization` headers), a 400:
        /// `WWW-Authenticate: Bearer error="invalid_request"` (RFC 6750 §3, §3.1).
        case invalidRequest
        /// Client authentication failed (RFC 6749 §5.2): `WWW-Authenticate: Basic`.
        case basic
        /// The token lacks a scope (RFC 6750 §3.1): `Bearer error="insufficient_scope", scope="..."`.
        case insufficientScope(String)
    }

    /// The OAuth error code.
    public let code: Code
    /// The HTTP status code to answer with.
    public let status: Int
    /// A human-readable description, safe to show to the client.
    public let errorDescription: String
    /// The bearer challenge to send with a 401, if any.
    public let challenge: BearerChallenge?
    /// Seconds after which the client may retry (for 429 and 503).
    public let retryAfter: Int?

    /// Creates an error.
    public init(code: Code, status: Int, description: String, challenge: BearerChallenge? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.status = status
        self.errorDescription = description
        self.challenge = challenge
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue) (\(status)): \(errorDescription)" }

    public static func == (lhs: RegistrarError, rhs: RegistrarError) -> Bool { lhs.code == rhs.code }

    /// 400 `invalid_client_metadata`.
    public static func invalidClientMetadata(_ description: String) -> RegistrarError {
        RegistrarError(code: .invalidClientMetadata, status: 400, description: description)
    }

    /// 400 `invalid_redirect_uri`.
    public static func invalidRedirectURI(_ description: String) -> RegistrarError {
        RegistrarError(code: .invalidRedirectURI, status: 400, description: description)
    }

    /// 400 `invalid_request`.
    public static func invalidRequest(_ description: String, status: Int = 400) -> RegistrarError {
        RegistrarError(code: .invalidRequest, status: status, description: description)
    }

    /// 401 with `WWW-Authenticate: Bearer` and no error attribute (RFC 6750 §3.1).
    public static let missingToken = RegistrarError(
        code: .invalidToken, status: 401,
        description: "a bearer token is required in the Authorization header",
        challenge: .missingToken)

    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    public static func invalidToken(_ description: String = "the access token is invalid, revoked or unknown") -> RegistrarError {
        RegistrarError(code: .invalidToken, status: 401, description: description, challenge: .invalidToken)
    }

    /// 401 `invalid_client` (RFC 6749 §5.2), with a Basic challenge when the client used Basic.
    /// Always with a Basic challenge: every `401` names a scheme (RFC 9110 §15.5.2), and Basic is
    /// the one the token endpoints accept in a header (RFC 6749 §5.2), whichever way the client
    /// tried to authenticate.
    public static func invalidClient(_ description: String = "client authentication failed") -> RegistrarError {
        RegistrarError(code: .invalidClient, status: 401, description: description, challenge: .basic)
    }

    /// 500 `server_error`, with no internals.
    public static let serverError = RegistrarError(
        code: .serverError, status: 500, description: "the server failed to process the request")

    /// 503 `temporarily_unavailable`.
    public static func temporarilyUnavailable(_ description: String = "the service is temporarily unavailable; retry later") -> RegistrarError {
        RegistrarError(code: .temporarilyUnavailable, status: 503, description: description)
    }

    /// 409 `invalid_request`: a concurrent change won.
    public static let conflict = RegistrarError(
        code: .invalidRequest, status: 409,
        description: "the client was changed by another request at the same time; read it again and retry")
}
