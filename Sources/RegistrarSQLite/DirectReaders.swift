import Foundation
import RegistrarCore
import RegistrarSQL
import Synchronization
import VaporCSQLite

/// Single-client reads (a client by its ID or by its registration access token's digest) on SQLite
/// connections of their own, through SQLite's C API, on the calling thread.
///
/// Through SQLiteNIO, a read of one indexed row (a few microseconds inside SQLite) cost four thread
/// switches (the request's task, SQLite's thread pool, an event loop for the row and the promise,
/// the task again) and a fresh `sqlite3_prepare` of the statement: together about a fifth of the CPU
/// of a registration read or a token request. Here each connection keeps its two statements
/// prepared, and the lookup runs where the request already is.
///
/// Running SQLite on a task's thread blocks that thread for the lookup: one index probe and one
/// row, pages from SQLite's cache or the operating system's. It never waits for a lock: the
/// connections have no busy timeout, and a lookup SQLite answers `SQLITE_BUSY` (or any other
/// error) is handed to `fallback`, the thread-pool readers, which wait (`busy_timeout`) and turn
/// errors into ``StoreError``s as every other statement does.
final class DirectClientReader: ClientRowReader {
    let path: String
    let fallback: any ClientRowReader
    /// Connections beyond which a lookup that finds none idle goes to `fallback` rather than opening
    /// another (the lookups in progress at once are bounded by the threads that run tasks anyway).
    let limit: Int
    private let pool: Mutex<(idle: [DirectConnection], open: Int, closed: Bool)>

    /// Opens `count` connections at once; more are opened when more lookups run at the same time.
    init(path: String, connections count: Int = 2, limit: Int = 16, fallback: any ClientRowReader) throws {
        self.path = path
        self.fallback = fallback
        self.limit = limit
        var idle: [DirectConnection] = []
        for _ in 0..<count { idle.append(try DirectConnection(path: path)) }
        pool = Mutex((idle, idle.count, false))
    }

    func row(clientID: String) async throws -> (clientID: String, row: DecodedClientCache.Row)? {
        try await lookup({ $0.row(clientID: clientID) }, else: { try await fallback.row(clientID: clientID) })
    }

    func isAccessTokenRevoked(jti: String) async throws -> Bool {
        try await lookup({ $0.isRevoked(jti: jti) }, else: { try await fallback.isAccessTokenRevoked(jti: jti) })
    }

    /// `direct` on a connection of the pool; `fallback` when there is none to have or SQLite did not
    /// answer (a connection no longer fit for use is dropped).
    private func lookup<Value>(_ direct: (DirectConnection) -> DirectConnection.Outcome<Value>,
                               else fallback: () async throws -> Value) async throws -> Value {
        if let connection = take() {
            let outcome = direct(connection)
            if case .retry(keep: false) = outcome { release(connection, keep: false) } else { release(connection, keep: true) }
            switch outcome {
            case .value(let value): return value
            case .corrupt(let error): throw error
            case .retry: break
            }
        }
        return try await fallback()
    }

    /// An idle connection, or a new one below ``limit``; `nil` when there is none to have.
    private func take() -> DirectConnection? {
        enum Taken { case idle(DirectConnection), open, none }
        let taken: Taken = pool.withLock { pool in
            if pool.closed { return .none }
            if let connection = pool.idle.popLast() { return .idle(connection) }
            guard pool.open < limit else { return .none }
            pool.open += 1
            return .open
        }
        switch taken {
        case .idle(let connection): return connection
        case .none: return nil
        case .open:
            // Opened outside the lock; a failure to open leaves the lookup to the fallback.
            if let connection = try? DirectConnection(path: path) { return connection }
            pool.withLock { $0.open -= 1 }
            return nil
        }
    }

    /// Returns a connection to the pool after a lookup, or drops it (it closes when released).
    private func release(_ connection: DirectConnection, keep: Bool) {
        pool.withLock { pool in
            if keep && !pool.closed { pool.idle.append(connection) } else { pool.open -= 1 }
        }
    }

    /// Closes the idle connections; one in use closes when its lookup ends. Later lookups go to the
    /// fallback.
    func close() {
        pool.withLock { pool in
            pool.closed = true
            pool.open -= pool.idle.count
            pool.idle.removeAll()  // each connection closes in its deinit
        }
    }

    /// Connections open, idle or in use (for tests).
    var openConnections: Int { pool.withLock { $0.open } }
}

