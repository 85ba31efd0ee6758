public import Logging

/// Removes dynamically registered clients that have expired (a policy's client lifetime) and, when
/// `registration.cleanup` is enabled, those never used within `unused_after` of their
/// registration. Each instance may run it; deleting twice is harmless.
public struct ClientReaper: Sendable {
    let store: any ClientStore
    let cleanup: CleanupSettings
    let clock: any WallClock
    let logger: Logger

    /// Creates a reaper.
    public init(store: any ClientStore, cleanup: CleanupSettings, clock: any WallClock, logger: Logger) {
        self.store = store
        self.cleanup = cleanup
        self.clock = clock
        self.logger = logger
    }

    /// One pass; returns how many clients were deleted.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock.now()
        let unusedSince = cleanup.enabled ? Timestamp(milliseconds: now.milliseconds - cleanup.unusedAfter * 1000) : nil
        let deleted = try await store.deleteStaleClients(now: now, unusedSince: unusedSince)
        if deleted > 0 { logger.info("stale clients deleted", metadata: ["count": .stringConvertible(deleted)]) }
        return deleted
    }
}
