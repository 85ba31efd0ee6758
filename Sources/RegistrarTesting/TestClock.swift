public import RegistrarCore
import Synchronization

/// A clock that stands still until told to move.
public final class TestClock: WallClock, Sendable {
    private let current: Mutex<Int64>

    /// A clock at a fixed time (milliseconds since the epoch).
    public init(milliseconds: Int64 = 1_700_000_000_123) { current = Mutex(milliseconds) }

    public func now() -> Timestamp { Timestamp(milliseconds: current.withLock { $0 }) }

    /// Moves the clock forward.
    public func advance(milliseconds: Int64) { current.withLock { $0 += milliseconds } }
}

/// A predictable random source: a SplitMix64 sequence from a seed, so tests can predict every
/// identifier and secret, and two sources with the same seed agree.
public final class SeededRandom: RandomSource, Sendable {
    private let state: Mutex<UInt64>

    /// Creates a source from a seed.
    public init(seed: UInt64 = 42) { state = Mutex(seed) }

    public func bytes(count: Int) -> [UInt8] {
        state.withLock { state in
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                for i in 0..<8 where out.count < count { out.append(UInt8(truncatingIfNeeded: z >> (8 * UInt64(i)))) }
            }
            return out
        }
    }
}
