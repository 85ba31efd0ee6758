import Foundation
import Logging
import RegistrarCore
@testable import RegistrarSQL
@testable import RegistrarSQLite
import RegistrarTesting
import SQLKit
import SQLiteKit
import Synchronization
import Testing

/// The folder that holds this test process's database files; removed when the process exits.
let testDatabaseRoot: String = {
    atexit { try? FileManager.default.removeItem(atPath: testDatabaseRootPath()) }
    return testDatabaseRootPath()
}()

private func testDatabaseRootPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("registrar-tests-\(getpid())").path
}

/// A fresh database file in a folder of its own (under ``testDatabaseRoot``) that does not exist yet.
func temporaryDatabasePath() -> String {
    URL(fileURLWithPath: testDatabaseRoot).appendingPathComponent("\(UUID().uuidString)/nested/db.sqlite").path
}

/// A new database file migrated up to `version` only, open on a plain connection, for tests of the
/// later upgrades.
func databaseAtVersion(_ version: Int) async throws -> (path: String, connection: SQLiteConnection) {
    let path = temporaryDatabasePath()
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: testLogger)
    _ = try await SQLMigrator(migrations: SQLiteMigrations.all.filter { $0.version <= version }, begin: "BEGIN IMMEDIATE")
        .migrate(on: connection.sql(), now: 1_700_000_000_000, logger: testLogger)
    return (path, connection)
}

let testLogger = Logger(label: "registrar.tests")

extension SQLiteStore {
    /// The SQL text of a statement built with SQLKit, as this store's dialect spells it.
    func sql(of statement: any SQLExpression) async throws -> String {
        try await store.provider.read { db in
            var serializer = SQLSerializer(database: db)
            statement.serialize(to: &serializer)
            return serializer.sql
        }
    }
}

/// Opens a store on a fresh database file, runs `body`, and closes the store whatever happens.
func withFreshDatabase(readers: Int = 4, durability: SQLiteStore.Durability = .process,
                       _ body: (SQLiteStore) async throws -> Void) async throws {
    let database = try await SQLiteStore.open(path: temporaryDatabasePath(), readers: readers, durability: durability, logger: testLogger)
    do {
        try await body(database)
    } catch {
        await database.close()
        throw error
    }
    await database.close()
}

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("conformance on a real SQLite file", arguments: ClientStoreConformance.cases)
    func conformance(_ check: ClientStoreConformance.Case) async throws {
        try await withFreshDatabase { try await check.run($0.store) }
    }

    @Test("conformance with no reader connections: every read through SQL on the writer, no C-API lookups",
          arguments: ClientStoreConformance.cases)
    func conformanceWithoutReaders(_ check: ClientStoreConformance.Case) async throws {
        try await withFreshDatabase(readers: 0) { database in
            #expect(database.store.provider.clientRows == nil)
            try await check.run(database.store)
        }
    }

    @Test("creates the file and its folder, runs in WAL mode and migrates once")
    func opensAndMigrates() async throws {
        let path = temporaryDatabasePath()
        #expect(!FileManager.default.fileExists(atPath: path))
        let first = try await SQLiteStore.open(path: path, logger: testLogger)
        try await first.store.insert(ClientStoreConformance.sampleClient(id: "kept"))
        #expect(try await first.journalMode() == "wal")
        let versions = try await first.schemaVersions()
        #expect(versions.count >= 5 && versions == Array(1...versions.count), "versions applied once each, in order: \(versions)")
        await first.close()
        #expect(FileManager.default.fileExists(atPath: path))

        let second = try await SQLiteStore.open(path: path, logger: testLogger)
        #expect(try await second.schemaVersions() == versions, "a second start applied something again")
        #expect(try await second.store.client(id: "kept") == ClientStoreConformance.sampleClient(id: "kept"))
        await second.close()
    }

    @Test("the WAL is copied into the database file in the background, not by the writer inside a commit")
    func backgroundCheckpoints() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        func size(_ file: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0 }
        try await Task.sleep(for: .seconds(1))  // the migrations' pages reach the file first
        let before = size(path)
        // Far fewer pages than the writer's own checkpoint threshold.
        for i in 0..<300 { try await database.store.insert(ClientStoreConformance.sampleClient(id: "client-\(i)")) }
        #expect(size(path + "-wal") > 0, "the writes went to the WAL")
        var grown = false
        for _ in 0..<30 where !grown {
            try await Task.sleep(for: .milliseconds(100))
            grown = size(path) > before
        }
        #expect(grown, "no checkpoint reached the database file while the store was open")
        await database.close()
    }

    @Test("keys created on first start are the keys after a restart")
    func keysSurviveRestart() async throws {
        let path = temporaryDatabasePath()
        let first = try await SQLiteStore.open(path: path, logger: testLogger)
        let keys = try await ServerKeys.load(from: first.store, clock: TestClock(), random: SystemRandomSource())
        await first.close()
        let second = try await SQLiteStore.open(path: path, logger: testLogger)
        let again = try await ServerKeys.load(from: second.store, clock: TestClock(), random: SystemRandomSource())
        await second.close()
        #expect(keys.signingKeys.map(\.kid) == again.signingKeys.map(\.kid))
        #expect(keys.jwks == again.jwks)
    }

    @Test("a path that cannot be created is a clear error")
    func unwritablePath() async throws {
        await #expect(throws: StoreError.self) {
            _ = try await SQLiteStore.open(path: "/proc/registrar-cannot-exist/db.sqlite", logger: testLogger)
        }
    }
}

