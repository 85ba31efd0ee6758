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

/// A fresh database file in its own temporary folder.
func temporaryDatabasePath() -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("registrar-tests-\(UUID().uuidString)")
    return folder.appendingPathComponent("nested/db.sqlite").path
}

let testLogger = Logger(label: "registrar.tests")

/// Opens a store on a fresh database file, runs `body`, and closes the store whatever happens.
func withFreshDatabase(_ body: (SQLiteStore) async throws -> Void) async throws {
    let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
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
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), readers: 0, logger: testLogger)
        #expect(database.store.provider.clientRows == nil)
        do {
            try await check.run(database.store)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
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
    @Test("a client search seeks the term index instead of scanning every client")
    func plan() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let plan = try await database.queryPlan("""
            SELECT DISTINCT t.client_id FROM client_search_terms t JOIN clients c ON c.client_id = t.client_id
            WHERE t.kind = 'name' AND t.term >= 'abc' AND t.term < 'abc\u{10FFFF}'
            """)
        await database.close()
        #expect(plan.contains { $0.contains("SEARCH t USING") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN c") || $0.hasPrefix("SCAN clients") }, "\(plan)")
    }

    @Test("the triggers find a client's search terms by their key, never by a scan of every term")
    func termTriggerPlans() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let json = "'[\"name\\tabc\", \"scope\\topenid\"]'"
        let delete = try await database.queryPlan("""
            DELETE FROM client_search_terms WHERE (kind, term, client_id) IN (
                SELECT \(SearchTermTriggers.kind), \(SearchTermTriggers.term), 'c1' FROM json_each(\(json)))
            """)
        await database.close()
        #expect(delete.first == "SEARCH client_search_terms USING PRIMARY KEY (kind=? AND term=? AND client_id=?)", "\(delete)")
        #expect(!delete.contains { $0.hasPrefix("SCAN client_search_terms") }, "\(delete)")
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
        let sql = try await database.store.provider.read { db in
            statements.map { statement in
                var serializer = SQLSerializer(database: db)
                statement.serialize(to: &serializer)
                return serializer.sql
            }
        }
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

    @Test("clients have the indexes statements read (not by creation time, not by token digest) and their triggers, after migrations 9 and 10")
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
                == ["clients_search_terms_insert", "clients_search_terms_delete", "clients_search_terms_update"])
        // The one automatic index is the primary key's: a client ID, not a token digest.
        let plan = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let byID = try await plan.queryPlan(SQLClientStore.selectByClientID)
        await plan.close()
        #expect(byID == ["SEARCH clients USING INDEX sqlite_autoindex_clients_1 (client_id=?)"], "\(byID)")
    }

    @Test("migration 10 rebuilds a version 9 table of clients with every row, rowid and search term kept")
    func rebuildKeepsClients() async throws {
        let path = temporaryDatabasePath()
        let old = try await SQLiteStore.open(path: path, logger: testLogger)
        let clients = (0..<5).map { ClientStoreConformance.sampleClient(id: "kept-\($0)") }
        for client in clients { try await old.store.insert(client) }
        try await old.store.recordUse(["kept-1": Timestamp(milliseconds: 1_800_000_000_000)])
        // Back to version 9: the table with the digest's unique index, as that version had it.
        try await old.writer.sql().raw("DROP TABLE IF EXISTS clients_v9").run()
        for statement in [
            "CREATE TABLE clients_v9 AS SELECT rowid AS r, * FROM clients",
            "DELETE FROM clients",
            "CREATE UNIQUE INDEX clients_digest_v9 ON clients (registration_token_digest)",
            "INSERT INTO clients (rowid, client_id, document, created_at, updated_at, secret_digest, registration_token_digest, version, policy, dynamically_registered, expires_at, last_used_at, search_terms) SELECT r, client_id, document, created_at, updated_at, secret_digest, registration_token_digest, version, policy, dynamically_registered, expires_at, last_used_at, search_terms FROM clients_v9",
            "DROP TABLE clients_v9",
            "DELETE FROM schema_migrations WHERE version = 10",
        ] { try await old.writer.sql().raw(SQLQueryString(statement)).run() }
        let rowidsBefore = try await old.writer.sql().raw("SELECT rowid AS r, client_id FROM clients ORDER BY client_id").all().map {
            "\(try $0.decode(column: "r", as: Int.self)) \(try $0.decode(column: "client_id", as: String.self))"
        }
        await old.close()

        let upgraded = try await SQLiteStore.open(path: path, logger: testLogger)
        let rowidsAfter = try await upgraded.writer.sql().raw("SELECT rowid AS r, client_id FROM clients ORDER BY client_id").all().map {
            "\(try $0.decode(column: "r", as: Int.self)) \(try $0.decode(column: "client_id", as: String.self))"
        }
        #expect(rowidsAfter == rowidsBefore)
        var expected = clients
        expected[1].lastUsedAt = Timestamp(milliseconds: 1_800_000_000_000)
        for client in expected { #expect(try await upgraded.store.client(id: client.clientID) == client) }
        // (The step back to version 9 deleted and inserted the rows: their terms were indexed again at open.)
        let termsAfter = try await SQLiteSearchTermTests.stored(upgraded)
        #expect(termsAfter.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        #expect(termsAfter.orphans == 0)
        let indexes = try await upgraded.store.provider.read { db in
            try await db.raw("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'clients'").all().map {
                try $0.decode(column: "name", as: String.self)
            }
        }
        #expect(!indexes.contains("clients_digest_v9") && !indexes.contains("sqlite_autoindex_clients_2"), "\(indexes)")
        // The triggers work on the rebuilt table: a deleted client takes its terms with it.
        #expect(try await upgraded.store.delete(id: "kept-2"))
        let afterDelete = try await SQLiteSearchTermTests.stored(upgraded)
        #expect(afterDelete.terms["kept-2"] == nil && afterDelete.orphans == 0)
        await upgraded.close()
    }
}

