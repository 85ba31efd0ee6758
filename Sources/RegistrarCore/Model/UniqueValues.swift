/// Values in the order first seen, each once: the deduplication of lists that come from requests.
///
/// A request may carry thousands of values (up to the 64 KiB body limit, before any count limit
/// applies), so searching the values kept so far for each new one would take quadratic time:
/// 15,000 scope values took 0.5 s of a thread per registration. A short list is searched (no
/// hashing); past 16 values a set finds the repeats.
public struct UniqueValues<Value: Hashable>: Sequence {
    /// The values kept, in order.
    public private(set) var values: [Value] = []
    private var seen: Set<Value> = []

    /// An empty list.
    public init() {}

    /// The number of values kept.
    public var count: Int { values.count }

    /// Appends `value` unless it is already there; returns whether it was appended.
    @discardableResult
    public mutating func append(_ value: Value) -> Bool {
        if values.count < 16 {
            guard !values.contains(value) else { return false }
        } else {
            if seen.isEmpty { seen = Set(values) }
            guard seen.insert(value).inserted else { return false }
        }
        values.append(value)
        return true
    }

    public func makeIterator() -> IndexingIterator<[Value]> { values.makeIterator() }
}