@Suite("SQLite search plan")
struct SQLiteSearchPlanTests {
    @Test("a client search is a prefix query on the FTS5 index, joined to the clients by their search_id, never a scan of every client")
    func plan() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let matches = database.store.provider.clientSearchMatches(kind: .name, prefix: "abc", dynamicOnly: true)
        let plan = try await database.queryPlan(try await database.sql(of: matches))
        await database.close()
        #expect(plan.contains { $0.hasPrefix("SCAN client_search VIRTUAL TABLE INDEX") }, "\(plan)")
        #expect(plan.contains("SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"), "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN c") && !$0.hasPrefix("SCAN client_search") }, "\(plan)")
    }

    @Test("counting dynamically registered clients (caps, metrics) reads one index, not every client's row")
    func countPlan() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        // The statements of SQLClientStore.countDynamic, with their binds written in.
        let total = try await database.queryPlan("""
            SELECT COUNT(*) AS n FROM clients WHERE dynamically_registered = 1 AND COALESCE(expires_at, 9223372036854775807) > 0
            """)
        let perPolicy = try await database.queryPlan("""
            SELECT COUNT(*) AS n FROM clients WHERE dynamically_registered = 1 AND policy = 'anonymous'
            AND COALESCE(expires_at, 9223372036854775807) > 0
            """)
        await database.close()
        #expect(total == ["SEARCH clients USING COVERING INDEX clients_dynamic (dynamically_registered=?)"], "\(total)")
        #expect(perPolicy == ["SEARCH clients USING COVERING INDEX clients_dynamic (dynamically_registered=? AND policy=?)"], "\(perPolicy)")
    }

    @Test("the reaper's deletes seek the expired and the never-used clients by their own indexes, not every dynamic client")
    func reaperPlans() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let statements = SQLClientStore.staleClientStatements(now: Timestamp(milliseconds: 1_700_000_000_000),
                                                              unusedSince: Timestamp(milliseconds: 1_600_000_000_000))
        var sql: [String] = []
        for statement in statements { sql.append(try await database.sql(of: statement)) }
        var plans: [[String]] = []
        for text in sql { plans.append(try await database.queryPlan(text)) }
        await database.close()
        #expect(plans.count == 2)
        #expect(plans.first == ["SEARCH clients USING INDEX clients_expires_at (expires_at>? AND expires_at<?)"], "\(plans)")
        #expect(plans.last == ["SEARCH clients USING INDEX clients_unused (created_at<?)"], "\(plans)")
        // Without the reaper's hint the planner reads every dynamic client through clients_dynamic.
        let unhinted = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let plain = try await unhinted.queryPlan(sql[0].replacingOccurrences(of: "+dynamically_registered", with: "dynamically_registered"))
        await unhinted.close()
        #expect(plain.contains { $0.contains("clients_dynamic") }, "\(plain)")
    }

    @Test("clients have the indexes statements read (not by creation time, not by token digest) and their triggers, after migrations 9 to 11")
    func clientIndexes() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let schema = try await database.store.provider.read { db in
            try await db.raw("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'clients' AND type IN ('index', 'trigger')").all().map {
                (try $0.decode(column: "type", as: String.self), try $0.decode(column: "name", as: String.self),
                 try $0.decode(column: "sql", as: String?.self))
            }
        }
        await database.close()
        let indexes = Set(schema.filter { $0.0 == "index" }.map(\.1))
        #expect(indexes == ["sqlite_autoindex_clients_1", "clients_expires_at", "clients_unused", "clients_dynamic"], "\(indexes)")
        #expect(Set(schema.filter { $0.0 == "trigger" }.map(\.1))
                == ["clients_search_insert", "clients_search_delete", "clients_search_update"])
        // The one automatic index is the primary key's: a client ID, not a token digest.
        let plan = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let byID = try await plan.queryPlan(SQLClientStore.selectByClientID)
        await plan.close()
        #expect(byID == ["SEARCH clients USING INDEX sqlite_autoindex_clients_1 (client_id=?)"], "\(byID)")
    }

    @Test("migrations 10 and 11 rebuild a version 9 table of clients with every row kept, its rowids as search_id, and every client's terms indexed")
    func rebuildKeepsClients() async throws {
        // A version 9 database, written as that version did: its insert trigger only noted the
        // clients as pending for the indexer of that time.
        let (path, old) = try await databaseAtVersion(9)
        let clients = (0..<5).map { ClientStoreConformance.sampleClient(id: "kept-\($0)") }
        try await SQLClientStore.insertRows(clients, into: old.sql())
        try await old.sql().raw("DELETE FROM clients WHERE client_id = 'kept-0'").run()
        try await old.sql().raw("UPDATE clients SET last_used_at = 1800000000000 WHERE client_id = 'kept-1'").run()
        let pending = try await old.sql().raw("SELECT COUNT(*) AS n FROM search_terms_pending").first()?.decode(column: "n", as: Int.self)
        let rowidsBefore = try await old.sql().raw("SELECT rowid AS r, client_id FROM clients ORDER BY client_id").all().map {
            "\(try $0.decode(column: "r", as: Int.self)) \(try $0.decode(column: "client_id", as: String.self))"
        }
        try await old.close()
        #expect(pending == 5 && rowidsBefore.count == 4)

        let upgraded = try await SQLiteStore.open(path: path, logger: testLogger)
        let rowidsAfter = try await upgraded.writer.sql().raw("SELECT search_id AS r, client_id FROM clients ORDER BY client_id").all().map {
            "\(try $0.decode(column: "r", as: Int.self)) \(try $0.decode(column: "client_id", as: String.self))"
        }
        #expect(rowidsAfter == rowidsBefore)
        var expected = Array(clients.dropFirst())
        expected[0].lastUsedAt = Timestamp(milliseconds: 1_800_000_000_000)
        for client in expected { #expect(try await upgraded.store.client(id: client.clientID) == client) }
        let termsAfter = try await SQLiteSearchTermTests.stored(upgraded)
        #expect(termsAfter.terms == Dictionary(uniqueKeysWithValues: expected.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        #expect(termsAfter.orphans == 0)
        let schema = try await upgraded.store.provider.read { db in
            try await db.raw("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'client_search_%'").all().map {
                try $0.decode(column: "type", as: String.self) + " " + $0.decode(column: "name", as: String.self)
            }
        }
        #expect(!schema.contains("index clients_digest_v9") && !schema.contains("index sqlite_autoindex_clients_2"), "\(schema)")
        #expect(!schema.contains("table search_terms_pending") && !schema.contains("table client_search_terms"), "\(schema)")
        #expect(schema.contains("table client_search"), "\(schema)")
        // The triggers work on the rebuilt table: a deleted client takes its terms with it, and a
        // new one (a search_id past the copied ones) is found.
        #expect(try await upgraded.store.delete(id: "kept-2"))
        let added = ClientStoreConformance.sampleClient(id: "added")
        try await upgraded.store.register(added, spendingToken: nil, limits: .none, now: added.createdAt)
        let afterDelete = try await SQLiteSearchTermTests.stored(upgraded)
        let found = try await upgraded.store.searchClients(kind: .name, prefix: "kept-", offset: 0, limit: 10, dynamicOnly: false)
        let foundAdded = try await upgraded.store.searchClients(kind: .name, prefix: "added", offset: 0, limit: 10, dynamicOnly: false)
        await upgraded.close()
        #expect(afterDelete.terms["kept-2"] == nil && afterDelete.terms["added"] == SearchTermScenario.expected(added) && afterDelete.orphans == 0)
        #expect(found.clients.map(\.clientID) == ["kept-1", "kept-3", "kept-4"] && found.total == 3)
        #expect(foundAdded.clients.map(\.clientID) == ["added"])
    }
}

