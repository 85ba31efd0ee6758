import Foundation
public import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import RegistrarCore
public import RegistrarSQL
import SQLKit
import Synchronization

/// The store for several Registrar instances behind a load balancer: one PostgreSQL database,
/// reached through a bounded `PostgresClient` pool. Nothing is kept in the process, so any instance
/// can serve any request.
///
/// Every call gets a deadline (``Settings/requestTimeout``): when the database is unreachable, a
/// request fails with ``RegistrarCore/StoreError/unavailable(_:)`` (503) within the deadline instead
/// of waiting for the pool, and succeeds again once the database is back, without a restart.
public final class PostgresStore: Sendable {
    /// Pool and timeout settings.
    public struct Settings: Sendable {
        /// Most connections this instance opens.
        public var maximumConnections: Int = 10
        /// How long one database call may take, from asking the pool for a connection to the last
        /// row, before the request is answered 503.
        public var requestTimeout: Duration = .seconds(3)
        /// How long opening one connection may take.
        public var connectTimeout: Duration = .seconds(3)
        /// Creates the default settings.
        public init() {}
    }

    /// The client and key store over this database.
    public let store: SQLClientStore
    let client: PostgresClient
    let runTask: Task<Void, Never>
    let logger: Logger

    /// Connects to `url` (`postgres://user:password@host:port/database`), migrates under an advisory
    /// lock, and returns the store. Fails if the database cannot be reached within the timeouts.
    public static func open(url: String, settings: Settings = Settings(), logger: Logger) async throws -> PostgresStore {
        try await open(url: url, settings: settings, logger: logger, migrations: PostgresMigrations.all)
    }

    /// ``open(url:settings:logger:)`` up to a given schema version (tests of upgrades).
    static func open(url: String, settings: Settings = Settings(), logger: Logger, migrations: [SQLMigration]) async throws -> PostgresStore {
        let endpoint = try Endpoint(url: url)
        // Reach the server first, within the connect timeout, so that start-up against a database
        // that is down or refuses the login fails in seconds and says why.
        try await probe(endpoint, settings: settings, logger: logger)
        let client = PostgresClient(configuration: clientConfiguration(endpoint, settings: settings), backgroundLogger: logger)
        let runTask = Task { await client.run() }
        let provider = PostgresProvider(client: client, timeout: settings.requestTimeout, logger: logger)
        do {
            let migrator = SQLMigrator(
                migrations: migrations, begin: "BEGIN",
                lock: ("SELECT pg_advisory_lock(\(PostgresMigrations.lockKey))", "SELECT pg_advisory_unlock(\(PostgresMigrations.lockKey))"))
            // Migrations may wait for another instance's lock, so they get a longer deadline, and
            // one that is running is waited for (a migration of a large table takes its time).
            let applied = try await withDeadline(.seconds(60), abandon: false) {
                try await client.withConnection { connection in
                    try await migrator.migrate(on: connection.sql(queryLogLevel: nil), now: SystemWallClock().now().milliseconds, logger: logger)
                }
            }
            if applied.contains(5) {
                // Clients registered before search terms existed get theirs now (only the instance
                // that applied the migration does it).
                _ = try await SQLClientStore(provider: provider).reindexSearchTerms()
            }
        } catch {
            runTask.cancel()
            throw StoreError.unavailable("cannot prepare the PostgreSQL database: \(PostgresProvider.describe(error))")
        }
        return PostgresStore(client: client, runTask: runTask, provider: provider, logger: logger)
    }

    private init(client: PostgresClient, runTask: Task<Void, Never>, provider: PostgresProvider, logger: Logger) {
        self.client = client
        self.runTask = runTask
        self.logger = logger
        self.store = SQLClientStore(provider: provider)
    }

    /// Closes the pool. Call once, after the last request. Waits at most ``closeTimeout`` for the
    /// pool's connections to close: a statement the driver lost track of (its connection ended in
    /// the middle of it) would otherwise keep the process from ever exiting.
    public func close() async {
        runTask.cancel()
        let runTask = self.runTask
        do {
            try await withDeadline(Self.closeTimeout) { await runTask.value }
        } catch {
            logger.warning("the PostgreSQL pool did not close within \(Self.closeTimeout); stopping without waiting for it")
        }
    }

    /// How long ``close()`` waits for the pool.
    static let closeTimeout: Duration = .seconds(5)

    /// Whether a `--database` value names PostgreSQL rather than a SQLite file.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Where a database URL points and how to log in (the password included: never logged).
    struct Endpoint {
        /// The connection settings the URL gives (SQLKit's parse of it).
        let connection: PostgresConnection.Configuration

        init(url: String) throws {
            do {
                connection = try SQLPostgresConfiguration(url: url).coreConfiguration
            } catch {
                throw StoreError.unavailable("the database URL is not a valid postgres://user:password@host:port/database URL")
            }
            guard (connection.host != nil && connection.port != nil) || connection.unixSocketPath != nil else {
                throw StoreError.unavailable("the database URL names neither a host nor a socket")
            }
        }

