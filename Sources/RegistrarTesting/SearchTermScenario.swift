public import RegistrarCore
public import SQLKit

/// One scenario for the SQL stores' search-term triggers: clients come in by registration and by
/// plain insert, one is updated (new name and contact), and clients go by ID, by the reaper and by
/// a statement the store did not write. After each step the search index must hold exactly each
/// remaining client's terms (``expected(_:)``) and nothing for clients that are gone.
public enum SearchTermScenario {
    /// What a store's search index holds: (kind/term) pairs per client ID, and the number of
    /// terms whose client no longer exists.
    public typealias Stored = (terms: [String: Set<String>], orphans: Int)

    /// Reads PostgreSQL's terms table through `db`.
    public static func stored(in db: any SQLDatabase) async throws -> Stored {
        var terms: [String: Set<String>] = [:]
        for row in try await db.raw("SELECT client_id, kind, term FROM client_search_terms").all() {
            terms[try row.decode(column: "client_id", as: String.self), default: []]
                .insert(try row.decode(column: "kind", as: String.self) + "/" + row.decode(column: "term", as: String.self))
        }
        let orphans = try await db.raw("""
            SELECT COUNT(*) AS n FROM client_search_terms WHERE client_id NOT IN (SELECT client_id FROM clients)
            """).first()?.decode(column: "n", as: Int.self) ?? -1
        return (terms, orphans)
    }

    /// A client's terms, as "kind/term".
    public static func expected(_ client: RegisteredClient) -> Set<String> {
        Set(ClientSearchKind.allTerms(of: client).map { $0.0.rawValue + "/" + $0.1 })
    }

    /// Runs the scenario; `stored` reads the terms table, `deleteBehindTheStore` deletes the client
    /// with this ID with plain SQL on a connection of the test's choosing. Throws
    /// ``ClientStoreConformance/Failure`` at the first difference.
    public static func run(_ store: any ClientStore, stored: () async throws -> Stored,
                           deleteBehindTheStore: (String) async throws -> Void) async throws {
        func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            try ClientStoreConformance.expect(condition, message())
        }
        var expiring = ClientStoreConformance.sampleClient(id: "expiring")
        expiring.expiresAt = Timestamp(milliseconds: 1_700_000_500_000)
        var unused = ClientStoreConformance.sampleClient(id: "unused", createdAt: 1_600_000_000_000)
        unused.expiresAt = nil
        let kept = ClientStoreConformance.sampleClient(id: "kept")
        // Both ways in: a registration (the stores' batched statements) and a plain insert.
        for client in [kept, expiring] { try await store.register(client, spendingToken: nil, limits: .none, now: client.createdAt) }
        // A name with a tab, a quote, a backslash and non-ASCII letters: the terms are stored as
        // "kind<TAB>term" in a JSON array, which the indexer and the triggers split and unescape.
        var odd = ClientStoreConformance.sampleClient(id: "deleted")
        odd.metadata.clientName = "Tab\there \"quoted\" back\\slash Ünïcödé"
        try await store.insert(odd)
        try await store.insert(ClientStoreConformance.sampleClient(id: "elsewhere"))
        try await store.insert(unused)
        let before = try await stored()
        try expect(before.terms.count == 5 && before.terms["kept"] == expected(kept), "terms after the inserts: \(before.terms)")
        try expect(expected(odd).contains("name/tab\there \"quoted\" back\\slash ünïcödé") && before.terms["deleted"] == expected(odd),
                   "terms of a name with a tab, quotes, a backslash and non-ASCII: \(before.terms["deleted"] ?? [])")
        for prefix in ["tab\there \"q", "ünï"] {
            let found = try await store.searchClients(kind: .name, prefix: prefix, offset: 0, limit: 10, dynamicOnly: false)
            try expect(found.clients.map(\.clientID) == ["deleted"], "search for \(prefix): \(found.clients.map(\.clientID))")
        }

        // An update: the old name's words and the old contact go, the new ones come.
        var renamed = kept
        renamed.metadata.clientName = "Renamed Widget"
        renamed.metadata.contacts = ["admin@other.example"]
        renamed.version += 1
        try expect(try await store.update(renamed, replacing: kept), "the update was not stored")
        let updated = try await stored().terms["kept"]
        try expect(updated == expected(renamed), "terms after the update: \(updated ?? [])")
        let found = try await store.searchClients(kind: .name, prefix: "widg", offset: 0, limit: 10, dynamicOnly: false)
        try expect(found.clients.map(\.clientID) == ["kept"], "search for the new name: \(found.clients.map(\.clientID))")
        let contacts = try await store.searchClients(kind: .contacts, prefix: "app.example", offset: 0, limit: 10, dynamicOnly: false)
        try expect(contacts.total == 4, "search for the old contact's domain: \(contacts.total)")

