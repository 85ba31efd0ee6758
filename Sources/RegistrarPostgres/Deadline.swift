import Synchronization

/// A call ran past its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var description: String { "deadline exceeded" }
}

/// Runs `body` in a task of its own and cancels that task if it has not finished within `duration`.
///
/// With `abandon` (the default, every call a request makes), the call throws ``DeadlineExceeded``
/// at the deadline whether or not the body has stopped: PostgresNIO does not stop a statement that
/// is running when its task is cancelled, so a statement that waits on a lock, on a stalled server
/// or on a connection the driver lost would otherwise hold the request for as long as the
/// database takes, or for ever. The body runs on unseen and its result is dropped; a write it was
/// making may still commit, as with any timeout (a registration answered `503` may exist; never
/// used, the reaper removes it). Cancelling the calling task ends the call at once the same way.
///
/// Without `abandon` (migrations at start-up), the call returns only once the body has finished: a
/// body that completes in spite of the cancellation returns its result, which is the truth about
/// what happened; one that fails after the deadline throws ``DeadlineExceeded``.
///
/// Deadlines are watched by ``DeadlineWatch/shared`` rather than by a timer per call: a timer
/// armed and cancelled for every statement (a sleeping child task in a task group) kept the
/// dispatch manager thread busy, about 9 % of the CPU of a PostgreSQL read.
func withDeadline<T: Sendable>(_ duration: Duration, abandon: Bool = true, watch: DeadlineWatch = .shared,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let answer = DeadlineAnswer<T>()
    let task = Task {
        do { answer.settle(.success(try await body())) } catch { answer.settle(.failure(error)) }
    }
    let ticket = watch.add(deadline: .now + duration) {
        task.cancel()
        if abandon { answer.settle(.failure(DeadlineExceeded())) }
    }
    let result = await withTaskCancellationHandler { await answer.result() } onCancel: {
        task.cancel()
        if abandon { answer.settle(.failure(CancellationError())) }
    }
    let expired = watch.remove(ticket)
    switch result {
    case .success(let value): return value
    case .failure(let error): throw expired ? DeadlineExceeded() : error
    }
}

/// The first outcome of a call under a deadline: the body's, or the deadline's.
final class DeadlineAnswer<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<Result<T, any Error>, Never>?
    }

    private let state = Mutex(State())

    /// Records `result` unless an outcome was recorded already, and hands it to the waiting caller.
    func settle(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<T, any Error>, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    /// The outcome, once there is one.
    func result() async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// The deadlines of the calls in progress, checked by one task every ``tick`` while there are any
/// (and not at all when there are none). A deadline is met to within a tick.
final class DeadlineWatch: Sendable {
    struct Call {
        let deadline: ContinuousClock.Instant
        let cancel: @Sendable () -> Void
        var expired = false
    }

    struct State {
        var calls: [UInt64: Call] = [:]
        var nextTicket: UInt64 = 0
        /// The watcher, waiting for a first call.
        var idle: CheckedContinuation<Void, Never>?
        var started = false
    }

    /// The watch of every PostgreSQL call.
    static let shared = DeadlineWatch(tick: .milliseconds(10))

    let tick: Duration
    private let state = Mutex(State())

    init(tick: Duration) { self.tick = tick }

    /// Watches a call; `cancel` runs once `deadline` has passed, unless the call is removed first.
    func add(deadline: ContinuousClock.Instant, cancel: @escaping @Sendable () -> Void) -> UInt64 {
        let (ticket, wake, start) = state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.calls[ticket] = Call(deadline: deadline, cancel: cancel)
            let wake = state.idle
            state.idle = nil
            let start = !state.started
            state.started = true
            return (ticket, wake, start)
        }
        if start { Task { await self.watch() } }
        wake?.resume()
        return ticket
    }

    /// Stops watching a call; whether its deadline had passed (and it was cancelled).
    func remove(_ ticket: UInt64) -> Bool {
        state.withLock { $0.calls.removeValue(forKey: ticket)?.expired ?? false }
    }

    /// Calls being watched (for tests).
    var count: Int { state.withLock { $0.calls.count } }

    private func watch() async {
        while true {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state in
                    guard state.calls.isEmpty else { return false }
                    state.idle = continuation
                    return true
                }
                if !waiting { continuation.resume() }
            }
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let due = state.withLock { state in
                var due: [@Sendable () -> Void] = []
                for (ticket, call) in state.calls where !call.expired && call.deadline <= now {
                    state.calls[ticket]?.expired = true
                    due.append(call.cancel)
                }
                return due
            }
            for cancel in due { cancel() }
        }
    }
}
