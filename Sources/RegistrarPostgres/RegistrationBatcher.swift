import RegistrarCore
import Synchronization

/// Registrations that arrive together share one statement, one round trip and one commit on
/// PostgreSQL (the server's commit, with its WAL flush, is most of a registration's cost there).
///
/// The first registration to find no batch forming leads one: it lets the requests already running
/// reach the queue (two turns of the executor), then takes everything queued (at most
/// ``maximumBatch``) and inserts it in one statement, while the next arrival starts the next batch;
/// batches run side by side on the pool's connections. A statement that fails (a duplicate client
/// ID among the batch) is answered client by client: each registration of that batch is retried
/// alone, so only the failing one fails. Until the statement commits, nothing of the batch is
/// stored, so retrying is safe. A batch the database did not answer in time fails as a whole:
/// retrying each would wait for a deadline each (and the statement may yet commit).
final class RegistrationBatcher<Row: Sendable>: Sendable {
    typealias Insert = @Sendable ([Row]) async throws -> Void

    private struct Waiting {
        let row: Row
        /// The values it adds to the statement, counted before it queues (not under the lock).
        let parameters: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var forming = false
    }

    /// Most registrations in one statement.
    static var maximumBatch: Int { 256 }
    /// Most values in one statement, counted as ``SQLClientStore/parameterCount(terms:)`` does:
    /// a client adds 11 plus 3 per search term (about 60 for a typical one; a client with many
    /// redirect URIs or contacts adds more, and its batch is then smaller). The statement passes
    /// the clients as 12 array parameters, the terms in one of them, from which the schema's
    /// trigger inserts a row per term; this bound keeps one statement's size in check.
    static var maximumParameters: Int { 60_000 }

    private let state = Mutex(State())
    private let insert: Insert
    private let parameters: @Sendable (Row) -> Int
    private let retriesAlone: @Sendable (any Error) -> Bool

    /// `insert` writes the clients' rows it is given in one statement, all or none; `parameters`
    /// says how many values a row adds to that statement; `retriesAlone` says whether a batch that
    /// failed with an error is worth trying again client by client (a duplicate client ID is; a
    /// database that did not answer is not).
    init(parameters: @escaping @Sendable (Row) -> Int, insert: @escaping Insert,
         retriesAlone: @escaping @Sendable (any Error) -> Bool = { _ in true }) {
        self.parameters = parameters
        self.insert = insert
        self.retriesAlone = retriesAlone
    }

    /// Stores a client's row in the next batch; returns once that batch (or, after a failure, the
    /// row's own statement) has committed.
    func register(_ row: Row) async throws {
        let parameters = self.parameters(row)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let lead = state.withLock { state -> Bool in
                state.queue.append(Waiting(row: row, parameters: parameters, continuation: continuation))
                guard !state.forming else { return false }
                state.forming = true
                return true
            }
            if lead { Task { await self.lead() } }
        }
    }

    private func lead() async {
        await Task.yield()
        await Task.yield()
        let (batch, more) = state.withLock { state -> ([Waiting], Bool) in
            var count = 0, total = 0
            for waiting in state.queue.prefix(Self.maximumBatch) {
                total += waiting.parameters
                if count > 0 && total > Self.maximumParameters { break }
                count += 1
            }
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            state.forming = !state.queue.isEmpty
            return (batch, state.forming)
        }
        if more { Task { await self.lead() } }
        guard !batch.isEmpty else { return }
        do {
            try await insert(batch.map(\.row))
            for waiting in batch { waiting.continuation.resume() }
        } catch {
            guard batch.count > 1, retriesAlone(error) else {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
                return
            }
            await withTaskGroup(of: Void.self) { group in
                for waiting in batch {
                    group.addTask {
                        do {
                            try await self.insert([waiting.row])
                            waiting.continuation.resume()
                        } catch {
                            waiting.continuation.resume(throwing: error)
                        }
                    }
                }
            }
        }
    }
}
