/// Generates client secrets: 64 random bytes (512 bits, as INDIGO IAM does), base64url without
/// padding (86 characters).
public struct SecretGenerator: Sendable {
    /// Random bytes per secret.
    public static let byteCount = 64
    let random: any RandomSource

    /// Creates a generator over a random source.
    public init(random: any RandomSource) { self.random = random }

    /// A new secret.
    public func makeSecret() -> String { Base64URL.encode(random.bytes(count: Self.byteCount)) }
}
