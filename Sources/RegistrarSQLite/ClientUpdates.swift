import RegistrarSQL
import SQLiteNIO

/// Clients' updates in the group commit's fast path: the updates queued one after another (with
/// the same columns, of different clients) run as one statement,
/// `UPDATE clients SET ... FROM (VALUES ...) ... RETURNING client_id`, in the order of the rows'
/// `search_id`.
///
/// Why one statement: the search index's update trigger writes FTS5, and FTS5 writes out what it
/// holds in memory as a new segment of the index at every statement's savepoint, and within a
/// statement whenever a document's rowid is below the last one it wrote. A statement per update
/// wrote (and later merged) a segment per update; one statement whose rows go in rowid order
/// writes one per run of updates, as a batch's registrations (``ClientInserts``).
///
/// Each row carries the version its update expects; a row with another version is left alone and
/// is missing from the returned client IDs, which tell each update whether it matched, as its own
/// statement's `RETURNING` would. Two updates of one client never share a statement (the second
/// must see the first's result), nor does an update share one with updates across another
/// statement of the batch, so the batch's writes keep their queue order wherever it matters.
enum ClientUpdates {
    /// Runs `writes` in order on `handle` (inside the batch's transaction): each statement on its
    /// own, each run of updates that may share a statement as one.
    static func run(_ writes: [GroupCommitter.Write], on handle: WriterConnection.Handle) throws -> [GroupCommitter.Outcome] {
        var outcomes: [GroupCommitter.Outcome] = []
        outcomes.reserveCapacity(writes.count)
        var pending: [ClientRowUpdate] = []
        var clients: Set<String> = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            outcomes.append(contentsOf: try run(pending, on: handle).map(GroupCommitter.Outcome.matched))
            pending.removeAll(keepingCapacity: true)
            clients.removeAll(keepingCapacity: true)
        }
        for write in writes {
            switch write {
            case .statement(let statement):
                try flush()
                outcomes.append(.rows(try handle.execute(statement.sql, statement.binds)))
            case .update(let update):
                if let first = pending.first, !first.hasSameColumns(as: update.row) || clients.contains(update.row.clientID) {
                    try flush()
                }
                pending.append(update.row)
                clients.insert(update.row.clientID)
            }
        }
        try flush()
        return outcomes
    }

    /// Runs updates of distinct clients with the same columns as one statement (one alone as a
    /// statement of its own); whether each matched its expected version, in order.
    static func run(_ updates: [ClientRowUpdate], on handle: WriterConnection.Handle) throws -> [Bool] {
        guard updates.count > 1 else {
            return try updates.map { update in
                let (sql, binds) = single(update)
                return try !handle.execute(sql, binds, keep: true).isEmpty
            }
        }
        let size = rows(for: updates.count)
        let (sql, binds) = batch(updates, rows: size)
        let rows = try handle.execute(sql, binds, keep: size <= keptRows)
        var matched: Set<String> = []
        for row in rows { if case .text(let id)? = row.column("client_id") { matched.insert(id) } }
        return updates.map { matched.contains($0.clientID) }
    }

    /// Statements of up to this many rows are kept prepared.
    static let keptRows = 32

    /// The rows of the statement for `count` updates: the next power of two, the rows past the
    /// updates matching no client. A statement for every size would fill the writer's cache of
    /// prepared statements (128, then it starts over, the batch inserts with it): with five sizes
    /// up to ``keptRows``, a set of columns keeps five statements.
    static func rows(for count: Int) -> Int {
        var rows = 2
        while rows < count { rows *= 2 }
        return rows
    }

    /// One update as a statement of its own.
    static func single(_ update: ClientRowUpdate) -> (sql: String, binds: [SQLiteData]) {
        let set = update.assignments.map { "\($0.column) = ?" }.joined(separator: ", ")
        var binds = update.assignments.map { SQLiteData($0.value) }
        binds.append(.text(update.clientID))
        binds.append(.integer(Int(update.expectedVersion)))
        return ("UPDATE clients SET \(set) WHERE client_id = ? AND version = ? RETURNING client_id", binds)
    }

    /// Updates of distinct clients with the same columns as one statement of `rows` rows (at least
    /// `updates.count`; a row past them is all `NULL`, which joins no client): the values joined
    /// to the clients' rows by ID, ordered by `search_id` (FTS5's rowid), then applied where the
    /// version is still the expected one.
    static func batch(_ updates: [ClientRowUpdate], rows: Int) -> (sql: String, binds: [SQLiteData]) {
        let rows = max(rows, updates.count)
        let columns = updates[0].columns
        let set = columns.map { "\($0) = u.\($0)" }.joined(separator: ", ")
        // VALUES names its columns column1, column2...: the client ID, the expected version, then
        // the new values.
        let values = columns.enumerated().map { "v.column\($0.offset + 3) AS \($0.element)" }.joined(separator: ", ")
        let row = "(" + Array(repeating: "?", count: columns.count + 2).joined(separator: ", ") + ")"
        let sql = """
            UPDATE clients SET \(set) FROM (SELECT c.search_id AS registrar_row, v.column2 AS registrar_expected, \(values) \
            FROM (VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))) AS v \
            JOIN clients AS c ON c.client_id = v.column1 ORDER BY c.search_id) AS u \
            WHERE clients.search_id = u.registrar_row AND clients.version = u.registrar_expected RETURNING client_id
            """
        var binds: [SQLiteData] = []
        binds.reserveCapacity(rows * (columns.count + 2))
        for update in updates {
            binds.append(.text(update.clientID))
            binds.append(.integer(Int(update.expectedVersion)))
            for (_, value) in update.assignments { binds.append(SQLiteData(value)) }
        }
        binds.append(contentsOf: repeatElement(.null, count: (rows - updates.count) * (columns.count + 2)))
        return (sql, binds)
    }

}

extension SQLiteData {
    /// A column's value as SQLite binds it (`NULL` for none).
    init(_ value: ClientRowUpdate.Value) {
        switch value {
        case .text(let text): self = text.map(SQLiteData.text) ?? .null
        case .integer(let integer): self = integer.map { .integer(Int($0)) } ?? .null
        }
    }
}
