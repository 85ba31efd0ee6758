#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A client as a store keeps it: the JSON document (``RegisteredClient/document``) and the columns
/// stored beside it, not decoded. A read of a registration answers from it directly
/// (``StoredClientResponse``); everything else decodes it (``client(id:)``).
public struct StoredClientRow: Equatable, Sendable {
    public var document: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var secretDigest: String?
    public var registrationTokenDigest: String?
    public var version: Int64
    public var policy: String
    public var dynamicallyRegistered: Bool
    public var expiresAt: Int64?
    public var lastUsedAt: Int64?

    public init(document: String, createdAt: Int64, updatedAt: Int64, secretDigest: String?, registrationTokenDigest: String?,
                version: Int64, policy: String, dynamicallyRegistered: Bool, expiresAt: Int64?, lastUsedAt: Int64?) {
        self.document = document
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.secretDigest = secretDigest
        self.registrationTokenDigest = registrationTokenDigest
        self.version = version
        self.policy = policy
        self.dynamicallyRegistered = dynamicallyRegistered
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
    }

    /// The row a store writes for `client`.
    public init(_ client: RegisteredClient) {
        self.init(document: client.document, createdAt: client.createdAt.milliseconds, updatedAt: client.updatedAt.milliseconds,
                  secretDigest: client.secretDigest, registrationTokenDigest: client.registrationTokenDigest,
                  version: client.version, policy: client.policy, dynamicallyRegistered: client.dynamicallyRegistered,
                  expiresAt: client.expiresAt?.milliseconds, lastUsedAt: client.lastUsedAt?.milliseconds)
    }

    /// Decodes the client.
    public func client(id: String) throws -> RegisteredClient {
        try RegisteredClient(
            document: document, clientID: id, createdAt: Timestamp(milliseconds: createdAt),
            updatedAt: Timestamp(milliseconds: updatedAt), secretDigest: secretDigest,
            registrationTokenDigest: registrationTokenDigest, version: version, policy: policy,
            dynamicallyRegistered: dynamicallyRegistered, expiresAt: expiresAt.map(Timestamp.init(milliseconds:)),
            lastUsedAt: lastUsedAt.map(Timestamp.init(milliseconds:)))
    }

    /// Whether the client has expired at `now` (``RegisteredClient/isExpired(at:)``).
    public func isExpired(at now: Timestamp) -> Bool {
        guard let expiresAt else { return false }
        return now.milliseconds >= expiresAt
    }

    public static func == (a: StoredClientRow, b: StoredClientRow) -> Bool {
        // Cheap columns first; the document compared as bytes (no Unicode normalization).
        a.version == b.version && a.updatedAt == b.updatedAt && a.createdAt == b.createdAt && a.lastUsedAt == b.lastUsedAt
            && a.expiresAt == b.expiresAt && a.dynamicallyRegistered == b.dynamicallyRegistered && a.policy == b.policy
            && a.secretDigest == b.secretDigest && a.registrationTokenDigest == b.registrationTokenDigest
            && Self.sameBytes(a.document, b.document)
    }

    /// Byte-for-byte equality (no Unicode normalization), with `memcmp` when both strings are
    /// contiguous UTF-8 (native strings are).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let compared = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0
            }
        }
        if let compared, let compared { return compared }
        return a.utf8.elementsEqual(b.utf8)
    }
}
