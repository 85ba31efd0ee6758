public import Logging

/// Collects audit events and writes them in batches (every second, or every 200 events, and at
/// shutdown), so the trail costs one write per batch rather than one per request. A crash can lose
/// the events of the last second; the registrations themselves are durable regardless.
public actor AuditLog {
    let store: any AuditStore
    let logger: Logger
    var pending: [AuditEvent] = []
    /// Events written so far (for tests and metrics).
    public private(set) var written = 0

    /// Creates a log over a store.
    public init(store: any AuditStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Notes an event; written at the next flush.
    public func record(_ event: AuditEvent) async {
        pending.append(event)
        if pending.count >= 200 { try? await flush() }
    }

    /// Writes what has been noted. On failure the events are kept for the next flush (at most 10,000).
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        do {
            try await store.appendAudit(batch)
            written += batch.count
        } catch {
            pending = Array((batch + pending).suffix(10_000))
            throw error
        }
    }
}