@Suite("SQLite search terms")
struct SQLiteSearchTermTests {
    /// The terms table, read straight: (kind/term) pairs per client ID, and terms whose client is gone.
    static func stored(_ database: SQLiteStore) async throws -> SearchTermScenario.Stored {
        try await database.store.provider.read { try await SearchTermScenario.stored(in: $0) }
    }

    @Test("the schema's triggers keep the search terms in step: registered, inserted, updated, deleted by ID, by the reaper and by another connection")
    func termsFollowClients() async throws {
        try await withFreshDatabase { database in
            // The plain delete goes through a reader connection, not the writer.
            // New clients' terms are indexed after their commit: the scenario reads the terms table
            // once they are (the tests below show the pending state itself).
            try await SearchTermScenario.run(database.store, stored: {
                try await database.store.provider.indexPendingSearchTerms()
                return try await Self.stored(database)
            }, deleteBehindTheStore: { id in
                try await database.store.provider.read { db in try await db.raw("DELETE FROM clients WHERE client_id = \(bind: id)").run() }
            })
        }
    }

    /// The clients noted for the indexer and not indexed yet.
    static func pending(_ database: SQLiteStore) async throws -> [String] {
        try await database.store.provider.read { db in
            try await db.raw("SELECT client_id FROM search_terms_pending ORDER BY client_id").all().map { try $0.decode(column: "client_id", as: String.self) }
        }
    }

