import RegistrarCore
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
/// but what decoding the row would. Bounded: ``capacity`` slots, one client in each.
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

    /// A decoded client and the row it came from.
    final class Entry: Sendable {
        let id: String
        let row: Row
        let client: RegisteredClient
        init(id: String, row: Row, client: RegisteredClient) { self.id = id; self.row = row; self.client = client }
    }

    let capacity: Int
    /// Direct-mapped: a client has one slot, chosen by the hash of its ID, and takes it over from
    /// whichever client held it. One hash per lookup, no probing and no eviction scan: a dictionary
    /// with an eviction on every miss cost about 4 % of the CPU of reads spread over many clients.
    private let slots: Mutex<[Entry?]>

    init(capacity: Int = 2048) {
        self.capacity = max(capacity, 1)
        slots = Mutex(Array(repeating: nil, count: max(capacity, 1)))
    }

    private func slot(_ id: String) -> Int { Int(UInt(bitPattern: id.hashValue) % UInt(capacity)) }

    /// The client decoded from `row`, from the cache when the same row was decoded before.
    func client(id: String, row: Row) throws -> RegisteredClient {
        let slot = slot(id)
        if let hit = slots.withLock({ $0[slot] }), hit.id == id, hit.row == row { return hit.client }
        let entry = Entry(id: id, row: row, client: try row.client(id: id))
        slots.withLock { $0[slot] = entry }
        return entry.client
    }

    /// How many clients are cached (for tests).
    var count: Int { slots.withLock { $0.reduce(0) { $0 + ($1 == nil ? 0 : 1) } } }
}
