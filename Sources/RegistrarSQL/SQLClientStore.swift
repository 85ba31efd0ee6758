public import RegistrarCore
public import SQLKit
import Metrics
import Synchronization

/// The client store over any sql-kit database: plain statements that any SQL dialect with
/// `RETURNING` and `ON CONFLICT` runs: SQLite and PostgreSQL.
///
/// Every operation is a single statement, so each is atomic on its own: an insert is the whole
/// client with its token digest, an update is conditional on the version it read
/// (`WHERE version = ?`, optimistic concurrency), and nothing is ever half-written.
public struct SQLClientStore: ClientStore, KeyStore, TokenStateStore, AuditStore, ClientRevocationLookup {
    /// Where the database is.
    let provider: any SQLDatabaseProvider
    /// Clients decoded by the single-client lookups, keyed by the rows they came from.
    let decoded = DecodedClientCache()

    /// Creates a store over a provider.
    public init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("read") { try await provider.read(body) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("write") { try await provider.write(body) }
    }

    /// Runs a database call, timing it and counting it as in flight (how busy the pool is).
    func measured<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let metrics = DatabaseMetrics.of(operation)
        metrics.inFlight.increment()
        let start = ContinuousClock.now
        defer {
            metrics.inFlight.decrement()
            let elapsed = ContinuousClock.now - start
            metrics.duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try await translated(body)
    }

