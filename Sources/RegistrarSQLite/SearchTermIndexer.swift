import RegistrarSQL
import SQLKit
import Synchronization

/// Indexes new clients' search terms after their commit, many clients per transaction.
///
/// A client's insert only notes it in `search_terms_pending` (the schema's insert trigger, in the
/// insert's own transaction, so a crash loses nothing). The store's background task runs
/// ``catchUp()`` every ``SQLiteStore/searchIndexEvery`` (10 ms) while clients are being written, and once at open
/// and at close; a search runs it first, so a search always finds every committed client.
/// Terms of common values (a scope, a grant type) share one place in the terms table's key, so
/// indexing a few hundred clients together writes each such page once instead of once per commit.
final class SearchTermIndexer: Sendable {
    /// Most clients indexed in one transaction: a catch-up after a burst (or of whatever another
    /// process left) holds the writer for a bounded time, a few milliseconds, between batches.
    static let batch = 250

    let committer: GroupCommitter
    /// Whether clients may have been written since the last catch-up (at first: whatever a crash
    /// or another process left pending).
    private let noted = Mutex(true)

    init(committer: GroupCommitter) {
        self.committer = committer
    }

    /// Notes that a client may have been inserted.
    func noteWrite() {
        noted.withLock { $0 = true }
    }

    /// Whether a write was noted since the last call.
    func takeNoted() -> Bool {
        noted.withLock { noted in
            defer { noted = false }
            return noted
        }
    }

    /// Indexes every pending client, ``batch`` at a time, each batch in the next group transaction;
    /// returns how many clients were indexed (deleted clients included: they leave no terms).
    @discardableResult
    func catchUp() async throws -> Int {
        var total = 0
        while true {
            let count = try await committer.run { db in try await Self.indexBatch(db) }
            total += count
            if count < Self.batch { return total }
        }
    }

    /// The first ``batch`` pending clients, in key order.
    static let firstPending = "SELECT client_id FROM search_terms_pending ORDER BY client_id LIMIT \(batch)"

    /// Their current terms (a client deleted since has none; one updated since has its new ones,
    /// which the update trigger may have inserted already), sorted so that the inserts walk the key.
    static let insertTerms = """
        INSERT OR IGNORE INTO client_search_terms (kind, term, client_id)
        SELECT \(SearchTermTriggers.kind), \(SearchTermTriggers.term), c.client_id
        FROM (\(firstPending)) p JOIN clients c ON c.client_id = p.client_id, json_each(c.search_terms)
        ORDER BY 1, 2, 3
        """

    static let removePending = "DELETE FROM search_terms_pending WHERE client_id IN (\(firstPending))"

    /// Indexes the first ``batch`` pending clients and forgets them; returns how many there were.
    /// Both statements see the same clients: they run in one transaction on the only writer.
    static func indexBatch(_ db: any SQLDatabase) async throws -> Int {
        try await db.raw("\(unsafeRaw: insertTerms)").run()
        try await db.raw("\(unsafeRaw: removePending)").run()
        return try await db.raw("SELECT changes() AS n").first()?.decode(column: "n", as: Int.self) ?? 0
    }
}
