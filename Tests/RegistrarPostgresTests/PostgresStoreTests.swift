import Foundation
import Logging
import RegistrarCore
@testable import RegistrarPostgres
@testable import RegistrarSQL
import RegistrarTesting
import SQLKit
import Synchronization
import Testing

let logger = Logger(label: "registrar.tests")

/// Store settings for tests that are not about deadlines: the whole suite runs in parallel on two
/// cores, where a statement can take longer than the default 3 s deadline, which cuts calls off.
let patientSettings: PostgresStore.Settings = {
    var settings = PostgresStore.Settings()
    settings.requestTimeout = .seconds(30)
    settings.connectTimeout = .seconds(30)
    return settings
}()

/// Opens a store on a fresh database, runs `body`, closes and drops it.
func withFreshStore<T>(_ body: (PostgresStore, String) async throws -> T) async throws -> T {
    let server = try #require(TestPostgres.url)
    let url = try await TestPostgres.freshDatabase(on: server)
    let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: logger)
    do {
        let result = try await body(store, url)
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
        return result
    } catch {
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
        throw error
    }
}

@Suite("PostgreSQL store", .enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresStoreTests {
    @Test("conformance on a real PostgreSQL server", arguments: ClientStoreConformance.cases)
    func conformance(_ check: ClientStoreConformance.Case) async throws {
        try await withFreshStore { store, _ in try await check.run(store.store) }
    }

    @Test("instances starting at the same moment migrate once and agree on one key per algorithm")
    func concurrentStart() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await TestPostgres.freshDatabase(on: server)
        let instances = 4
        let opened = try await withThrowingTaskGroup(of: (PostgresStore, ServerKeys).self) { group in
            for _ in 0..<instances {
                group.addTask {
                    let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: logger)
                    return (store, try await ServerKeys.load(from: store.store, clock: TestClock(), random: SystemRandomSource()))
                }
            }
            var all: [(PostgresStore, ServerKeys)] = []
            for try await instance in group { all.append(instance) }
            return all
        }
        let kidSets = Set(opened.map { $0.1.signingKeys.map(\.kid).sorted() })
        #expect(kidSets.count == 1, "instances disagree on the signing keys: \(kidSets)")
        #expect(opened[0].1.signingKeys.count == 2)
        let stored = try await opened[0].0.store.signingKeys()
        #expect(stored.count == 2, "more than one current key per algorithm was stored")
        let sealed = try opened[0].1.sealer.seal("s", clientID: "c")
        for (_, keys) in opened { #expect(try keys.sealer.open(sealed, clientID: "c") == "s") }
        for (store, _) in opened { await store.close() }
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    @Test("a URL that is not a PostgreSQL URL, a server that is not there, or a database that does not exist is a clear error, fast")
    func badURLs() async throws {
        func message(_ url: String, _ settings: PostgresStore.Settings = PostgresStore.Settings()) async -> String? {
            do {
                let store = try await PostgresStore.open(url: url, settings: settings, logger: logger)
                await store.close()
                return nil
            } catch let error as StoreError {
                return error.description
            } catch {
                return "not a StoreError: \(error)"
            }
        }
        #expect(await message("postgres://")?.contains("not a valid postgres://") == true)
        var settings = PostgresStore.Settings()
        // Long enough for a refusal to arrive on two cores busy with the whole suite (one second was
        // not always), short enough to show that start-up does not hang.
        settings.connectTimeout = .seconds(5)
        settings.requestTimeout = .seconds(1)
        let start = ContinuousClock.now
        let refused = try #require(await message("postgres://nobody:hunter2@127.0.0.1:1/none?sslmode=disable", settings))
        #expect(ContinuousClock.now - start < .seconds(10), "start-up against a missing server must fail fast")
        #expect(refused.contains("cannot connect to PostgreSQL at 127.0.0.1:1/none"), "\(refused)")
        #expect(refused.lowercased().contains("refused"), "the network's reason is missing: \(refused)")
        #expect(!refused.contains("hunter2"), "the password is in the message")

        // A server that is there, asked for a database that is not: the server's own words, at once
        // (the pool used to retry until its deadline and say only "deadline exceeded").
        let server = try #require(TestPostgres.url)
        var components = try #require(URLComponents(string: server))
        components.path = "/registrar_no_such_database"
        let missingURL = try #require(components.string)
        var patient = PostgresStore.Settings()
        patient.connectTimeout = .seconds(10)
        patient.requestTimeout = .seconds(10)
        let missingStart = ContinuousClock.now
        let missing = try #require(await message(missingURL, patient))
        #expect(missing.contains("registrar_no_such_database\" does not exist"), "\(missing)")
        #expect(missing.contains("3D000"), "\(missing)")
        #expect(ContinuousClock.now - missingStart < .seconds(5), "a refused login must not wait for the 10 s deadline")
        if let password = components.password { #expect(!missing.contains(":\(password)@"), "the password is in the message") }
    }

    @Test("a database without Registrar's tables (an empty restore) is unavailable with a hint to migrate, not a corrupt record")
    func missingSchema() async throws {
        try await withFreshStore { store, url in
            try await TestPostgres.execute("DROP TABLE clients CASCADE", on: url)
            do {
                _ = try await store.store.client(id: "any")
                Issue.record("a lookup in a missing table succeeded")
            } catch let error as StoreError {
                guard case .unavailable(let why) = error else { Issue.record("not unavailable: \(error)"); return }
                #expect(why.contains("42P01") && why.contains("registrar migrate"), "\(why)")
            }
        }
    }

    @Test("single-client lookups go through the prepared statements and read what SQL reads, over and over on each connection")
    func preparedLookups() async throws {
        try await withFreshStore { store, _ in
            let provider = try #require(store.store.provider as? PostgresProvider)
            let reader = try #require(provider.clientRows as? PostgresClientRows)
            var expiring = ClientStoreConformance.sampleClient(id: "p1")
            expiring.expiresAt = Timestamp(milliseconds: 1_900_000_000_000)
            expiring.lastUsedAt = Timestamp(milliseconds: 1_800_000_000_000)
            try await store.store.insert(expiring)
            try await store.store.insert(ClientStoreConformance.sampleClient(id: "p2"))
            // More lookups than the pool has connections, concurrently: every connection prepares
            // each statement once and then reuses it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<60 {
                    group.addTask {
                        let id = i % 2 == 0 ? "p1" : "p2"
                        let byID = try #require(try await reader.row(clientID: id))
                        #expect(byID.clientID == id)
                        #expect(try byID.row.client(id: id).registrationTokenDigest == SecretDigest.of("token-\(id)"))
                        #expect(try await reader.row(clientID: "missing-\(i)") == nil)
                    }
                }
                try await group.waitForAll()
            }
            let row = try #require(try await reader.row(clientID: "p1")).row
            #expect(row.expiresAt == 1_900_000_000_000 && row.lastUsedAt == 1_800_000_000_000 && row.dynamicallyRegistered)
            // Revoked access tokens, through the second prepared statement.
            try await store.store.revokeAccessToken(jti: "gone", expiresAt: Timestamp(milliseconds: 1_900_000_000_000))
            #expect(try await reader.isAccessTokenRevoked(jti: "gone"))
            #expect(try await !reader.isAccessTokenRevoked(jti: "kept"))
            // The store's reads (which use the reader) give back the client as written.
            #expect(try await store.store.client(id: "p1") == expiring)
            #expect(try await store.store.client(id: "p2") == ClientStoreConformance.sampleClient(id: "p2"))
        }
    }

    @Test("registrations batched into the array statement read back exactly, NULLs and all, with their search terms")
    func arrayBatch() async throws {
        try await withFreshStore { store, _ in
            var clients: [RegisteredClient] = []
            for i in 0..<24 {
                var client = ClientStoreConformance.sampleClient(id: "b\(i)", createdAt: 1_700_000_000_000 + Int64(i))
                if i % 2 == 0 { client.secretDigest = nil }                 // a public client
                if i % 3 == 0 { client.registrationTokenDigest = nil }      // token revoked
                if i % 4 == 0 { client.expiresAt = Timestamp(milliseconds: 1_900_000_000_000 + Int64(i)) }
                if i % 5 == 0 { client.lastUsedAt = Timestamp(milliseconds: 1_800_000_000_000 + Int64(i)) }
                if i % 6 == 0 { client.dynamicallyRegistered = false }
                if i % 7 == 0 { client.policy = "partners" }
                client.version = Int64(1 + i % 3)
                clients.append(client)
            }
            // Registered at the same moment, so that they share statements.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask { try await store.store.register(client, spendingToken: nil, limits: .none, now: client.createdAt) }
                }
                try await group.waitForAll()
            }
            for client in clients {
                #expect(try await store.store.client(id: client.clientID) == client, "\(client.clientID)")
            }
            // Every client's terms were written with it: a search by name prefix finds all of them.
            let page = try await store.store.searchClients(kind: .name, prefix: "sample b", offset: 0, limit: 100, dynamicOnly: false)
            #expect(page.total == clients.count)
            #expect(Set(page.clients.map(\.clientID)) == Set(clients.map(\.clientID)))
        }
    }
}

