import Crypto

/// The digest under which a secret or token is stored: `sha256:` and the base64url SHA-256 of its
/// UTF-8 bytes. Client secrets and tokens are long and random (at least 256 bits), so a fast
/// digest is the right store: a slow password hash would add nothing against guessing and would
/// cap authentications at a few per second per core.
public enum SecretDigest {
    /// The digest of a secret.
    public static func of(_ secret: String) -> String {
        "sha256:" + Base64URL.encode(Array(SHA256.hash(data: Array(secret.utf8))))
    }

    /// Whether a presented secret matches a stored digest, compared in constant time.
    public static func matches(_ secret: String, digest: String) -> Bool {
        ConstantTime.equals(of(secret), digest)
    }
}
