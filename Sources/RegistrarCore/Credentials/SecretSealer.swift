import Crypto

/// Seals the secrets that must stay recoverable (the HMAC key of a `client_secret_jwt` client)
/// with AES-256-GCM under a key kept outside the clients table, bound to the client ID as
/// associated data so that a sealed secret copied to another row does not open.
public struct SecretSealer: Sendable {
    let key: SymmetricKey

    /// Creates a sealer from a 32-byte key.
    public init(keyBytes: [UInt8]) throws(RegistrarError) {
        guard keyBytes.count == 32 else {
            throw RegistrarError(code: .serverError, status: 500, description: "the sealing key must be 32 bytes")
        }
        key = SymmetricKey(data: keyBytes)
    }

    /// Seals a secret for a client: `v1.` and the base64url of nonce, ciphertext and tag.
    public func seal(_ secret: String, clientID: String) throws -> String {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(clientID.utf8))
        guard let combined = box.combined else { throw RegistrarError.serverError }
        return "v1." + Base64URL.encode(combined)
    }

    /// Opens a sealed secret; throws if it was not sealed for this client under this key.
    public func open(_ sealed: String, clientID: String) throws -> String {
        guard sealed.hasPrefix("v1."), let bytes = Base64URL.decode(String(sealed.dropFirst(3))) else {
            throw RegistrarError.serverError
        }
        let box = try AES.GCM.SealedBox(combined: bytes)
        let plain = try AES.GCM.open(box, using: key, authenticating: Array(clientID.utf8))
        return String(decoding: plain, as: UTF8.self)
    }
}
