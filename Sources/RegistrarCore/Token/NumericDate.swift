/// RFC 7519 §2's NumericDate, as clients and directories write it: seconds since the epoch, a JSON
/// number that may have a fraction (some JWT libraries write `iat` and `exp` with one).
enum NumericDate {
    /// The whole seconds of `value`, a fraction rounded by `rule` (towards the earlier time for an
    /// expiry, the later for a start, so that the fraction never lengthens a validity); a number
    /// beyond 64 bits saturates. `nil` for anything but a number.
    static func seconds(_ value: JSONValue, rounding rule: FloatingPointRoundingRule) -> Int64? {
        switch value {
        case .int(let seconds): return seconds
        case .double(let seconds) where seconds.isFinite:
            let whole = seconds.rounded(rule)
            if whole >= 9.2e18 { return .max }
            if whole <= -9.2e18 { return .min }
            return Int64(whole)
        default: return nil
        }
    }
}
