/// Why a body could not be parsed as JSON, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let reason: String
    /// The byte offset in the input.
    public let offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 JSON parser.
///
/// - Strings must be valid UTF-8; escapes must be well formed (unpaired surrogates are refused).
/// - An object with the same member twice is refused (RFC 8259 §4 leaves it undefined; a request
///   that says two things at once is rejected instead of guessed at).
/// - Nesting is limited (``maximumDepth``) so that a hostile body cannot exhaust the stack.
public struct JSONParser: Sendable {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// Parses a complete JSON text.
    /// Parses a complete JSON text nested at most `maximumDepth` levels (a stored client's document
    /// holds a request's metadata a level deeper than the request did).
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = maximumDepth) throws(JSONParseError) -> JSONValue {
        let array = Array(bytes)
        var parser = Cursor(bytes: array, maximumDepth: maximumDepth)
        return try parser.parseDocument()
    }

    private struct Cursor {
        let bytes: [UInt8]
        let maximumDepth: Int
        var index = 0

        init(bytes: [UInt8], maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        func fail(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: index) }

        mutating func parseDocument() throws(JSONParseError) -> JSONValue {
            // Tolerate a UTF-8 byte order mark (RFC 8259 §8.1 allows parsers to ignore it).
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
            guard index < bytes.count else { throw fail("empty body") }
            let value = try parseValue(depth: 0)
            skipWhitespace()
            guard index == bytes.count else { throw fail("unexpected content after the JSON value") }
            return value
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard index < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("invalid literal") }
            let ok = literal.withUTF8Buffer { buffer in
                for i in 0..<count where bytes[index + i] != buffer[i] { return false }
                return true
            }
            guard ok else { throw fail("invalid literal") }
            index += count
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth) levels") }
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            // Room for most objects without regrowing (a growth is an allocation and a copy).
            object.reserveCapacity(8)
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let keyOffset = index
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                guard object.insertIfAbsent(key, value) else {
                    throw JSONParseError(reason: "duplicate member \"\(Self.printable(key))\"", offset: keyOffset)
                }
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth) levels") }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw fail("expected ',' or ']'")
            }
        }

        mutating func parseString() throws(JSONParseError) -> String {
            index += 1  // opening quote
            var start = index
            // Most strings (member names, URIs, tokens) have no escape: made straight from the bytes.
            var high: UInt8 = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let end = index
                    index += 1
                    let string = bytes.withUnsafeBufferPointer { all in
                        let run = UnsafeBufferPointer(rebasing: all[start..<end])
                        // ASCII is valid UTF-8 as it is: `String(decoding:)` only repairs what is
                        // not, and it is specialized, where `String(validating:)` instantiates
                        // generic metadata at run time on every call (a tenth of parsing a client).
                        return high < 0x80 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
                    }
                    guard let string else { throw fail("string is not valid UTF-8") }
                    return string
                }
                if byte < 0x20 || byte == UInt8(ascii: "\\") { break }
                high |= byte
                index += 1
            }
            // With escapes (or malformed): decoded into a buffer.
            var scalars: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    scalars.append(contentsOf: bytes[start..<index])
                    index += 1
                    break
                }
                if byte < 0x20 { throw fail("control character in string") }
                if byte == UInt8(ascii: "\\") {
                    scalars.append(contentsOf: bytes[start..<index])
                    index += 1
                    try parseEscape(into: &scalars)
                    start = index
                    continue
                }
                index += 1
            }
            guard let string = String(validating: scalars, as: UTF8.self) else {
                throw fail("string is not valid UTF-8")
            }
            return string
        }

        mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
            guard index < bytes.count else { throw fail("unterminated escape") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("invalid escape")
            }
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("invalid \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("invalid \\u escape")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func parseNumber() throws(JSONParseError) -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { throw fail("invalid number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            } else {
                throw fail("invalid number")
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                let digits = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digits else { throw fail("invalid number") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                let digits = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digits else { throw fail("invalid number") }
            }
            // Integers of up to 18 digits (timestamps, lifetimes) cannot overflow: summed directly.
            let negative = bytes[start] == UInt8(ascii: "-")
            let digitsStart = negative ? start + 1 : start
            if isInteger, index - digitsStart <= 18 {
                var value: Int64 = 0
                for i in digitsStart..<index { value = value * 10 + Int64(bytes[i] - UInt8(ascii: "0")) }
                return .int(negative ? -value : value)
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let value = Int64(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { throw JSONParseError(reason: "number out of range", offset: start) }
            return .double(value)
        }

        static func printable(_ key: String) -> String {
            String(key.unicodeScalars.prefix(64).map { $0.value < 0x20 || $0 == "\"" ? "?" : Character($0) })
        }
    }
}
