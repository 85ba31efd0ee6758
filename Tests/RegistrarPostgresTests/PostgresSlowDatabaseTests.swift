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
    static let created = Timestamp(milliseconds: 1_700_000_000_000)

    @Test("statements held by a lock are answered unavailable at the deadline, not when the lock goes; then the store recovers")
    func heldByALock() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { store in
            try await store.store.insert(RegisteredClient(clientID: "held", metadata: ClientMetadata(), createdAt: Self.created))
        }
        var settings = patientSettings
        settings.requestTimeout = .seconds(1)
        let store = try await PostgresStore.open(url: url, settings: settings, logger: Logger(label: "registrar.tests"))
        let lock = try await ClientsTableLock.take(on: url)
        // A read, an insert and an update each give up at the deadline while the lock is held.
        await Self.expectUnavailable(lock) { _ = try await store.store.storedClient(id: "held") }
        await Self.expectUnavailable(lock) {
            try await store.store.insert(RegisteredClient(clientID: "new", metadata: ClientMetadata(), createdAt: Self.created))
        }
        await Self.expectUnavailable(lock) { try await store.store.recordUse(["held": Timestamp(milliseconds: 1_700_000_100_000)]) }
        try await lock.release()
        // The statements left behind finish once the lock is gone; the store serves again.
        #expect(await Self.serves(store, attempts: 50))
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    @Test("a statement the database cancels (statement_timeout, SQLSTATE 57014) is unavailable, not a corrupt record")
    func cancelledByTheDatabase() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { _ in }
        // Sessions opened from now on (the store's) have the timeout; the migrations ran without it.
        try await Self.set("statement_timeout = '500ms'", on: url, server: server)
        let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: Logger(label: "registrar.tests"))
        let lock = try await ClientsTableLock.take(on: url, clearing: "statement_timeout")
        await Self.expectUnavailable(lock) { _ = try await store.store.storedClient(id: "any") }
        try await lock.release()
        await store.close()
        await TestPostgres.dropDatabase(url, serverURL: server)
    }

    @Test("a lookup whose statement was being prepared when the database cancelled it works again once the lock is gone")
    func cancelledWhilePreparing() async throws {
        let server = try #require(TestPostgres.url)
        let url = try await Self.migratedDatabase(on: server) { store in
            try await store.store.insert(RegisteredClient(clientID: "held", metadata: ClientMetadata(), createdAt: Self.created))
        }
        try await Self.set("lock_timeout = '300ms'", on: url, server: server)
        // New connections, on which the lookup's prepared statement has not been prepared yet.
        let store = try await PostgresStore.open(url: url, settings: patientSettings, logger: Logger(label: "registrar.tests"))
        let lock = try await ClientsTableLock.take(on: url, clearing: "lock_timeout")
        await Self.expectUnavailable(lock) { _ = try await store.store.storedClient(id: "held") }
        try await lock.release()
        // PostgresNIO kept the cancelled preparation as the statement's state on that connection
        // and answered every later lookup with it: the connection must go.
        #expect(await Self.serves(store, attempts: 30), "lookups still fail after the lock is gone")
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

    /// `ALTER DATABASE ... SET` on the database of `url`: sessions opened from now on have it.
    static func set(_ setting: String, on url: String, server: String) async throws {
        let name = String(try #require(URLComponents(string: url)?.path.dropFirst()))
        try await TestPostgres.execute("ALTER DATABASE \(name) SET \(setting)", on: server)
    }

    /// Whether the store reads client `held` again within `attempts` tries, 100 ms apart.
    static func serves(_ store: PostgresStore, attempts: Int) async -> Bool {
        for _ in 0..<attempts {
            if (try? await store.store.storedClient(id: "held")) != nil { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// `call` fails as unavailable, and does so while the lock is still held.
    static func expectUnavailable(_ lock: ClientsTableLock, _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("the call succeeded while the table was locked")
        } catch let error as StoreError {
            guard case .unavailable = error else { Issue.record("not unavailable: \(error)"); return }
            #expect(!lock.isReleased, "the call waited for the lock")
        } catch {
            Issue.record("not a StoreError: \(error)")
        }
    }
}

/// Another session holding `clients` in `ACCESS EXCLUSIVE` mode until released, and at the latest
/// after 10 s, so that a store that waits for the lock fails a test (its calls then succeed late)
/// instead of hanging it.
final class ClientsTableLock: Sendable {
    let connection: PostgresConnection
    let logger = Logger(label: "registrar.tests.holder")
    private let released = Mutex(false)

    private init(connection: PostgresConnection) { self.connection = connection }

    /// Takes the lock on the database of `url`; `clearing` names a setting of that database that the
    /// holding session turns off for itself (`statement_timeout`, `lock_timeout`).
    static func take(on url: String, clearing setting: String? = nil) async throws -> ClientsTableLock {
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let lock = ClientsTableLock(connection: try await PostgresConnection.connect(configuration: configuration, id: 9,
                                                                                     logger: Logger(label: "registrar.tests.holder")))
        if let setting { _ = try await lock.connection.query(PostgresQuery(unsafeSQL: "SET \(setting) = 0"), logger: lock.logger) }
        _ = try await lock.connection.query("BEGIN", logger: lock.logger)
        _ = try await lock.connection.query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE", logger: lock.logger)
        Task {
            try? await Task.sleep(for: .seconds(10))
            try? await lock.release()
        }
        return lock
    }

    var isReleased: Bool { released.withLock { $0 } }

    /// Commits the holding transaction and closes the session (once).
    func release() async throws {
        guard !released.withLock({ value in defer { value = true }; return value }) else { return }
        _ = try await connection.query("COMMIT", logger: logger)
        try await connection.close()
    }
}
