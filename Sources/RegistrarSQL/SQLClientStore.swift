public import RegistrarCore
public import SQLKit

/// The client store over any sql-kit database: plain statements that any SQL dialect with
/// `RETURNING` and `ON CONFLICT` runs: SQLite and PostgreSQL.
///
/// Every operation is a single statement, so each is atomic on its own: an insert is the whole
/// client with its token digest, an update is conditional on the version it read
/// (`WHERE version = ?`, optimistic concurrency), and nothing is ever half-written.
public struct SQLClientStore: ClientStore, KeyStore {
    /// Where the database is.
    let provider: any SQLDatabaseProvider

    /// Creates a store over a provider.
    public init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do { return try await provider.read(body) } catch let error as StoreError { throw error } catch { throw provider.translate(error) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do { return try await provider.write(body) } catch let error as StoreError { throw error } catch { throw provider.translate(error) }
    }

    static let columns = "client_id, document, created_at, updated_at, secret_digest, registration_token_digest, version"

    public func insert(_ client: RegisteredClient) async throws {
        try await write { db in
            try await db.raw("""
                INSERT INTO clients (\(unsafeRaw: Self.columns))
                VALUES (\(bind: client.clientID), \(bind: client.document), \(bind: client.createdAt.milliseconds),
                        \(bind: client.updatedAt.milliseconds), \(bind: client.secretDigest),
                        \(bind: client.registrationTokenDigest), \(bind: client.version))
                """).run()
        }
    }

    public func client(id: String) async throws -> RegisteredClient? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM clients WHERE client_id = \(bind: id)")
                .first().map(Self.decode)
        }
    }

    public func client(registrationTokenDigest digest: String) async throws -> RegisteredClient? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM clients WHERE registration_token_digest = \(bind: digest)")
                .first().map(Self.decode)
        }
    }

    public func update(_ client: RegisteredClient, expectedVersion: Int64) async throws -> Bool {
        try await write { db in
            let row = try await db.raw("""
                UPDATE clients SET document = \(bind: client.document), updated_at = \(bind: client.updatedAt.milliseconds),
                    secret_digest = \(bind: client.secretDigest), registration_token_digest = \(bind: client.registrationTokenDigest),
                    version = \(bind: client.version)
                WHERE client_id = \(bind: client.clientID) AND version = \(bind: expectedVersion)
                RETURNING client_id
                """).first()
            return row != nil
        }
    }

    public func delete(id: String) async throws -> Bool {
        try await write { db in
            try await db.raw("DELETE FROM clients WHERE client_id = \(bind: id) RETURNING client_id").first() != nil
        }
    }

    public func revokeRegistrationToken(clientID: String, digest: String) async throws {
        try await write { db in
            try await db.raw("""
                UPDATE clients SET registration_token_digest = NULL, version = version + 1
                WHERE client_id = \(bind: clientID) AND registration_token_digest = \(bind: digest)
                """).run()
        }
    }

    public func count() async throws -> Int {
        try await read { db in
            guard let row = try await db.raw("SELECT COUNT(*) AS n FROM clients").first() else { return 0 }
            return try row.decode(column: "n", as: Int.self)
        }
    }

    public func signingKeys() async throws -> [StoredSigningKey] {
        try await read { db in
            try await db.raw("SELECT kid, algorithm, private_key_pem, created_at FROM signing_keys ORDER BY created_at, kid")
                .all().map { row in
                    StoredSigningKey(
                        kid: try row.decode(column: "kid", as: String.self),
                        algorithm: try row.decode(column: "algorithm", as: String.self),
                        privateKeyPEM: try row.decode(column: "private_key_pem", as: String.self),
                        createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
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
        try RegisteredClient(
            document: try row.decode(column: "document", as: String.self),
            clientID: try row.decode(column: "client_id", as: String.self),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(milliseconds: try row.decode(column: "updated_at", as: Int64.self)),
            secretDigest: try row.decode(column: "secret_digest", as: String?.self),
            registrationTokenDigest: try row.decode(column: "registration_token_digest", as: String?.self),
            version: try row.decode(column: "version", as: Int64.self))
    }
}