/// The batching of registrations, with the statement replaced by a recorder (the real statement is
/// exercised by the conformance suite above).
@Suite("PostgreSQL search terms", .enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresSearchTermTests {
    /// Each client's (kind, term) pairs as the table holds them, and terms whose client is gone.
    static func stored(_ store: PostgresStore) async throws -> SearchTermScenario.Stored {
        try await store.store.provider.read { try await SearchTermScenario.stored(in: $0) }
    }

    @Test("the schema's triggers keep the search terms in step: registered, inserted, updated, deleted by ID, by the reaper and by plain SQL")
    func termsFollowClients() async throws {
        try await withFreshStore { store, _ in
            try await SearchTermScenario.run(store.store, stored: { try await Self.stored(store) }, deleteBehindTheStore: { id in
                try await store.store.provider.write { db in try await db.raw("DELETE FROM clients WHERE client_id = \(bind: id)").run() }
            })
        }
    }

    @Test("a term of each kind is found by a search of that kind only, by any prefix of its bytes")
    func kindsApart() async throws {
        try await withFreshStore { store, _ in try await SearchTermScenario.runKinds(store.store) }
    }

    @Test("a search is a range on the terms table's key, never a scan of every client")
    func searchPlan() async throws {
        try await withFreshStore { store, _ in
            let clients = (0..<300).map { ClientStoreConformance.sampleClient(id: "plan-\($0)") }
            try await store.store.insertMany(clients)
            // A table this small is cheaper to scan: the planner is told not to, which shows that
            // the statement can use the index at all (its columns and range match the key).
            let plan = try await store.store.provider.transaction { db in
                try await db.raw("SET LOCAL enable_seqscan = off").run()
                return try await db.raw("""
                    EXPLAIN \(store.store.provider.clientSearchMatches(kind: .name, prefix: "plan-12", dynamicOnly: false))
                    """).all().map { try $0.decode(column: "QUERY PLAN", as: String.self) }
            }
            #expect(plan.contains { $0.contains("Index Only Scan using client_search_terms_pkey") }, "\(plan)")
            #expect(!plan.contains { $0.contains("Seq Scan") }, "\(plan)")
            let found = try await store.store.searchClients(kind: .name, prefix: "plan-12", offset: 0, limit: 20, dynamicOnly: false)
            #expect(found.total == 11 && found.clients.first?.clientID == "plan-12")
        }
    }

    @Test("a database of the previous layout (version 6) keeps its search terms through the upgrade; the client index and foreign key are gone")
    func upgradeFromVersion6() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await TestPostgres.freshDatabase(on: server)
        let clients = (0..<3).map { ClientStoreConformance.sampleClient(id: "old-\($0)") }
        do {
            // Version 6, and clients written the way version 6 wrote them.
            let old = try await PostgresStore.open(url: url, settings: patientSettings, logger: logger, migrations: PostgresMigrations.all.filter { $0.version <= 6 })
            for client in clients {
                try await old.store.provider.transaction { db in try await SearchTermScenario.insertAsVersion6(client, into: db) }
            }
            await old.close()

            let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: logger)
            let upgraded = try await Self.stored(store)
            #expect(upgraded.terms == Dictionary(uniqueKeysWithValues: clients.map { ($0.clientID, SearchTermScenario.expected($0)) }))
            #expect(try await store.store.delete(id: "old-1"))
            let after = try await Self.stored(store)
            let leftovers = try await store.store.provider.read { db in
                try await db.raw("""
                    SELECT (SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'client_search_terms_client')
                         + (SELECT COUNT(*) FROM pg_constraint WHERE conname = 'client_search_terms_client_id_fkey')
                         + (SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('clients_created_at', 'clients_registration_token_digest_key'))
                         AS n
                    """).first()?.decode(column: "n", as: Int.self)
            }
            await store.close()
            #expect(Set(after.terms.keys) == ["old-0", "old-2"] && after.orphans == 0)
            #expect(leftovers == 0)
        } catch {
            await TestPostgres.dropDatabase(url, serverURL: server)
            throw error
        }
        await TestPostgres.dropDatabase(url, serverURL: server)
    }
}

