import Foundation
import NIOCore
import RegistrarCore
@testable import RegistrarSQL
@testable import RegistrarSQLite
import RegistrarTesting
import SQLKit
import SQLiteKit
import Synchronization
import Testing

@Suite("SQLite writer connection")
struct WriterConnectionTests {
    @Test("registrations, updates and deletes prepare their statements once, however many run")
    func statementsPreparedOnce() async throws {
        try await withFreshDatabase { database in
            let store = database.store
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            // One round of every kind of write, then the number of statements kept.
            func round(_ n: Int) async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<20 {
                        group.addTask {
                            try await store.register(ClientStoreConformance.sampleClient(id: "c\(n)-\(i)", tokenDigest: "t\(n)-\(i)"),
                                                     spendingToken: nil, limits: .none, now: now)
                        }
                    }
                    try await group.waitForAll()
                }
                for i in 0..<5 {
                    let stored = try #require(try await store.client(id: "c\(n)-\(i)"))
                    var changed = stored
                    changed.metadata.clientName = "renamed \(n)-\(i)"
                    changed.version = stored.version + 1
                    #expect(try await store.update(changed, replacing: stored))
                }
                for i in 5..<8 { #expect(try await store.delete(id: "c\(n)-\(i)")) }
            }
            try await store.register(ClientStoreConformance.sampleClient(id: "alone"), spendingToken: nil, limits: .none, now: now)
            try await round(0)
            let compiled = database.writer.preparations
            #expect(database.writer.preparedStatements > 0)
            for n in 1...3 { try await round(n) }
            // The rounds' batches of registrations may differ in size; each size's insert is
            // compiled once and kept, and nothing else is compiled again.
            let sizes = (1...20).filter { database.writer.isPrepared(ClientInserts.statement(rows: $0)) }
            #expect(database.writer.preparations - compiled <= sizes.count, "statements were compiled again for the same writes")
            // Every size up to the kept limit, twice: compiled the first time only. A larger batch
            // is compiled for itself and not kept.
            func insert(_ sizes: [Int]) async throws {
                for size in sizes {
                    try await database.writer.withHandle { handle in
                        let rows = (0..<size).map { ClientInserts.row(ClientStoreConformance.sampleClient(id: "size-\(size)-\($0)", tokenDigest: "size-\(size)-\($0)")) }
                        try handle.execute("SAVEPOINT sizes")
                        try ClientInserts.run(rows, on: handle)
                        #expect(try handle.execute("SELECT count(*) AS n FROM clients WHERE client_id LIKE 'size-%'").first?.column("n") == .integer(SQLiteInt64(size)))
                        try handle.execute("ROLLBACK TO sizes")
                        try handle.execute("RELEASE sizes")
                    }
                }
            }
            let limit = ClientInserts.keptRows
            try await insert(Array(1...limit))
            let allSizes = database.writer.preparations
            #expect((1...limit).allSatisfy { database.writer.isPrepared(ClientInserts.statement(rows: $0)) })
            try await insert(Array(1...limit))
            #expect(database.writer.preparations == allSizes, "a batch's insert was compiled again")
            try await insert([limit + 1])
            #expect(database.writer.preparations == allSizes + 1)
            #expect(!database.writer.isPrepared(ClientInserts.statement(rows: limit + 1)))
            #expect(try await store.count() == 4 * 17 + 1)
            let renamed = try await store.searchClients(kind: .name, prefix: "renamed", offset: 0, limit: 100, dynamicOnly: false)
            #expect(renamed.total == 4 * 5)
        }
    }

    @Test("values go in and come out as SQLite has them: text (an empty one too), integers, reals, blobs and NULL")
    func values() async throws {
        try await withFreshDatabase { database in
            let blob = ByteBuffer(bytes: [0, 1, 2, 255])
            let binds: [SQLiteData] = [.text(""), .text("é\u{0}x"), .integer(SQLiteInt64(Int64.max)), .float(1.5), .blob(blob), .null]
            let sql = "SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f, typeof(?1) AS empty_type"
            for _ in 0..<2 {  // the second time on the statement kept from the first
                let row = try #require(try await database.writer.query(sql, binds).first)
                #expect(row.allColumns == ["a", "b", "c", "d", "e", "f", "empty_type"])
                #expect(row.values.prefix(6).elementsEqual(binds))
                #expect(row.column("empty_type") == .text("text"))
                #expect(try row.decode(column: "c", as: Int64.self) == Int64.max)
                #expect(try row.decodeNil(column: "f"))
                #expect(try row.decode(column: "a", as: String?.self) == "")
            }
            // Through SQLKit, with its binds encoded: optionals, booleans, integers and strings.
            let none: String? = nil
            let row = try #require(try await database.writer.sql().raw(
                "SELECT \(bind: "x") AS s, \(bind: 7) AS i, \(bind: Int64(8)) AS j, \(bind: true) AS b, \(bind: none) AS n").first())
            #expect(try row.decode(column: "s", as: String.self) == "x")
            #expect(try row.decode(column: "i", as: Int.self) == 7)
            #expect(try row.decode(column: "j", as: Int64.self) == 8)
            #expect(try row.decode(column: "b", as: Bool.self))
            #expect(try row.decodeNil(column: "n"))
        }
    }

    @Test("writes of one statement that arrive together (updates, deletes, audit events, last uses) commit with the registrations of their batch in one trip each")
    func statementsBatched() async throws {
        try await withFreshDatabase { database in
            let store = database.store
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            for i in 0..<30 {
                try await store.register(ClientStoreConformance.sampleClient(id: "s\(i)", tokenDigest: "s\(i)"), spendingToken: nil, limits: .none, now: now)
            }
            let committer = try #require(store.provider as? SQLiteProvider).committer
            let before = (trips: database.writer.trips, here: database.writer.tripsHere, batches: await committer.batches)
            let writes = 10 + 10 + 10 + 5 + 5
            let outcomes = try await withThrowingTaskGroup(of: Bool.self, returning: [Bool].self) { group in
                for i in 0..<10 {
                    group.addTask {
                        try await store.register(ClientStoreConformance.sampleClient(id: "n\(i)", tokenDigest: "n\(i)"),
                                                 spendingToken: nil, limits: .none, now: now)
                        return true
                    }
                    group.addTask {
                        let stored = try #require(try await store.client(id: "s\(i)"))
                        var changed = stored
                        changed.metadata.clientName = "renamed \(i)"
                        changed.version = stored.version + 1
                        return try await store.update(changed, replacing: stored)
                    }
                    group.addTask { try await store.delete(id: "s\(10 + i)") }
                }
                for i in 0..<5 {
                    group.addTask {
                        try await store.appendAudit([AuditEvent(time: now, kind: .read, clientID: "s\(20 + i)", actorIP: "127.0.0.1")])
                        return true
                    }
                    group.addTask {
                        try await store.recordUse(["s\(25 + i)": now])
                        return true
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == writes && outcomes.allSatisfy { $0 })
            // One trip for each batch, run on the committer's thread (the default durability does
            // not sync on commit). Through SQLKit every statement was a trip of its own to SQLite's
            // thread, besides BEGIN and COMMIT (33-35 trips here, against 1-2 batches).
            let trips = database.writer.trips - before.trips, batches = await committer.batches - before.batches
            let here = database.writer.tripsHere - before.here
            #expect(here == batches && trips == 0, "\(here) trips here and \(trips) to SQLite's thread for \(batches) batches of \(writes) writes")
            // Each write did what it says.
            #expect(try await store.count() == 30 - 10 + 10)
            for i in 0..<10 {
                #expect(try await store.client(id: "s\(i)")?.metadata.clientName == "renamed \(i)")
                #expect(try await store.client(id: "s\(10 + i)") == nil)
                #expect(try await store.client(id: "n\(i)") != nil)
            }
            for i in 0..<5 { #expect(try await store.client(id: "s\(25 + i)")?.lastUsedAt == now) }
            let events = try await store.auditEvents(clientID: nil, since: nil, limit: 100)
            #expect(Set(events.compactMap(\.clientID)) == Set((20..<25).map { "s\($0)" }))
        }
    }

    @Test("with durability full (a sync on every commit), batches go to SQLite's thread pool, never the committer's thread")
    func fullDurabilityOnThreadPool() async throws {
        try await withFreshDatabase(durability: .full) { database in
            let store = database.store
            let committer = try #require(store.provider as? SQLiteProvider).committer
            #expect(!committer.commitsHere)
            let before = (trips: database.writer.trips, here: database.writer.tripsHere, batches: await committer.batches)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        try await store.register(ClientStoreConformance.sampleClient(id: "f\(i)", tokenDigest: "f\(i)"), spendingToken: nil,
                                                 limits: .none, now: Timestamp(milliseconds: 1_700_000_000_000))
                    }
                }
                try await group.waitForAll()
            }
            let batches = await committer.batches - before.batches
            #expect(batches >= 1 && database.writer.trips - before.trips == batches && database.writer.tripsHere == before.here)
            #expect(try await store.count() == 20)
        }
    }

    @Test("a batch that finds the write lock held by another connection waits for it on SQLite's thread pool, then commits")
    func busyBatchWaitsOnThreadPool() async throws {
        try await withFreshDatabase { database in
            let other = try await SQLiteConnection.open(storage: .file(path: database.path), logger: testLogger)
            do {
                let store = database.store
                let committer = try #require(store.provider as? SQLiteProvider).committer
                #expect(committer.commitsHere)
                // Another process's write transaction, say `registrar clients create` while the server runs.
                _ = try await other.query("BEGIN IMMEDIATE", [])
                let before = (trips: database.writer.trips, here: database.writer.tripsHere)
                let finished = Mutex(false)
                let registration = Task {
                    defer { finished.withLock { $0 = true } }
                    try await store.register(ClientStoreConformance.sampleClient(id: "waits", tokenDigest: "waits"), spendingToken: nil,
                                             limits: .none, now: Timestamp(milliseconds: 1_700_000_000_000))
                }
                // Tried here once (busy at once, nothing written), then waiting on SQLite's thread
                // pool (whose busy timeout, 5 s, is far longer than this wait).
                let deadline = ContinuousClock.now + .seconds(4)
                while database.writer.trips == before.trips, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(database.writer.tripsHere - before.here == 1 && database.writer.trips - before.trips == 1)
                try await Task.sleep(for: .milliseconds(100))
                #expect(!finished.withLock { $0 })
                #expect(try await store.client(id: "waits") == nil)
                _ = try await other.query("COMMIT", [])
                try await registration.value
                #expect(try await store.client(id: "waits")?.registrationTokenDigest == "waits")
                // The next batch runs here again.
                try await store.register(ClientStoreConformance.sampleClient(id: "after", tokenDigest: "after"), spendingToken: nil,
                                         limits: .none, now: Timestamp(milliseconds: 1_700_000_000_000))
                #expect(database.writer.tripsHere - before.here == 2 && database.writer.trips - before.trips == 1)
            } catch {
                try? await other.close()
                throw error
            }
            try await other.close()
        }
    }

    @Test("updates queued one after another share one statement: one FTS5 segment for the run, each told whether it matched; two of one client, or across another statement, never share one")
    func updatesShareAStatement() async throws {
        try await withFreshDatabase { database in
            let store = database.store
            var bases: [RegisteredClient] = []
            for i in 0..<30 {
                let base = ClientStoreConformance.sampleClient(id: "run-\(i)")
                try await store.insert(base)
                bases.append(base)
            }
            func update(_ i: Int, _ name: String, from base: RegisteredClient? = nil, expecting expected: Int64? = nil,
                        policy: String? = nil) -> GroupCommitter.Write {
                let base = base ?? bases[i]
                var changed = base
                changed.metadata.clientName = name
                changed.version = base.version + 1
                if let policy { changed.policy = policy }
                let row = SQLClientStore.rowUpdate(changed, changedFrom: base, expectedVersion: expected ?? base.version, search: SearchIndex.column)
                return .update(GroupCommitter.Update(row: row, matched: ResultBox()))
            }
            func run(_ writes: [GroupCommitter.Write]) async throws -> [GroupCommitter.Outcome] {
                try await database.writer.withHandle { handle in
                    try handle.execute("BEGIN IMMEDIATE")
                    let outcomes = try ClientUpdates.run(writes, on: handle)
                    try handle.execute("COMMIT")
                    return outcomes
                }
            }
            func matched(_ outcomes: [GroupCommitter.Outcome]) -> [Bool?] {
                outcomes.map { if case .matched(let m) = $0 { m } else { nil } }
            }
            func indexRows() async throws -> Int64 {
                guard case .integer(let n)? = try await database.writer.query("SELECT count(*) AS n FROM client_search_data").first?.column("n") else { return -1 }
                return Int64(n)
            }
            // The index in one segment, and FTS5's automatic merges off, so that the rows of the
            // index count the segments the updates add (fewer than the 16 that force a merge).
            _ = try await database.writer.query("INSERT INTO client_search (client_search) VALUES ('optimize')")
            _ = try await database.writer.query("INSERT INTO client_search (client_search, rank) VALUES ('automerge', 0)")

            // Eight updates in one run: one statement, one new segment (a leaf row or two), although
            // they are queued in descending rowid order (FTS5 starts a segment at a lower rowid).
            let start = try await indexRows()
            #expect(matched(try await run((0..<8).reversed().map { update($0, "Shared Run \($0)") })) == Array(repeating: true, count: 8))
            let shared = try await indexRows() - start
            #expect(shared >= 1 && shared <= 2, "one run of 8 updates added \(shared) rows to the index")
            // The same updates each in a statement of its own: a segment each.
            let before = try await indexRows()
            for i in 8..<16 { #expect(matched(try await run([update(i, "Alone \(i)")])) == [true]) }
            let alone = try await indexRows() - before
            #expect(alone >= 8, "8 updates as statements of their own added only \(alone) rows")

            // A second update of a client from the same version fails, as in statements of its
            // own; a stale update in a run fails alone; a statement between updates keeps its
            // place; updates of other columns run apart; every one lands as told.
            let writes: [GroupCommitter.Write] = [
                update(16, "First 16"), update(17, "First 17"), update(16, "Second 16"), update(18, "Stale 18", expecting: 9),
                .statement(GroupCommitter.Statement(sql: "SELECT version FROM clients WHERE client_id = 'run-16'", binds: [], rows: ResultBox())),
                update(19, "Policy 19", policy: "partners"), update(20, "First 20"),
            ]
            let outcomes = try await run(writes)
            #expect(matched(outcomes) == [true, true, false, false, nil, true, true])
            guard case .rows(let rows) = outcomes[4] else { Issue.record("the statement's rows are missing"); return }
            #expect(rows.first?.column("version") == .integer(2), "the statement did not see the update queued before it")
            var names: [String?] = []
            for i in 16...20 { names.append(try await store.client(id: "run-\(i)")?.metadata.clientName) }
            #expect(names == ["First 16", "First 17", "sample run-18", "Policy 19", "First 20"])
            #expect(try await store.client(id: "run-19")?.policy == "partners")
            let found = try await store.searchClients(kind: .name, prefix: "first", offset: 0, limit: 10, dynamicOnly: false)
            #expect(Set(found.clients.map(\.clientID)) == ["run-16", "run-17", "run-20"])

            // Statements come in powers of two of rows (the rows past the updates match no
            // client): runs of 3 and of 4 share one prepared statement, and only the updates land.
            #expect([2, 3, 4, 5, 17, 32, 33].map(ClientUpdates.rows(for:)) == [2, 4, 4, 8, 32, 32, 64])
            #expect(matched(try await run((21..<24).map { update($0, "Bucket \($0)") })) == [true, true, true])
            let compiled = database.writer.preparations
            #expect(matched(try await run((24..<28).map { update($0, "Bucket \($0)") })) == [true, true, true, true])
            #expect(database.writer.preparations == compiled, "the run of 4 compiled a statement again")
            let buckets = try await store.searchClients(kind: .name, prefix: "bucket", offset: 0, limit: 10, dynamicOnly: false)
            #expect(Set(buckets.clients.map(\.clientID)) == Set((21..<28).map { "run-\($0)" }))
            #expect(try await store.count() == 30)
        }
    }

    @Test("a statement that fails in a batch fails alone: the others commit and return their rows")
    func failingStatementAlone() async throws {
        try await withFreshDatabase { database in
            let provider = try #require(database.store.provider as? SQLiteProvider)
            _ = try await database.writer.query("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT NOT NULL)")
            _ = try await database.writer.query("INSERT INTO t VALUES ('taken', 'x')")
            let results = await withTaskGroup(of: (String, Result<[String], any Error>).self, returning: [String: Result<[String], any Error>].self) { group in
                for id in ["a", "taken", "b", "c"] {
                    group.addTask {
                        do {
                            let rows = try await provider.writeStatement("INSERT INTO t VALUES (\(bind: id), 'y') RETURNING id" as SQLQueryString)
                            return (id, .success(try rows.map { try $0.decode(column: "id", as: String.self) }))
                        } catch {
                            return (id, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for id in ["a", "b", "c"] {
                guard case .success(let rows)? = results[id] else { Issue.record("\(id) failed"); continue }
                #expect(rows == [id])
            }
            guard case .failure(let error)? = results["taken"], case .duplicate? = SQLiteStore.translate(error) as? StoreError else {
                Issue.record("the duplicate did not fail as a duplicate: \(String(describing: results["taken"]))"); return
            }
            let stored = try await database.writer.query("SELECT id, v FROM t ORDER BY id").map { row in
                [row.column("id"), row.column("v")]
            }
            #expect(stored == [[.text("a"), .text("y")], [.text("b"), .text("y")], [.text("c"), .text("y")], [.text("taken"), .text("x")]])
        }
    }

    @Test("a broken unique key is a duplicate, another constraint or bad SQL is damage, a closed writer is unavailable")
    func errors() async throws {
        let database = try await SQLiteStore.open(path: temporaryDatabasePath(), logger: testLogger)
        let writer = database.writer
        _ = try await writer.query("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
        _ = try await writer.query("INSERT INTO t VALUES (?, ?)", [.text("a"), .text("1")])
        func storeError(_ sql: String, _ binds: [SQLiteData]) async -> StoreError? {
            do {
                _ = try await writer.query(sql, binds)
                return nil
            } catch {
                return SQLiteStore.translate(error) as? StoreError
            }
        }
        guard case .duplicate? = await storeError("INSERT INTO t VALUES (?, ?)", [.text("a"), .text("2")]) else {
            Issue.record("a duplicate primary key is not a duplicate"); return
        }
        guard case .duplicate? = await storeError("INSERT INTO t VALUES (?, ?)", [.text("b"), .text("1")]) else {
            Issue.record("a duplicate unique value is not a duplicate"); return
        }
        guard case .corrupt? = await storeError("INSERT INTO t VALUES (?, ?)", [.text("c"), .null]) else {
            Issue.record("a NOT NULL violation is not damage"); return
        }
        guard case .corrupt? = await storeError("SELEC 1", []) else {
            Issue.record("bad SQL is not damage"); return
        }
        // The failures left no transaction open and the table as it was.
        #expect(try await writer.query("SELECT count(*) AS n FROM t").first?.column("n") == .integer(1))
        _ = try await writer.query("BEGIN IMMEDIATE")
        _ = try await writer.query("COMMIT")
        await database.close()
        guard case .unavailable? = await storeError("SELECT 1", []) else {
            Issue.record("a closed writer is not unavailable"); return
        }
    }

    @Test("the statement cache stays bounded: past its limit it starts over, and long statements are never kept")
    func boundedCache() async throws {
        try await withFreshDatabase { database in
            let writer = database.writer
            let before = writer.preparedStatements
            for i in 0..<(WriterConnection.cacheLimit + 10) {
                #expect(try await writer.query("SELECT \(i) AS n").first?.column("n") == .integer(SQLiteInt64(i)))
            }
            #expect(writer.preparedStatements <= WriterConnection.cacheLimit)
            #expect(writer.preparedStatements < before + WriterConnection.cacheLimit + 10)
            let kept = writer.preparedStatements
            let long = "SELECT length('" + String(repeating: "x", count: WriterConnection.cacheableLength) + "') AS n"
            #expect(try await writer.query(long).first?.column("n") == .integer(SQLiteInt64(WriterConnection.cacheableLength)))
            #expect(writer.preparedStatements == kept)
            // Nor are batches, whose text changes with their size: audit events and last-use times.
            let now = Timestamp(milliseconds: 1_700_000_000_000)
            for i in 0..<12 {
                try await database.store.register(ClientStoreConformance.sampleClient(id: "batched-\(i)", tokenDigest: "batched-\(i)"),
                                                  spendingToken: nil, limits: .none, now: now)
            }
            let afterRegistration = writer.preparedStatements
            for size in 1...12 {
                let events = (0..<size).map { i in
                    AuditEvent(time: now, kind: .read, clientID: "batched-\(i)", actorIP: "127.0.0.\(i)", outcome: "ok")
                }
                try await database.store.appendAudit(events)
                try await database.store.recordUse(Dictionary(uniqueKeysWithValues: (0..<size).map { ("batched-\($0)", now) }))
            }
            // A batch of one is a statement like any other; two and more are not kept.
            #expect(writer.preparedStatements <= afterRegistration + 2, "batch statements were kept")
            #expect(try await database.store.client(id: "batched-11")?.lastUsedAt == now)
            #expect(!WriterConnection.isCacheable("INSERT INTO t VALUES (?, ?), (?, ?)"))
            #expect(!WriterConnection.isCacheable("INSERT INTO t VALUES (?, ?),\n    (?, ?)"))
            #expect(!WriterConnection.isCacheable("INSERT INTO t VALUES (?, ?),(?, ?)"))
            #expect(WriterConnection.isCacheable("INSERT INTO t (a, b) VALUES (?, ?)"))
            #expect(WriterConnection.isCacheable("UPDATE t SET a = f(?), b = (?) WHERE c IN (?, ?)"))
            #expect(WriterConnection.isCacheable(ClientInserts.statement(rows: 1)))
            #expect(!WriterConnection.isCacheable(ClientInserts.statement(rows: 2)))  // kept by ClientInserts.run, up to keptRows
            // The store still works after the cache started over.
            try await database.store.register(ClientStoreConformance.sampleClient(id: "after"), spendingToken: nil, limits: .none, now: now)
            #expect(try await database.store.client(id: "after")?.clientID == "after")
        }
    }
}