/// One SQLite connection with its lookups (a client by ID, a revoked token) prepared. Used
/// by one thread at a time: the pool hands it to one lookup and takes it back when it is over.
final class DirectConnection: @unchecked Sendable {
    /// What a lookup found.
    enum Outcome<Value> {
        case value(Value)
        /// SQLite did not answer (busy, locked, an I/O error, ...): ask the fallback; `keep` is
        /// whether this connection is still fit for use.
        case retry(keep: Bool)
        case corrupt(StoreError)
    }

    private let db: OpaquePointer
    private let byClientID: OpaquePointer
    private let revokedToken: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        guard sqlite_nio_sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            throw StoreError.unavailable("cannot open the SQLite database \(path) for reading")
        }
        // No busy timeout (a busy database goes to the fallback instead of sleeping on this
        // thread); statements of this connection can never write.
        sqlite_nio_sqlite3_busy_timeout(handle, 0)
        var lookups: [OpaquePointer] = []
        do {
            func failure(_ what: String) -> StoreError {
                StoreError.unavailable("\(what): \(String(cString: sqlite_nio_sqlite3_errmsg(handle)))")
            }
            guard sqlite_nio_sqlite3_exec(handle, "PRAGMA query_only = 1; PRAGMA cache_size = -4000", nil, nil, nil) == SQLITE_OK else {
                throw failure("cannot set up a reading connection")
            }
            let statements = [SQLClientStore.selectByClientID, SQLClientStore.revokedTokenStatement]
            for sql in statements {
                var statement: OpaquePointer?
                let code = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                guard code == SQLITE_OK, let statement else { throw failure("cannot prepare a lookup") }
                lookups.append(statement)
            }
        } catch {
            for statement in lookups { sqlite_nio_sqlite3_finalize(statement) }
            sqlite_nio_sqlite3_close_v2(handle)
            throw error
        }
        db = handle
        byClientID = lookups[0]
        revokedToken = lookups[1]
    }

    deinit {
        sqlite_nio_sqlite3_finalize(byClientID)
        sqlite_nio_sqlite3_finalize(revokedToken)
        sqlite_nio_sqlite3_close_v2(db)
    }

    /// Whether the token with this `jti` is revoked.
    func isRevoked(jti: String) -> Outcome<Bool> {
        lookup(revokedToken, binding: jti, none: false) { _ in true }
    }

    /// The client with this ID.
    func row(clientID: String) -> Outcome<(clientID: String, row: DecodedClientCache.Row)?> {
        lookup(byClientID, binding: clientID, none: nil) { try Self.values(of: $0) }
    }

    /// Runs `statement` with `value` as its one parameter: `none` when it has no row, `found` of
    /// its first row otherwise. The statement is reset before returning, so the connection holds no
    /// read transaction (and no snapshot that would hold back checkpoints) between lookups.
    private func lookup<Value>(_ statement: OpaquePointer, binding value: String, none: Value,
                               found: (OpaquePointer) throws -> Value) -> Outcome<Value> {
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        var value = value
        let code: Int32 = value.withUTF8 { bytes in
            // SQLITE_STATIC (nil): the bytes outlive the step; the binding is cleared before return.
            let bound = bindText(statement, 1, bytes, nil)
            guard bound == SQLITE_OK else { return bound }
            return sqlite_nio_sqlite3_step(statement)
        }
        switch code {
        case SQLITE_DONE:
            return .value(none)
        case SQLITE_ROW:
            do { return .value(try found(statement)) } catch let error as StoreError {
                return .corrupt(error)
            } catch {
                return .corrupt(StoreError.corrupt("\(error)"))
            }
        default:
            let primary = code & 0xff
            return .retry(keep: primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        }
    }

    /// The values of the current row, in the order of ``SQLClientStore/columnNames``, with the types
    /// the thread-pool path requires.
    static func values(of statement: OpaquePointer) throws -> (clientID: String, row: DecodedClientCache.Row) {
        try ClientColumns.decode(count: Int(sqlite_nio_sqlite3_column_count(statement))) { i in
            let column = Int32(i)
            switch sqlite_nio_sqlite3_column_type(statement, column) {
            case SQLITE_TEXT:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                guard count > 0, let bytes = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
                return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
            case SQLITE_INTEGER: return .integer(sqlite_nio_sqlite3_column_int64(statement, column))
            case SQLITE_NULL: return .null
            default: return .other
            }
        }
    }
}