@Suite("SQLite search terms")
struct SQLiteSearchTermTests {
    /// The search index, read straight (FTS5's vocabulary of it): (kind/term) pairs per client ID,
    /// and terms whose document belongs to no client.
    static func stored(_ database: SQLiteStore) async throws -> SearchTermScenario.Stored {
        let db = database.writer.sql()
        try await db.raw("CREATE VIRTUAL TABLE IF NOT EXISTS temp.client_search_vocabulary USING fts5vocab(main, client_search, 'instance')").run()
        var terms: [String: Set<String>] = [:]
        var orphans = 0
        for row in try await db.raw("""
            SELECT v.term AS token, c.client_id AS client_id FROM temp.client_search_vocabulary v LEFT JOIN clients c ON c.search_id = v.doc
            """).all() {
            let token = try row.decode(column: "token", as: String.self)
            guard let id = try row.decode(column: "client_id", as: String?.self) else {
                orphans += 1
                continue
            }
            terms[id, default: []].insert(try term(of: token))
        }
        return (terms, orphans)
    }

    /// "kind/term" from a token: the kind's letter, then the hex digits (either case) of the term's bytes.
    static func term(of token: String) throws -> String {
        let kind = try #require(ClientSearchKind.allCases.first { token.hasPrefix(SearchIndex.letter(of: $0)) }, "token \(token)")
        let digits = Array(token.utf8.dropFirst())
        try #require(digits.count % 2 == 0, "token \(token)")
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            bytes.append(try #require(UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16), "token \(token)"))
        }
        return kind.rawValue + "/" + String(decoding: bytes, as: UTF8.self)
    }

    @Test("the schema's triggers keep the search index in step: registered, inserted, updated, deleted by ID, by the reaper and by another connection")
    func termsFollowClients() async throws {
        try await withFreshDatabase { database in
            // The plain delete goes through a reader connection, not the writer.
            try await SearchTermScenario.run(database.store, stored: { try await Self.stored(database) }, deleteBehindTheStore: { id in
                try await database.store.provider.read { db in try await db.raw("DELETE FROM clients WHERE client_id = \(bind: id)").run() }
            })
        }
    }

    @Test("a term of each kind is found by a search of that kind only, by any prefix of its bytes")
    func kindsApart() async throws {
        try await withFreshDatabase { database in try await SearchTermScenario.runKinds(database.store) }
    }

    @Test("compacting the index after a bulk load merges its segments and changes no search")
    func compacted() async throws {
        try await withFreshDatabase { database in
            for batch in 0..<6 {
                try await database.store.insertMany((0..<40).map { ClientStoreConformance.sampleClient(id: "bulk-\(batch)-\($0)") })
            }
            func leaves() async throws -> Int {
                try await database.writer.sql().raw("SELECT COUNT(*) AS n FROM client_search_data").first()?.decode(column: "n", as: Int.self) ?? -1
            }
            let before = try await Self.stored(database), leavesBefore = try await leaves()
            let foundBefore = try await database.store.searchClients(kind: .name, prefix: "bulk-3", offset: 0, limit: 100, dynamicOnly: false)
            try await database.store.compactSearchIndex()
            let after = try await Self.stored(database), leavesAfter = try await leaves()
            let foundAfter = try await database.store.searchClients(kind: .name, prefix: "bulk-3", offset: 0, limit: 100, dynamicOnly: false)
            #expect(before.terms.count == 240 && after.terms == before.terms && after.orphans == 0)
            #expect(foundBefore.total == 40 && foundAfter == foundBefore)
            #expect(leavesAfter < leavesBefore, "\(leavesBefore) -> \(leavesAfter)")
        }
    }

