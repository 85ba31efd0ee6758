/// Finds the members of a JSON object without building its values: the byte ranges of each
/// member's name (quotes included) and value. For documents this server wrote itself (a stored
/// client), whose members a response copies as they are; it checks the structure (strings closed,
/// brackets balanced), not the content, so anything read from outside goes through ``JSONParser``.
enum JSONScanner {
    struct Member {
        /// The name, quotes included.
        let name: Range<Int>
        /// The value.
        let value: Range<Int>

        /// Whether the name is `literal` (an ASCII name without escapes).
        func named(_ literal: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            let count = name.count - 2
            guard count == literal.utf8CodeUnitCount else { return false }
            let start = literal.utf8Start
            for i in 0..<count where bytes[name.lowerBound + 1 + i] != start[i] { return false }
            return true
        }
    }

    /// The members of the object that starts at `start`, or `nil` if there is none there.
    static func members(of bytes: UnsafeBufferPointer<UInt8>, objectAt start: Int) -> [Member]? {
        var i = start
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i = skipSpace(bytes, i + 1)
        var members: [Member] = []
        members.reserveCapacity(16)
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return members }
        while true {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let nameEnd = endOfValue(bytes, at: i) else { return nil }
            let name = i..<nameEnd
            i = skipSpace(bytes, nameEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i = skipSpace(bytes, i + 1)
            guard let valueEnd = endOfValue(bytes, at: i) else { return nil }
            members.append(Member(name: name, value: i..<valueEnd))
            i = skipSpace(bytes, valueEnd)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "}") { return members }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(bytes, i + 1)
        }
    }

    /// The index just past the value that starts at `start`, or `nil` if it does not end.
    static func endOfValue(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        var i = start
        switch bytes[i] {
        case UInt8(ascii: "\""):
            return endOfString(bytes, at: i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = endOfString(bytes, at: i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            // A number or a literal: up to the next delimiter.
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return i > start ? i : nil
                default: i += 1
                }
            }
            return i > start ? i : nil
        }
    }

    /// The index just past the string whose opening quote is at `start`.
    static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var i = start
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        return i
    }
}
