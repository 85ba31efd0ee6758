@testable import RegistrarPostgres
import Synchronization
import Testing

/// The per-call deadline of the PostgreSQL store (no server needed).
@Suite("PostgreSQL call deadlines")
struct DeadlineTests {
    @Test("a call that finishes in time returns its value or its own error, and is no longer watched")
    func inTime() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        #expect(try await withDeadline(.seconds(5), watch: watch) { 42 } == 42)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await withDeadline(.seconds(5), watch: watch) { throw Failure() } }
        #expect(watch.count == 0)
    }

    @Test("a call past its deadline is cancelled and fails with DeadlineExceeded within a few ticks")
    func pastDeadline() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        let start = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100), watch: watch) { try await Task.sleep(for: .seconds(30)) }
        }
        let elapsed = ContinuousClock.now - start
        // Cancelled, not finished: the body would sleep 30 s. The bound is loose because a loaded
        // two-core machine running the whole suite in parallel once took 5.9 s to get here.
        #expect(elapsed >= .milliseconds(100) && elapsed < .seconds(20), "\(elapsed)")
        #expect(watch.count == 0)
        // The watcher went idle and wakes again for the next call.
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), watch: watch) { try await Task.sleep(for: .seconds(30)) }
        }
    }

    @Test("a request's call does not wait for a body that ignores the cancellation (a statement the driver cannot stop)")
    func abandonsStuckBody() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        let finished = Mutex(false)
        // Deaf to cancellation, as a PostgresNIO statement is: suspended until the gate opens.
        let gate = Gate()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), watch: watch) { () async throws -> String in
                await gate.wait()
                finished.withLock { $0 = true }
                return "late"
            }
        }
        #expect(!finished.withLock { $0 }, "the call waited for the body")
        #expect(watch.count == 0)
        // The caller's own cancellation ends the call at once too.
        let caller = Task {
            try await withDeadline(.seconds(30), watch: watch) { () async throws -> Int in
                await gate.wait()
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(!finished.withLock { $0 })
        gate.open()
    }

    @Test("without abandon (migrations), a body that completes in spite of the cancellation returns its result")
    func completesAnyway() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        let sawCancel = Mutex(false)
        let value = try await withDeadline(.milliseconds(30), abandon: false, watch: watch) { () async throws -> String in
            let start = ContinuousClock.now
            while !Task.isCancelled && ContinuousClock.now - start < .seconds(5) { await Task.yield() }
            sawCancel.withLock { $0 = Task.isCancelled }
            return "committed"
        }
        #expect(value == "committed")
        #expect(sawCancel.withLock { $0 })
    }

    @Test("cancelling the caller cancels the body")
    func callerCancelled() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        let caller = Task {
            try await withDeadline(.seconds(30), watch: watch) { try await Task.sleep(for: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(watch.count == 0)
    }

    @Test("many calls at once each meet their own deadline")
    func many() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(10))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    do {
                        // Even calls outlive their 50 ms deadline; odd ones finish at once.
                        try await withDeadline(.milliseconds(50), watch: watch) { if i % 2 == 0 { try await Task.sleep(for: .seconds(30)) } }
                        return i % 2 == 1
                    } catch is DeadlineExceeded {
                        return i % 2 == 0
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 200 && outcomes.allSatisfy { $0 })
        #expect(watch.count == 0)
    }
}

/// Suspends callers, whatever their cancellation, until it is opened.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