        /// Where, for messages: `host:port/database`, without the user or password.
        var summary: String {
            let at = if let host = connection.host, let port = connection.port { "\(host):\(port)" } else { connection.unixSocketPath ?? "" }
            return connection.database.map { "\(at)/\($0)" } ?? at
        }
    }

    static func clientConfiguration(_ endpoint: Endpoint, settings: Settings) -> PostgresClient.Configuration {
        let core = endpoint.connection
        let tls: PostgresClient.Configuration.TLS
        switch (core.tls.isEnforced, core.tls.isAllowed, core.tls.sslContext) {
        case (true, _, let context?): tls = .require(context.configuration)
        case (_, true, let context?): tls = .prefer(context.configuration)
        default: tls = .disable
        }
        var configuration: PostgresClient.Configuration
        if let host = core.host, let port = core.port {
            configuration = .init(host: host, port: port, username: core.username, password: core.password, database: core.database, tls: tls)
        } else {
            configuration = .init(unixSocketPath: core.unixSocketPath ?? "", username: core.username, password: core.password, database: core.database)
        }
        configuration.options.maximumConnections = max(1, settings.maximumConnections)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = settings.connectTimeout
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(30))
        return configuration
    }

    /// Opens one connection outside the pool and closes it, so that a server that cannot be
    /// reached or refuses the login (no such database, a wrong password) is reported as the server
    /// or the network said, instead of as a pool that found no connection before its deadline.
    static func probe(_ endpoint: Endpoint, settings: Settings, logger: Logger) async throws {
        do {
            try await withDeadline(settings.connectTimeout) {
                let connection = try await PostgresConnection.connect(configuration: endpoint.connection, id: 0, logger: logger)
                try await connection.close()
            }
        } catch is DeadlineExceeded {
            throw StoreError.unavailable("cannot connect to PostgreSQL at \(endpoint.summary): no answer within \(settings.connectTimeout)")
        } catch {
            throw StoreError.unavailable("cannot connect to PostgreSQL at \(endpoint.summary): \(PostgresProvider.describe(error))")
        }
    }
}

/// Leases a pooled connection per call, under a deadline.
///
/// While the database is known to be down (a call failed as unavailable less than 5 s ago),
/// calls get a short deadline, so that an outage answers 503 at once instead of after the full
/// timeout for every request; the first success clears that state.
struct PostgresProvider: SQLDatabaseProvider {
    let client: PostgresClient
    let timeout: Duration
    let logger: Logger
    let outage = OutageState()
    let batcher: RegistrationBatcher<ClientRow>
    let clientRows: (any ClientRowReader)?

    init(client: PostgresClient, timeout: Duration, logger: Logger) {
        self.client = client
        self.timeout = timeout
        self.logger = logger
        let outage = self.outage
        self.clientRows = PostgresClientRows(client: client, timeout: timeout, outage: outage, logger: logger)
        // The batcher's statements run like any other call: a pooled connection, the deadline.
        let run = { @Sendable (rows: [ClientRow]) async throws in
            try await PostgresProvider.withConnection(client: client, timeout: timeout, outage: outage) { connection in
                // Read the (empty) result to its end: PostgresNIO's overload that returns the
                // command tag asks for it before the statement has completed, and traps.
                let rows: AsyncThrowingMapSequence<PostgresRowSequence, ()> =
                    try await connection.execute(InsertClients(rows: rows), logger: logger)
                for try await _ in rows {}
            }
        }
        // A batch that failed because the database did not answer is not tried again client by
        // client: each would wait for its own deadline, to the same end.
        self.batcher = RegistrationBatcher(parameters: \.parameters, insert: run, retriesAlone: { error in
            if case StoreError.unavailable = PostgresProvider.translate(error, timeout: timeout) { return false }
            return true
        })
    }

    /// The deadline while an outage is known.
    static let outageDeadline: Duration = .milliseconds(250)

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await run(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await run(body)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.run(client: client, timeout: timeout, outage: outage, body)
    }

