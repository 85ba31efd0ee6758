import Synchronization

/// A call ran past its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var description: String { "deadline exceeded" }
}

/// Runs `body` in a task of its own and cancels that task if it has not finished within `duration`;
/// a body that then fails throws ``DeadlineExceeded``. As with a task group, the call returns only
/// once the body has finished, so nothing it started runs on unseen: a body that completes in spite
/// of the cancellation (a statement the server had already committed) returns its result, which is
/// the truth about what happened. Cancelling the calling task cancels the body.
///
/// Deadlines are watched by ``DeadlineWatch/shared`` rather than by a timer per call: a timer
/// armed and cancelled for every statement (a sleeping child task in a task group) kept the
/// dispatch manager thread busy, about 9 % of the CPU of a PostgreSQL read.
func withDeadline<T: Sendable>(_ duration: Duration, watch: DeadlineWatch = .shared,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let ticket = watch.add(deadline: .now + duration) { task.cancel() }
    let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
    let expired = watch.remove(ticket)
    switch result {
    case .success(let value): return value
    case .failure(let error): throw expired ? DeadlineExceeded() : error
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
