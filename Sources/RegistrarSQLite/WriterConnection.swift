import Foundation
import Logging
import NIOCore
import NIOPosix
import RegistrarCore
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// The one connection that writes, on SQLite's C API, with its statements prepared once and kept.
///
/// Through SQLiteNIO every statement was prepared anew, and preparing a statement on `clients`
/// compiles the schema's search-term triggers into it: measured under load, 46 µs of the
/// writer's 307 µs per update and 29 µs of its 158 µs per delete went to `sqlite3_prepare`. Here a
/// statement is prepared the first time its text is seen and kept (up to ``cacheLimit`` of them).
/// Statements whose text varies with the size of a batch (multi-row inserts of seeded clients, a
/// batch of last-use times: several rows of `VALUES`) and long texts (migrations) are prepared, run
/// and finalized each time: kept, every batch size would be a statement of its own, and the cache
/// would churn. The one exception is a batch of registrations, whose statements up to 32 rows are
/// kept (`ClientInserts.run(_:on:)`, through `execute(_:_:keep:)`). A batch of audit events is one
/// JSON value in a statement of fixed text (`AuditInserts`), kept like any other.
///
/// A call runs on SQLite's thread pool, as SQLiteNIO's did, so that the caller is not blocked while
/// SQLite writes, syncs or waits for a lock: ``withHandle(_:)`` runs several statements in one trip
/// there (a batch of registrations with its `BEGIN` and `COMMIT`). ``withHandleHere(_:)`` runs them
/// on the caller's thread instead, with no busy timeout, for the group committer's batches when
/// commits do not sync. One call at a time holds the connection; SQLite is opened in serialized
/// mode besides.
final class WriterConnection: Sendable {
    let logger: Logger
    /// For SQLKit's future-based API only.
    let eventLoop: any EventLoop
    private let handle: Mutex<Handle?>
    private let tripCount = Atomic<Int>(0)
    private let tripsHereCount = Atomic<Int>(0)

    /// Milliseconds SQLite waits for a lock another connection holds (`PRAGMA busy_timeout`),
    /// except in ``withHandleHere(_:)``.
    static let busyTimeout: Int32 = 5000

