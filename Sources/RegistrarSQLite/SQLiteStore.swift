import Foundation
public import Logging
import RegistrarCore
public import RegistrarSQL
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization
import NIOPosix
import NIOCore

/// The embedded store: one SQLite file in WAL mode. A write is committed before its request is
/// answered; with the default durability it survives a crash of the process, with `full` (an fsync
/// on every group commit) a power loss too.
///
/// One connection writes (SQLite allows one writer at a time anyway); a few more read, which WAL
/// lets run beside the writer.
public final class SQLiteStore: Sendable {
    /// The client and key store over this database.
    public let store: SQLClientStore
    /// The file.
    public let path: String
    let writer: WriterConnection
    let readers: [SQLiteConnection]
    let checkpointer: SQLiteConnection
    let background: SQLiteConnection
    let checkpoints: Task<Void, Never>
    let direct: DirectClientReader?
    let logger: Logger

    /// Opens (creating the file and its folder if needed) and migrates the database at `path`.
    /// How durable a write is when the request that made it is answered.
    public enum Durability: String, Sendable, CaseIterable {
        /// Safe against a crash of the process (the default): WAL with `synchronous = NORMAL`; the
        /// operating system writes the WAL to disk on its own schedule.
        case process
        /// Safe against power loss too: WAL with `synchronous = FULL`, an fsync on every commit
        /// (group commit shares one fsync among the writes that arrive together).
        case full
    }

