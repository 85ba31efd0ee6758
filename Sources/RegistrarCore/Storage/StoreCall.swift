public import Logging

/// Runs a store call on behalf of a request, turning store failures into what the client should
/// see: an unavailable database is `503 temporarily_unavailable`, anything else `500 server_error`
/// (registration outcomes such as a spent token pass through to their caller).
public func storeCall<T>(_ logger: Logger, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw storeFailure(error, logger)
    }
}

/// What a store's error becomes for the caller, logged: ``storeCall(_:_:)``'s catch, for the hot
/// paths that call the store without a closure (a generic async closure on every request costs
/// more than the call it wraps).
public func storeFailure(_ error: any Error, _ logger: Logger) -> any Error {
    guard let error = error as? StoreError else { return error }
    switch error {
    case .unavailable:
        logger.error("store unavailable", metadata: ["error": .string(error.description)])
        return RegistrarError.temporarilyUnavailable()
    case .tokenUnusable, .limitReached:
        return error
    default:
        logger.error("store failure", metadata: ["error": .string(error.description)])
        return RegistrarError.serverError
    }
}

extension Int64 {
    /// Seconds since the epoch as milliseconds, clamped so that no arithmetic on a value from a
    /// request can overflow (about ±292 million years either way is plenty).
    public var secondsAsMilliseconds: Int64 {
        let bound: Int64 = 9_000_000_000_000  // seconds; ~285,000 years
        return Swift.min(Swift.max(self, -bound), bound) * 1000
    }

    /// This value plus another, saturating instead of overflowing.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// This value minus another, saturating instead of overflowing.
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : difference
    }
}
