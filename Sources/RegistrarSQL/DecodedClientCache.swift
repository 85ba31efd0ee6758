public import RegistrarCore
import Synchronization

/// The clients decoded most recently, each with the stored row it was decoded from.
///
/// Decoding a client (parsing its JSON document and its metadata) was about a tenth of the CPU of
/// a token request or a read. A client that is looked up often (one requesting tokens, say) is
/// read again from the database every time, but decoded only when its row differs from the one
/// cached: a hit requires every stored value to be equal, so the cache can never return anything
/// but what decoding the row would. Bounded: ``capacity`` slots, one client in each.
public final class DecodedClientCache: Sendable {
    /// What a client is decoded from: the document and the indexed columns.
    public typealias Row = StoredClientRow

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