    @Test("registrations committed together, in one statement, are each indexed with exactly their terms")
    func batchIndexed() async throws {
        try await withFreshDatabase { database in
            let clients = (0..<60).map { ClientStoreConformance.sampleClient(id: "batch-\($0)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask { try await database.store.register(client, spendingToken: nil, limits: .none, now: client.createdAt) }
                }
                try await group.waitForAll()
            }
            let stored = try await Self.stored(database)
            #expect(stored.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
            #expect(stored.orphans == 0)
            let found = try await database.store.searchClients(kind: .name, prefix: "batch-4", offset: 0, limit: 100, dynamicOnly: false)
            #expect(found.clients.map(\.clientID) == ["batch-4"] + (40..<50).map { "batch-\($0)" })
        }
    }

    @Test("a client inserted by another connection is indexed by the schema's trigger; an insert that fails leaves no document")
    func indexedByTheTrigger() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let first = ClientStoreConformance.sampleClient(id: "first")
        try await database.store.register(first, spendingToken: nil, limits: .none, now: first.createdAt)
        let other = try await SQLiteConnection.open(storage: .file(path: path), logger: testLogger)
        let elsewhere = ClientStoreConformance.sampleClient(id: "elsewhere")
        try await SQLClientStore.insertRows([elsewhere], into: other.sql())
        // A batch with a duplicate ID fails as a whole: neither row nor document stays.
        let fresh = ClientStoreConformance.sampleClient(id: "fresh")
        await #expect(throws: (any Error).self) { try await SQLClientStore.insertRows([fresh, first], into: other.sql()) }
        await #expect(throws: StoreError.self) { try await database.store.insert(first) }
        try await other.close()
        let stored = try await Self.stored(database)
        let found = try await database.store.searchClients(kind: .name, prefix: "elsew", offset: 0, limit: 10, dynamicOnly: false)
        await database.close()
        #expect(stored.terms == ["first": SearchTermScenario.expected(first), "elsewhere": SearchTermScenario.expected(elsewhere)])
        #expect(stored.orphans == 0)
        #expect(found.clients == [elsewhere])
    }

    @Test("a client's search document written by Registrar is the text the triggers spelled from its search_terms before migration 12")
    func documentAsSQLSpelledIt() async throws {
        try await withFreshDatabase { database in
            var unusual = ClientStoreConformance.sampleClient(id: "ünïcode-client")
            unusual.metadata.clientName = "Ça, c'est \"un\" nom\tà\u{1F600} 42"
            unusual.metadata.contacts = ["Ops+Tag@Example.ORG", "second@b.example"]
            unusual.metadata.scope = []
            var bare = ClientStoreConformance.sampleClient(id: "bare")
            bare.metadata = ClientMetadata()
            /// The document the SQL of migration 11's triggers spells from the client's search_terms.
            func spelled(_ client: RegisteredClient) async throws -> SQLiteData? {
                try await database.writer.query("SELECT \(SearchIndex.document(of: "?1")) AS d", [.text(SQLClientStore.searchTermsJSON(of: client))])
                    .first?.column("d")
            }
            for client in [ClientStoreConformance.sampleClient(id: "sample"), unusual, bare] {
                let written = SearchIndex.document(for: client)
                if ClientSearchKind.allTerms(of: client).isEmpty {
                    #expect(try await spelled(client) == .null && written == "")
                } else {
                    #expect(try await spelled(client) == .text(written), "\(client.clientID)")
                }
            }
            // One difference: SQL's string functions stopped a term at a NUL character; Registrar
            // writes the whole term. A row is always deleted with the tokens of whichever wrote it
            // (its search_terms until a write replaces them with its search_document).
            let withNUL = ClientStoreConformance.sampleClient(id: "a\u{0}b")
            #expect(SearchIndex.document(for: withNUL).hasPrefix("g610062 "))
            guard case .text(let cut)? = try await spelled(withNUL) else { Issue.record("no document spelled"); return }
            #expect(cut.hasPrefix("g61 "))
        }
    }

    @Test("migration 12: rows written before it keep their terms in search_terms and stay searchable, updatable and deletable; new writes fill search_document only")
    func documentsOfEarlierRows() async throws {
        let (path, old) = try await databaseAtVersion(11)
        let earlier = (0..<4).map { ClientStoreConformance.sampleClient(id: "earlier-\($0)") }
        try await SQLClientStore.insertRows(earlier, into: old.sql())  // search_terms, as version 11 wrote
        try await old.close()

        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let store = database.store
        func columns(_ id: String) async throws -> (terms: Bool, document: Bool) {
            let row = try #require(try await database.writer.query(
                "SELECT search_terms IS NOT NULL AS t, search_document IS NOT NULL AS d FROM clients WHERE client_id = ?", [.text(id)]).first)
            return (row.column("t") == .integer(1), row.column("d") == .integer(1))
        }
        let upgraded = try await SQLiteSearchTermTests.stored(database)
        #expect(upgraded.terms == Dictionary(uniqueKeysWithValues: earlier.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        #expect(try await columns("earlier-0") == (true, false))
        // An earlier row updated: its old tokens (spelled from search_terms) go, its new ones come
        // from search_document, and search_terms is cleared.
        let stored = try #require(try await store.client(id: "earlier-1"))
        var changed = stored
        changed.metadata.clientName = "renamed"
        changed.metadata.redirectURIs = ["https://moved.example/cb"]
        changed.version = stored.version + 1
        #expect(try await store.update(changed, replacing: stored))
        #expect(try await columns("earlier-1") == (false, true))
        // An earlier row deleted, and a new one registered.
        #expect(try await store.delete(id: "earlier-2"))
        let added = ClientStoreConformance.sampleClient(id: "added")
        try await store.register(added, spendingToken: nil, limits: .none, now: added.createdAt)
        #expect(try await columns("added") == (false, true))
        let after = try await SQLiteSearchTermTests.stored(database)
        let renamed = try await store.searchClients(kind: .name, prefix: "renamed", offset: 0, limit: 10, dynamicOnly: false)
        let oldName = try await store.searchClients(kind: .name, prefix: "sample earlier-1", offset: 0, limit: 10, dynamicOnly: false)
        let moved = try await store.searchClients(kind: .redirectUri, prefix: "moved.example", offset: 0, limit: 10, dynamicOnly: false)
        let sample = try await store.searchClients(kind: .name, prefix: "sample", offset: 0, limit: 10, dynamicOnly: false)
        // The index holds exactly the live rows' tokens: merging it checks nothing was deleted
        // with tokens it never had (FTS5 would report a corrupt index).
        try await store.compactSearchIndex()
        let compacted = try await SQLiteSearchTermTests.stored(database)
        await database.close()
        let expected = Dictionary(uniqueKeysWithValues: [earlier[0], changed, earlier[3], added].map { ($0.clientID, SearchTermScenario.expected($0)) })
        #expect(after.terms == expected && after.orphans == 0)
        #expect(compacted.terms == expected && compacted.orphans == 0)
        #expect(renamed.clients.map(\.clientID) == ["earlier-1"] && oldName.total == 0 && moved.clients.map(\.clientID) == ["earlier-1"])
        #expect(sample.clients.map(\.clientID) == ["added", "earlier-0", "earlier-3"])
    }

    @Test("a client's audit events are read through the FTS5 index of client IDs and by rowid, never a walk of every event")
    func auditPlan() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let query = database.store.auditEventsQuery(clientID: "a", since: Timestamp(milliseconds: 0), limit: 10)
        let plan = try await database.queryPlan(try await database.sql(of: query))
        await database.close()
        #expect(plan.contains { $0.hasPrefix("SCAN audit_client_search VIRTUAL TABLE INDEX") }, "\(plan)")
        #expect(plan.contains("SEARCH audit_events USING INTEGER PRIMARY KEY (rowid=?)"), "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN audit_events") || $0.contains("audit_events_time") }, "\(plan)")
    }

    @Test("migration 13: audit events written before it are found by client; the FTS5 index holds exactly the live events' client IDs through appends, purges, an update and compaction")
    func auditClientIndex() async throws {
        let (path, old) = try await databaseAtVersion(12)
        let t0: Int64 = 1_700_000_000_000
        for (offset, clientID) in [("a" as String?), "b", "a", "ü-client", nil].enumerated() {
            _ = try await old.query("INSERT INTO audit_events (time, event, client_id, outcome) VALUES (?, 'read', ?, 'success')",
                                    [.integer(Int(t0) + offset), clientID.map { .text($0) } ?? .null])
        }
        try await old.close()

        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let store = database.store
        /// Each client ID's number of events, as the index holds them and as the table does.
        func indexAndEvents() async throws -> (index: [String: Int], events: [String: Int]) {
            let index = try await database.writer.query("SELECT term, doc FROM temp.audit_vocab").reduce(into: [String: Int]()) {
                $0[$1.column("term")?.string ?? "?"] = $1.column("doc")?.integer
            }
            let events = try await database.writer.query("SELECT client_id FROM audit_events WHERE client_id IS NOT NULL").reduce(into: [String: Int]()) {
                $0[AuditClientIndex.token(of: $1.column("client_id")?.string ?? "?").lowercased(), default: 0] += 1
            }
            return (index, events)
        }
        _ = try await database.writer.query("CREATE VIRTUAL TABLE temp.audit_vocab USING fts5vocab(main, audit_client_search, 'row')")
        func count(_ clientID: String) async throws -> Int { try await store.auditEvents(clientID: clientID, since: nil, limit: 100).count }

        let upgraded = try await indexAndEvents()
        let later = Timestamp(milliseconds: t0 + 10_000)
        try await store.appendAudit(["a", "ab", "", nil, "ü-client", "q\"uote\\d"].map {
            AuditEvent(time: later, kind: .denied, clientID: $0, actorIP: "2001:db8::1", outcome: "failure", detail: "invalid_token \"quoted\"\n")
        })
        let appended = try await indexAndEvents()
        let counts = (a: try await count("a"), b: try await count("b"), ab: try await count("ab"), empty: try await count(""),
                      other: try await count("ü-client"), quoted: try await count("q\"uote\\d"))
        let appendedEvent = try await store.auditEvents(clientID: "q\"uote\\d", since: nil, limit: 1).first
        #expect(try await store.purgeAudit(before: Timestamp(milliseconds: t0 + 2)) == 2)
        let purged = try await indexAndEvents()
        let afterPurge = (a: try await count("a"), b: try await count("b"))
        // Registrar never rewrites an event, but an operator's UPDATE keeps the index in step too.
        _ = try await database.writer.query("UPDATE audit_events SET client_id = 'moved' WHERE client_id = 'ab'")
        let moved = try await indexAndEvents()
        let afterMove = (moved: try await count("moved"), ab: try await count("ab"))
        _ = try await database.writer.query("INSERT INTO audit_client_search (audit_client_search) VALUES ('optimize')")
        _ = try await database.writer.query("INSERT INTO audit_client_search (audit_client_search) VALUES ('integrity-check')")
        let compacted = try await indexAndEvents()
        let schema = try await database.writer.query("SELECT name FROM sqlite_master WHERE tbl_name = 'audit_events' AND type IN ('index', 'trigger')")
            .compactMap { $0.column("name")?.string }
        await database.close()

        #expect(upgraded.events.count == 3 && upgraded.index == upgraded.events, "\(upgraded)")
        #expect(appended.events.count == 6 && appended.index == appended.events, "\(appended)")
        #expect(counts == (a: 3, b: 1, ab: 1, empty: 1, other: 2, quoted: 1))
        // Every column comes back as written, through the JSON of the batch.
        #expect(appendedEvent == AuditEvent(time: later, kind: .denied, clientID: "q\"uote\\d", actorIP: "2001:db8::1", outcome: "failure",
                                            detail: "invalid_token \"quoted\"\n"))
        #expect(afterPurge == (a: 2, b: 0))
        #expect(purged.index == purged.events && purged.events["c62"] == nil, "\(purged)")
        #expect(moved.index == moved.events && afterMove == (moved: 1, ab: 0), "\(moved)")
        #expect(compacted.index == compacted.events, "\(compacted)")
        #expect(Set(schema) == ["audit_events_time", "audit_events_search_insert", "audit_events_search_delete", "audit_events_search_update"],
                "\(schema)")
    }

    @Test("clients registered before search terms existed (version 4) get their documents at the upgrade, in search_document")
    func upgradeFromVersion4() async throws {
        let (path, old) = try await databaseAtVersion(4)
        let clients = (0..<3).map { ClientStoreConformance.sampleClient(id: "v4-\($0)") }
        for client in clients { try await SearchTermScenario.insertRowWithoutTerms(client, into: old.sql()) }
        try await old.close()

        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let stored = try await Self.stored(database)
        let columns = try await database.writer.query(
            "SELECT count(*) AS n FROM clients WHERE search_document IS NOT NULL AND search_terms IS NULL").first?.column("n")
        let found = try await database.store.searchClients(kind: .contacts, prefix: "ops@app", offset: 0, limit: 10, dynamicOnly: false)
        #expect(try await database.store.delete(id: "v4-1"))
        let afterDelete = try await Self.stored(database)
        await database.close()
        #expect(stored.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        #expect(stored.orphans == 0 && columns == .integer(3))
        #expect(found.clients.map(\.clientID) == ["v4-0", "v4-1", "v4-2"])
        #expect(Set(afterDelete.terms.keys) == ["v4-0", "v4-2"] && afterDelete.orphans == 0)
    }

    @Test("a database of an early layout (version 6) keeps its search terms through the upgrades, and the old tables are gone")
    func upgradeFromVersion6() async throws {
        let (path, old) = try await databaseAtVersion(6)
        let db = old.sql()
        let clients = (0..<3).map { ClientStoreConformance.sampleClient(id: "old-\($0)") }
        for client in clients { try await SearchTermScenario.insertAsVersion6(client, into: db) }
        try await old.close()

        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let upgraded = try await Self.stored(database)
        #expect(upgraded.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        let found = try await database.store.searchClients(kind: .name, prefix: "old-1", offset: 0, limit: 10, dynamicOnly: false)
        #expect(found.clients.map(\.clientID) == ["old-1"])
        #expect(try await database.store.delete(id: "old-1"))
        let counts = try await Self.stored(database)
        let schema = try await database.store.provider.read { db in
            try await db.raw("SELECT name FROM sqlite_master WHERE name IN ('client_search_terms', 'client_search')").all().map {
                try $0.decode(column: "name", as: String.self)
            }
        }
        await database.close()
        #expect(Set(counts.terms.keys) == ["old-0", "old-2"] && counts.orphans == 0)
        #expect(schema == ["client_search"], "\(schema)")
    }
}