@Suite("PostgreSQL registration batches")
struct RegistrationBatcherTests {
    final class Recorder: Sendable {
        let batches = Mutex<[[String]]>([])
        func record(_ clients: [RegisteredClient]) { batches.withLock { $0.append(clients.map(\.clientID)) } }
    }

    static func register(_ ids: [String], with batcher: RegistrationBatcher<RegisteredClient>) async -> [String: Bool] {
        await withTaskGroup(of: (String, Bool).self) { group in
            for id in ids {
                group.addTask {
                    do {
                        try await batcher.register(ClientStoreConformance.sampleClient(id: id))
                        return (id, true)
                    } catch {
                        return (id, false)
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    @Test("a batch stays within its bound of values, and a client over it goes alone")
    func parameterLimit() async throws {
        let recorder = Recorder()
        let batcher = RegistrationBatcher<RegisteredClient>(parameters: { $0.clientID == "huge" ? 70_000 : 25_000 }) { clients in
            recorder.record(clients)
        }
        let ids = (0..<8).map { "c\($0)" } + ["huge"]
        let outcomes = await Self.register(ids, with: batcher)
        #expect(outcomes.values.allSatisfy { $0 }, "\(outcomes)")
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == ids.sorted())
        for batch in batches {
            let parameters = batch.map { $0 == "huge" ? 70_000 : 25_000 }.reduce(0, +)
            #expect(batch.count == 1 || parameters <= RegistrationBatcher<RegisteredClient>.maximumParameters, "\(batch)")
        }
        #expect(batches.contains { $0.count > 1 }, "no batch formed: \(batches)")
    }

    @Test("when a batch's statement fails, each of its clients is retried alone and only the failing one fails")
    func fallback() async throws {
        let recorder = Recorder()
        let batcher = RegistrationBatcher<RegisteredClient>(parameters: { _ in 60 }) { clients in
            recorder.record(clients)
            if clients.contains(where: { $0.clientID == "bad" }) { throw StoreError.duplicate("clients_pkey") }
        }
        let ids = (0..<20).map { "c\($0)" } + ["bad"]
        let outcomes = await Self.register(ids, with: batcher)
        #expect(outcomes.filter { !$0.value }.map(\.key) == ["bad"], "\(outcomes)")
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.contains { $0 == ["bad"] }, "bad was not retried alone: \(batches)")
    }

    @Test("a batch the database did not answer fails as a whole, without a retry per client")
    func unavailableBatch() async throws {
        let recorder = Recorder()
        let batcher = RegistrationBatcher<RegisteredClient>(parameters: { _ in 60 }, insert: { clients in
            recorder.record(clients)
            try await Task.sleep(for: .milliseconds(20))
            throw DeadlineExceeded()
        }, retriesAlone: { !($0 is DeadlineExceeded) })
        let ids = (0..<20).map { "c\($0)" }
        let outcomes = await Self.register(ids, with: batcher)
        #expect(outcomes.count == 20 && outcomes.values.allSatisfy { !$0 }, "\(outcomes)")
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.count == 20, "a client's statement ran twice: \(batches)")
    }
}
