/// Writes compact JWS tokens (RFC 7515 §7.1) with the server's keys.
///
/// The header carries `kid` and `alg` only, as in the seed's registration access token; claims are
/// written as given, so time claims are whole seconds by construction.
public struct JWTSigner: Sendable {
    /// Signs claims with a key: `base64url(header).base64url(claims).base64url(signature)`.
    public static func sign(claims: JSONObject, with key: SigningKey, type: String? = nil) throws -> String {
        var header = JSONObject([("kid", .string(key.kid)), ("alg", .string(key.algorithm.rawValue))])
        if let type { header["typ"] = .string(type) }
        let signingInput = Base64URL.encode(JSONWriter.bytes(.object(header))) + "." + Base64URL.encode(JSONWriter.bytes(.object(claims)))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs claims with HS256 under the registration token key (header `kid` and `alg` as above).
    public static func sign(claims: JSONObject, with key: RegistrationTokenKey) -> String {
        let header = JSONObject([("kid", .string(key.kid)), ("alg", .string(RegistrationTokenAlgorithm.hs256.rawValue))])
        let signingInput = Base64URL.encode(JSONWriter.bytes(.object(header))) + "." + Base64URL.encode(JSONWriter.bytes(.object(claims)))
        return signingInput + "." + Base64URL.encode(key.sign(Array(signingInput.utf8)))
    }
}

/// A compact JWS taken apart, before anything about it is trusted.
public struct CompactJWS: Sendable {
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
        guard token.utf8.count <= 16_384 else { return nil }
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