@Suite("SQLite checkpoint pacing")
struct SQLiteCheckpointPacingTests {
    @Test("checkpoints pace themselves: idle when the WAL is unchanged, every 80 ms under writes, every 5 ms near the writer's backstop")
    func pacing() {
        let backstop = SQLiteStore.checkpointPages, near = backstop - SQLiteStore.closeToBackstop
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: 500, copied: 500), previous: nil) == SQLiteStore.checkpointEvery)
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: 900, copied: 900), previous: (frames: 500, copied: 500)) == .milliseconds(80))
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: 900, copied: 900), previous: (frames: 900, copied: 900)) == SQLiteStore.idleCheckpointEvery)
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: near - 1, copied: near - 1), previous: nil) == .milliseconds(80))
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: near, copied: near), previous: nil) == .milliseconds(5))
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: backstop + 10, copied: backstop), previous: (frames: near, copied: near)) == .milliseconds(5))
        // An idle server near the backstop still sleeps: nothing is being written.
        #expect(SQLiteStore.pauseAfterCheckpoint((frames: near, copied: near), previous: (frames: near, copied: near)) == .milliseconds(500))
    }
}

/// How reads are dealt to the reader connections.
@Suite("SQLite readers")
struct SQLiteReaderTests {
    @Test("a long read does not hold up the reads that arrive while it runs")
    func longReadDoesNotBlock() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        try await database.store.insert(ClientStoreConformance.sampleClient(id: "quick"))
        let provider = database.store.provider
        let finished = Mutex(false)
        // A statement that keeps its connection busy for a second or more (an administrator's
        // search, the count of a million clients).
        let slow = Task {
            let n = try await provider.read { db in
                try await db.raw("""
                    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) SELECT count(*) AS n FROM c
                    """).first()?.decode(column: "n", as: Int.self)
            }
            finished.withLock { $0 = true }
            return n
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!finished.withLock { $0 }, "the slow statement was not slow enough for this test")
        // Twelve reads, more than the readers: with round-robin dealing, some would wait for the
        // slow statement's connection.
        for _ in 0..<12 {
            #expect(try await database.store.client(id: "quick")?.clientID == "quick")
        }
        #expect(!finished.withLock { $0 }, "the quick reads waited for the slow one")
        #expect(try await slow.value == 4_000_000)
        await database.close()
    }

    #if os(Linux)
    @Test("counts for the metrics run on a thread of lower priority than the requests' reads")
    func backgroundReadsRunNiced() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        try await database.store.insert(ClientStoreConformance.sampleClient(id: "counted"))
        #expect(try await database.store.countDynamicClients(policy: nil) == 1)
        // A function that SQLite calls on the thread running the statement: that thread's nice
        // value (field 19 of /proc/thread-self/stat).
        let niceness = SQLiteCustomFunction("thread_nice", argumentCount: 0) { _ in
            let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            return Int(fields[16])
        }
        try await database.background.install(customFunction: niceness)
        for reader in database.readers { try await reader.install(customFunction: niceness) }
        let provider = database.store.provider
        let query: @Sendable (any SQLDatabase) async throws -> Int? = { db in
            try await db.raw("SELECT thread_nice() AS n").first()?.decode(column: "n", as: Int.self)
        }
        let background = try await provider.backgroundRead(query)
        let request = try await provider.read(query)
        await database.close()
        let requestNice = try #require(request), backgroundNice = try #require(background)
        #expect(backgroundNice == min(requestNice + 10, 19),
                "the background connection's statements ran at nice \(backgroundNice), a request's at \(requestNice)")
    }
    #endif

    @Test("reads go to the least busy reader, and idle readers take turns")
    func readerLoad() {
        let load = ReaderLoad(count: 3)
        let first = load.acquire(), second = load.acquire(), third = load.acquire()
        #expect(Set([first, second, third]) == [0, 1, 2], "idle readers are each used once")
        load.release(second)
        #expect(load.acquire() == second, "the one reader without a read in progress")
        load.release(first)
        load.release(second)
        load.release(third)
        #expect(load.inFlight == [0, 0, 0])
    }
}

