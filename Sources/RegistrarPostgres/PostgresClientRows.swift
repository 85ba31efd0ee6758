import Logging
import PostgresNIO
import RegistrarCore
import RegistrarSQL

/// A client by its ID, and whether an access token is revoked, as prepared statements through
/// PostgresNIO, without SQLKit: each pooled connection parses and plans each statement once, and a
/// row's values are decoded by PostgresNIO's own decoders. Through SQLKit a
/// lookup sent its SQL text to be parsed and planned on every call and decoded every column through
/// `Codable`: with the rest of the wrapper about a seventh of the CPU of a PostgreSQL read.
///
/// Calls run like every other: a pooled connection, the deadline, the outage state.
struct PostgresClientRows: ClientRowReader {
    let client: PostgresClient
    let timeout: Duration
    let outage: OutageState
    let logger: Logger

    func row(clientID: String) async throws -> (clientID: String, row: DecodedClientCache.Row)? {
        let logger = self.logger
        return try await PostgresProvider.withConnection(client: client, timeout: timeout, outage: outage) { connection in
            try await Self.first(of: connection.execute(ClientByID(value: clientID), logger: logger))
        }
    }

    func isAccessTokenRevoked(jti: String) async throws -> Bool {
        let logger = self.logger
        return try await PostgresProvider.withConnection(client: client, timeout: timeout, outage: outage) { connection in
            try await Self.first(of: connection.execute(RevokedToken(value: jti), logger: logger)) != nil
        }
    }

    func row(clientID: String, unlessRevoked jti: String) async throws -> (clientID: String, row: DecodedClientCache.Row)? {
        let logger = self.logger
        return try await PostgresProvider.withConnection(client: client, timeout: timeout, outage: outage) { connection in
            try await Self.first(of: connection.execute(ClientByIDUnlessRevoked(clientID: clientID, jti: jti), logger: logger))
        }
    }

    /// The first row, reading the rest of the (unique-key) result so the connection is left clean.
    static func first<Rows: AsyncSequence>(of rows: Rows) async throws -> Rows.Element? {
        var first: Rows.Element?
        for try await row in rows where first == nil { first = row }
        return first
    }

    /// `SELECT <the client's columns> FROM clients WHERE client_id = $1`.
    struct ClientByID: PostgresPreparedStatement {
        static let name = "registrar_client_by_id"
        static let sql = "SELECT \(SQLClientStore.columns) FROM clients WHERE client_id = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        let value: String
        func makeBindings() throws -> PostgresBindings { bindings(value) }
        func decodeRow(_ row: PostgresRow) throws -> (clientID: String, row: DecodedClientCache.Row) { try decode(row) }
    }

    /// A client by its ID, unless an access token is revoked: introspection's two lookups in one
    /// round trip (docs/benchmarks-history.md: `introspect` on PostgreSQL +12 to +42 % in three pairs).
    struct ClientByIDUnlessRevoked: PostgresPreparedStatement {
        static let name = "registrar_client_by_id_unless_revoked"
        static let sql = """
            SELECT \(SQLClientStore.columns) FROM clients
            WHERE client_id = $1 AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .text]
        let clientID: String
        let jti: String
        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(clientID)
            bindings.append(jti)
            return bindings
        }
        func decodeRow(_ row: PostgresRow) throws -> (clientID: String, row: DecodedClientCache.Row) { try decode(row) }
    }

    /// Whether an access token is revoked.
    struct RevokedToken: PostgresPreparedStatement {
        static let name = "registrar_revoked_token"
        static let sql = "SELECT 1 FROM revoked_tokens WHERE jti = $1"
        static let bindingDataTypes: [PostgresDataType] = [.text]
        let value: String
        func makeBindings() throws -> PostgresBindings { bindings(value) }
        func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
    }
}

private func bindings(_ value: String) -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 1)
    bindings.append(value)
    return bindings
}

/// A row of ``SQLClientStore/columnNames``, in that order; a value of another type than its
/// column's is a damaged row.
private func decode(_ row: PostgresRow) throws -> (clientID: String, row: DecodedClientCache.Row) {
    let expected = SQLClientStore.columnNames.count
    guard row.count == expected else { throw StoreError.corrupt("a client row has \(row.count) columns, not \(expected)") }
    do {
        let (id, document, created, updated, secret, token, version, policy, dynamic, expires, lastUsed) = try row.decode(
            (String, String, Int64, Int64, String?, String?, Int64, String, Int32, Int64?, Int64?).self)
        return (id, DecodedClientCache.Row(
            document: document, createdAt: created, updatedAt: updated, secretDigest: secret, registrationTokenDigest: token,
            version: version, policy: policy, dynamicallyRegistered: dynamic != 0, expiresAt: expires, lastUsedAt: lastUsed))
    } catch let error as PostgresDecodingError {
        throw StoreError.corrupt("a client row does not decode: column \(error.columnName) (\(error.columnIndex)) is \(error.postgresType)")
    }
}
