/// What the client search looks in (INDIGO IAM's `searchType`), and the terms a client is found by.
///
/// Search is by prefix on terms kept in an indexed table, never a scan of every client: a client's
/// name is found by any of its words (or the whole name, or its client ID), a contact by the address
/// or its domain, a redirect URI by the URI or its host, a scope or grant type by its value. Terms
/// are lower-cased; the search text is too. A prefix matches a term when the term's UTF-8 bytes
/// start with the prefix's (the stores compare terms as bytes).
public enum ClientSearchKind: String, Sendable, CaseIterable {
    case name, contacts, scope, grantType, redirectUri

    /// The terms of a client for this kind.
    public func terms(of client: RegisteredClient) -> [String] {
        let m = client.metadata
        var out: [String] = []
        func add(_ term: String) {
            let t = term.lowercased()
            if !t.isEmpty, t.utf8.count <= 512, !out.contains(t) { out.append(t) }
        }
        switch self {
        case .name:
            add(client.clientID)
            for name in [m.clientName].compactMap({ $0 }) + m.localized.filter({ $0.key.hasPrefix("client_name#") }).map(\.value) {
                add(name)
                for word in Self.words(of: name) { add(word) }
            }
        case .contacts:
            for contact in m.contacts {
                add(contact)
                if let at = contact.lastIndex(of: "@") { add(String(contact[contact.index(after: at)...])) }
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
        return Self.withoutRedundantPrefixes(out)
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
        term.utf8.starts(with: prefix.utf8)
    }

    /// Every (kind, term) pair of a client.
    public static func allTerms(of client: RegisteredClient) -> [(ClientSearchKind, String)] {
        allCases.flatMap { kind in kind.terms(of: client).map { (kind, $0) } }
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