    public static func open(path: String, readers readerCount: Int = 4, durability: Durability = .process,
                            logger: Logger) async throws -> SQLiteStore {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create the folder \(folder) for the database: \(error.localizedDescription)")
        }
        let writer: WriterConnection
        do {
            writer = try await WriterConnection.open(path: path, logger: logger)
        } catch {
            throw StoreError.unavailable("cannot open the SQLite database \(path): \(error)")
        }
        var readers: [SQLiteConnection] = []
        var checkpointer: SQLiteConnection?
        var background: SQLiteConnection?
        var direct: DirectClientReader?
        var applied: [Int] = []
        let load = ReaderLoad(count: max(readerCount, 0))
        do {
            let synchronous = durability == .full ? "FULL" : "NORMAL"
            for statement in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = \(synchronous)", "PRAGMA busy_timeout = \(WriterConnection.busyTimeout)",
                              "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -8000",
                              "PRAGMA wal_autocheckpoint = \(Self.checkpointPages)", "PRAGMA journal_size_limit = \(Self.walSizeLimit)"] {
                _ = try await writer.query(statement)
            }
            let migrator = SQLMigrator(migrations: SQLiteMigrations.all, begin: "BEGIN IMMEDIATE")
            applied = try await migrator.migrate(on: writer.sql(), now: SystemWallClock().now().milliseconds, logger: logger)
            for _ in 0..<max(readerCount, 0) {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: sqliteThreadPool, logger: logger,
                                                             on: MultiThreadedEventLoopGroup.singleton.any())
                for statement in ["PRAGMA busy_timeout = 5000", "PRAGMA cache_size = -4000"] {
                    _ = try await reader.query(statement, [])
                }
                readers.append(reader)
            }
            let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: sqliteThreadPool, logger: logger,
                                                             on: MultiThreadedEventLoopGroup.singleton.any())
            checkpointer = connection
            _ = try await connection.query("PRAGMA busy_timeout = 5000", [])
            let slow = try await SQLiteConnection.open(storage: .file(path: path), threadPool: backgroundThreadPool, logger: logger,
                                                       on: MultiThreadedEventLoopGroup.singleton.any())
            background = slow
            for statement in ["PRAGMA busy_timeout = 5000", "PRAGMA cache_size = -2000"] {
                _ = try await slow.query(statement, [])
            }
            if !readers.isEmpty {
                direct = try DirectClientReader(path: path, fallback: SQLiteClientRows(readers: readers, load: load))
            }
        } catch {
            try? await background?.close()
            try? await checkpointer?.close()
            for reader in readers { try? await reader.close() }
            await writer.close()
            throw StoreError.unavailable("cannot prepare the SQLite database \(path): \(error)")
        }
        let opened = SQLiteStore(path: path, writer: writer, readers: readers, checkpointer: checkpointer!, background: background!,
                                 load: load, direct: direct, durability: durability, logger: logger)
        do {
            if applied.contains(5) {
                // Clients registered before search terms existed get theirs now.
                let count = try await opened.store.reindexSearchTerms()
                if count > 0 { logger.info("search terms built", metadata: ["clients": .stringConvertible(count)]) }
            }
        } catch {
            await opened.close()
            throw StoreError.unavailable("cannot prepare the SQLite database \(path): \(error)")
        }
        return opened
    }

    /// WAL pages after which the writer checkpoints by itself: a backstop only. Checkpoints are
    /// the background task's job (see ``checkpointEvery``): a checkpoint syncs the database file,
    /// and a writer that did it inside a commit held every waiting registration for that long.
    static let checkpointPages = 16_000
    /// WAL frames short of ``checkpointPages`` from which the background connection checkpoints
    /// every ``checkpointNearBackstopEvery``. Under steady writes SQLite starts the WAL over only
    /// after the writer's own checkpoint at the backstop, inside a commit, which copies every frame
    /// the background connection has not copied yet: 80 ms of writes, about 2,000 frames at 4,000
    /// registrations/s, and every waiting registration stalled 40-65 ms about every 0.5 s (profiles
    /// showed the writer's `sqlite3WalDefaultHook` reading and writing those pages). Checkpointing
    /// every 5 ms near the backstop leaves it a few hundred: register's p99 went from 44-52 ms to
    /// 21-24 ms in three interleaved pairs, with 5-10 % more registrations.
    static let closeToBackstop = 4_000
    static let checkpointNearBackstopEvery = Duration.milliseconds(5)

    /// How long the background connection waits after a checkpoint that found the WAL with `state`
    /// (frames in it, frames copied), given the state found the time before.
    static func pauseAfterCheckpoint(_ state: (frames: Int, copied: Int), previous: (frames: Int, copied: Int)?) -> Duration {
        if let previous, previous == state { return idleCheckpointEvery }
        if state.frames >= checkpointPages - closeToBackstop { return checkpointNearBackstopEvery }
        return checkpointEvery
    }
    /// The WAL file is cut back to this size after a checkpoint.
    static let walSizeLimit = 64 * 1024 * 1024
    /// How often a connection of its own copies the WAL into the database (a passive checkpoint,
    /// which never blocks the writer or the readers) while writes arrive. Small, frequent
    /// checkpoints each copy and sync a few pages; one every 500 ms copied thousands of scattered
    /// pages and stalled the commits beside it for 40-90 ms (register p99 about 73 ms at 500 ms,
    /// 30-35 ms at 25 ms, throughput unchanged, in interleaved runs on one database). Measured again
    /// once registrations had become about 60 % faster (4,000-4,800/s here): p99 58-97 ms at 20 ms
    /// (median of six runs 80), 35-87 ms at 40 ms (median of nine 40), 43-45 ms at 80 ms (six runs),
    /// 49-57 ms at 160 ms, 49-96 ms at 10 ms, throughput unchanged.
    static let checkpointEvery = Duration.milliseconds(80)
    /// The pause after a checkpoint that found the WAL unchanged: an idle server wakes rarely.
    static let idleCheckpointEvery = Duration.milliseconds(500)

    private init(path: String, writer: WriterConnection, readers: [SQLiteConnection], checkpointer: SQLiteConnection,
                 background: SQLiteConnection, load: ReaderLoad, direct: DirectClientReader?, durability: Durability, logger: Logger) {
        self.background = background
        self.direct = direct
        self.path = path
        self.writer = writer
        self.readers = readers
        self.checkpointer = checkpointer
        self.logger = logger
        self.checkpoints = Task {
            var last: (frames: Int, copied: Int)?
            var pause = Self.idleCheckpointEvery
            while !Task.isCancelled {
                try? await Task.sleep(for: pause)
                if Task.isCancelled { break }
                do {
                    let row = try await checkpointer.query("PRAGMA wal_checkpoint(PASSIVE)", []).first
                    let state = (frames: row?.column("log")?.integer ?? 0, copied: row?.column("checkpointed")?.integer ?? 0)
                    pause = Self.pauseAfterCheckpoint(state, previous: last)
                    last = state
                } catch where Task.isCancelled || error is CancellationError {
                    break  // the store is closing: not a failure to report
                } catch {
                    logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                    pause = Self.idleCheckpointEvery
                }
            }
        }
        let provider = SQLiteProvider(
            writer: writer, readers: readers, background: background.sql(queryLogLevel: nil), load: load, clientRows: direct,
            commitsHere: durability == .process)
        self.store = SQLClientStore(provider: provider)
    }

    /// Closes every connection. Call once, after the last request.
    public func close() async {
        checkpoints.cancel()
        await checkpoints.value
        direct?.close()
        try? await checkpointer.close()
        try? await background.close()
        for reader in readers { try? await reader.close() }
        // Leave the WAL checkpointed so the file is self-contained.
        _ = try? await writer.query("PRAGMA wal_checkpoint(TRUNCATE)")
        await writer.close()
    }

    static func translate(_ error: any Error) -> any Error {
        if let error = error as? WriterError { return error.storeError }
        guard let error = error as? SQLiteError else { return StoreError.corrupt("\(error)") }
        switch error.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed:
            return StoreError.duplicate(error.message)
        case .busy, .locked, .busyTimeout, .ioError, .full, .cantOpen, .readOnly:
            return StoreError.unavailable(error.message)
        default:
            return StoreError.corrupt(error.message)
        }
    }
}

