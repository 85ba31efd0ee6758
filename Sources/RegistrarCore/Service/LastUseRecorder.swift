/// Collects when clients use their credentials and writes them to the store in batches, so that a
/// busy client costs one write per flush, not one per request.
public actor LastUseRecorder {
    let store: any ClientStore
    var pending: [String: Timestamp] = [:]

    /// Creates a recorder over a store.
    public init(store: any ClientStore) { self.store = store }

    /// How stale a stored last use may get before a new use is written: last use serves the reaper
    /// and operators, for whom an hour is precise enough, and a busy client then costs one write an
    /// hour instead of one per flush.
    public static let precision: Int64 = 3_600_000

    /// Notes a use of a client whose stored last use is `stored`; written at the next flush, unless
    /// the stored value is recent enough.
    public func record(_ clientID: String, at time: Timestamp, stored: Timestamp?) {
        if let stored, time.milliseconds - stored.milliseconds < Self.precision { return }
        record(clientID, at: time)
    }

    /// Notes a use; written at the next flush.
    public func record(_ clientID: String, at time: Timestamp) {
        if let existing = pending[clientID], existing >= time { return }
        pending[clientID] = time
    }

    /// Writes what has been noted. On failure the uses are kept for the next flush.
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = [:]
        do {
            try await store.recordUse(batch)
        } catch {
            for (id, time) in batch where (pending[id] ?? Timestamp(milliseconds: 0)) < time { pending[id] = time }
            throw error
        }
    }

    /// Number of uses waiting for the next flush.
    public var pendingCount: Int { pending.count }
}
