/// Writes compact JWS tokens (RFC 7515 §7.1) with the server's keys.
///
/// The header carries `kid` and `alg` only, as in the seed's registration access token; claims are
/// written as given, so time claims are whole seconds by construction.
public struct JWTSigner: Sendable {
    /// Signs claims with a key: `base64url(header).base64url(claims).base64url(signature)`.
    public static func sign(claims: JSONObject, with key: SigningKey) throws -> String {
        let header = JSONObject([("kid", .string(key.kid)), ("alg", .string(key.algorithm.rawValue))])
        let signingInput = Base64URL.encode(JSONWriter.bytes(.object(header))) + "." + Base64URL.encode(JSONWriter.bytes(.object(claims)))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }
}
