/// The metadata a client registers (RFC 7591 §2, OpenID Connect Registration 1.0 §2, the logout
/// specifications), as typed Swift values. Wire names appear only in ``ClientMetadata/Member``.
///
/// A value straight from a request holds what the client sent (`nil` or empty for what it left
/// out); ``MetadataValidator`` turns it into the registered value, with defaults applied.
public struct ClientMetadata: Sendable, Equatable {
    // RFC 7591 §2
    public var redirectURIs: [String] = []
    public var tokenEndpointAuthMethod: AuthMethod?
    public var grantTypes: [GrantType]?
    public var responseTypes: [ResponseType]?
    public var clientName: String?
    public var clientURI: String?
    public var logoURI: String?
    public var scope: [String]?
    public var contacts: [String] = []
    public var tosURI: String?
    public var policyURI: String?
    public var jwksURI: String?
    public var jwks: JSONObject?
    public var softwareID: String?
    public var softwareVersion: String?
    /// INDIGO IAM's free-text description of the client.
    public var clientDescription: String?

    // OpenID Connect Registration 1.0 §2
    public var applicationType: ApplicationType?
    public var sectorIdentifierURI: String?
    public var subjectType: String?
    public var idTokenSignedResponseAlg: String?
    public var idTokenEncryptedResponseAlg: String?
    public var idTokenEncryptedResponseEnc: String?
    public var userinfoSignedResponseAlg: String?
    public var userinfoEncryptedResponseAlg: String?
    public var userinfoEncryptedResponseEnc: String?
    public var requestObjectSigningAlg: String?
    public var requestObjectEncryptionAlg: String?
    public var requestObjectEncryptionEnc: String?
    public var tokenEndpointAuthSigningAlg: String?
    public var defaultMaxAge: Int64?
    public var requireAuthTime: Bool?
    public var defaultACRValues: [String] = []
    public var initiateLoginURI: String?
    public var requestURIs: [String] = []

    // RP-Initiated, Front-Channel and Back-Channel Logout 1.0
    public var postLogoutRedirectURIs: [String] = []
    public var frontchannelLogoutURI: String?
    public var frontchannelLogoutSessionRequired: Bool?
    public var backchannelLogoutURI: String?
    public var backchannelLogoutSessionRequired: Bool?

    /// Human-readable members with a language tag (RFC 7591 §2.2), keyed by the full member name
    /// as sent (`client_name#ja-Jpan-JP`), returned verbatim.
    public var localized: [String: String] = [:]

    /// Creates empty metadata.
    public init() {}
}

extension ClientMetadata {
    /// Wire names of the members Registrar recognises.
    public enum Member {
        public static let redirectURIs = "redirect_uris"
        public static let tokenEndpointAuthMethod = "token_endpoint_auth_method"
        public static let grantTypes = "grant_types"
        public static let responseTypes = "response_types"
        public static let clientName = "client_name"
        public static let clientURI = "client_uri"
        public static let logoURI = "logo_uri"
        public static let scope = "scope"
        public static let contacts = "contacts"
        public static let tosURI = "tos_uri"
        public static let policyURI = "policy_uri"
        public static let jwksURI = "jwks_uri"
        public static let jwks = "jwks"
        public static let softwareID = "software_id"
        public static let softwareVersion = "software_version"
        public static let clientDescription = "client_description"
        public static let applicationType = "application_type"
        public static let sectorIdentifierURI = "sector_identifier_uri"
        public static let subjectType = "subject_type"
        public static let idTokenSignedResponseAlg = "id_token_signed_response_alg"
        public static let idTokenEncryptedResponseAlg = "id_token_encrypted_response_alg"
        public static let idTokenEncryptedResponseEnc = "id_token_encrypted_response_enc"
        public static let userinfoSignedResponseAlg = "userinfo_signed_response_alg"
        public static let userinfoEncryptedResponseAlg = "userinfo_encrypted_response_alg"
        public static let userinfoEncryptedResponseEnc = "userinfo_encrypted_response_enc"
        public static let requestObjectSigningAlg = "request_object_signing_alg"
        public static let requestObjectEncryptionAlg = "request_object_encryption_alg"
        public static let requestObjectEncryptionEnc = "request_object_encryption_enc"
        public static let tokenEndpointAuthSigningAlg = "token_endpoint_auth_signing_alg"
        public static let defaultMaxAge = "default_max_age"
        public static let requireAuthTime = "require_auth_time"
        public static let defaultACRValues = "default_acr_values"
        public static let initiateLoginURI = "initiate_login_uri"
        public static let requestURIs = "request_uris"
        public static let postLogoutRedirectURIs = "post_logout_redirect_uris"
        public static let frontchannelLogoutURI = "frontchannel_logout_uri"
        public static let frontchannelLogoutSessionRequired = "frontchannel_logout_session_required"
        public static let backchannelLogoutURI = "backchannel_logout_uri"
        public static let backchannelLogoutSessionRequired = "backchannel_logout_session_required"

        /// Members that may carry a language tag (`name#tag`, RFC 7591 §2.2).
        public static let localizable: [String] = [clientName, clientURI, logoURI, tosURI, policyURI, clientDescription]
    }
}
