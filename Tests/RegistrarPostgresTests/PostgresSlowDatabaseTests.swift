import Foundation
import Logging
import PostgresKit
import PostgresNIO
import RegistrarCore
@testable import RegistrarPostgres
import RegistrarSQL
import RegistrarTesting
import Synchronization
import Testing

/// A database that answers too slowly: every call ends within its deadline as unavailable, and the
/// store works again once the database does.
@Suite("PostgreSQL: a database too slow to answer", .enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresSlowDatabaseTests {
    @Test("statements held by a lock are answered unavailable at the deadline, not when the lock goes; then the store recovers")
    func heldByALock() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { store in
            try await store.store.insert(RegisteredClient(clientID: "held", metadata: ClientMetadata(), createdAt: Timestamp(milliseconds: 1_700_000_000_000)))
        }
        var settings = patientSettings
        settings.requestTimeout = .seconds(1)
        let store = try await PostgresStore.open(url: url, settings: settings, logger: Logger(label: "registrar.tests"))
        // Another session takes the table and keeps it until told to let go.
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let holder = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: Logger(label: "registrar.tests.holder"))
        _ = try await holder.query("BEGIN", logger: Logger(label: "registrar.tests.holder"))
        _ = try await holder.query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE", logger: Logger(label: "registrar.tests.holder"))
        let released = Mutex(false)
        let holderLogger = Logger(label: "registrar.tests.holder")
        // Let go after 10 s whatever happens, so that a store that waits for the lock fails this
        // test (its calls then succeed late) instead of hanging it.
        let safety = Task {
            try? await Task.sleep(for: .seconds(10))
            guard !released.withLock({ value in defer { value = true }; return value }) else { return }
            _ = try? await holder.query("COMMIT", logger: holderLogger)
        }
        // A read, an insert and an update each give up at the deadline while the lock is held.
        await expectUnavailable(released) { _ = try await store.store.storedClient(id: "held") }
        await expectUnavailable(released) {
            try await store.store.insert(RegisteredClient(clientID: "new", metadata: ClientMetadata(), createdAt: Timestamp(milliseconds: 1_700_000_000_000)))
        }
        await expectUnavailable(released) { try await store.store.recordUse(["held": Timestamp(milliseconds: 1_700_000_100_000)]) }
        if !released.withLock({ value in defer { value = true }; return value }) {
            _ = try await holder.query("COMMIT", logger: holderLogger)
        }
        safety.cancel()
        try await holder.close()
        // The statements left behind finish once the lock is gone; the store serves again.
        var recovered = false
        for _ in 0..<50 where !recovered {
            recovered = (try? await store.store.storedClient(id: "held")) != nil
            if !recovered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered)
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    @Test("a statement the database cancels (statement_timeout, SQLSTATE 57014) is unavailable, not a corrupt record")
    func cancelledByTheDatabase() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { _ in }
        let name = String(try #require(URLComponents(string: url)?.path.dropFirst()))
        // Sessions opened from now on (the store's) have the timeout; the migrations ran without it.
        try await TestPostgres.execute("ALTER DATABASE \(name) SET statement_timeout = '500ms'", on: server)
        let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: Logger(label: "registrar.tests"))
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let holderLogger = Logger(label: "registrar.tests.holder")
        let holder = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: holderLogger)
        _ = try await holder.query("SET statement_timeout = 0", logger: holderLogger)
        _ = try await holder.query("BEGIN", logger: holderLogger)
        _ = try await holder.query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE", logger: holderLogger)
        do {
            _ = try await store.store.storedClient(id: "any")
            Issue.record("the read succeeded while the table was locked")
        } catch let error as StoreError {
            guard case .unavailable = error else { Issue.record("not unavailable: \(error)"); return }
        }
        _ = try await holder.query("COMMIT", logger: holderLogger)
        try await holder.close()
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    @Test("a lookup whose statement was being prepared when the database cancelled it works again once the lock is gone")
    func cancelledWhilePreparing() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { store in
            try await store.store.insert(RegisteredClient(clientID: "held", metadata: ClientMetadata(), createdAt: Timestamp(milliseconds: 1_700_000_000_000)))
        }
        let name = String(try #require(URLComponents(string: url)?.path.dropFirst()))
        try await TestPostgres.execute("ALTER DATABASE \(name) SET lock_timeout = '300ms'", on: server)
        // New connections, on which the lookup's prepared statement has not been prepared yet.
        let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: Logger(label: "registrar.tests"))
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let holderLogger = Logger(label: "registrar.tests.holder")
        let holder = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: holderLogger)
        _ = try await holder.query("SET lock_timeout = 0", logger: holderLogger)
        _ = try await holder.query("BEGIN", logger: holderLogger)
        _ = try await holder.query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE", logger: holderLogger)
        do {
            _ = try await store.store.storedClient(id: "held")
            Issue.record("the lookup succeeded while the table was locked")
        } catch let error as StoreError {
            if case .unavailable = error {} else { Issue.record("not unavailable: \(error)") }
        }
        _ = try await holder.query("COMMIT", logger: holderLogger)
        try await holder.close()
        // PostgresNIO kept the cancelled preparation as the statement's state on that connection
        // and answered every later lookup with it: the connection must go.
        var recovered = false
        for _ in 0..<30 where !recovered {
            recovered = (try? await store.store.storedClient(id: "held")) != nil
            if !recovered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered, "lookups still fail after the lock is gone")
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    /// A fresh database, migrated and prepared by `setup` through a store with patient deadlines
    /// (the suite runs in parallel on two cores), closed before the test opens its own.
    static func migratedDatabase(on server: String, _ setup: (PostgresStore) async throws -> Void) async throws -> String {
        let url = try await TestPostgres.freshDatabase(on: server)
        let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: Logger(label: "registrar.tests"))
        try await setup(store)
        await store.close()
        return url
    }

    func expectUnavailable(_ released: borrowing Mutex<Bool>, _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("the call succeeded while the table was locked")
        } catch let error as StoreError {
            guard case .unavailable = error else { Issue.record("not unavailable: \(error)"); return }
            #expect(!released.withLock { $0 }, "the call waited for the lock")
        } catch {
            Issue.record("not a StoreError: \(error)")
        }
    }
}