    @Test("a new client's search terms are indexed after its commit, not with it; a search indexes them first and finds the client")
    func indexedAfterCommit() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), searchIndexEvery: .seconds(3600), logger: testLogger)
        let registered = ClientStoreConformance.sampleClient(id: "registered"), inserted = ClientStoreConformance.sampleClient(id: "inserted")
        try await database.store.register(registered, spendingToken: nil, limits: .none, now: registered.createdAt)
        try await database.store.insert(inserted)
        let before = try await Self.stored(database)
        let pendingBefore = try await Self.pending(database)
        let found = try await database.store.searchClients(kind: .name, prefix: "sample", offset: 0, limit: 10, dynamicOnly: false)
        let after = try await Self.stored(database)
        let pendingAfter = try await Self.pending(database)
        await database.close()
        #expect(before.terms.isEmpty && pendingBefore == ["inserted", "registered"], "\(before.terms) \(pendingBefore)")
        #expect(found.clients.map(\.clientID) == ["inserted", "registered"] && found.total == 2)
        #expect(after.terms == ["registered": SearchTermScenario.expected(registered), "inserted": SearchTermScenario.expected(inserted)])
        #expect(pendingAfter.isEmpty)
    }

    @Test("while clients are written, the background task indexes their terms without a search")
    func indexedInTheBackground() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), searchIndexEvery: .milliseconds(20), logger: testLogger)
        let client = ClientStoreConformance.sampleClient(id: "background")
        try await database.store.register(client, spendingToken: nil, limits: .none, now: client.createdAt)
        var terms: Set<String>?
        for _ in 0..<200 where terms == nil {
            terms = try await Self.stored(database).terms["background"]
            if terms == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let pending = try await Self.pending(database)
        await database.close()
        #expect(terms == SearchTermScenario.expected(client))
        #expect(pending.isEmpty)
    }

    @Test("a client updated, deleted, or deleted by another connection before its terms were indexed ends with exactly its current terms")
    func changedWhilePending() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), searchIndexEvery: .seconds(3600), logger: testLogger)
        let kept = ClientStoreConformance.sampleClient(id: "kept")
        for client in [kept, ClientStoreConformance.sampleClient(id: "deleted"), ClientStoreConformance.sampleClient(id: "elsewhere")] {
            try await database.store.register(client, spendingToken: nil, limits: .none, now: client.createdAt)
        }
        var renamed = kept
        renamed.metadata.clientName = "Renamed Gadget"
        renamed.version += 1
        let updated = try await database.store.update(renamed, replacing: kept)
        let deleted = try await database.store.delete(id: "deleted")
        try await database.store.provider.read { db in try await db.raw("DELETE FROM clients WHERE client_id = 'elsewhere'").run() }
        let pendingBefore = try await Self.pending(database)
        try await database.store.provider.indexPendingSearchTerms()
        let after = try await Self.stored(database)
        let pendingAfter = try await Self.pending(database)
        let oldName = try await database.store.searchClients(kind: .name, prefix: "sample", offset: 0, limit: 10, dynamicOnly: false)
        await database.close()
        #expect(updated && deleted)
        #expect(pendingBefore == ["deleted", "elsewhere", "kept"])
        #expect(after.terms == ["kept": SearchTermScenario.expected(renamed)] && after.orphans == 0, "\(after)")
        #expect(pendingAfter.isEmpty && oldName.total == 0)
    }

    @Test("a failed catch-up is retried after half a second, then after twice as long each time, up to 8 s")
    func retryPauses() {
        let every = SQLiteStore.searchIndexEvery
        var pauses: [Duration] = []
        var pause = every
        for _ in 0..<7 {
            pause = SQLiteStore.retryPause(after: pause, every: every)
            pauses.append(pause)
        }
        #expect(pauses == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
    }

    @Test("clients a stopped process left pending (more than one batch of them) are indexed when the database is opened")
    func pendingIndexedAtOpen() async throws {
        let path = temporaryDatabasePath()
        let first = try await SQLiteStore.open(path: path, logger: testLogger)
        await first.close()
        // Another process's writes, which its close never indexed: the trigger notes them only.
        let other = try await SQLiteConnection.open(storage: .file(path: path), logger: testLogger)
        let clients = (0..<(SearchTermIndexer.batch * 2 + 3)).map { ClientStoreConformance.sampleClient(id: "left-\($0)") }
        try await SQLClientStore.insertRows(clients, into: other.sql())
        let left = try await other.sql().raw("SELECT COUNT(*) AS n FROM search_terms_pending").first()?.decode(column: "n", as: Int.self)
        try await other.close()

        let database = try await SQLiteStore.open(path: path, searchIndexEvery: .seconds(3600), logger: testLogger)
        let stored = try await Self.stored(database)
        let pending = try await Self.pending(database)
        await database.close()
        #expect(left == clients.count)
        #expect(stored.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
        #expect(pending.isEmpty)
    }

    @Test("a database of the previous layout (version 6) keeps its search terms through the upgrade, and the old index is gone")
    func upgradeFromVersion6() async throws {
        let path = temporaryDatabasePath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let old = try await SQLiteConnection.open(storage: .file(path: path), logger: testLogger)
        let db = old.sql()
        _ = try await SQLMigrator(migrations: SQLiteMigrations.all.filter { $0.version <= 6 }, begin: "BEGIN IMMEDIATE")
            .migrate(on: db, now: 1_700_000_000_000, logger: testLogger)
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
            try await db.raw("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'client_search_terms'").all().map {
                try $0.decode(column: "name", as: String.self) + ": " + ($0.decode(column: "sql", as: String?.self) ?? "")
            }
        }
        await database.close()
        #expect(Set(counts.terms.keys) == ["old-0", "old-2"] && counts.orphans == 0)
        #expect(schema.count == 1 && schema[0].contains("WITHOUT ROWID"), "\(schema)")
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
