@testable import RegistrarCore
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("parses every JSON type and keeps integers apart from fractions")
    func parsesTypes() throws {
        let value = try JSONParser.parse(Array(#"{"a":[1,-2.5,true,false,null,"x\u00e9\n"],"b":{"c":1e2}}"#.utf8))
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o["a"] == .array([.int(1), .double(-2.5), .bool(true), .bool(false), .null, .string("xé\n")]))
        #expect(o["b"] == .object(JSONObject([("c", .double(100))])))
    }

    @Test("decodes surrogate pairs and refuses unpaired surrogates")
    func surrogates() throws {
        #expect(try JSONParser.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("😀"))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(#""\ud83d""#.utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(#""\ude00x""#.utf8)) }
    }

    @Test("refuses malformed documents", arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "{\"a\" 1}", "01", "1.", "-", "+1", "1e", ".5",
        "tru", "nul", "\"unterminated", "\"bad \\x escape\"", "\"tab\tinside\"", "[1] [2]", "{\"a\":1}}", "NaN",
        "{\"a\":1,\"a\":2}",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test("refuses invalid UTF-8 inside strings")
    func invalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        // The same with an escape before or after the bad bytes (strings with escapes are decoded
        // on another path than strings without).
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x5C, 0x6E, 0x22]) }
    }

    @Test("strings with and without escapes, in names and values, decode the same way")
    func stringPaths() throws {
        let value = try JSONParser.parse(Array(#"{"plain":"https://a.example/cb","esc\"aped":"a\/b\u00e9\n","é":"ü"}"#.utf8))
        #expect(value == .object(JSONObject([("plain", .string("https://a.example/cb")), ("esc\"aped", .string("a/bé\n")), ("é", .string("ü"))])))
        for bad in [#""unterminated"#, #""unterminated\n"#, "\"tab\there\"", "\"esc\\n then tab\t\""] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(bad.utf8)) }
        }
    }

    @Test("limits nesting depth instead of exhausting the stack")
    func depth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        _ = try JSONParser.parse(Array(fine.utf8))
    }

    @Test("integers: summed directly up to 18 digits, through Int64 beyond, fractions past Int64's range")
    func integers() throws {
        let cases: [(String, JSONValue)] = [
            ("0", .int(0)), ("-0", .int(0)), ("7", .int(7)), ("-42", .int(-42)),
            ("1795820596772", .int(1_795_820_596_772)),
            ("999999999999999999", .int(999_999_999_999_999_999)), ("-999999999999999999", .int(-999_999_999_999_999_999)),
            ("9223372036854775807", .int(Int64.max)), ("-9223372036854775808", .int(Int64.min)),
            ("9223372036854775808", .double(9_223_372_036_854_775_808)), ("12.0", .double(12)), ("3e2", .double(300)),
        ]
        for (text, expected) in cases {
            #expect(try JSONParser.parse(Array(text.utf8)) == expected, "\(text)")
        }
    }

    @Test("finds a duplicate among members of the same length, in small and in indexed objects")
    func duplicateAmongMany() {
        for count in [3, 30] {
            let members = (0..<count).map { #""m\#(10 + $0)":\#($0)"# }
            let text = "{" + members.joined(separator: ",") + #","m11":"again"}"#
            do {
                _ = try JSONParser.parse(Array(text.utf8))
                Issue.record("accepted a duplicate member among \(count)")
            } catch {
                #expect(error.reason.contains("duplicate member \"m11\""))
            }
            let distinct = "{" + members.joined(separator: ",") + "}"
            guard case .object(let object)? = try? JSONParser.parse(Array(distinct.utf8)) else {
                Issue.record("refused \(count) distinct members"); continue
            }
            #expect(object.count == count && object["m11"] == .int(1) && object["m\(9 + count)"] == .int(Int64(count - 1)))
        }
    }

    @Test("names a duplicate member")
    func duplicate() {
        do {
            _ = try JSONParser.parse(Array(#"{"scope":"a","scope":"b"}"#.utf8))
            Issue.record("accepted a duplicate member")
        } catch {
            #expect(error.reason.contains("duplicate member \"scope\""))
        }
    }

    @Test("writes members in order, leaves slashes alone and escapes control characters")
    func writer() {
        let object = JSONObject([("z", .string("https://a/b")), ("a", .string("q\"\\\u{01}é")), ("n", .int(-3)), ("d", .double(2.5))])
        #expect(JSONWriter.string(.object(object)) == #"{"z":"https://a/b","a":"q\"\\\u0001é","n":-3,"d":2.5}"#)
    }

    @Test("escapes at the start, the end and side by side, and copies the runs between them unchanged")
    func writerRuns() throws {
        #expect(JSONWriter.string(.string("\"a\"")) == #""\"a\"""#)
        #expect(JSONWriter.string(.string("\n\t\r\u{7f}\u{00}")) == #""\n\t\r\u007f\u0000""#)
        #expect(JSONWriter.string(.string("")) == #""""#)
        #expect(JSONWriter.string(.string("plain/run-é€")) == #""plain/run-é€""#)
        // Every byte below 0x80, alone and between runs, survives a round trip.
        for scalar in 0..<0x80 {
            let character = String(UnicodeScalar(UInt8(scalar)))
            for text in [character, "ab" + character, character + "cd", "é" + character + character + "x"] {
                #expect(try JSONParser.parse(JSONWriter.bytes(.string(text))) == .string(text))
            }
        }
    }

    @Test("an object keeps its order, replaces and removes members by name, small or large, and compares regardless of order")
    func objectMembers() throws {
        for size in [3, JSONObject.indexedFrom, JSONObject.indexedFrom + 1, 60] {
            var object = JSONObject()
            for i in 0..<size { object["m\(i)"] = .int(Int64(i)) }
            #expect(object.count == size)
            #expect(object.keys == (0..<size).map { "m\($0)" })
            object["m1"] = .string("replaced")
            #expect(object["m1"] == .string("replaced") && object.count == size && object.keys[1] == "m1")
            object["m0"] = nil
            #expect(object["m0"] == nil && object.count == size - 1 && object.keys.first == "m1")
            // Every remaining member is still found after the removal shifted the others.
            for i in 1..<size { #expect(object["m\(i)"] != nil) }
            object["m0"] = .null
            #expect(object.keys.last == "m0" && object["m0"] == .null)
            let reversed = JSONObject(object.members.reversed().map { ($0.key, $0.value) })
            #expect(reversed == object)
            var different = reversed
            different["m2"] = .int(-1)
            #expect(different != object)
            different["m2"] = nil
            #expect(different != object)
        }
    }

    @Test("round-trips what it writes")
    func roundTrip() throws {
        let value = JSONValue.object(JSONObject([("k", .array([.string("€ \u{7f}"), .int(Int64.max), .null, .bool(true)]))]))
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
    }
}