/// Single-client reads through the store's direct path (SQLite's C API), beside SQLKit's path.
@Suite("SQLite direct client reads")
struct SQLiteDirectReadTests {
    @Test("single-client reads without SQLKit return what SQLKit's path returns, and a damaged row is a clear error")
    func directReads() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        var client = ClientStoreConformance.sampleClient(id: "direct")
        client.expiresAt = Timestamp(milliseconds: 1_900_000_000_000)
        client.secretDigest = nil
        try await database.store.insert(client)
        try await database.store.recordUse(["direct": Timestamp(milliseconds: 1_800_000_000_000)])
        client.lastUsedAt = Timestamp(milliseconds: 1_800_000_000_000)

        let rows = try #require(database.store.provider.clientRows)
        // The lookup goes through the direct path and agrees with a read through SQLKit.
        let direct = try #require(try await rows.row(clientID: "direct"))
        #expect(direct.clientID == "direct")
        #expect(try direct.row.client(id: "direct") == client)
        let viaSQLKit = try await database.writer.sql().raw(
            "SELECT \(unsafeRaw: SQLClientStore.columns) FROM clients WHERE client_id = 'direct'").first()
        #expect(try SQLClientStore.rowValues(#require(viaSQLKit)).1 == direct.row)
        #expect(try await rows.row(clientID: "absent") == nil)
        #expect(try await database.store.client(id: "direct") == client)

