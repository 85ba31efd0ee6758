/// What the client search looks in (INDIGO IAM's `searchType`), and the terms a client is found by.
///
/// Search is by prefix on terms kept in an indexed table, never a scan of every client: a client's
/// name is found by any of its words (or the whole name, or its client ID), a contact by the address
/// or its domain, a redirect URI by the URI or its host, a scope or grant type by its value. Terms
/// are lower-cased; the search text is too. A prefix matches a term when the term's UTF-8 bytes
/// start with the prefix's (the stores compare terms as bytes).
public enum ClientSearchKind: String, Sendable, CaseIterable {
    case name, contacts, scope, grantType, redirectUri

    /// Most terms of one kind a client is indexed under, the first ones found: the client ID, the
    /// name and its words, then the tagged names and theirs. A body of 64 KiB can name some 15,000
    /// distinct words in tagged names; a client is not found by the words past this bound.
    public static let maximumTerms = 256

    /// The terms of a client for this kind.
    public func terms(of client: RegisteredClient) -> [String] {
        let m = client.metadata
        // Linear in the terms (searching the list for each term took 0.5 s for 14,592 words in
        // tagged names).
        var out = UniqueValues<String>()
        func add(_ term: String) {
            guard out.count < Self.maximumTerms else { return }
            let t = Self.lowercased(term)
            guard !t.isEmpty, t.utf8.count <= 512 else { return }
            out.append(t)
        }
        func addName(_ name: String) {
            add(name)
            for word in Self.words(of: name) { add(word) }
        }
        switch self {
        case .name:
            add(client.clientID)
            if let name = m.clientName { addName(name) }
            if !m.localized.isEmpty {
                // In the order of their tags, so that the terms kept under the bound are always the same.
                for (key, name) in m.localized.sorted(by: { $0.key < $1.key }) where key.hasPrefix("client_name#") { addName(name) }
            }
        case .contacts:
            for contact in m.contacts {
                add(contact)
                if let domain = Self.domain(of: contact) { add(domain) }
            }
        case .scope:
            for scope in m.scope ?? [] { add(scope) }
        case .grantType:
            for grant in m.grantTypes ?? [] { add(grant.rawValue) }
        case .redirectUri:
            for uri in m.redirectURIs {
                add(uri)
                if let host = URIReference(uri)?.host, !host.isEmpty { add(host) }
            }
        }
        return Self.withoutRedundantPrefixes(out.values)
    }

    /// `term` lower-cased; an ASCII term without upper-case letters (most terms) is returned as it
    /// is, without the copy `lowercased()` makes.
    static func lowercased(_ term: String) -> String {
        var upper = false
        for byte in term.utf8 {
            if byte >= 0x80 { return term.lowercased() }
            if byte &- UInt8(ascii: "A") < 26 { upper = true }
        }
        return upper ? term.lowercased() : term
    }

    /// What follows the last `@` of a contact (its domain), or `nil` without one. Found among the
    /// bytes of an ASCII contact; among the Characters of any other (an `@` followed by a
    /// combining mark is not one).
    static func domain(of contact: String) -> String? {
        if contact.utf8.allSatisfy({ $0 < 0x80 }) {
            guard let at = contact.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
            return String(contact[contact.utf8.index(after: at)...])
        }
        guard let at = contact.lastIndex(of: "@") else { return nil }
        return String(contact[contact.index(after: at)...])
    }

    /// The words of a name: its runs of letters and digits. An ASCII name is split on its bytes
    /// (its letters and digits are exactly `A-Z`, `a-z` and `0-9`); any other by Character
    /// properties, which cost a Unicode table lookup per Character.
    static func words(of name: String) -> [String] {
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            return name.utf8.split { !URIReference.isAlpha($0) && !URIReference.isDigit($0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        return name.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    /// Most terms pruned at once (a bound on the pairs compared; past it, every term is kept).
    static let pruneLimit = 64

    /// The terms without those that begin another term of the list: every prefix that matches such
    /// a term matches the longer one too, so the client is found by exactly the same searches with
    /// one entry fewer in the index for each (the first word of a name is usually one: `another`
    /// of `another-example-client`).
    static func withoutRedundantPrefixes(_ terms: [String]) -> [String] {
        guard terms.count > 1, terms.count <= pruneLimit else { return terms }
        return terms.filter { term in
            !terms.contains { other in other.utf8.count > term.utf8.count && matches(other, prefix: term) }
        }
    }

    /// Whether `term` is found by a search for `prefix` (both lower-cased): a byte prefix, as the
    /// stores' range on the term key compares.
    public static func matches(_ term: String, prefix: String) -> Bool {
        let compared = term.utf8.withContiguousStorageIfAvailable { t in
            prefix.utf8.withContiguousStorageIfAvailable { p in
                p.count <= t.count && UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(t)[..<p.count]).elementsEqual(UnsafeRawBufferPointer(p))
            }
        }
        if let compared, let compared { return compared }
        return term.utf8.starts(with: prefix.utf8)
    }

    /// Every (kind, term) pair of a client.
    public static func allTerms(of client: RegisteredClient) -> [(ClientSearchKind, String)] {
        var out: [(ClientSearchKind, String)] = []
        out.reserveCapacity(24)
        for kind in allCases {
            for term in kind.terms(of: client) { out.append((kind, term)) }
        }
        return out
    }
}

/// A page of clients.
public struct ClientPage: Sendable, Equatable {
    /// The clients on this page.
    public var clients: [RegisteredClient]
    /// How many match in all.
    public var total: Int
    public init(clients: [RegisteredClient], total: Int) {
        self.clients = clients
        self.total = total
    }
}
