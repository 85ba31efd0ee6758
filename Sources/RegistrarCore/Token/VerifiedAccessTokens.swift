import Crypto
import Synchronization

/// Access tokens whose signature this instance has verified, so that the same token presented
/// again is not verified again: a resource server introspects the token of every call it receives,
/// and the administration API authenticates every request by its access token, while an ES256
/// verification costs more than the rest of an introspection together.
///
/// Only the signature's verdict is remembered, with the claims it covers; everything that can
/// change while a token lives (its expiry, its revocation, its client's existence and status, the
/// signing key's retirement) is still checked on every use. Tokens are remembered by their SHA-256,
/// never as text, and only after their signature verified, so a caller cannot fill the cache with
/// tokens of its own making. Bounded: two generations of at most ``capacity`` entries each; when
/// the current one is full it becomes the previous one and the older entries are dropped, and an
/// entry found in the previous generation moves back to the current one.
public final class VerifiedAccessTokens: Sendable {
    /// A token's SHA-256.
    struct Key: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        static func == (a: Key, b: Key) -> Bool { a.words == b.words }
        func hash(into hasher: inout Hasher) { hasher.combine(words.0); hasher.combine(words.1) }
    }

    /// What a verified token's signature established.
    struct Entry: Sendable {
        /// The key that signed it.
        let kid: String
        /// Its claims.
        let claims: JSONObject
    }

    private struct Generations {
        var current: [Key: Entry] = [:]
        var previous: [Key: Entry] = [:]
    }

    private let state = Mutex(Generations())
    /// Most entries per generation.
    public let capacity: Int

    /// Creates an empty cache holding at most `2 × capacity` tokens (a capacity below 1 counts as 1).
    public init(capacity: Int = 2048) {
        self.capacity = max(capacity, 1)
    }

    /// The key of a token.
    static func key(of token: String) -> Key {
        var token = token
        let digest = token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { raw in
            Key(words: (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                        raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
    }

    /// The entry of a token verified before, if it is still remembered.
    func entry(for key: Key) -> Entry? {
        var dropped: [Key: Entry] = [:]
        let found = state.withLock { generations -> Entry? in
            if let entry = generations.current[key] { return entry }
            guard let entry = generations.previous.removeValue(forKey: key) else { return nil }
            dropped = Self.insert(entry, for: key, into: &generations, capacity: capacity)
            return entry
        }
        _ = dropped  // Released when this returns, outside the lock.
        return found
    }

    /// Remembers a token whose signature verified.
    func remember(_ entry: Entry, for key: Key) {
        var dropped: [Key: Entry] = [:]
        state.withLock { dropped = Self.insert(entry, for: key, into: &$0, capacity: capacity) }
        _ = dropped  // Released when this returns, outside the lock.
    }

    /// Tokens remembered now (for tests and metrics).
    public var count: Int { state.withLock { $0.current.count + $0.previous.count } }

    /// Inserts into the current generation, starting a new one first if it is full; returns the
    /// generation that fell out, for the caller to release outside the lock.
    private static func insert(_ entry: Entry, for key: Key, into generations: inout Generations, capacity: Int) -> [Key: Entry] {
        var dropped: [Key: Entry] = [:]
        if generations.current.count >= capacity, generations.current[key] == nil {
            dropped = generations.previous
            generations.previous = generations.current
            generations.current = Dictionary(minimumCapacity: capacity)
        }
        generations.current[key] = entry
        return dropped
    }
}
