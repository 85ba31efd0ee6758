@testable import RegistrarCore
import Testing

@Suite("Client search terms")
struct ClientSearchTests {
    static func client() -> RegisteredClient {
        var metadata = ClientMetadata()
        metadata.clientName = "another-example-client"
        metadata.redirectURIs = ["https://another.client.example/oidc", "https://another.client.example/oidc/2"]
        metadata.contacts = ["test@iam.test"]
        metadata.scope = ["openid", "offline_access", "email", "e"]
        metadata.grantTypes = [.authorizationCode, .refreshToken]
        return RegisteredClient(clientID: "0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c", metadata: metadata,
                                createdAt: Timestamp(milliseconds: 1_700_000_000_000))
    }

    @Test("a term that begins another term of the same kind is left out; the others stay")
    func redundantPrefixes() {
        let client = Self.client()
        #expect(ClientSearchKind.name.terms(of: client) == ["0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c", "another-example-client", "example", "client"])
        #expect(ClientSearchKind.redirectUri.terms(of: client) == ["another.client.example", "https://another.client.example/oidc/2"])
        #expect(ClientSearchKind.scope.terms(of: client) == ["openid", "offline_access", "email"])
        #expect(ClientSearchKind.contacts.terms(of: client) == ["test@iam.test", "iam.test"])
        // Only within a kind: `e` of the scopes does not remove anything else's terms.
        #expect(ClientSearchKind.allTerms(of: client).count == 4 + 2 + 3 + 2 + 2)
    }

    @Test("every prefix of every word, name, URI, host, contact, domain, scope and grant still finds the client")
    func sameSearches() async throws {
        let client = Self.client()
        let store = InMemoryClientStore()
        try await store.insert(client)
        let words: [(ClientSearchKind, String)] = [
            (.name, "another"), (.name, "another-example-client"), (.name, "example"), (.name, "client"),
            (.name, client.clientID), (.redirectUri, "https://another.client.example/oidc"),
            (.redirectUri, "another.client.example"), (.scope, "offline_access"), (.scope, "e"), (.scope, "email"),
            (.contacts, "iam.test"), (.grantType, "refresh_token"),
        ]
        for (kind, word) in words {
            for length in 1...word.count {
                let prefix = String(word.prefix(length))
                let found = await store.searchClients(kind: kind, prefix: prefix.uppercased(), offset: 0, limit: 10, dynamicOnly: false)
                #expect(found.clients.map(\.clientID) == [client.clientID], "\(kind) \(prefix)")
            }
        }
        // And what matched nothing before still matches nothing.
        #expect(await store.searchClients(kind: .name, prefix: "exampl-", offset: 0, limit: 10, dynamicOnly: false).total == 0)
        #expect(await store.searchClients(kind: .scope, prefix: "address", offset: 0, limit: 10, dynamicOnly: false).total == 0)
    }

    @Test("a name's words: split on bytes when ASCII, exactly as by Character properties", arguments: [
        "another-example-client", "My App 2.0", "  leading and trailing  ", "tabs\tand\r\nnewlines", "a_b.c/d@e:f",
        "x", "", "---", "v1.2.3-rc4", "CamelCase42Words",
    ])
    func asciiWords(_ name: String) {
        #expect(ClientSearchKind.words(of: name) == name.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
    }

    @Test("a name that is not ASCII is split by Character properties")
    func unicodeWords() {
        #expect(ClientSearchKind.words(of: "Café Crème-Ünï 二〇二六 ٣") == ["Café", "Crème", "Ünï", "二〇二六", "٣"])
        #expect(ClientSearchKind.words(of: "e\u{301}cole x") == ["e\u{301}cole", "x"])
    }

