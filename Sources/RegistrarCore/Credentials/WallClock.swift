/// A point in time, in milliseconds since the Unix epoch.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let milliseconds: Int64
    /// Creates a timestamp.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    /// Whole seconds since the epoch (JWT `iat`, `client_id_issued_at`).
    public var seconds: Int64 { milliseconds / 1000 }
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

/// The source of "now", injected into everything that issues or expires something.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Timestamp
}

/// The system clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