        try expect(try await store.delete(id: "deleted"), "delete by ID")
        let reaped = try await store.deleteStaleClients(now: Timestamp(milliseconds: 1_700_001_000_000),
                                                        unusedSince: Timestamp(milliseconds: 1_650_000_000_000))
        try expect(reaped == 2, "the reaper deleted \(reaped)")
        try await deleteBehindTheStore("elsewhere")
        let after = try await stored()
        try expect(after.terms == ["kept": expected(renamed)], "terms at the end: \(after.terms)")
        try expect(after.orphans == 0, "\(after.orphans) terms of deleted clients")
    }
}

extension SearchTermScenario {
    /// A term of each kind is found by a search of that kind only, by any prefix of its bytes, and
    /// the empty prefix finds every client with a term of the kind. Throws
    /// ``ClientStoreConformance/Failure`` at the first difference.
    public static func runKinds(_ store: any ClientStore) async throws {
        var client = ClientStoreConformance.sampleClient(id: "kinds")
        client.metadata.clientName = "Zebra"
        client.metadata.contacts = ["zed@zoo.example"]
        client.metadata.scope = ["zscope"]
        client.metadata.redirectURIs = ["https://zz.example/cb"]
        try await store.register(client, spendingToken: nil, limits: .none, now: client.createdAt)
        try await store.register(ClientStoreConformance.sampleClient(id: "other"), spendingToken: nil, limits: .none, now: client.createdAt)
        let probes: [(ClientSearchKind, String)] = [(.name, "zeb"), (.contacts, "zoo.ex"), (.scope, "zsc"), (.redirectUri, "zz.ex"),
                                                    (.redirectUri, "https://zz"), (.name, "kin"), (.name, "ZEBR")]
        for (kind, prefix) in probes {
            for other in ClientSearchKind.allCases {
                let found = try await store.searchClients(kind: other, prefix: prefix, offset: 0, limit: 10, dynamicOnly: false)
                try ClientStoreConformance.expect(found.clients.map(\.clientID) == (other == kind ? ["kinds"] : []),
                                                  "search of \(other) for \(prefix): \(found.clients.map(\.clientID))")
            }
        }
        // A grant type every sample client has; the empty prefix of a kind.
        let grants = try await store.searchClients(kind: .grantType, prefix: "authorization_c", offset: 0, limit: 10, dynamicOnly: false)
        let everyName = try await store.searchClients(kind: .name, prefix: "", offset: 0, limit: 10, dynamicOnly: false)
        try ClientStoreConformance.expect(grants.total == 2 && everyName.total == 2, "grant types \(grants.total), every name \(everyName.total)")
    }

    /// Writes a client the way schema version 6 stored it: the row without `search_terms`, and its
    /// terms as rows of their own (for tests of the upgrade to version 7).
    public static func insertAsVersion6(_ client: RegisteredClient, into db: any SQLDatabase) async throws {
        try await insertRowWithoutTerms(client, into: db)
        for (kind, term) in ClientSearchKind.allTerms(of: client) {
            try await db.raw("INSERT INTO client_search_terms (client_id, kind, term) VALUES (\(bind: client.clientID), \(bind: kind.rawValue), \(bind: term))").run()
        }
    }

    /// Writes a client's row with the columns of schema versions 3 to 6, without search terms.
    public static func insertRowWithoutTerms(_ client: RegisteredClient, into db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO clients (client_id, document, created_at, updated_at, secret_digest, registration_token_digest, version,
                                 policy, dynamically_registered, expires_at, last_used_at)
            VALUES (\(bind: client.clientID), \(bind: client.document), \(bind: client.createdAt.milliseconds),
                    \(bind: client.updatedAt.milliseconds), \(bind: client.secretDigest), \(bind: client.registrationTokenDigest),
                    \(bind: client.version), \(bind: client.policy), \(bind: client.dynamicallyRegistered ? 1 : 0),
                    \(bind: client.expiresAt?.milliseconds), \(bind: client.lastUsedAt?.milliseconds))
            """).run()
    }
}