/// One writer connection and a few readers (WAL lets them read beside the writer). Every write
/// goes through group commit on the writer (SQLite has one writer at a time anyway): the writes of
/// a batch share one transaction, each runs whole before the next begins, and one that fails is
/// replayed in a savepoint of its own, so it fails alone (`GroupCommitter`).
struct SQLiteProvider: SQLDatabaseProvider {
    let writer: any SQLDatabase
    let readers: [any SQLDatabase]
    let background: any SQLDatabase
    let load: ReaderLoad
    let committer: GroupCommitter
    let clientRows: (any ClientRowReader)?

    init(writer: WriterConnection, readers: [SQLiteConnection], background: any SQLDatabase, load: ReaderLoad,
         clientRows: (any ClientRowReader)?, commitsHere: Bool) {
        self.committer = GroupCommitter(connection: writer, commitsHere: commitsHere)
        self.writer = committer.db
        self.readers = readers.map { $0.sql(queryLogLevel: nil) }
        self.background = background
        self.load = load
        self.clientRows = clientRows
    }

    /// A read goes to the reader with the fewest reads in progress. A connection runs one
    /// statement at a time, so a long read (an administrator's search or list over many clients)
    /// would otherwise hold up every request dealt to its connection in turn (a test shows it).
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard !readers.isEmpty else { return try await body(writer) }
        return try await load.onLeastBusy { try await body(readers[$0]) }
    }

    func backgroundRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await body(background)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await committer.run(body)
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await committer.run(body)
    }

    /// Run with the rest of its batch in one trip.
    func writeStatement(_ statement: any SQLExpression) async throws -> [any SQLRow] {
        try await committer.statement(statement)
    }

    func insertClientBatched(_ client: RegisteredClient) async throws -> Bool? {
        try await committer.insert(client)
        return true
    }

    func updateClientBatched(_ update: ClientRowUpdate) async throws -> Bool? {
        try await committer.update(update)
    }

    func compactSearchIndex() async throws {
        try await committer.run { db in try await db.raw("\(unsafeRaw: SearchIndex.optimize)").run() }
    }

    var searchTerms: SearchTermsColumn { SearchIndex.column }

    /// The events as one JSON array of arrays, one bind: the statement's text is the same for any
    /// batch, so the writer keeps it prepared, where a row of eight binds per event was a new text,
    /// serialized by SQLKit bind by bind and compiled for every batch (see `AuditInserts`).
    func auditInsert(_ events: [AuditEvent]) -> SQLQueryString {
        AuditInserts.statement(events)
    }

    /// The events whose `client_id` has the client ID's token in the FTS5 index (see
    /// `AuditClientIndex`), then compared exactly.
    func auditEventsCondition(clientID: String) -> SQLQueryString {
        """
        id IN (SELECT rowid FROM audit_client_search WHERE audit_client_search MATCH \(bind: AuditClientIndex.query(clientID: clientID))) \
        AND client_id = \(bind: clientID)
        """
    }

    /// The FTS5 index's prefix query (see `SearchIndex`), joined to the clients by `search_id`.
    func clientSearchMatches(kind: ClientSearchKind, prefix: String, dynamicOnly: Bool) -> SQLQueryString {
        let dynamic: SQLQueryString = dynamicOnly ? "AND c.dynamically_registered = 1" : ""
        return """
            SELECT c.client_id FROM client_search JOIN clients c ON c.search_id = client_search.rowid
            WHERE client_search MATCH \(bind: SearchIndex.query(kind: kind, prefix: prefix)) \(dynamic)
            """
    }

    /// Transactions on the one writer are serial already.
    var capLockStatement: String? { nil }

    func translate(_ error: any Error) -> any Error { SQLiteStore.translate(error) }
}

