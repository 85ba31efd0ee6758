import Foundation
import Logging
import RegistrarCore
import RegistrarPostgres
import RegistrarSQL
import RegistrarTesting
import Testing

let logger = Logger(label: "registrar.tests")

/// Opens a store on a fresh database, runs `body`, closes and drops it.
func withFreshStore<T>(_ body: (PostgresStore, String) async throws -> T) async throws -> T {
    let server = try #require(TestPostgres.url)
    let url = try await TestPostgres.freshDatabase(on: server)
    // The whole suite runs in parallel on two cores; the store's deadlines are not under test here.
    var settings = PostgresStore.Settings()
    settings.requestTimeout = .seconds(30)
    settings.connectTimeout = .seconds(30)
    let store = try await PostgresStore.open(url: url, settings: settings, logger: logger)
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
                    let store = try await PostgresStore.open(url: url, logger: logger)
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

    @Test("a URL that is not a PostgreSQL URL, or a server that is not there, is a clear error")
    func badURLs() async throws {
        await #expect(throws: StoreError.self) {
            _ = try await PostgresStore.open(url: "postgres://", logger: logger)
        }
        var settings = PostgresStore.Settings()
        settings.connectTimeout = .seconds(1)
        settings.requestTimeout = .seconds(1)
        let start = ContinuousClock.now
        await #expect(throws: StoreError.self) {
            _ = try await PostgresStore.open(url: "postgres://nobody@127.0.0.1:1/none?sslmode=disable", settings: settings, logger: logger)
        }
        #expect(ContinuousClock.now - start < .seconds(10), "start-up against a missing server must fail fast")
    }
}
