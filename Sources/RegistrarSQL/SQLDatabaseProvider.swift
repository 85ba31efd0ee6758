public import SQLKit
public import RegistrarCore
import Synchronization

/// How a SQL store reaches its database: a database handle for a read or a write, and the
/// translation of driver errors into ``RegistrarCore/StoreError``s. SQLite hands out its writer
/// or one of its reader connections; PostgreSQL leases a connection from its pool for each call.
public protocol SQLDatabaseProvider: Sendable {
    /// Runs `body` with a database suitable for reads.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` with a database suitable for long reads that no request waits for (the client
    /// count of the metrics): SQLite runs them on a connection and a thread of their own, at a
    /// lower scheduling priority, so that they use the CPU requests leave idle.
    func backgroundRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` with a database suitable for writes.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs one write statement and returns its rows: what `write` does with a body of that one
    /// statement, but a provider may run it together with the other writes of its batch (SQLite's
    /// group commit runs a batch of such statements in one trip to the writer's thread).
    func writeStatement(_ statement: any SQLExpression) async throws -> [any SQLRow]
    /// Runs `body` inside one transaction on one connection: committed if it returns, rolled back
    /// if it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// A statement that, run inside a transaction, makes concurrent cap checks take turns until
    /// commit (a PostgreSQL advisory transaction lock); `nil` when transactions are serial anyway.
    var capLockStatement: String? { get }
    /// Turns a driver error into a `StoreError` (unavailable, duplicate or corrupt).
    func translate(_ error: any Error) -> any Error
    /// Inserts a new client (with its search terms) in fewer round trips than a transaction of its
    /// own: together with other clients arriving at the same time, in multi-row statements
    /// (SQLite's group commit), or in one statement (PostgreSQL); `nil` when the provider has no
    /// such path (then the store runs its own transaction).
    func insertClientBatched(_ client: RegisteredClient) async throws -> Bool?
    /// Runs a client's update together with the other updates arriving at the same time (SQLite's
    /// group commit: one statement for a batch's updates) and says whether the row matched its
    /// expected version; `nil` when the provider has no such path (then the store runs
    /// ``ClientRowUpdate/statement``).
    func updateClientBatched(_ update: ClientRowUpdate) async throws -> Bool?
    /// The statement that selects the `client_id` of every client with a term of `kind` starting
    /// with `prefix` (lower-cased), and only dynamically registered ones if `dynamicOnly`, through
    /// the store's search index (SQLite's FTS5 table, PostgreSQL's table of terms keyed by term):
    /// never a scan of every client.
    func clientSearchMatches(kind: ClientSearchKind, prefix: String, dynamicOnly: Bool) -> SQLQueryString
    /// Rewrites the search index compactly after a bulk load (SQLite's FTS5 index into one segment);
    /// no-op by default.
    func compactSearchIndex() async throws
    /// Reads clients' rows through the driver itself, without SQLKit's statement building and row
    /// decoding; `nil` when the provider has no such path (then the store uses SQLKit).
    var clientRows: (any ClientRowReader)? { get }
    /// The column of a client's row that its schema's triggers index, and its value; by default
    /// `search_terms`, a JSON array of "kind<TAB>term" (``SearchTermsColumn/json``).
    var searchTerms: SearchTermsColumn { get }
    /// The condition on `audit_events` that selects the events of one client: by default
    /// `client_id = ?`, answered by the index on (client_id, time); SQLite narrows it through its
    /// FTS5 index of the events' client IDs first.
    func auditEventsCondition(clientID: String) -> SQLQueryString
    /// The statement that appends a batch of audit events: by default a row of binds per event
    /// (``SQLClientStore/auditInsertValues(_:)``).
    func auditInsert(_ events: [AuditEvent]) -> SQLQueryString
}

/// The column in which a client's row carries its search terms for the schema's triggers to index,
/// and the column's value for a client.
public struct SearchTermsColumn: Sendable {
    /// The column's name.
    public let name: String
    /// A column that this one replaced, set to NULL whenever this one is written, so that a row
    /// written before never has both; `nil` if none.
    public let replaces: String?
    /// The column's value for a client.
    public let value: @Sendable (RegisteredClient) -> String

    public init(name: String, replaces: String? = nil, value: @escaping @Sendable (RegisteredClient) -> String) {
        self.name = name
        self.replaces = replaces
        self.value = value
    }

    /// `search_terms`: a JSON array of "kind<TAB>term" strings (``SQLClientStore/searchTermsJSON(of:)``).
    public static let json = SearchTermsColumn(name: "search_terms", value: SQLClientStore.searchTermsJSON(of:))

    /// The assignments of an `UPDATE` that writes a client's terms.
    func assignments(_ client: RegisteredClient) -> SQLQueryString {
        ClientRowUpdate.setList(values(client))
    }

    /// The same assignments as column names and values (``ClientRowUpdate``).
    func values(_ client: RegisteredClient) -> [(column: String, value: ClientRowUpdate.Value)] {
        var values: [(column: String, value: ClientRowUpdate.Value)] = [(name, .text(value(client)))]
        if let replaces { values.append((replaces, .text(nil))) }
        return values
    }
}

/// Reads one client's row by its ID, straight from the driver; and answers the other lookup every
/// introspection makes, whether an access token was revoked. (Clients are looked up by ID only:
/// registration access tokens are checked against the client named in the URL.)
public protocol ClientRowReader: Sendable {
    /// The client ID and row values of the client with this ID, if any.
    func row(clientID: String) async throws -> (clientID: String, row: DecodedClientCache.Row)?
    /// Whether the access token with this `jti` is in `revoked_tokens`.
    func isAccessTokenRevoked(jti: String) async throws -> Bool
    /// The row of the client with this ID unless the access token `jti` is revoked (`nil` then, or
    /// when there is no such client). By default the two lookups one after the other; a reader
    /// whose every lookup is a round trip answers both in one.
    func row(clientID: String, unlessRevoked jti: String) async throws -> (clientID: String, row: DecodedClientCache.Row)?
}

extension ClientRowReader {
    public func row(clientID: String, unlessRevoked jti: String) async throws -> (clientID: String, row: DecodedClientCache.Row)? {
        guard try await !isAccessTokenRevoked(jti: jti) else { return nil }
        return try await row(clientID: clientID)
    }
}

extension SQLDatabaseProvider {
    public func backgroundRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await read(body)
    }
    public func insertClientBatched(_ client: RegisteredClient) async throws -> Bool? { nil }
    public func updateClientBatched(_ update: ClientRowUpdate) async throws -> Bool? { nil }
    public func writeStatement(_ statement: any SQLExpression) async throws -> [any SQLRow] {
        try await write { db in try await db.rows(of: statement) }
    }
    public func compactSearchIndex() async throws {}
    public var clientRows: (any ClientRowReader)? { nil }
    public var searchTerms: SearchTermsColumn { .json }
    public func auditEventsCondition(clientID: String) -> SQLQueryString { "client_id = \(bind: clientID)" }
    public func auditInsert(_ events: [AuditEvent]) -> SQLQueryString { SQLClientStore.auditInsertValues(events) }
}

extension SQLDatabase {
    /// Runs `statement` and returns its rows.
    public func rows(of statement: any SQLExpression) async throws -> [any SQLRow] {
        let rows = RowCollector()
        try await execute(sql: statement) { row in rows.rows.withLock { $0.append(row) } }
        return rows.rows.withLock { $0 }
    }
}

/// The rows of a statement, appended as SQLKit hands them over.
private final class RowCollector: Sendable {
    let rows = Mutex<[any SQLRow]>([])
}
