import RegistrarCore
import RegistrarSQL
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// Group commit for the one SQLite writer: writes that arrive while a transaction is running wait,
/// then run together in the next one. One commit (one fsync with `durability: full`) then covers
/// many writes. A batch of new clients, clients' updates and single statements (``statement(_:)``)
/// runs in one call into SQLite (``commitsHere``), the new clients in one statement and each run of
/// updates in one (``ClientUpdates``); any other write is a closure over SQLKit. If a write of the batch
/// fails, the batch is rolled back and replayed with each write in its own savepoint, so that only
/// the failing one fails. Every caller is answered after the commit that made its write durable.
actor GroupCommitter {
    struct Job: Sendable {
        let work: @Sendable (any SQLDatabase) async throws -> Void
        let done: @Sendable (Result<Void, any Error>) -> Void
        /// A new client to insert, as the values of one row of ``ClientInserts``: such jobs
        /// share one statement in the fast path. Encoded by the caller, outside the committer, so
        /// that the one serial part of a registration does as little as it can.
        var insert: [SQLiteData]?
        /// One statement, already serialized, whose rows go to `rows` once committed: such jobs
        /// run in the fast path in the same call into SQLite as the batch's inserts.
        var statement: Statement?
        /// A client's update: in the fast path, the updates queued one after another share one
        /// statement (``ClientUpdates``).
        var update: Update?
    }

    /// A write of one statement (an update, a delete, a batch of audit events...).
    struct Statement: Sendable {
        let sql: String
        let binds: [SQLiteData]
        let rows: ResultBox<[WriterRow]>
    }

    /// A client's update, and whether its row matched (set once committed).
    struct Update: Sendable {
        let row: ClientRowUpdate
        let matched: ResultBox<Bool>
    }

    /// A write of the fast path after the batch's inserts, in queue order.
    enum Write: Sendable {
        case statement(Statement)
        case update(Update)
    }

    /// What a write of the fast path returned.
    enum Outcome: Sendable {
        case rows([WriterRow])
        case matched(Bool)
    }

    let db: any SQLDatabase
    /// The same connection as `db`, for a batch of registrations in one call into SQLite.
    let connection: WriterConnection
    /// Whether a batch of the fast path runs on the committer's own thread (``WriterConnection/withHandleHere(_:)``)
    /// rather than on SQLite's thread pool; only when a commit does not sync (`durability: process`).
    ///
    /// Register leaves about a sixth of the machine idle at 32 connections: many requests wait for
    /// a commit at once, and the writer then runs alone. Each trip to SQLite's thread pool and back
    /// to the committer added about 0.3 ms to every batch (a thread to wake on a busy machine, then
    /// the committer's turn on the cooperative threads). Run here, a batch is only SQLite's work:
    /// in interleaved pairs on 200,000 clients against the thread pool, register +1 % and +10 %
    /// (medians of two series of 4 pairs; a higher share of the ceiling in 7 pairs of 8), update
    /// +16 % and delete +9 % (3 pairs each), p99 the same or lower. The thread is blocked for the
    /// batch (about 0.4 ms for 17 registrations, longer when the commit is the one that checkpoints
    /// at the backstop or starts the WAL over); with `durability: full` every commit syncs the WAL,
    /// which does not belong on a cooperative thread, and batches go to SQLite's thread pool.
    nonisolated let commitsHere: Bool
    /// The writes waiting for the next batch, and whether a drain is running. Behind a lock, not
    /// in the actor: a write joins the queue on its caller's thread, without a task of its own to
    /// reach the actor.
    private let pending = Mutex<(queue: [Job], running: Bool)>(([], false))
    /// Batches committed so far (for tests).
    private(set) var batches = 0
    /// Most writes in one transaction.
    static let maximumBatch = 256

    init(connection: WriterConnection, commitsHere: Bool = false) {
        self.connection = connection
        self.db = connection.sql()
        self.commitsHere = commitsHere
    }

    /// Runs `body` in the next group transaction and returns its result once that has committed.
    nonisolated func run<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await submitAndWait { (box: ResultBox<T>, done) in Job(work: { db in box.set(try await body(db)) }, done: done) }
    }

    /// Inserts a client in the next group transaction, in statements shared with the other clients
    /// of that batch.
    nonisolated func insert(_ client: RegisteredClient) async throws {
        let row = ClientInserts.row(client)
        try await submitAndWait { done in
            Job(work: { db in try await SQLClientStore.insertRows([client], into: db, search: SearchIndex.column) }, done: done, insert: row)
        }
    }

    /// Runs one statement in the next group transaction and returns its rows once that has
    /// committed. In the fast path every statement and insert of a batch runs in one trip to
    /// SQLite's thread (through SQLKit, each statement would be a trip of its own).
    nonisolated func statement(_ query: any SQLExpression) async throws -> [WriterRow] {
        let (sql, binds) = try WriterDatabase(connection: connection).serialize(query)
        let connection = self.connection
        return try await submitAndWait { (rows: ResultBox<[WriterRow]>, done) in
            Job(work: { _ in rows.set(try await connection.query(sql, binds)) }, done: done,
                statement: Statement(sql: sql, binds: binds, rows: rows))
        }
    }

    /// Updates a client's row in the next group transaction, in one statement with the updates
    /// queued next to it; `true` if the row had the expected version (and now has the new values).
    nonisolated func update(_ row: ClientRowUpdate) async throws -> Bool {
        let connection = self.connection
        return try await submitAndWait { (matched: ResultBox<Bool>, done) in
            Job(work: { _ in
                let (sql, binds) = ClientUpdates.single(row)
                matched.set(try await !connection.query(sql, binds).isEmpty)
            }, done: done, update: Update(row: row, matched: matched))
        }
    }

    /// Queues the job `make` builds around its completion handler, and returns once the job's batch
    /// has committed (or throws the job's error).
    private nonisolated func submitAndWait(_ make: (@escaping @Sendable (Result<Void, any Error>) -> Void) -> Job) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(make { continuation.resume(with: $0) })
        }
    }

    /// ``submitAndWait(_:)`` for a job that leaves a result in the box `make` is given: the result,
    /// once the job's batch has committed.
    private nonisolated func submitAndWait<T: Sendable>(
        _ make: (ResultBox<T>, @escaping @Sendable (Result<Void, any Error>) -> Void) -> Job
    ) async throws -> T {
        let box = ResultBox<T>()
        try await submitAndWait { done in make(box, done) }
        guard let value = box.get() else { throw CancellationError() }
        return value
    }

    /// Queues a write for the next batch, and starts draining the queue unless a drain is running.
    nonisolated func submit(_ job: Job) {
        let start = pending.withLock { pending -> Bool in
            pending.queue.append(job)
            guard !pending.running else { return false }
            pending.running = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    func drain() async {
        while true {
            // Let the requests already running reach the queue first (two turns of the executor):
            // a commit's cost is mostly per transaction (the pages every registration touches are
            // written once per commit), so larger batches write less per registration. Interleaved
            // runs against the previous committer (four trips per batch, no turns), nine pairs:
            // register +8 to +38 %, 4-26 % less CPU, the same p99. The one-trip commit without
            // turns: p99 37-86 ms (small batches, more pages written per registration); one turn
            // 28-44 ms; three no better than two.
            await Task.yield()
            await Task.yield()
            let batch = pending.withLock { pending -> [Job]? in
                guard !pending.queue.isEmpty else {
                    pending.running = false
                    return nil
                }
                let batch = Array(pending.queue.prefix(Self.maximumBatch))
                pending.queue.removeFirst(batch.count)
                return batch
            }
            guard let batch else { return }
            await commit(batch)
        }
    }

    /// Runs a batch in one transaction. The fast path runs the jobs back to back; if one fails,
    /// the transaction is rolled back and the jobs are replayed, each in its own savepoint, so that
    /// only the failing one fails (writes are idempotent until committed, so replaying is safe).
    func commit(_ batch: [Job]) async {
        batches += 1
        if await runTogether(batch) { return }
        await runIsolated(batch)
    }

    /// All jobs in one transaction; `false` (and nothing answered) if any job failed. A batch of
    /// registrations, updates and single statements only is one call into SQLite (`BEGIN`, the
    /// clients' rows in one statement, each run of updates in one statement, each other
    /// statement, `COMMIT`).
    func runTogether(_ batch: [Job]) async -> Bool {
        let rows = batch.compactMap(\.insert)
        let writes = batch.compactMap { job -> Write? in
            if let statement = job.statement { return .statement(statement) }
            return job.update.map(Write.update)
        }
        if rows.count + writes.count == batch.count {
            let outcomes: [Outcome]
            do {
                outcomes = try await insertClients(rows, then: writes)
            } catch {
                return false  // rolled back, nothing left behind; the slow path says which failed
            }
            for (write, outcome) in zip(writes, outcomes) {
                switch (write, outcome) {
                case (.statement(let statement), .rows(let rows)): statement.rows.set(rows)
                case (.update(let update), .matched(let matched)): update.matched.set(matched)
                default: break  // ClientUpdates.run answers each write with its own kind
                }
            }
            for job in batch { job.done(.success(())) }
            return true
        }
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            for job in batch { job.done(.failure(error)) }
            return true
        }
        do {
            if !rows.isEmpty { try await insertClients(rows) }
            for job in batch where job.insert == nil { try await job.work(db) }
        } catch {
            try? await db.raw("ROLLBACK").run()
            return false
        }
        do {
            try await db.raw("COMMIT").run()
            for job in batch { job.done(.success(())) }
        } catch {
            try? await db.raw("ROLLBACK").run()
            for job in batch { job.done(.failure(error)) }
        }
        return true
    }

    /// New clients (the schema's trigger indexes their search terms) inside the caller's
    /// transaction: one insert statement for every row (``ClientInserts``), in one trip.
    func insertClients(_ rows: [[SQLiteData]]) async throws {
        _ = try await connection.withHandle { handle in
            try ClientInserts.run(rows, on: handle)
        }
    }

    /// New clients (one insert statement for every row), then `writes` in order, in a transaction
    /// of their own and one trip: all of them or none. Returns each write's outcome, in order.
    ///
    /// With ``commitsHere``, on this thread; if another connection holds the write lock (another
    /// process writing), the batch, rolled back, goes to SQLite's thread pool, which waits for the
    /// lock up to the busy timeout.
    func insertClients(_ rows: [[SQLiteData]], then writes: [Write]) async throws -> [Outcome] {
        let batch: @Sendable (WriterConnection.Handle) throws -> [Outcome] = { handle in
            try handle.execute("BEGIN IMMEDIATE")
            do {
                try ClientInserts.run(rows, on: handle)
                let outcomes = try ClientUpdates.run(writes, on: handle)
                try handle.execute("COMMIT")
                return outcomes
            } catch {
                // A failed COMMIT may leave the transaction open (SQLITE_BUSY): end it either way.
                _ = try? handle.execute("ROLLBACK")
                throw error
            }
        }
        if commitsHere {
            do {
                return try connection.withHandleHere(batch)
            } catch let error as WriterError where error.isBusy {
                // Nothing was written: wait for the lock on SQLite's thread pool instead.
            }
        }
        return try await connection.withHandle(batch)
    }

    /// The slow path: each job in its own savepoint of one transaction.
    func runIsolated(_ batch: [Job]) async {
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            for job in batch { job.done(.failure(error)) }
            return
        }
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(batch.count)
        for job in batch {
            do {
                try await db.raw("SAVEPOINT registrar_write").run()
                do {
                    try await job.work(db)
                    try await db.raw("RELEASE registrar_write").run()
                    outcomes.append(.success(()))
                } catch {
                    do {
                        try await db.raw("ROLLBACK TO registrar_write").run()
                        try await db.raw("RELEASE registrar_write").run()
                    } catch {
                        // SQLite rolled the whole transaction back itself (a full disk, an I/O
                        // error): the savepoint is gone, and with it the earlier jobs' writes.
                        // Every job fails; none may run on outside a transaction.
                        try? await db.raw("ROLLBACK").run()
                        for job in batch { job.done(.failure(error)) }
                        return
                    }
                    outcomes.append(.failure(error))
                }
            } catch {
                // No savepoint means no transaction to put this job in: stop here, as above.
                try? await db.raw("ROLLBACK").run()
                for job in batch { job.done(.failure(error)) }
                return
            }
        }
        do {
            try await db.raw("COMMIT").run()
            for (job, outcome) in zip(batch, outcomes) { job.done(outcome) }
        } catch {
            try? await db.raw("ROLLBACK").run()
            for job in batch { job.done(.failure(error)) }
        }
    }
}

