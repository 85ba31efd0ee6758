public import RegistrarCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clients decoded most recently, each with the stored row it was decoded from.
///
/// Decoding a client (parsing its JSON document and its metadata) was about a tenth of the CPU of
/// a token request or a read. A client that is looked up often (one requesting tokens, say) is
/// read again from the database every time, but decoded only when its row differs from the one
/// cached: a hit requires every stored value to be equal, so the cache can never return anything
/// but what decoding the row would. Bounded: past ``capacity`` entries, an arbitrary one leaves.
public final class DecodedClientCache: Sendable {
    /// What a client is decoded from: the document and the indexed columns.
    public struct Row: Equatable, Sendable {
        var document: String
        var createdAt: Int64
        var updatedAt: Int64
        var secretDigest: String?
        var registrationTokenDigest: String?
        var version: Int64
        var policy: String
        var dynamicallyRegistered: Bool
        var expiresAt: Int64?
        var lastUsedAt: Int64?

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

        /// Decodes the client.
        func client(id: String) throws -> RegisteredClient {
            try RegisteredClient(
                document: document, clientID: id, createdAt: Timestamp(milliseconds: createdAt),
                updatedAt: Timestamp(milliseconds: updatedAt), secretDigest: secretDigest,
                registrationTokenDigest: registrationTokenDigest, version: version, policy: policy,
                dynamicallyRegistered: dynamicallyRegistered, expiresAt: expiresAt.map(Timestamp.init(milliseconds:)),
                lastUsedAt: lastUsedAt.map(Timestamp.init(milliseconds:)))
        }

        public static func == (a: Row, b: Row) -> Bool {
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

    let capacity: Int
    private let entries = Mutex<[String: (row: Row, client: RegisteredClient)]>([:])

    init(capacity: Int = 2048) { self.capacity = capacity }

    /// The client decoded from `row`, from the cache when the same row was decoded before.
    func client(id: String, row: Row) throws -> RegisteredClient {
        if let hit = entries.withLock({ $0[id] }), hit.row == row { return hit.client }
        let client = try row.client(id: id)
        entries.withLock { entries in
            if entries.count >= capacity, entries[id] == nil { entries.remove(at: entries.startIndex) }
            entries[id] = (row, client)
        }
        return client
    }

    /// How many clients are cached (for tests).
    var count: Int { entries.withLock { $0.count } }
}