    static func run<T: Sendable>(client: PostgresClient, timeout: Duration, outage: OutageState,
                                 _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection(client: client, timeout: timeout, outage: outage) { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    /// A pooled connection for `body`, under the deadline; an unavailability is recorded as an outage.
    static func withConnection<T: Sendable>(client: PostgresClient, timeout: Duration, outage: OutageState,
                                            _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let deadline = outage.isRecent ? min(timeout, Self.outageDeadline) : timeout
        do {
            let result = try await withDeadline(deadline) {
                try await client.withConnection { connection in
                    do {
                        return try await body(connection)
                    } catch {
                        await discardIfPoisoned(connection, after: error)
                        throw error
                    }
                }
            }
            outage.clear()
            return result
        } catch {
            if case StoreError.unavailable = translate(error, timeout: timeout) { outage.record() }
            throw error
        }
    }

    /// Closes `connection` (the pool then opens another) after an error that may have struck while
    /// one of its prepared statements was being prepared: preparing a statement on `clients`
    /// waits for a lock on the table, and when the server cancels that wait (`statement_timeout`,
    /// `lock_timeout`, an operator's `pg_cancel_backend`), PostgresNIO keeps the failure as the
    /// statement's state on that connection and answers every later use with it, without asking
    /// the server: the instance answered `503` for good, while the database was fine again.
    static func discardIfPoisoned(_ connection: PostgresConnection, after error: any Error) async {
        let cause = (error as? PostgresTransactionError).flatMap { $0.closureError ?? $0.beginError ?? $0.commitError } ?? error
        guard let error = cause as? PSQLError, error.code == .server, let state = error.serverInfo?[.sqlState],
              cancelledStates.contains(state)
        else { return }
        try? await connection.close()
    }

    /// SQLSTATEs of a statement the server cancelled for waiting too long: 57014 (a statement
    /// cancelled, `statement_timeout`) and 55P03 (a lock not available, `lock_timeout`).
    static let cancelledStates: Set<String> = ["57014", "55P03"]

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await Self.withConnection(client: client, timeout: timeout, outage: outage) { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await body(connection.sql(queryLogLevel: nil))
                }
            }
        } catch let error as PostgresTransactionError {
            // Report what failed inside the transaction (a spent token, a cap), not the wrapper.
            if let inner = error.closureError { throw inner }
            throw error
        }
    }

    /// A registration without a token to spend or a cap to check is one statement, atomic on its
    /// own (one round trip to the server instead of a transaction's four), shared with the
    /// registrations that arrive at the same moment (see ``RegistrationBatcher``).
    func insertClientBatched(_ client: RegisteredClient) async throws -> Bool? {
        try await batcher.register(ClientRow(client))
        return true
    }

    /// A range on the (kind, term) primary key of `client_search_terms`: an index seek.
    func clientSearchMatches(kind: ClientSearchKind, prefix: String, dynamicOnly: Bool) -> SQLQueryString {
        let dynamic: SQLQueryString = dynamicOnly ? "AND c.dynamically_registered = 1" : ""
        return """
            SELECT DISTINCT t.client_id FROM client_search_terms t JOIN clients c ON c.client_id = t.client_id
            WHERE t.kind = \(bind: kind.rawValue) AND t.term >= \(bind: prefix) AND t.term < \(bind: prefix + "\u{10FFFF}") \(dynamic)
            """
    }

    /// Registrations under a cap take turns on one advisory lock until they commit.
    var capLockStatement: String? { "SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockKey + 1))" }

    func translate(_ error: any Error) -> any Error { Self.translate(error, timeout: timeout) }

    static func translate(_ error: any Error, timeout: Duration) -> any Error {
        if let error = error as? PostgresTransactionError {
            return translate(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? StoreError.corrupt("transaction"),
                             timeout: timeout)
        }
        if let error = error as? PSQLError {
            if error.code == .server, let state = error.serverInfo?[.sqlState] {
                if state == "23505" { return StoreError.duplicate(error.serverInfo?[.constraintName] ?? "unique constraint") }
                // 08: connection exception; 53: insufficient resources; 57P: operator intervention
                // (shutdown, crash recovery); 40: serialization failure or deadlock; a statement
                // cancelled for waiting too long: the database is too slow, not the data wrong.
                if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") || state.hasPrefix("40")
                    || cancelledStates.contains(state) {
                    return StoreError.unavailable("PostgreSQL \(state)")
                }
                // The database is not the one migrated (a restore without the schema, another
                // database): an operator's problem to fix, not a corrupt record.
                if state == "42P01" || state == "42703" || state == "3F000" || state == "3D000" {
                    return StoreError.unavailable("PostgreSQL \(state): the database lacks Registrar's schema or does not exist; run `registrar migrate` against it")
                }
                // 28: the server refuses the login (a changed password, a dropped role).
                if state.hasPrefix("28") { return StoreError.unavailable("PostgreSQL \(state): the login was refused") }
                return StoreError.corrupt("PostgreSQL \(state)")
            }
            return StoreError.unavailable(Self.describe(error))
        }
        if error is DeadlineExceeded || error is CancellationError {
            return StoreError.unavailable("no answer from PostgreSQL within \(timeout)")
        }
        if String(reflecting: type(of: error)).contains("ConnectionPoolError") || error is ChannelError || error is IOError {
            return StoreError.unavailable(Self.describe(error))
        }
        return StoreError.corrupt(String(reflecting: type(of: error)))
    }

    /// A description of a driver error for logs: its kind and SQLSTATE, never the query or its binds.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] { return "PostgreSQL error \(state): \(error.serverInfo?[.message] ?? "")" }
            // A failure to connect carries the network's error (refused, unreachable, no such host).
            if let underlying = error.underlying { return "PostgreSQL \(error.code): \(underlying)" }
            return "PostgreSQL \(error.code)"
        }
        if let error = error as? StoreError { return error.description }
        return "\(error)"
    }
}

/// When the database was last found unreachable.
final class OutageState: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether an unavailability was recorded less than five seconds ago (after that, one call
    /// gets the full deadline again, so a slow but working database is not cut off for long).
    var isRecent: Bool {
        last.withLock { instant in instant.map { ContinuousClock.now - $0 < .seconds(5) } ?? false }
    }

    func record() { last.withLock { $0 = ContinuousClock.now } }
    func clear() { last.withLock { $0 = nil } }
}
