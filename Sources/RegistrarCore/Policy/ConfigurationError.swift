/// A configuration file (or option) that cannot be used, naming the member and the problem.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The member's path, such as `policies.partners.scopes.unknown`.
    public let member: String
    /// What is wrong with it.
    public let problem: String

    /// Creates an error.
    public init(member: String, problem: String) {
        self.member = member
        self.problem = problem
    }

    public var description: String { member.isEmpty ? problem : "\(member): \(problem)" }
}

/// Strict, path-naming reads over a configuration object: every member is checked for its type,
/// and members nobody reads are reported as unknown (a typo should stop start-up, not be ignored).
struct ConfigReader {
    let object: JSONObject
    let path: String
    private(set) var seen: Set<String> = []

    init(_ object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    func member(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func fail(_ name: String, _ problem: String) -> ConfigurationError { ConfigurationError(member: member(name), problem: problem) }

    mutating func value(_ name: String) -> JSONValue? {
        seen.insert(name)
        guard let value = object[name], value != .null else { return nil }
        return value
    }

    mutating func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = value(name) else { return nil }
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: throw fail(name, "must be a string")
        }
    }

    mutating func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let b) = value else { throw fail(name, "must be true or false") }
        return b
    }

    mutating func int(_ name: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(name) else { return nil }
        guard case .int(let i) = value, let n = Int(exactly: i) else { throw fail(name, "must be a whole number") }
        guard range.contains(n) else { throw fail(name, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return n
    }

    /// A duration: `7d`, `12h`, `30m`, `45s`, or a number of seconds. `0` means "none".
    mutating func duration(_ name: String) throws(ConfigurationError) -> Int64? {
        guard let value = value(name) else { return nil }
        let text: String
        switch value {
        case .int(let i): text = String(i)
        case .string(let s): text = s
        default: throw fail(name, "must be a duration such as 30s, 15m, 12h, 7d or a number of seconds")
        }
        guard let seconds = DurationText.seconds(text) else {
            throw fail(name, "must be a duration such as 30s, 15m, 12h, 7d or a number of seconds, of at most 100 years")
        }
        return seconds
    }

    mutating func strings(_ name: String) throws(ConfigurationError) -> [String]? {
        guard let value = value(name) else { return nil }
        guard case .array(let elements) = value else { throw fail(name, "must be a list of strings") }
        var out: [String] = []
        for (i, element) in elements.enumerated() {
            guard case .string(let s) = element, !s.isEmpty else { throw fail("\(name)[\(i)]", "must be a non-empty string") }
            out.append(s)
        }
        return out
    }

    mutating func object(_ name: String) throws(ConfigurationError) -> JSONObject? {
        guard let value = value(name) else { return nil }
        guard case .object(let o) = value else { throw fail(name, "must be a mapping of members") }
        return o
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws(ConfigurationError) -> T? where T.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw fail(name, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// Throws if the object has members nobody read.
    func finish() throws(ConfigurationError) {
        for key in object.keys where !seen.contains(key) {
            throw ConfigurationError(member: member(key), problem: "unknown member (check its spelling against docs/configuration.md)")
        }
    }
}
