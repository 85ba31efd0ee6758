/// A failure of a store, as the service sees it.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database cannot be reached or is overloaded; the request may succeed later (503).
    case unavailable(String)
    /// A stored record cannot be read back; an internal error (500).
    case corrupt(String)
    /// A record with the same key already exists.
    case duplicate(String)
    /// The initial access token is revoked, expired, used up or unknown.
    case tokenUnusable
    /// Registering would pass a cap on the number of clients (the named scope: `all` or a policy).
    case limitReached(String)

    public var description: String {
        switch self {
        case .unavailable(let detail): return "store unavailable: \(detail)"
        case .corrupt(let detail): return "corrupt record: \(detail)"
        case .duplicate(let detail): return "duplicate record: \(detail)"
        case .tokenUnusable: return "initial access token unusable"
        case .limitReached(let scope): return "client limit reached (\(scope))"
        }
    }
}
