/// Token buckets per key (a client IP): `burst` requests at once, refilled at `perMinute`. Time
/// comes from an injected clock, so tests step it instead of sleeping.
///
/// Each instance keeps its own buckets; behind a load balancer with N instances a client gets up
/// to N times the rate.
public actor RateLimiter {
    /// The outcome of a check.
    public enum Decision: Sendable, Equatable {
        /// Go ahead.
        case allowed
        /// Too many: retry after this many seconds.
        case limited(retryAfter: Int)
    }

    struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    let limit: RateLimit
    let clock: any WallClock
    let maximumKeys: Int
    var buckets: [String: Bucket] = [:]

    /// Creates a limiter.
    public init(limit: RateLimit, clock: any WallClock, maximumKeys: Int = 100_000) {
        self.limit = limit
        self.clock = clock
        self.maximumKeys = maximumKeys
    }

    var ratePerMillisecond: Double { Double(limit.perMinute) / 60_000 }

    func refreshed(_ key: String, now: Int64) -> Bucket {
        guard var bucket = buckets[key] else { return Bucket(tokens: Double(limit.burst), updated: now) }
        let elapsed = max(0, now - bucket.updated)
        bucket.tokens = min(Double(limit.burst), bucket.tokens + Double(elapsed) * ratePerMillisecond)
        bucket.updated = now
        return bucket
    }

    func retryAfter(_ bucket: Bucket) -> Int {
        let missing = 1 - bucket.tokens
        return max(1, Int((missing / ratePerMillisecond / 1000).rounded(.up)))
    }

    /// Takes one token for `key`, or says how long to wait.
    public func take(_ key: String) -> Decision {
        guard limit.isEnabled else { return .allowed }
        let now = clock.now().milliseconds
        var bucket = refreshed(key, now: now)
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            return .limited(retryAfter: retryAfter(bucket))
        }
        bucket.tokens -= 1
        buckets[key] = bucket
        prune(now: now)
        return .allowed
    }

    /// Whether `key` has a token left, without taking it.
    public func check(_ key: String) -> Decision {
        guard limit.isEnabled else { return .allowed }
        let bucket = refreshed(key, now: clock.now().milliseconds)
        return bucket.tokens >= 1 ? .allowed : .limited(retryAfter: retryAfter(bucket))
    }

    /// Once there are too many keys, drops the buckets that have refilled completely, then the
    /// fullest ones: the addresses that have spent their tokens are the last to be forgotten, so
    /// flooding the limiter with new addresses cannot reset an abuser's bucket.
    func prune(now: Int64) {
        guard buckets.count > maximumKeys else { return }
        var kept = buckets.compactMapValues { bucket -> Bucket? in
            var b = bucket
            b.tokens = min(Double(limit.burst), bucket.tokens + Double(max(0, now - bucket.updated)) * ratePerMillisecond)
            b.updated = now
            return b.tokens < Double(limit.burst) ? b : nil
        }
        let target = maximumKeys * 9 / 10
        if kept.count > target {
            let fullestFirst = kept.sorted { $0.value.tokens > $1.value.tokens }
            for (key, _) in fullestFirst.prefix(kept.count - target) { kept[key] = nil }
        }
        buckets = kept
    }
}