/// Carries a job's result out of the batch.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    func set(_ new: T) { value.withLock { $0 = new } }
    func get() -> T? { value.withLock { $0 } }
}

/// Registrations' rows: `INSERT INTO clients` with each client's search document in
/// `search_document`, which the insert trigger adds to the search index (`SearchIndex`).
///
/// A batch goes in as one multi-row statement, not a statement per client: a statement whose
/// trigger writes the FTS5 index opens a statement savepoint, and FTS5 writes out the terms it
/// holds at every savepoint, so a statement per client wrote (and later merged) a segment of the
/// index per client instead of one per batch. Interleaved register runs on 200,000 clients, three
/// pairs: about the same throughput as statements of 32, 4 and 1 rows kept prepared, with p99
/// 15-20 ms against 22-26 ms; measured again on 2026-12-07, one kept statement per client was 17 %
/// slower. The statement of each batch size up to ``keptRows`` is kept prepared (``run(_:on:)``).
enum ClientInserts {
    static let columns = SQLClientStore.insertColumnNames(SearchIndex.column)

    /// The values of one row: the client's columns, then its search document.
    static func row(_ client: RegisteredClient) -> [SQLiteData] {
        func text(_ value: String?) -> SQLiteData { SQLiteData(.text(value)) }
        func integer(_ value: Int64?) -> SQLiteData { SQLiteData(.integer(value)) }
        return [
            .text(client.clientID), .text(client.document), integer(client.createdAt.milliseconds),
            integer(client.updatedAt.milliseconds), text(client.secretDigest), text(client.registrationTokenDigest),
            integer(client.version), .text(client.policy), .integer(client.dynamicallyRegistered ? 1 : 0),
            integer(client.expiresAt?.milliseconds), integer(client.lastUsedAt?.milliseconds),
            .text(SearchIndex.document(for: client)),
        ]
    }

    /// `INSERT INTO clients (...) VALUES (?, ...), (?, ...)` for `rows` rows.
    static func statement(rows: Int) -> String {
        prefix + Array(repeating: rowPlaceholders, count: rows).joined(separator: ", ")
    }

    /// Batches of up to this many new clients keep their statement prepared.
    static let keptRows = 32

    /// Inserts `rows` (none: nothing) with one statement. Statements of up to ``keptRows`` rows are
    /// kept prepared, one for each size: preparing an insert on `clients` compiles the search
    /// index's trigger into it, 10 % of the writer's time in a registration's profile when every
    /// batch prepared its own (2026-12-07). One statement for the batch, not one run of a one-row
    /// statement for each client: FTS5 writes out what it holds in memory at every statement's
    /// savepoint, so one statement a client left a segment a client (register 17 % slower).
    static func run(_ rows: [[SQLiteData]], on handle: WriterConnection.Handle) throws {
        guard !rows.isEmpty else { return }
        try handle.execute(statement(rows: rows.count), Array(rows.joined()), keep: rows.count <= keptRows)
    }

    private static let prefix = "INSERT INTO clients (\(SQLClientStore.insertColumns(SearchIndex.column))) VALUES "
    private static let rowPlaceholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
}
