/// A JSON value, as parsed from a request body or written into a response.
///
/// Registrar parses request bodies itself (``JSONParser``) rather than through `Codable`, so that
/// every type mismatch can be reported with the name of the member, numbers keep the difference
/// between integers and fractions, and duplicate members are caught.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short name of the JSON type, for error messages ("a string", "an array", ...).
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object that remembers the order of its members (responses list members in a stable,
/// documented order) and looks members up by name.
public struct JSONObject: Sendable, Equatable {
    /// The members in insertion order.
    public private(set) var members: [(key: String, value: JSONValue)] = []
    /// Positions by name, kept only for objects of more than ``indexedFrom`` members: a client's
    /// metadata (a dozen to thirty members) is searched faster by comparing names than by hashing
    /// them, and building the dictionary was a good part of decoding a stored client.
    private var index: [String: Int]?
    static let indexedFrom = 24

    /// An empty object.
    public init() {}

    /// An object with these members, in this order.
    public init(_ pairs: [(String, JSONValue)]) {
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    /// Member names in insertion order.
    public var keys: [String] { members.map(\.key) }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        // Lengths first: a native string knows its UTF-8 length, and most names differ in it, so
        // the scan rarely reaches the slower comparison of contents (decoding a client looks up
        // about 45 names among its members). Names of different lengths are different names, as
        // RFC 8259 compares them (code points); `==` alone would also equate canonically
        // equivalent spellings, which no member Registrar reads has.
        let length = key.utf8.count
        return members.firstIndex { $0.key.utf8.count == length && $0.key == key }
    }

    /// The member with this name; setting `nil` removes it.
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let newValue {
                if let i = position(of: key) {
                    members[i].value = newValue
                } else {
                    appendNew(key, newValue)
                }
            } else if let i = position(of: key) {
                members.remove(at: i)
                if index != nil { reindex() }
            }
        }
    }

    /// Adds a member unless the object has one of that name (one search instead of a lookup
    /// and a set); returns whether it was added.
    mutating func insertIfAbsent(_ key: String, _ value: JSONValue) -> Bool {
        guard position(of: key) == nil else { return false }
        appendNew(key, value)
        return true
    }

    /// Reserves room for `count` members.
    mutating func reserveCapacity(_ count: Int) { members.reserveCapacity(count) }

    private mutating func appendNew(_ key: String, _ value: JSONValue) {
        members.append((key, value))
        if index != nil {
            index![key] = members.count - 1
        } else if members.count > Self.indexedFrom {
            reindex()
        }
    }

    private mutating func reindex() {
        guard members.count > Self.indexedFrom else { index = nil; return }
        var positions: [String: Int] = [:]
        positions.reserveCapacity(members.count)
        for (i, member) in members.enumerated() { positions[member.key] = i }
        index = positions
    }

    /// The number of members.
    public var count: Int { members.count }

    /// Equal when both have the same members with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.members.allSatisfy { rhs[$0.key] == $0.value }
    }
}
