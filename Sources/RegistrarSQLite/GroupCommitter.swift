import RegistrarCore
import RegistrarSQL
import SQLKit
import Synchronization

/// Group commit for the one SQLite writer: writes that arrive while a transaction is running wait,
/// then run together in the next one, each inside its own savepoint. One commit (one fsync with
/// `durability: full`) then covers many registrations, and a failing write rolls back only its own
/// savepoint. Every caller is answered after the commit that made its write durable.
actor GroupCommitter {
    struct Job {
        let work: @Sendable (any SQLDatabase) async throws -> Void
        let done: @Sendable (Result<Void, any Error>) -> Void
        /// A new client to insert: such jobs share multi-row statements in the fast path.
        var client: RegisteredClient?
    }

    let db: any SQLDatabase
    var queue: [Job] = []
    var running = false
    /// Most writes in one transaction.
    static let maximumBatch = 256

    init(db: any SQLDatabase) { self.db = db }

    /// Runs `body` in the next group transaction and returns its result once that has committed.
    nonisolated func run<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let box = ResultBox<T>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = Job(work: { db in box.set(try await body(db)) }, done: { continuation.resume(with: $0) })
            Task { await self.enqueue(job) }
        }
        guard let value = box.get() else { throw CancellationError() }
        return value
    }

    /// Inserts a client in the next group transaction, in statements shared with the other clients
    /// of that batch.
    nonisolated func insert(_ client: RegisteredClient) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = Job(work: { db in try await SQLClientStore.insertRows([client], into: db) },
                          done: { continuation.resume(with: $0) }, client: client)
            Task { await self.enqueue(job) }
        }
    }

    func enqueue(_ job: Job) {
        queue.append(job)
        guard !running else { return }
        running = true
        Task { await drain() }
    }

    func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(Self.maximumBatch))
            queue.removeFirst(batch.count)
            await commit(batch)
        }
        running = false
    }

    /// Runs a batch in one transaction. The fast path runs the jobs back to back; if one fails,
    /// the transaction is rolled back and the jobs are replayed, each in its own savepoint, so that
    /// only the failing one fails (writes are idempotent until committed, so replaying is safe).
    func commit(_ batch: [Job]) async {
        if await runTogether(batch) { return }
        await runIsolated(batch)
    }

    /// All jobs in one transaction; `false` (and nothing answered) if any job failed.
    func runTogether(_ batch: [Job]) async -> Bool {
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            for job in batch { job.done(.failure(error)) }
            return true
        }
        let inserts = batch.compactMap(\.client)
        do {
            if !inserts.isEmpty { try await SQLClientStore.insertRows(inserts, into: db) }
            for job in batch where job.client == nil { try await job.work(db) }
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
