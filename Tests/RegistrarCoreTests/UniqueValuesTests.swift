import RegistrarCore
import Testing

@Suite("Deduplicating request lists")
struct UniqueValuesTests {
    @Test("each value once, in the order first seen, below and beyond the point where a set takes over")
    func order() {
        var list = UniqueValues<String>()
        let values = (0..<40).map { "v\($0)" }
        let appended = values.map { list.append($0) }
        #expect(appended.allSatisfy { $0 })
        // Repeats of values kept before and after the switch to a set.
        for value in ["v0", "v15", "v16", "v39"] {
            let again = list.append(value)
            #expect(!again, "\(value) kept twice")
        }
        let new = list.append("v40")
        #expect(new)
        #expect(list.values == values + ["v40"])
        var short = UniqueValues<String>()
        for value in ["b", "a", "b", "c", "a"] { short.append(value) }
        #expect(short.values == ["b", "a", "c"])
    }

    @Test("metadata lists and scopes of thousands of values keep the first of each, in order")
    func metadata() throws {
        let uris = (0..<3_000).map { JSONValue.string("https://a.example/cb\($0 % 1_000)") }
        let scope = (0..<15_000).map { "s\($0 % 5_000)" }.joined(separator: " ")
        let m = try ClientMetadata(json: JSONObject([("redirect_uris", .array(uris)), ("scope", .string(scope)),
                                                     ("contacts", .array([.string("b@x.example"), .string("a@x.example"), .string("b@x.example")]))]))
        #expect(m.redirectURIs == (0..<1_000).map { "https://a.example/cb\($0)" })
        #expect(m.scope == (0..<5_000).map { "s\($0)" })
        #expect(m.contacts == ["b@x.example", "a@x.example"])
    }
}
