/// An initial access token (RFC 7591 §3): lets its bearer register clients under a policy, until it
/// expires, is revoked or has been used `maxUses` times. Only its digest is stored.
public struct InitialAccessToken: Sendable, Equatable {
    /// A short public identifier, for listing and revoking.
    public var id: String
    /// The digest of the token.
    public var digest: String
    /// The policy registrations made with it run under.
    public var policy: String
    /// A note from the operator.
    public var note: String?
    /// When it was created.
    public var createdAt: Timestamp
    /// When it stops working; `nil` for never.
    public var expiresAt: Timestamp?
    /// How many registrations it may make; `nil` for no limit.
    public var maxUses: Int64?
    /// How many it has made.
    public var uses: Int64
    /// When it was revoked; `nil` while it is not.
    public var revokedAt: Timestamp?

    /// Creates a token record.
    public init(id: String, digest: String, policy: String, note: String? = nil, createdAt: Timestamp,
                expiresAt: Timestamp? = nil, maxUses: Int64? = nil, uses: Int64 = 0, revokedAt: Timestamp? = nil) {
        self.id = id
        self.digest = digest
        self.policy = policy
        self.note = note
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maxUses = maxUses
        self.uses = uses
        self.revokedAt = revokedAt
    }

    /// Whether it can still register a client at `now`.
    public func isUsable(at now: Timestamp) -> Bool {
        if revokedAt != nil { return false }
        if let expiresAt, now >= expiresAt { return false }
        if let maxUses, uses >= maxUses { return false }
        return true
    }

    /// Its state at `now`, for listings: `active`, `expired`, `used up` or `revoked`.
    public func state(at now: Timestamp) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, now >= expiresAt { return "expired" }
        if let maxUses, uses >= maxUses { return "used up" }
        return "active"
    }

    /// The prefix of every initial access token, so that secret scanners can recognise one.
    public static let prefix = "rgi_"

    /// A new token and its record: 32 random bytes after the prefix.
    public static func make(policy: String, note: String?, expiresIn: Int64?, maxUses: Int64?,
                            clock: any WallClock, random: any RandomSource) -> (token: String, record: InitialAccessToken) {
        let token = prefix + Base64URL.encode(random.bytes(count: 32))
        let now = clock.now()
        // Hex, so an ID never starts with "-" and reads as an option on a command line.
        let id = Hex.encode(random.bytes(count: 8))
        let record = InitialAccessToken(
            id: id, digest: SecretDigest.of(token), policy: policy, note: note, createdAt: now,
            expiresAt: expiresIn.map { Timestamp(milliseconds: now.milliseconds + $0 * 1000) }, maxUses: maxUses)
        return (token, record)
    }
}