    /// Runs a database call, its driver errors turned into `StoreError`s.
    func translated<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as StoreError { throw error } catch { throw provider.translate(error) }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("transaction") { try await provider.transaction(body) }
    }

    /// A write of one statement, which the provider may batch with others (``SQLDatabaseProvider/writeStatement(_:)``).
    @discardableResult
    func write(_ statement: SQLQueryString) async throws -> [any SQLRow] {
        try await measured("write") { try await provider.writeStatement(statement) }
    }

    /// The columns of a client's row, in the order every statement here reads and writes them.
    public static let columnNames = [
        "client_id", "document", "created_at", "updated_at", "secret_digest", "registration_token_digest", "version",
        "policy", "dynamically_registered", "expires_at", "last_used_at",
    ]
    /// ``columnNames``, comma-separated, for statements written by hand.
    public static let columns = columnNames.joined(separator: ", ")
    /// The columns an `INSERT` of a client writes: ``columnNames``, then its search terms
    /// (`search`: by default ``searchTermsJSON(of:)``), which the schema's insert triggers index.
    /// Reads never select them.
    public static func insertColumnNames(_ search: SearchTermsColumn = .json) -> [String] { columnNames + [search.name] }
    /// ``insertColumnNames(_:)``, comma-separated.
    public static func insertColumns(_ search: SearchTermsColumn = .json) -> String { insertColumnNames(search).joined(separator: ", ") }

    public func insert(_ client: RegisteredClient) async throws {
        let search = provider.searchTerms
        try await transaction { db in try await Self.insert(client, into: db, search: search) }
    }

    /// A client's search terms as the `search_terms` column holds them: a JSON array of
    /// "kind<TAB>term" strings.
    public static func searchTermsJSON(of client: RegisteredClient) -> String {
        searchTermsJSON(ClientSearchKind.allTerms(of: client))
    }

    /// ``searchTermsJSON(of:)`` of terms already listed (``ClientSearchKind/allTerms(of:)``).
    public static func searchTermsJSON(_ terms: [(ClientSearchKind, String)]) -> String {
        JSONWriter.string(.array(terms.map { .string($0.0.rawValue + "\t" + $0.1) }))
    }

    /// Inserts clients with multi-row statements (all or nothing within the caller's transaction);
    /// each row carries the client's search terms, which the schema's insert triggers index in the
    /// same statement (PostgreSQL's terms table, SQLite's FTS5 index).
    public static func insertRows(_ clients: [RegisteredClient], into db: any SQLDatabase, search: SearchTermsColumn = .json) async throws {
        try await db.raw(insertStatement(clients, search: search)).run()
    }

    /// How much a client with this many search terms (``ClientSearchKind/allTerms(of:)``) adds to a
    /// batch of registrations (a value per column, and three per search term, which its
    /// `search_terms` and its search index entries grow with): the weight by which PostgreSQL's
    /// registration batches are bounded.
    public static func parameterCount(terms: Int) -> Int {
        columnNames.count + 3 * terms
    }

    /// The `INSERT` of clients' rows with their search terms (one statement).
    static func insertStatement(_ clients: [RegisteredClient], search: SearchTermsColumn) -> SQLQueryString {
        let rows = clients.map { client -> SQLQueryString in "(\(valuesList(client)), \(bind: search.value(client)))" }
        return "INSERT INTO clients (\(unsafeRaw: insertColumns(search))) VALUES \(rows.joined(separator: ", "))"
    }

    /// A client's values in the order of ``columns``, for a `VALUES` list.
    static func valuesList(_ client: RegisteredClient) -> SQLQueryString {
        """
        \(bind: client.clientID), \(bind: client.document), \(bind: client.createdAt.milliseconds),
         \(bind: client.updatedAt.milliseconds), \(bind: client.secretDigest),
         \(bind: client.registrationTokenDigest), \(bind: client.version), \(bind: client.policy),
         \(bind: client.dynamicallyRegistered ? 1 : 0), \(bind: client.expiresAt?.milliseconds), \(bind: client.lastUsedAt?.milliseconds)
        """
    }

    static func insert(_ client: RegisteredClient, into db: any SQLDatabase, search: SearchTermsColumn) async throws {
        try await db.raw(insertStatement([client], search: search)).run()
    }

    public func listClients(offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage {
        try await read { db in
            let filter: SQLQueryString = dynamicOnly ? "WHERE dynamically_registered = 1" : ""
            let total = try await db.raw("SELECT COUNT(*) AS n FROM clients \(filter)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM clients \(filter) ORDER BY client_id LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return ClientPage(clients: try rows.map(Self.decode), total: total)
        }
    }

    public func searchClients(kind: ClientSearchKind, prefix: String, offset: Int, limit: Int, dynamicOnly: Bool) async throws -> ClientPage {
        let matches = provider.clientSearchMatches(kind: kind, prefix: prefix.lowercased(), dynamicOnly: dynamicOnly)
        return try await read { db in
            let total = try await db.raw("SELECT COUNT(*) AS n FROM (\(matches)) m").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM clients WHERE client_id IN (\(matches))
                ORDER BY client_id LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return ClientPage(clients: try rows.map(Self.decode), total: total)
        }
    }

    /// Inserts many clients in one transaction, with multi-row statements (for seeding benchmarks and
    /// imports; a duplicate ID fails the whole batch).
    public func insertMany(_ clients: [RegisteredClient]) async throws {
        guard !clients.isEmpty else { return }
        let search = provider.searchTerms
        try await transaction { db in try await Self.insertRows(clients, into: db, search: search) }
    }

    /// Compacts the search index after a bulk load (``insertMany(_:)`` in a loop): on SQLite, the
    /// FTS5 index's segments merged into one (`SearchIndex`), on PostgreSQL nothing.
    public func compactSearchIndex() async throws {
        try await measured("write") { try await provider.compactSearchIndex() }
    }

    /// Rebuilds the search terms of every client (after the migration that introduced them), in
    /// batches: each client's `search_terms` is written again, and the triggers bring the search
    /// index in line with it.
    public func reindexSearchTerms() async throws -> Int {
        let search = provider.searchTerms
        var offset = 0
        var count = 0
        while true {
            let page = try await listClients(offset: offset, limit: 500, dynamicOnly: false)
            if page.clients.isEmpty { break }
            try await transaction { db in
                for client in page.clients {
                    try await db.raw("UPDATE clients SET \(search.assignments(client)) WHERE client_id = \(bind: client.clientID)").run()
                }
            }
            count += page.clients.count
            offset += page.clients.count
        }
        return count
    }

    public func appendAudit(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await write(provider.auditInsert(events))
    }

    /// The columns of `audit_events` an event's insert writes, in the order of
    /// ``auditInsertValues(_:)``'s rows.
    public static let auditColumnNames = ["time", "event", "client_id", "actor_ip", "initial_access_token_id", "admin_client_id", "outcome", "detail"]
    /// ``auditColumnNames``, comma-separated.
    public static let auditColumns = auditColumnNames.joined(separator: ", ")

    /// `INSERT INTO audit_events ... VALUES`, a row of binds per event.
    public static func auditInsertValues(_ events: [AuditEvent]) -> SQLQueryString {
        var values = SQLQueryString("")
        for (index, e) in events.enumerated() {
            if index > 0 { values.appendLiteral(", ") }
            values.appendInterpolation("""
                (\(bind: e.time.milliseconds), \(bind: e.kind.rawValue), \(bind: e.clientID), \(bind: e.actorIP), \
                \(bind: e.initialAccessTokenID), \(bind: e.adminClientID), \(bind: e.outcome), \(bind: e.detail))
                """ as SQLQueryString)
        }
        return "INSERT INTO audit_events (\(unsafeRaw: auditColumns)) VALUES \(values)"
    }

    /// The statement that reads the audit trail, newest first: of one client (through the
    /// provider's ``SQLDatabaseProvider/auditEventsCondition(clientID:)``) or of all.
    func auditEventsQuery(clientID: String?, since: Timestamp?, limit: Int) -> SQLQueryString {
        let client: SQLQueryString = clientID.map { "\(provider.auditEventsCondition(clientID: $0)) AND " } ?? ""
        return """
            SELECT * FROM audit_events WHERE \(client)time >= \(bind: since?.milliseconds ?? Int64.min)
            ORDER BY time DESC, id DESC LIMIT \(bind: limit)
            """
    }

    public func auditEvents(clientID: String?, since: Timestamp?, limit: Int) async throws -> [AuditEvent] {
        let query = auditEventsQuery(clientID: clientID, since: since, limit: limit)
        return try await read { db in
            try await db.raw(query).all().map { row in
                AuditEvent(
                    time: Timestamp(milliseconds: try row.decode(column: "time", as: Int64.self)),
                    kind: AuditEvent.Kind(rawValue: try row.decode(column: "event", as: String.self)) ?? .denied,
                    clientID: try row.decode(column: "client_id", as: String?.self),
                    actorIP: try row.decode(column: "actor_ip", as: String?.self),
                    initialAccessTokenID: try row.decode(column: "initial_access_token_id", as: String?.self),
                    adminClientID: try row.decode(column: "admin_client_id", as: String?.self),
                    outcome: try row.decode(column: "outcome", as: String.self),
                    detail: try row.decode(column: "detail", as: String?.self))
            }
        }
    }

    public func purgeAudit(before: Timestamp) async throws -> Int {
        try await write { db in
            try await db.raw("DELETE FROM audit_events WHERE time < \(bind: before.milliseconds) RETURNING id").all().count
        }
    }

    public func register(_ client: RegisteredClient, spendingToken tokenID: String?, limits: ClientLimits, now: Timestamp) async throws {
        // The common case (no token to spend, no cap to check) has a shorter path: statements
        // shared with other registrations arriving at the same moment (SQLite), or one statement
        // (PostgreSQL).
        if tokenID == nil, !client.dynamicallyRegistered || (limits.total == nil && limits.perPolicy == nil) {
            let batched: Bool? = try await measured("write") { try await provider.insertClientBatched(client) }
            if batched != nil { return }
        }
        let capLock = provider.capLockStatement, search = provider.searchTerms
        try await transaction { db in
            if let tokenID {
                let spent = try await db.raw("""
                    UPDATE initial_access_tokens SET uses = uses + 1
                    WHERE id = \(bind: tokenID) AND revoked_at IS NULL
                      AND (expires_at IS NULL OR expires_at > \(bind: now.milliseconds))
                      AND (max_uses IS NULL OR uses < max_uses)
                    RETURNING id
                    """).first()
                guard spent != nil else { throw StoreError.tokenUnusable }
            }
            if client.dynamicallyRegistered, limits.total != nil || limits.perPolicy != nil {
                if let capLock { try await db.raw(SQLQueryString(capLock)).run() }
                if let total = limits.total, try await Self.countDynamic(policy: nil, at: now, in: db) >= total {
                    throw StoreError.limitReached("all")
                }
                if let perPolicy = limits.perPolicy, try await Self.countDynamic(policy: client.policy, at: now, in: db) >= perPolicy {
                    throw StoreError.limitReached(client.policy)
                }
            }
            try await Self.insert(client, into: db, search: search)
        }
    }

    /// For the metrics and operators, not for a request: a count reads every entry of an index
    /// (about 65 ms for a million clients on SQLite), so it runs as a background read.
    public func countDynamicClients(policy: String?) async throws -> Int {
        try await measured("read") { try await provider.backgroundRead { db in try await Self.countDynamic(policy: policy, at: nil, in: db) } }
    }

    /// `expires_at` of a client that never expires, in counts: written without `OR`, the condition
    /// is read from the `clients_dynamic` index alone, never from the clients' rows.
    static let never = String(Int64.max)

    /// Dynamically registered clients, without those expired at `now` (they count as deleted).
    static func countDynamic(policy: String?, at now: Timestamp?, in db: any SQLDatabase) async throws -> Int {
        let cutoff = now?.milliseconds ?? Int64.min
        let row: (any SQLRow)?
        if let policy {
            row = try await db.raw("""
                SELECT COUNT(*) AS n FROM clients WHERE dynamically_registered = 1 AND policy = \(bind: policy)
                AND COALESCE(expires_at, \(unsafeRaw: Self.never)) > \(bind: cutoff)
                """).first()
        } else {
            row = try await db.raw("""
                SELECT COUNT(*) AS n FROM clients WHERE dynamically_registered = 1 AND COALESCE(expires_at, \(unsafeRaw: Self.never)) > \(bind: cutoff)
                """).first()
        }
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    public func recordUse(_ uses: [String: Timestamp]) async throws {
        guard !uses.isEmpty else { return }
        let batch = uses.sorted { $0.key < $1.key }
        // One statement per 500 clients: UPDATE ... FROM (VALUES ...), which SQLite and PostgreSQL
        // both name column1, column2.
        for chunk in stride(from: 0, to: batch.count, by: 500).map({ Array(batch[$0..<min($0 + 500, batch.count)]) }) {
            var values = SQLQueryString("")
            for (index, (id, time)) in chunk.enumerated() {
                if index > 0 { values.appendLiteral(", ") }
                values.appendInterpolation("(\(bind: id), \(bind: time.milliseconds))" as SQLQueryString)
            }
            try await write("""
                UPDATE clients SET last_used_at = v.column2 FROM (VALUES \(values)) AS v
                WHERE clients.client_id = v.column1 AND (clients.last_used_at IS NULL OR clients.last_used_at < v.column2)
                """)
        }
    }

    /// The reaper's statements. `+dynamically_registered` keeps SQLite's planner off
    /// `clients_dynamic`, whose equality on nearly every client it preferred to the range these
    /// deletes have an index for: it read every dynamic client (with a million, about 100 ms
    /// for the expired ones and a second for the unused, each holding the one writer) to delete
    /// the few whose `expires_at` or `created_at` is in range. PostgreSQL plans by statistics.
    static func staleClientStatements(now: Timestamp, unusedSince: Timestamp?) -> [SQLQueryString] {
        var statements: [SQLQueryString] = ["""
            DELETE FROM clients WHERE +dynamically_registered = 1 AND expires_at IS NOT NULL AND expires_at <= \(bind: now.milliseconds)
            RETURNING client_id
            """]
        if let unusedSince {
            statements.append("""
                DELETE FROM clients WHERE +dynamically_registered = 1 AND last_used_at IS NULL AND created_at < \(bind: unusedSince.milliseconds)
                RETURNING client_id
                """)
        }
        return statements
    }

    public func deleteStaleClients(now: Timestamp, unusedSince: Timestamp?) async throws -> Int {
        try await write { db in
            var deleted = 0
            for statement in Self.staleClientStatements(now: now, unusedSince: unusedSince) {
                deleted += try await db.raw(statement).all().count
            }
            return deleted
        }
    }

    static let tokenColumns = "id, digest, policy, note, created_at, expires_at, max_uses, uses, revoked_at"

    public func insertInitialAccessToken(_ token: InitialAccessToken) async throws {
        try await write { db in
            try await db.raw("""
                INSERT INTO initial_access_tokens (\(unsafeRaw: Self.tokenColumns))
                VALUES (\(bind: token.id), \(bind: token.digest), \(bind: token.policy), \(bind: token.note),
                        \(bind: token.createdAt.milliseconds), \(bind: token.expiresAt?.milliseconds), \(bind: token.maxUses),
                        \(bind: token.uses), \(bind: token.revokedAt?.milliseconds))
                """).run()
        }
    }

    public func initialAccessToken(digest: String) async throws -> InitialAccessToken? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.tokenColumns) FROM initial_access_tokens WHERE digest = \(bind: digest)")
                .first().map(Self.decodeToken)
        }
    }

    public func initialAccessTokens() async throws -> [InitialAccessToken] {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.tokenColumns) FROM initial_access_tokens ORDER BY created_at DESC, id DESC")
                .all().map(Self.decodeToken)
        }
    }

    public func revokeInitialAccessToken(id: String, at time: Timestamp) async throws -> Bool {
        try await write { db in
            try await db.raw("""
                UPDATE initial_access_tokens SET revoked_at = COALESCE(revoked_at, \(bind: time.milliseconds))
                WHERE id = \(bind: id) RETURNING id
                """).first() != nil
        }
    }

    static func decodeToken(_ row: any SQLRow) throws -> InitialAccessToken {
        InitialAccessToken(
            id: try row.decode(column: "id", as: String.self),
            digest: try row.decode(column: "digest", as: String.self),
            policy: try row.decode(column: "policy", as: String.self),
            note: try row.decode(column: "note", as: String?.self),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
            maxUses: try row.decode(column: "max_uses", as: Int64?.self),
            uses: try row.decode(column: "uses", as: Int64.self),
            revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.init(milliseconds:)))
    }

    /// Through the provider's direct path if it has one.
    public func client(id: String) async throws -> RegisteredClient? {
        try await decodedOrCached(storedRow(id: id))
    }

    public func storedClient(id: String) async throws -> StoredClientRow? {
        try await storedRow(id: id)?.row
    }

    public func client(id: String, unlessRevoked jti: String) async throws -> RegisteredClient? {
        try await decodedOrCached(oneRow({ try await $0.row(clientID: id, unlessRevoked: jti) }, else: """
            SELECT \(unsafeRaw: Self.columns) FROM clients
            WHERE client_id = \(bind: id) AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = \(bind: jti))
            """))
    }

    /// The row of the client with this ID.
    private func storedRow(id: String) async throws -> (clientID: String, row: StoredClientRow)? {
        try await oneRow({ try await $0.row(clientID: id) }, else: "SELECT \(unsafeRaw: Self.columns) FROM clients WHERE client_id = \(bind: id)")
    }

    /// The client of a row, decoded or from the cache.
    private func decodedOrCached(_ found: (clientID: String, row: StoredClientRow)?) throws -> RegisteredClient? {
        try found.map { try decoded.client(id: $0.clientID, row: $0.row) }
    }

    /// One client's row: through the provider's direct path (`direct`) if it has one, else by
    /// `query` (a row of ``columns``) on a reader.
    private func oneRow(_ direct: @escaping @Sendable (any ClientRowReader) async throws -> (clientID: String, row: StoredClientRow)?,
                        else query: SQLQueryString) async throws -> (clientID: String, row: StoredClientRow)? {
        if let reader = provider.clientRows {
            return try await measured("read") { try await direct(reader) }
        }
        return try await read { db in try await db.raw(query).first().map(Self.rowValues) }
    }

    /// `SELECT 1 AS one FROM revoked_tokens WHERE jti = ?`: whether an access token is revoked.
    public static let revokedTokenStatement = "SELECT 1 AS one FROM revoked_tokens WHERE jti = ?"

    /// `SELECT <columns> FROM clients WHERE client_id = ?`, in the order of ``columns``.
    public static let selectByClientID = "SELECT \(columns) FROM clients WHERE client_id = ?"

    public func update(_ client: RegisteredClient, expectedVersion: Int64) async throws -> Bool {
        try await update(client, changedFrom: nil, expectedVersion: expectedVersion)
    }

    /// Writes only the columns that differ from `previous`: a column in the `SET` list rewrites
    /// every index on it even when its value is unchanged (four pages instead of one for a
    /// typical update, measured in WAL frames).
    public func update(_ client: RegisteredClient, replacing previous: RegisteredClient) async throws -> Bool {
        guard client.clientID == previous.clientID else { return false }
        return try await update(client, changedFrom: previous, expectedVersion: previous.version)
    }

    /// The row's `UPDATE` (every column, or those that differ from `previous`, and the search terms)
    /// at `expectedVersion`: one statement, in which the schema's triggers update the terms table,
    /// or a row of a statement the provider shares among the updates of a batch.
    func update(_ client: RegisteredClient, changedFrom previous: RegisteredClient?, expectedVersion: Int64) async throws -> Bool {
        let update = Self.rowUpdate(client, changedFrom: previous, expectedVersion: expectedVersion, search: provider.searchTerms)
        return try await measured("write") {
            if let matched = try await provider.updateClientBatched(update) { return matched }
            return try await !provider.writeStatement(update.statement).isEmpty
        }
    }

    /// The columns of `client`'s row that an update writes: the document, `updated_at` and
    /// `version` always; the others only when they differ from `previous` (every one without it),
    /// since a column in the `SET` list rewrites every index on it even when its value is unchanged
    /// (four pages instead of one for a typical update, measured in WAL frames); then the search
    /// terms, which the triggers compare with the old ones.
    static func rowUpdate(_ client: RegisteredClient, changedFrom previous: RegisteredClient?, expectedVersion: Int64,
                          search: SearchTermsColumn) -> ClientRowUpdate {
        typealias Value = ClientRowUpdate.Value
        var set: [(column: String, value: Value)] = [
            ("document", .text(client.document)), ("updated_at", .integer(client.updatedAt.milliseconds)), ("version", .integer(client.version)),
        ]
        func changed<V: Equatable>(_ value: KeyPath<RegisteredClient, V>) -> Bool { previous.map { $0[keyPath: value] != client[keyPath: value] } ?? true }
        if changed(\.secretDigest) { set.append(("secret_digest", .text(client.secretDigest))) }
        if changed(\.registrationTokenDigest) { set.append(("registration_token_digest", .text(client.registrationTokenDigest))) }
        if changed(\.policy) { set.append(("policy", .text(client.policy))) }
        if changed(\.dynamicallyRegistered) { set.append(("dynamically_registered", .integer(client.dynamicallyRegistered ? 1 : 0))) }
        if changed(\.expiresAt) { set.append(("expires_at", .integer(client.expiresAt?.milliseconds))) }
        set.append(contentsOf: search.values(client))
        return ClientRowUpdate(clientID: client.clientID, expectedVersion: expectedVersion, assignments: set)
    }

    public func delete(id: String) async throws -> Bool {
        try await !write("DELETE FROM clients WHERE client_id = \(bind: id) RETURNING client_id").isEmpty
    }

    public func revokeRegistrationToken(clientID: String, digest: String) async throws {
        try await write("""
            UPDATE clients SET registration_token_digest = NULL, version = version + 1
            WHERE client_id = \(bind: clientID) AND registration_token_digest = \(bind: digest)
            """)
    }

    public func count() async throws -> Int {
        try await read { db in
            guard let row = try await db.raw("SELECT COUNT(*) AS n FROM clients").first() else { return 0 }
            return try row.decode(column: "n", as: Int.self)
        }
    }

    public func signingKeys() async throws -> [StoredSigningKey] {
        try await read { db in
            try await db.raw("SELECT kid, algorithm, private_key_pem, created_at, retired_at FROM signing_keys ORDER BY created_at, kid")
                .all().map { row in
                    StoredSigningKey(
                        kid: try row.decode(column: "kid", as: String.self),
                        algorithm: try row.decode(column: "algorithm", as: String.self),
                        privateKeyPEM: try row.decode(column: "private_key_pem", as: String.self),
                        createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                        retiredAt: try row.decode(column: "retired_at", as: Int64?.self).map(Timestamp.init(milliseconds:)))
                }
        }
    }

    public func insertSigningKeyIfNone(_ key: StoredSigningKey) async throws -> Bool {
        try await write { db in
            try await db.raw("""
                INSERT INTO signing_keys (kid, algorithm, private_key_pem, created_at)
                VALUES (\(bind: key.kid), \(bind: key.algorithm), \(bind: key.privateKeyPEM), \(bind: key.createdAt.milliseconds))
                ON CONFLICT DO NOTHING
                RETURNING kid
                """).first() != nil
        }
    }

    public func rotateSigningKey(_ key: StoredSigningKey, at time: Timestamp) async throws {
        try await transaction { db in
            try await db.raw("""
                UPDATE signing_keys SET retired_at = \(bind: time.milliseconds)
                WHERE algorithm = \(bind: key.algorithm) AND retired_at IS NULL
                """).run()
            try await db.raw("""
                INSERT INTO signing_keys (kid, algorithm, private_key_pem, created_at)
                VALUES (\(bind: key.kid), \(bind: key.algorithm), \(bind: key.privateKeyPEM), \(bind: key.createdAt.milliseconds))
                """).run()
        }
    }

    public func useAssertion(jti: String, clientID: String, expiresAt: Timestamp) async throws -> Bool {
        try await !write("""
            INSERT INTO used_assertions (client_id, jti, expires_at)
            VALUES (\(bind: clientID), \(bind: jti), \(bind: expiresAt.milliseconds))
            ON CONFLICT DO NOTHING
            RETURNING jti
            """).isEmpty
    }

    public func revokeAccessToken(jti: String, expiresAt: Timestamp) async throws {
        try await write("""
            INSERT INTO revoked_tokens (jti, expires_at) VALUES (\(bind: jti), \(bind: expiresAt.milliseconds))
            ON CONFLICT DO NOTHING
            """)
    }

    public func isAccessTokenRevoked(jti: String) async throws -> Bool {
        if let reader = provider.clientRows {
            return try await measured("read") { try await reader.isAccessTokenRevoked(jti: jti) }
        }
        return try await read { db in
            try await db.raw("SELECT jti FROM revoked_tokens WHERE jti = \(bind: jti)").first() != nil
        }
    }

    public func purgeExpiredTokenState(now: Timestamp) async throws {
        try await write { db in
            try await db.raw("DELETE FROM used_assertions WHERE expires_at <= \(bind: now.milliseconds)").run()
            try await db.raw("DELETE FROM revoked_tokens WHERE expires_at <= \(bind: now.milliseconds)").run()
        }
    }

    public func serverSecret(named name: String, orInsert candidate: String) async throws -> String {
        try await write { db in
            try await db.raw("""
                INSERT INTO server_secrets (name, value) VALUES (\(bind: name), \(bind: candidate))
                ON CONFLICT (name) DO NOTHING
                """).run()
            guard let row = try await db.raw("SELECT value FROM server_secrets WHERE name = \(bind: name)").first() else {
                throw StoreError.corrupt("server secret \(name) vanished")
            }
            return try row.decode(column: "value", as: String.self)
        }
    }

    static func decode(_ row: any SQLRow) throws -> RegisteredClient {
        let (id, values) = try rowValues(row)
        return try values.client(id: id)
    }

    /// The client ID and the stored values of a row of ``columns``.
    static func rowValues(_ row: any SQLRow) throws -> (clientID: String, row: StoredClientRow) {
        (try row.decode(column: "client_id", as: String.self),
         DecodedClientCache.Row(
            document: try row.decode(column: "document", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            updatedAt: try row.decode(column: "updated_at", as: Int64.self),
            secretDigest: try row.decode(column: "secret_digest", as: String?.self),
            registrationTokenDigest: try row.decode(column: "registration_token_digest", as: String?.self),
            version: try row.decode(column: "version", as: Int64.self),
            policy: try row.decode(column: "policy", as: String.self),
            dynamicallyRegistered: try row.decode(column: "dynamically_registered", as: Int.self) != 0,
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self),
            lastUsedAt: try row.decode(column: "last_used_at", as: Int64?.self)))
    }
}

/// The metrics of database calls, made once per operation (`read`, `write`, `transaction`) rather
/// than for every call through the metrics factory's lock and label lookups. Until the process has
/// a metrics backend (calls made while starting), they are made per call as before, so that none
/// is kept bound to the no-op backend.
struct DatabaseMetrics: Sendable {
    let inFlight: Meter
    let duration: Metrics.Timer

    private static let made = Mutex<[String: DatabaseMetrics]>([:])

    static func of(_ operation: String) -> DatabaseMetrics {
        if let known = made.withLock({ $0[operation] }) { return known }
        let metrics = DatabaseMetrics(
            inFlight: Meter(label: "registrar_database_operations_in_flight"),
            duration: Metrics.Timer(label: "registrar_database_duration_seconds", dimensions: [("operation", operation)]))
        if !(MetricsSystem.factory is NOOPMetricsHandler) { made.withLock { $0[operation] = metrics } }
        return metrics
    }
}
