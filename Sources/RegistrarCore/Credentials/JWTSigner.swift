/// Writes compact JWS tokens (RFC 7515 §7.1) with the server's keys.
///
/// The header carries `kid` and `alg`, as in the seed's registration access token, and `typ` when
/// asked (`at+jwt` for access tokens); claims are written as given, so time claims are whole
/// seconds by construction.
public struct JWTSigner: Sendable {
    /// Signs claims with a key: `base64url(header).base64url(claims).base64url(signature)`.
    public static func sign(claims: JSONObject, with key: SigningKey, type: String? = nil) throws -> String {
        var token = signingInput(header: key.header(type: type), claims: claims, signatureLength: key.algorithm == .es256 ? 64 : 256)
        let signature = try key.sign(token)
        return finish(&token, signature: signature)
    }

    /// Signs claims with HS256 under the registration token key (header `kid` and `alg` as above).
    public static func sign(claims: JSONObject, with key: RegistrationTokenKey) -> String {
        var token = signingInput(header: key.header, claims: claims, signatureLength: 32)
        let signature = key.sign(token)
        return finish(&token, signature: signature)
    }

    /// The encoded header of a key's tokens: `{"kid":...,"alg":...}` and `typ` if given, in base64url.
    static func encodedHeader(kid: String, alg: String, type: String?) -> [UInt8] {
        var header = JSONObject([("kid", .string(kid)), ("alg", .string(alg))])
        if let type { header["typ"] = .string(type) }
        return Array(Base64URL.encode(JSONWriter.bytes(.object(header))).utf8)
    }

    /// `header.claims`, in a buffer with room for the signature that `finish` appends.
    private static func signingInput(header: [UInt8], claims: JSONObject, signatureLength: Int) -> [UInt8] {
        let json = JSONWriter.bytes(.object(claims))
        var token: [UInt8] = []
        token.reserveCapacity(header.count + 2 + Base64URL.encodedCount(json.count) + Base64URL.encodedCount(signatureLength))
        token.append(contentsOf: header)
        token.append(UInt8(ascii: "."))
        Base64URL.append(json, to: &token)
        return token
    }

    /// Appends `.signature` to a signing input and makes the token.
    private static func finish(_ token: inout [UInt8], signature: [UInt8]) -> String {
        token.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &token)
        return String(decoding: token, as: UTF8.self)
    }
}

/// A compact JWS taken apart, before anything about it is trusted.
public struct CompactJWS: Sendable {
    /// The longest token taken apart, in bytes; anything longer is refused unread.
    public static let maximumLength = 16_384

    /// The protected header.
    public let header: JSONObject
    /// The claims.
    public let claims: JSONObject
    /// `base64url(header).base64url(claims)`, the bytes the signature covers.
    public let signingInput: [UInt8]
    /// The signature.
    public let signature: [UInt8]

    /// Splits and decodes a token; `nil` when it is not a compact JWS with JSON header and claims.
    public init?(_ token: String) {
        guard token.utf8.count <= Self.maximumLength else { return nil }
        // Split at the dots' bytes: splitting the String would walk it Character by Character
        // (grapheme breaking over the whole token was a tenth of an introspection).
        let parts = token.utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(bytes: parts[0]), let claimBytes = Base64URL.decode(bytes: parts[1]),
              let signature = Base64URL.decode(bytes: parts[2]),
              case .object(let header)? = try? JSONParser.parse(headerBytes), case .object(let claims)? = try? JSONParser.parse(claimBytes)
        else { return nil }
        self.header = header
        self.claims = claims
        self.signature = signature
        self.signingInput = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))
    }
}