/// The threads SQLite calls block on: its own pool, so that the writer (and an fsync with
/// `durability: full`) never waits behind reads or other blocking work, and readers run in parallel.
let sqliteThreadPool: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 8)
    pool.start()
    return pool
}()

/// The thread of the background connection: one thread, at a lower scheduling priority (nice
/// 10 steps above the process's) where the system allows it, so that a count of every client uses
/// the CPU that requests leave idle. With an equal priority, the once-a-minute count of a million
/// clients (about 65 ms of one core) held token requests up to 110-345 ms on two busy cores;
/// without the count, 24 ms.
let backgroundThreadPool: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 1)
    pool.start()
    pool.submit { _ in
        #if canImport(Glibc)
        // On Linux a thread's nice value is its own: this lowers only the background thread.
        // (`gettid` is not in Swift's Glibc module; glibc exports it.)
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "gettid") {
            let gettid = unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
            let thread = id_t(gettid()), which = __priority_which_t(PRIO_PROCESS.rawValue)
            // Ten steps below the process's own priority (a process started under `nice` stays below).
            _ = setpriority(which, thread, min(getpriority(which, thread) + 10, 19))
        }
        #endif
    }
    return pool
}()

/// SQLite's insert of a batch of audit events: `INSERT ... SELECT` over `json_each` of one JSON
/// array, an array of the eight columns per event (``json(_:)``).
enum AuditInserts {
    /// The statement for `events`: the same text for any batch.
    static func statement(_ events: [AuditEvent]) -> SQLQueryString {
        "INSERT INTO audit_events (\(unsafeRaw: SQLClientStore.auditColumns)) SELECT \(unsafeRaw: columns) FROM json_each(\(bind: json(events)))"
    }

    /// An event's columns, from its array.
    private static let columns = SQLClientStore.auditColumnNames.indices.map { "value ->> \($0)" }.joined(separator: ", ")

    /// The events' columns, in ``SQLClientStore/auditColumns``' order: `[[time, "event", ...], ...]`.
    static func json(_ events: [AuditEvent]) -> String {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return JSONWriter.string(.array(events.map { event in
            .array([.int(event.time.milliseconds), .string(event.kind.rawValue), text(event.clientID), text(event.actorIP),
                    text(event.initialAccessTokenID), text(event.adminClientID), .string(event.outcome), text(event.detail)])
        }))
    }
}

/// Single-client reads on the thread-pool reader connections, without SQLKit: the statement is a
/// constant string and the row's values are taken as SQLite returns them. The fallback of
/// ``DirectClientReader`` (which runs the same statements through SQLite's C API on the calling
/// thread) when SQLite is busy or a direct connection cannot be had.
struct SQLiteClientRows: ClientRowReader {
    let readers: [SQLiteConnection]
    let load: ReaderLoad
    func row(clientID: String) async throws -> (clientID: String, row: DecodedClientCache.Row)? {
        let rows = try await load.onLeastBusy { try await readers[$0].query(SQLClientStore.selectByClientID, [.text(clientID)]) }
        return try rows.first.map { try Self.values($0.columns.map(\.data)) }
    }

    func isAccessTokenRevoked(jti: String) async throws -> Bool {
        let rows = try await load.onLeastBusy { try await readers[$0].query(SQLClientStore.revokedTokenStatement, [.text(jti)]) }
        return !rows.isEmpty
    }

