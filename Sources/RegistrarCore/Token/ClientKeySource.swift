/// Where the public keys of a `private_key_jwt` client come from: its registered `jwks`, or its
/// `jwks_uri`, fetched (with SSRF protection and caching) by an implementation outside the domain.
public protocol ClientKeySource: Sendable {
    /// The JWK Set at a client's `jwks_uri`. `refresh` asks for a fresh copy (an assertion named a
    /// `kid` the cached set lacks); implementations rate-limit refreshes.
    func keys(at uri: String, refresh: Bool) async throws -> JSONObject
}

/// A key source that fetches nothing (for deployments and tests without `jwks_uri` clients).
public struct NoClientKeySource: ClientKeySource {
    public init() {}
    public func keys(at uri: String, refresh: Bool) async throws -> JSONObject {
        throw RegistrarError(code: .invalidClient, status: 401, description: "the client's jwks_uri cannot be fetched by this server")
    }
}
