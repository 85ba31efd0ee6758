/// Durations written for people: `90s`, `15m`, `12h`, `7d`, `2w`, or a bare number of seconds; at
/// most 100 years, so that no arithmetic on them can overflow.
public enum DurationText {
    /// The longest duration accepted, in seconds.
    public static let maximum: Int64 = 100 * 365 * 86_400

    /// The number of seconds, or `nil` if the text is not a duration (or is longer than 100 years).
    public static func seconds(_ text: String) -> Int64? {
        guard let value = parse(text), value <= maximum else { return nil }
        return value
    }

    static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let unit = units[last] {
            guard let value = Int64(trimmed.dropLast()), value >= 0 else { return nil }
            return value.multipliedReportingOverflow(by: unit).overflow ? nil : value * unit
        }
        guard let value = Int64(trimmed), value >= 0 else { return nil }
        return value
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}