        // A value of the wrong type (written by hand, say) is reported, not misread.
        _ = try await database.writer.query("UPDATE clients SET created_at = 'yesterday' WHERE client_id = 'direct'", [])
        await #expect(throws: StoreError.self) { try await database.store.client(id: "direct") }
        await database.close()
    }
}

@Suite("SQLite lookups through the C API")
struct SQLiteDirectConnectionTests {
    @Test("lookups on the calling thread see every commit, hold no snapshot between them, and give way to the thread-pool readers")
    func directConnections() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let direct = try #require(database.direct)
        #expect(database.store.provider.clientRows as? DirectClientReader === direct)
        var client = ClientStoreConformance.sampleClient(id: "seen")
        try await database.store.insert(client)

        // A commit is visible to the next lookup, which found the client with no thread hop.
        #expect(try await direct.row(clientID: "seen")?.row.version == 1)
        var changed = client
        changed.metadata.clientName = "changed"
        changed.version = 2
        #expect(try await database.store.update(changed, replacing: client))
        client = changed
        #expect(try await database.store.client(id: "seen") == client)

        // An empty key is a text of no bytes, not NULL: nothing matches it, and nothing fails.
        #expect(try await direct.row(clientID: "") == nil)

        // Many lookups at once open connections as needed, within the limit.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    let found = try await direct.row(clientID: "seen")
                    #expect(found?.clientID == "seen")
                }
            }
            try await group.waitForAll()
        }
        #expect(direct.openConnections >= 1 && direct.openConnections <= direct.limit)

        // No connection keeps a read transaction open after its lookup: a TRUNCATE checkpoint,
        // which must wait for every reader's snapshot, empties the WAL entirely. (The store's own
        // passive checkpoints are stopped first: one running at that moment, slowed by the other
        // tests' fsyncs, would make it busy too.)
        database.checkpoints.cancel()
        await database.checkpoints.value
        for i in 0..<20 {
            try await database.store.insert(ClientStoreConformance.sampleClient(id: "more-\(i)"))
            _ = try await direct.row(clientID: "more-\(i)")
        }
        let checkpoint = try #require(try await database.writer.query("PRAGMA wal_checkpoint(TRUNCATE)", []).first)
        #expect(checkpoint.column("busy")?.integer == 0)
        #expect(checkpoint.column("log")?.integer == 0)

        // With no connection to have, lookups go to the thread-pool readers and answer the same.
        let fallbackOnly = try DirectClientReader(path: path, connections: 0, limit: 0, fallback: direct.fallback)
        let viaFallback = try await fallbackOnly.row(clientID: "seen")
        let viaDirect = try await direct.row(clientID: "seen")
        #expect(viaFallback != nil && viaFallback?.row == viaDirect?.row)
        #expect(fallbackOnly.openConnections == 0)
        // After close, too (the store closes its direct connections first).
        direct.close()
        #expect(direct.openConnections == 0)
        #expect(try await database.store.client(id: "seen") == client)
        await database.close()
    }

    @Test("revoked access tokens are looked up on the direct connections and on the thread-pool readers alike, holding no snapshot")
    func revocations() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        let direct = try #require(database.direct)
        let later = Timestamp(milliseconds: SystemWallClock().now().milliseconds + 3_600_000)
        try await database.store.revokeAccessToken(jti: "revoked-1", expiresAt: later)
        let fallbackOnly = try DirectClientReader(path: path, connections: 0, limit: 0, fallback: direct.fallback)
        for reader in [direct, fallbackOnly] {
            #expect(try await reader.isAccessTokenRevoked(jti: "revoked-1"))
            #expect(try await !reader.isAccessTokenRevoked(jti: "never-revoked"))
            #expect(try await !reader.isAccessTokenRevoked(jti: ""))
        }
        #expect(try await database.store.isAccessTokenRevoked(jti: "revoked-1"))
        // A revocation made after earlier lookups is seen by the next one.
        #expect(try await !direct.isAccessTokenRevoked(jti: "revoked-2"))
        try await database.store.revokeAccessToken(jti: "revoked-2", expiresAt: later)
        #expect(try await direct.isAccessTokenRevoked(jti: "revoked-2"))
        // No lookup keeps a read transaction open (see directConnections).
        database.checkpoints.cancel()
        await database.checkpoints.value
        let checkpoint = try #require(try await database.writer.query("PRAGMA wal_checkpoint(TRUNCATE)", []).first)
        #expect(checkpoint.column("busy")?.integer == 0 && checkpoint.column("log")?.integer == 0)
        await database.close()
    }

    @Test("a direct connection opens only an existing, migrated database, and creates no file")
    func openOnlyExisting() async throws {
        let path = temporaryDatabasePath()
        #expect(throws: StoreError.self) { try DirectConnection(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        await database.close()
        _ = try DirectConnection(path: path)
    }
}

