import Foundation
public import Logging
import RegistrarCore
public import RegistrarSQL
import SQLKit
import SQLiteKit
import SQLiteNIO
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
    let writer: SQLiteConnection
    let readers: [SQLiteConnection]
    let checkpointer: SQLiteConnection
    let checkpoints: Task<Void, Never>
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

    public static func open(path: String, readers readerCount: Int = 4, durability: Durability = .process, logger: Logger) async throws -> SQLiteStore {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create the folder \(folder) for the database: \(error.localizedDescription)")
        }
        let writer: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: sqliteThreadPool, logger: logger,
                                                     on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            throw StoreError.unavailable("cannot open the SQLite database \(path): \(error)")
        }
        var readers: [SQLiteConnection] = []
        var checkpointer: SQLiteConnection?
        var applied: [Int] = []
        do {
            let synchronous = durability == .full ? "FULL" : "NORMAL"
            for statement in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = \(synchronous)", "PRAGMA busy_timeout = 5000",
                              "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -8000",
                              "PRAGMA wal_autocheckpoint = \(Self.checkpointPages)", "PRAGMA journal_size_limit = \(Self.walSizeLimit)"] {
                _ = try await writer.query(statement, [])
            }
            let migrator = SQLMigrator(migrations: SQLiteMigrations.all, begin: "BEGIN IMMEDIATE")
            applied = try await migrator.migrate(on: writer.sql(queryLogLevel: nil), now: SystemWallClock().now().milliseconds, logger: logger)
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
        } catch {
            try? await checkpointer?.close()
            for reader in readers { try? await reader.close() }
            try? await writer.close()
            throw StoreError.unavailable("cannot prepare the SQLite database \(path): \(error)")
        }
        let opened = SQLiteStore(path: path, writer: writer, readers: readers, checkpointer: checkpointer!, logger: logger)
        if applied.contains(5) {
            // Clients registered before search terms existed get theirs now.
            let count = try await opened.store.reindexSearchTerms()
            if count > 0 { logger.info("search terms built", metadata: ["clients": .stringConvertible(count)]) }
        }
        return opened
    }

    /// WAL pages after which the writer checkpoints by itself: a backstop only. Checkpoints are
    /// the background task's job (see ``checkpointEvery``): a checkpoint syncs the database file,
    /// and a writer that did it inside a commit held every waiting registration for that long.
    static let checkpointPages = 16_000
    /// The WAL file is cut back to this size after a checkpoint.
    static let walSizeLimit = 64 * 1024 * 1024
    /// How often a connection of its own copies the WAL into the database (a passive checkpoint,
    /// which never blocks the writer or the readers) while writes arrive. Small, frequent
    /// checkpoints each copy and sync a few pages; one every 500 ms copied thousands of scattered
    /// pages and stalled the commits beside it for 40-90 ms (register p99 about 73 ms at 500 ms,
    /// 30-35 ms at 25 ms, throughput unchanged, in interleaved runs on one database).
    static let checkpointEvery = Duration.milliseconds(20)
    /// The pause after a checkpoint that found the WAL unchanged: an idle server wakes rarely.
    static let idleCheckpointEvery = Duration.milliseconds(500)

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], checkpointer: SQLiteConnection, logger: Logger) {
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
                    pause = last.map { $0 == state } ?? false ? Self.idleCheckpointEvery : Self.checkpointEvery
                    last = state
                } catch {
                    logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                    pause = Self.idleCheckpointEvery
                }
            }
        }
        self.store = SQLClientStore(provider: SQLiteProvider(
            writer: writer.sql(queryLogLevel: nil), readers: readers.map { $0.sql(queryLogLevel: nil) }))
    }

    /// Closes every connection. Call once, after the last request.
    public func close() async {
        checkpoints.cancel()
        await checkpoints.value
        try? await checkpointer.close()
        for reader in readers { try? await reader.close() }
        // Leave the WAL checkpointed so the file is self-contained.
        _ = try? await writer.query("PRAGMA wal_checkpoint(TRUNCATE)", [])
        try? await writer.close()
    }

    static func translate(_ error: any Error) -> any Error {
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
/// goes through group commit on the writer (SQLite has one writer at a time anyway): each runs in
/// its own savepoint of a shared transaction, so a write is atomic on its own and no other
/// request's statement can slip into it.
struct SQLiteProvider: SQLDatabaseProvider {
    let writer: any SQLDatabase
    let readers: [any SQLDatabase]
    let counter = Counter()
    let committer: GroupCommitter

    init(writer: any SQLDatabase, readers: [any SQLDatabase]) {
        self.writer = writer
        self.readers = readers
        self.committer = GroupCommitter(db: writer)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await body(readers.isEmpty ? writer : readers[counter.next() % readers.count])
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await committer.run(body)
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await committer.run(body)
    }

    func insertClientBatched(_ client: RegisteredClient) async throws -> Bool? {
        try await committer.insert(client)
        return true
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

/// A round-robin counter behind a lock.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value &+= 1
        return value & Int.max
    }
}

extension SQLiteStore {
    /// The journal mode in force (`wal` once opened).
    public func journalMode() async throws -> String {
        let rows = try await writer.query("PRAGMA journal_mode", [])
        return rows.first?.column("journal_mode")?.string ?? ""
    }

    /// The applied schema versions, in order.
    public func schemaVersions() async throws -> [Int] {
        try await writer.query("SELECT version FROM schema_migrations ORDER BY version", []).compactMap { $0.column("version")?.integer }
    }
}

extension SQLiteStore {
    /// The query plan of a statement (`EXPLAIN QUERY PLAN`), one line per step; for tests that check
    /// an index is used.
    public func queryPlan(_ sql: String) async throws -> [String] {
        try await writer.query("EXPLAIN QUERY PLAN " + sql, []).compactMap { $0.column("detail")?.string }
    }
}