    /// Statements kept prepared at most; when full, the cache is emptied and fills again.
    static let cacheLimit = 128
    /// Statements longer than this (in UTF-8 bytes) are not kept.
    static let cacheableLength = 2048
    /// Whether a statement is worth keeping prepared: not a long text, and not one with a list of
    /// several rows of values (`VALUES (?, ?), (?, ?)`), whose text changes with the size of a batch.
    static func isCacheable(_ sql: String) -> Bool {
        let utf8 = sql.utf8
        guard utf8.count <= cacheableLength else { return false }
        // ")" "," then spaces, then "(": one row of values after another.
        var afterRow = false, afterComma = false
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: ")"): afterRow = true; afterComma = false
            case UInt8(ascii: ","): afterComma = afterRow; afterRow = false
            case UInt8(ascii: " "), UInt8(ascii: "\n"): afterRow = false
            case UInt8(ascii: "("): if afterComma { return false }; afterRow = false; afterComma = false
            default: afterRow = false; afterComma = false
            }
        }
        return true
    }

    private init(handle: Handle, logger: Logger) {
        self.logger = logger
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.handle = Mutex(handle)
    }

    /// Opens (creating if needed) the database at `path`. Its settings (busy timeout, journal mode,
    /// cache size) are the store's `PRAGMA`s, run next.
    static func open(path: String, logger: Logger) async throws -> WriterConnection {
        let handle = try await sqliteThreadPool.runIfActive { try Handle(path: path) }
        return WriterConnection(handle: handle, logger: logger)
    }

    /// Runs `body` with the connection on one of SQLite's threads: every statement it runs is part
    /// of one trip.
    func withHandle<T: Sendable>(_ body: @escaping @Sendable (Handle) throws -> T) async throws -> T {
        tripCount.add(1, ordering: .relaxed)
        return try await sqliteThreadPool.runIfActive {
            try self.handle.withLock { handle in
                guard let handle else { throw WriterError(code: SQLITE_MISUSE, message: "the SQLite writer is closed") }
                return try body(handle)
            }
        }
    }

    /// Runs `body` with the connection on the calling thread, which it blocks meanwhile, with no
    /// busy timeout: a lock held by another connection (another process's write) fails the first
    /// statement that needs it at once with `SQLITE_BUSY` (``WriterError/isBusy``) instead of
    /// sleeping on this thread, and the caller can go through ``withHandle(_:)``, which waits.
    func withHandleHere<T>(_ body: (Handle) throws -> T) throws -> T {
        tripsHereCount.add(1, ordering: .relaxed)
        return try handle.withLock { handle in
            guard let handle else { throw WriterError(code: SQLITE_MISUSE, message: "the SQLite writer is closed") }
            handle.setBusyTimeout(0)
            defer { handle.setBusyTimeout(Self.busyTimeout) }
            return try body(handle)
        }
    }

    /// Runs one statement and returns its rows.
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [WriterRow] {
        try await withHandle { try $0.execute(sql, binds) }
    }

    /// The connection as an `SQLDatabase`, for SQLKit's builders and raw statements.
    func sql() -> any SQLDatabase { WriterDatabase(connection: self) }

    /// Closes the connection (finalizing its statements); later calls fail.
    func close() async {
        _ = try? await sqliteThreadPool.runIfActive {
            self.handle.withLock { handle in
                handle?.close()
                handle = nil
            }
        }
    }

    /// Trips to SQLite's thread so far (for tests).
    var trips: Int { tripCount.load(ordering: .relaxed) }

    /// Calls of ``withHandleHere(_:)`` so far (for tests).
    var tripsHere: Int { tripsHereCount.load(ordering: .relaxed) }

    /// Statements kept prepared (for tests).
    var preparedStatements: Int { handle.withLock { $0?.statements.count ?? 0 } }

    /// Whether the statement `sql` is kept prepared (for tests).
    func isPrepared(_ sql: String) -> Bool { handle.withLock { $0?.statements[sql] != nil } }

    /// Statements compiled so far, kept or not (for tests).
    var preparations: Int { handle.withLock { $0?.preparations ?? 0 } }

    /// The open database and its prepared statements. Used only under the connection's lock.
    final class Handle: @unchecked Sendable {
        private let db: OpaquePointer
        fileprivate var statements: [String: OpaquePointer] = [:]
        fileprivate var preparations = 0

        fileprivate init(path: String) throws {
            sqlite_nio_sqlite3_initialize()
            var db: OpaquePointer?
            let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
            let code = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
            guard code == SQLITE_OK, let db else {
                let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
                if let db { sqlite_nio_sqlite3_close_v2(db) }
                throw WriterError(code: code, message: message)
            }
            self.db = db
        }

        /// SQLite's busy timeout for this connection, in milliseconds (0: none).
        fileprivate func setBusyTimeout(_ milliseconds: Int32) {
            sqlite_nio_sqlite3_busy_timeout(db, milliseconds)
        }

        fileprivate func close() {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
            statements.removeAll()
            sqlite_nio_sqlite3_close_v2(db)
        }

        /// Runs `sql` with `binds` and returns its rows. `keep` keeps the statement prepared even
        /// though its text is one of several rows of values (``WriterConnection/isCacheable(_:)``):
        /// for a caller that knows it will run that text again.
        @discardableResult
        func execute(_ sql: String, _ binds: [SQLiteData] = [], keep: Bool = false) throws -> [WriterRow] {
            let (statement, kept) = try prepare(sql, keep: keep)
            defer {
                sqlite_nio_sqlite3_reset(statement)
                if kept { sqlite_nio_sqlite3_clear_bindings(statement) } else { sqlite_nio_sqlite3_finalize(statement) }
            }
            for (index, value) in binds.enumerated() {
                let code = bind(value, at: Int32(index + 1), to: statement)
                guard code == SQLITE_OK else { throw failure(code) }
            }
            var rows: [WriterRow] = []
            var columns: WriterRow.Columns?
            while true {
                switch sqlite_nio_sqlite3_step(statement) {
                case SQLITE_DONE:
                    return rows
                case SQLITE_ROW:
                    let names = columns ?? WriterRow.Columns(statement)
                    columns = names
                    rows.append(WriterRow(columns: names, values: (0..<Int32(names.names.count)).map { Self.value(statement, $0) }))
                case let code:
                    throw failure(code)
                }
            }
        }

        /// The prepared statement for `sql`, and whether it is kept.
        private func prepare(_ sql: String, keep: Bool) throws -> (OpaquePointer, kept: Bool) {
            if let statement = statements[sql] { return (statement, true) }
            let keep = keep || WriterConnection.isCacheable(sql)
            preparations += 1
            var statement: OpaquePointer?
            let flags = keep ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
            let code = sqlite_nio_sqlite3_prepare_v3(db, sql, -1, flags, &statement, nil)
            guard code == SQLITE_OK, let statement else {
                if let statement { sqlite_nio_sqlite3_finalize(statement) }
                throw failure(code == SQLITE_OK ? SQLITE_MISUSE : code)  // OK without a statement: no SQL in the text
            }
            guard keep else { return (statement, false) }
            if statements.count >= WriterConnection.cacheLimit {
                for kept in statements.values { sqlite_nio_sqlite3_finalize(kept) }
                statements.removeAll(keepingCapacity: true)
            }
            statements[sql] = statement
            return (statement, true)
        }

        private func failure(_ code: Int32) -> WriterError {
            WriterError(code: code, message: String(cString: sqlite_nio_sqlite3_errmsg(db)))
        }

        private func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
            switch value {
            case .integer(let value): return sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
            case .float(let value): return sqlite_nio_sqlite3_bind_double(statement, index, value)
            case .null: return sqlite_nio_sqlite3_bind_null(statement, index)
            case .text(let value):
                var value = value
                return value.withUTF8 { bindText(statement, index, $0, transient) }
            case .blob(let buffer):
                return buffer.withUnsafeReadableBytes { bytes in
                    sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start),
                                                   UInt64(bytes.count), transient)
                }
            }
        }

        private static func value(_ statement: OpaquePointer, _ column: Int32) -> SQLiteData {
            switch sqlite_nio_sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER:
                return .integer(SQLiteInt64(sqlite_nio_sqlite3_column_int64(statement, column)))
            case SQLITE_FLOAT:
                return .float(sqlite_nio_sqlite3_column_double(statement, column))
            case SQLITE_TEXT:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                guard count > 0, let bytes = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
                return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
            case SQLITE_BLOB:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                guard count > 0, let bytes = sqlite_nio_sqlite3_column_blob(statement, column) else { return .blob(ByteBuffer()) }
                return .blob(ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: count)))
            default:
                return .null
            }
        }
    }
}