/// The cache of decoded clients in front of the single-client lookups.
@Suite("Decoded-client cache")
struct DecodedClientCacheTests {
    @Test("a client decoded once is reused only while its stored row is unchanged, whoever changed it")
    func decodedClientsFollowTheRow() async throws {
        let path = temporaryDatabasePath()
        let database = try await SQLiteStore.open(path: path, logger: testLogger)
        // A second store on the same file stands for another process (the command line tool).
        let other = try await SQLiteStore.open(path: path, logger: testLogger)
        let original = ClientStoreConformance.sampleClient(id: "cached")
        try await database.store.insert(original)
        #expect(try await database.store.client(id: "cached") == original)
        #expect(database.store.decoded.count == 1)
        #expect(try await database.store.client(id: "cached") == original)

        // A change of the document made elsewhere is seen at the next read.
        var renamed = original
        renamed.metadata.clientName = "renamed elsewhere"
        renamed.version = 2
        #expect(try await other.store.update(renamed, replacing: original))
        #expect(try await database.store.client(id: "cached")?.metadata.clientName == "renamed elsewhere")

        // So is a change of a column alone (last use, written in batches).
        let used = Timestamp(milliseconds: 1_800_000_000_000)
        try await other.store.recordUse(["cached": used])
        #expect(try await database.store.client(id: "cached")?.lastUsedAt == used)

        // And a deletion.
        #expect(try await other.store.delete(id: "cached"))
        #expect(try await database.store.client(id: "cached") == nil)
        await other.close()
        await database.close()
    }

    /// The stored values of a client with no lifetime and no recorded use.
    static func row(of client: RegisteredClient) -> DecodedClientCache.Row {
        DecodedClientCache.Row(
            document: client.document, createdAt: client.createdAt.milliseconds, updatedAt: client.updatedAt.milliseconds,
            secretDigest: client.secretDigest, registrationTokenDigest: client.registrationTokenDigest, version: client.version,
            policy: client.policy, dynamicallyRegistered: client.dynamicallyRegistered, expiresAt: nil, lastUsedAt: nil)
    }

    @Test("the decoded-client cache stays within its capacity and returns what decoding returns")
    func decodedClientCacheBound() throws {
        let cache = DecodedClientCache(capacity: 3)
        for i in 0..<10 {
            let client = ClientStoreConformance.sampleClient(id: "c\(i)")
            let row = Self.row(of: client)
            #expect(try cache.client(id: client.clientID, row: row) == client)
            #expect(try cache.client(id: client.clientID, row: row) == client)
            var changed = row
            changed.version += 1
            #expect(try cache.client(id: client.clientID, row: changed).version == client.version + 1)
            #expect(cache.count <= 3)
        }
        // A client read again with an unchanged row is a hit, and stays one entry.
        let hot = ClientStoreConformance.sampleClient(id: "hot")
        let row = Self.row(of: hot)
        let large = DecodedClientCache(capacity: 64)
        #expect(try large.client(id: "hot", row: row) == hot)
        #expect(try large.client(id: "hot", row: row) == hot)
        #expect(large.count == 1)
        // Another client never gets the hot one's entry, even when it takes over the slot, and a
        // row that cannot be decoded is an error, never a cached client.
        for i in 0..<200 {
            var other = row
            other.document = "{}"
            #expect(throws: StoreError.self) { try large.client(id: "other-\(i)", row: other) }
        }
        #expect(try large.client(id: "hot", row: row) == hot)
        #expect(large.count <= 64)
    }
}
