public import Logging

/// Collects audit events and writes them in batches (every second, sooner when 1,000 are
/// waiting, and at shutdown), so the trail costs one write per batch rather than one per request.
/// A crash can lose the events of the last second; the registrations themselves are durable
/// regardless.
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

    /// Notes an event; written at the next flush. Never waits for the database: past 1,000
    /// waiting events a flush starts in the background.
    public func record(_ event: AuditEvent) {
        pending.append(event)
        if pending.count >= 1000 && !flushing {
            flushing = true
            Task { try? await self.flush(); self.doneFlushing() }
        }
    }

    var flushing = false
    func doneFlushing() { flushing = false }

    /// Writes what has been noted, 500 events per statement. On failure the events are kept for
    /// the next flush (at most 10,000).
    public func flush() async throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        do {
            for start in stride(from: 0, to: batch.count, by: 500) {
                try await store.appendAudit(Array(batch[start..<min(start + 500, batch.count)]))
            }
            written += batch.count
        } catch {
            pending = Array((batch + pending).suffix(10_000))
            throw error
        }
    }
}
