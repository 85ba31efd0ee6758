/// An OAuth 2.0 / OpenID Connect response type (RFC 7591 §2 `response_types`): one or more
/// space-separated words, kept in a canonical word order.
public struct ResponseType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Creates a response type, putting its words in canonical order (`code id_token token`), so
    /// that `id_token code` and `code id_token` are the same value.
    public init(rawValue: String) {
        // One word (`code`, the usual case) is in canonical order already.
        guard rawValue.utf8.contains(UInt8(ascii: " ")) else {
            self.rawValue = rawValue
            return
        }
        let words = rawValue.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let order = ["code", "id_token", "token", "none"]
        let sorted = words.sorted { (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1) }
        self.rawValue = sorted.joined(separator: " ")
    }

    public var description: String { rawValue }

    /// The words of this response type.
    public var words: [String] { rawValue.split(separator: " ").map(String.init) }

    public static let code = ResponseType(rawValue: "code")
    public static let token = ResponseType(rawValue: "token")
    public static let idToken = ResponseType(rawValue: "id_token")
    public static let codeIDToken = ResponseType(rawValue: "code id_token")
    public static let codeToken = ResponseType(rawValue: "code token")
    public static let idTokenToken = ResponseType(rawValue: "id_token token")
    public static let codeIDTokenToken = ResponseType(rawValue: "code id_token token")
    public static let none = ResponseType(rawValue: "none")

    /// Every response type Registrar accepts, in the order discovery lists them.
    public static let known: [ResponseType] = [
        .code, .token, .idToken, .codeIDToken, .codeToken, .idTokenToken, .codeIDTokenToken, .none,
    ]

    /// The grant types a client needs to use this response type (RFC 7591 §2.1).
    public var requiredGrantTypes: [GrantType] {
        var grants: [GrantType] = []
        let words = self.words
        if words.contains("code") { grants.append(.authorizationCode) }
        if words.contains("token") || words.contains("id_token") { grants.append(.implicit) }
        return grants
    }
}
