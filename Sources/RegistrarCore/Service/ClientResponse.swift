/// The body of a client information response (RFC 7591 §3.2.1, RFC 7592 §3), in the seed's member
/// order, with the credentials this response may carry.
public struct ClientResponse: Sendable {
    /// The client as registered.
    public let client: RegisteredClient
    /// A client secret issued by this request (shown only once).
    public let clientSecret: String?
    /// The registration access token to return.
    public let registrationAccessToken: String?
    /// The client's `registration_client_uri`.
    public let registrationClientURI: String

    /// The JSON body.
    public var json: JSONObject {
        var out: [(String, JSONValue)] = [("client_id", .string(client.clientID))]
        if let clientSecret { out.append(("client_secret", .string(clientSecret))) }
        var requireAuthTime = false
        for (name, value) in client.metadata.jsonMembers() {
            if name == ClientMetadata.Member.requireAuthTime {
                if case .bool(let b) = value { requireAuthTime = b }
                continue
            }
            out.append((name, value))
        }
        // RFC 7591 §3.2.1: the statement is returned unmodified.
        if let statement = client.softwareStatement { out.append(("software_statement", .string(statement))) }
        out.append(("reuse_refresh_token", .bool(client.reuseRefreshToken)))
        out.append(("dynamically_registered", .bool(client.dynamicallyRegistered)))
        out.append(("clear_access_tokens_on_refresh", .bool(client.clearAccessTokensOnRefresh)))
        out.append(("require_auth_time", .bool(requireAuthTime)))
        if let registrationAccessToken { out.append(("registration_access_token", .string(registrationAccessToken))) }
        out.append(("registration_client_uri", .string(registrationClientURI)))
        out.append(("created_at", .int(client.createdAt.milliseconds)))
        out.append(("client_id_issued_at", .int(client.createdAt.seconds)))
        if client.secretDigest != nil { out.append(("client_secret_expires_at", .int(client.secretExpiresAt))) }
        // Registrar's own member: when a client with a lifetime stops existing (epoch seconds).
        if let expiresAt = client.expiresAt { out.append(("client_expires_at", .int(expiresAt.seconds))) }
        out.append(("active", .bool(client.active)))
        return JSONObject(out)
    }
}