    /// The values of a row of ``SQLClientStore/columns``, in that order.
    static func values(_ data: [SQLiteData]) throws -> (clientID: String, row: DecodedClientCache.Row) {
        try ClientColumns.decode(count: data.count) { i in
            switch data[i] {
            case .text(let value): .text(value)
            case .integer(let value): .integer(Int64(value))
            case .null: .null
            default: .other
            }
        }
    }
}

/// A client's row as SQLite returns it, whichever way it was read (SQLiteNIO's values or the C
/// API's columns): the same types are required of both.
enum ClientColumns {
    enum Value {
        case text(String), integer(Int64), null, other
    }

    /// The client ID and stored values from the `count` columns of a row of
    /// ``SQLClientStore/columnNames``, in that order, each given by `value`; a value of another
    /// type than its column's is a damaged row.
    static func decode(count: Int, _ value: (Int) -> Value) throws -> (clientID: String, row: DecodedClientCache.Row) {
        let expected = SQLClientStore.columnNames.count
        guard count == expected else { throw StoreError.corrupt("a client row has \(count) columns, not \(expected)") }
        let values = (0..<count).map(value)  // each column read once
        func text(_ i: Int) throws -> String {
            guard case .text(let text) = values[i] else { throw StoreError.corrupt("client column \(i) is not text") }
            return text
        }
        func optionalText(_ i: Int) throws -> String? {
            if case .null = values[i] { return nil }
            return try text(i)
        }
        func integer(_ i: Int) throws -> Int64 {
            guard case .integer(let integer) = values[i] else { throw StoreError.corrupt("client column \(i) is not an integer") }
            return integer
        }
        func optionalInteger(_ i: Int) throws -> Int64? {
            if case .null = values[i] { return nil }
            return try integer(i)
        }
        return (try text(0), DecodedClientCache.Row(
            document: try text(1), createdAt: try integer(2), updatedAt: try integer(3), secretDigest: try optionalText(4),
            registrationTokenDigest: try optionalText(5), version: try integer(6), policy: try text(7),
            dynamicallyRegistered: try integer(8) != 0, expiresAt: try optionalInteger(9), lastUsedAt: try optionalInteger(10)))
    }
}

/// How many reads each reader connection has in progress.
final class ReaderLoad: Sendable {
    private let state: Mutex<(inFlight: [Int], next: Int)>

    init(count: Int) { state = Mutex((Array(repeating: 0, count: count), 0)) }

    /// The index of a least busy reader, counted as busy one more read until ``release(_:)``.
    /// Ties go round-robin, so idle readers share the work too. There must be a reader.
    func acquire() -> Int {
        state.withLock { state in
            let count = state.inFlight.count
            var best = state.next
            for offset in 1..<count {
                let candidate = (state.next + offset) % count
                if state.inFlight[candidate] < state.inFlight[best] { best = candidate }
            }
            state.inFlight[best] += 1
            state.next = (best + 1) % count
            return best
        }
    }

    /// Ends a read started with ``acquire()``.
    func release(_ index: Int) {
        state.withLock { $0.inFlight[index] -= 1 }
    }

    /// Runs `body` with the index of a least busy reader, counted busy until it returns.
    func onLeastBusy<T>(_ body: (Int) async throws -> T) async rethrows -> T {
        let index = acquire()
        defer { release(index) }
        return try await body(index)
    }

    /// Reads in progress on each reader (for tests).
    var inFlight: [Int] { state.withLock { $0.inFlight } }
}

extension SQLiteStore {
    /// The journal mode in force (`wal` once opened).
    public func journalMode() async throws -> String {
        let rows = try await writer.query("PRAGMA journal_mode")
        return rows.first?.column("journal_mode")?.string ?? ""
    }

    /// The applied schema versions, in order.
    public func schemaVersions() async throws -> [Int] {
        try await writer.query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0.column("version")?.integer }
    }
}

extension SQLiteStore {
    /// The query plan of a statement (`EXPLAIN QUERY PLAN`), one line per step; for tests that check
    /// an index is used.
    public func queryPlan(_ sql: String) async throws -> [String] {
        try await writer.query("EXPLAIN QUERY PLAN " + sql).compactMap { $0.column("detail")?.string }
    }
}