    @Test("thousands of words in tagged names: each term once, in the order found, at most maximumTerms of a kind")
    func manyTerms() {
        var client = Self.client()
        // 40 tagged names of 50 distinct words each (2,000 words), and every word again in the next name.
        for tag in 0..<40 {
            let words = (0..<50).map { "w\(tag * 50 + $0)x" } + (tag > 0 ? ["w\((tag - 1) * 50)x"] : [])
            client.metadata.localized["client_name#x-\(tag)"] = words.joined(separator: " ")
        }
        let terms = ClientSearchKind.name.terms(of: client)
        #expect(terms.count == ClientSearchKind.maximumTerms)
        #expect(Set(terms).count == terms.count, "a term twice")
        // The client ID and the untagged name's terms come first, whatever the tagged names hold.
        #expect(Array(terms.prefix(2)) == ["0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c", "another-example-client"])
        // A few repeats below the bound, where the list itself is searched: still once each.
        var small = Self.client()
        small.metadata.localized["client_name#fr"] = "client example client Example another"
        #expect(ClientSearchKind.name.terms(of: small) == ["0190c6a2-7d1e-7c3a-9b1f-2f6d8e4a1b2c", "another-example-client", "example",
                                                          "client example client example another"])
        // The tagged names in the order of their tags, whatever the dictionary's order.
        #expect(terms[5] == (0..<50).map { "w\($0)x" }.joined(separator: " "))
    }

    @Test("past the bound, terms are kept as they are")
    func boundedPruning() {
        let many = (0..<(ClientSearchKind.pruneLimit + 1)).map { "t\($0)" }
        #expect(ClientSearchKind.withoutRedundantPrefixes(many) == many)
        #expect(ClientSearchKind.withoutRedundantPrefixes(["t1", "t10", "t2"]) == ["t10", "t2"])
    }

    @Test("terms are lower-cased as String.lowercased() does, ASCII or not", arguments: [
        "already-lower", "MixedCase-Name", "ALLCAPS", "digits 0123 and @._-", "", "Zürich ÉCOLE", "ΣΊΣΥΦΟΣ", "İstanbul", "ǅ",
    ])
    func lowercasing(_ term: String) {
        #expect(ClientSearchKind.lowercased(term) == term.lowercased())
    }

    @Test("a contact's domain: what follows its last @, found the same way for ASCII and other contacts")
    func contactDomains() {
        #expect(ClientSearchKind.domain(of: "test@iam.test") == "iam.test")
        #expect(ClientSearchKind.domain(of: "a@b@example.org") == "example.org")
        #expect(ClientSearchKind.domain(of: "no-at-sign") == nil)
        #expect(ClientSearchKind.domain(of: "trailing@") == "")
        #expect(ClientSearchKind.domain(of: "jörg@exämple.de") == "exämple.de")
        // Not ASCII: an @ followed by a combining mark is another Character, not an @.
        #expect(ClientSearchKind.domain(of: "ü@x.de@\u{301}y") == "x.de@\u{301}y")
        var metadata = ClientMetadata()
        metadata.contacts = ["Ops@Example.ORG", "ops@example.org", "other@EXAMPLE.org"]
        let client = RegisteredClient(clientID: "c", metadata: metadata, createdAt: Timestamp(milliseconds: 0))
        #expect(ClientSearchKind.contacts.terms(of: client) == ["ops@example.org", "example.org", "other@example.org"])
    }

    @Test("a prefix match compares bytes, as the stores' ranges do")
    func prefixMatches() {
        #expect(ClientSearchKind.matches("another-example-client", prefix: "another"))
        #expect(ClientSearchKind.matches("another", prefix: "another"))
        #expect(ClientSearchKind.matches("x", prefix: ""))
        #expect(!ClientSearchKind.matches("another", prefix: "another-example"))
        #expect(!ClientSearchKind.matches("anothex", prefix: "another"))
        // Bytes, not Characters: e + a combining accent begins with e.
        #expect(ClientSearchKind.matches("e\u{301}cole", prefix: "e"))
        #expect(!ClientSearchKind.matches("\u{E9}cole", prefix: "e"))
    }
}