/// SQLite copies a value bound with this destructor.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Binds UTF-8 bytes as text; `destructor` nil (SQLite's `SQLITE_STATIC`) when the bytes outlive the
/// statement's use of them. An empty string has no storage: it is bound as a zero-length text, not
/// as NULL.
func bindText(_ statement: OpaquePointer, _ index: Int32, _ bytes: UnsafeBufferPointer<UInt8>,
              _ destructor: sqlite3_destructor_type?) -> Int32 {
    let start = UnsafeRawPointer(bytes.baseAddress ?? ("" as StaticString).utf8Start)
    return sqlite_nio_sqlite3_bind_text64(statement, index, start.assumingMemoryBound(to: CChar.self), UInt64(bytes.count),
                                          destructor, UInt8(SQLITE_UTF8))
}

/// An error of the writer connection: SQLite's (extended) result code and message.
struct WriterError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var primary: Int32 { code & 0xff }
    /// Another connection holds the lock the statement needed (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    var isBusy: Bool { primary == SQLITE_BUSY || primary == SQLITE_LOCKED }
    /// Extended result codes (`sqlite3.h`; macros Swift does not import).
    static let uniqueFailed = SQLITE_CONSTRAINT | (8 << 8)
    static let primaryKeyFailed = SQLITE_CONSTRAINT | (6 << 8)
    var description: String { "SQLite error \(code): \(message)" }

    /// The store's error for it, as ``SQLiteStore/translate(_:)`` gives for SQLiteNIO's: a duplicate
    /// key is a duplicate, another broken constraint is damage, a busy, locked, full or unwritable
    /// database (or a closed connection) is unavailable.
    var storeError: StoreError {
        switch primary {
        case SQLITE_CONSTRAINT:
            [SQLITE_CONSTRAINT, Self.uniqueFailed, Self.primaryKeyFailed].contains(code) ? .duplicate(message) : .corrupt(message)
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_MISUSE:
            .unavailable(message)
        default:
            .corrupt(message)
        }
    }
}

/// A row returned by the writer connection.
struct WriterRow: SQLRow, Sendable {
    /// The names of a statement's columns, shared by its rows.
    final class Columns: Sendable {
        let names: [String]
        init(_ statement: OpaquePointer) {
            names = (0..<sqlite_nio_sqlite3_column_count(statement)).map { column in
                sqlite_nio_sqlite3_column_name(statement, column).map { String(cString: $0) } ?? ""
            }
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    /// The value of the named column (the first of that name), if there is one.
    func column(_ name: String) -> SQLiteData? {
        columns.names.firstIndex(of: name).map { values[$0] }
    }

    var allColumns: [String] { columns.names }
    func contains(column: String) -> Bool { columns.names.contains(column) }
    func decodeNil(column: String) throws -> Bool { (self.column(column) ?? .null) == .null }
    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let value = self.column(column) else {
            throw DecodingError.keyNotFound(SQLiteRowColumn(name: column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return try SQLiteDataDecoder().decode(D.self, from: value)
    }
}

private struct SQLiteRowColumn: CodingKey {
    let name: String
    var stringValue: String { name }
    var intValue: Int? { nil }
    init(name: String) { self.name = name }
    init?(stringValue: String) { name = stringValue }
    init?(intValue: Int) { nil }
}

/// The writer connection for SQLKit: statements are serialized with SQLite's dialect and run on the
/// writer with their statements kept prepared.
struct WriterDatabase: SQLDatabase {
    let connection: WriterConnection

    var logger: Logger { connection.logger }
    var eventLoop: any EventLoop { connection.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (sql, binds) = try serialize(query)
        for row in try await connection.query(sql, binds) { onRow(row) }
    }

    /// A statement's text in SQLite's dialect and its bound values.
    func serialize(_ query: any SQLExpression) throws -> (sql: String, binds: [SQLiteData]) {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        return (serializer.sql, try serializer.binds.map(Self.data))
    }

    /// A bound value as SQLite data: the common types directly, the rest (optionals, booleans,
    /// JSON) as SQLiteKit encodes them.
    static func data(_ value: any Encodable & Sendable) throws -> SQLiteData {
        switch value {
        case let text as String: .text(text)
        case let integer as Int64: .integer(SQLiteInt64(integer))
        case let integer as Int: .integer(SQLiteInt64(integer))
        default: try SQLiteDataEncoder().encode(value)
        }
    }
}
