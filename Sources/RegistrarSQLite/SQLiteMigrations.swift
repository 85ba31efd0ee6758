import RegistrarSQL

/// The SQLite schema, version by version. Never edit a released migration; add the next one.
enum SQLiteMigrations {
    static let all: [SQLMigration] = [
        SQLMigration(version: 1, name: "clients, signing keys, server secrets", statements: [
            """
            CREATE TABLE clients (
                client_id TEXT PRIMARY KEY NOT NULL,
                document TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                secret_digest TEXT,
                registration_token_digest TEXT UNIQUE,
                version INTEGER NOT NULL
            )
            """,
            "CREATE INDEX clients_created_at ON clients (created_at)",
            """
            CREATE TABLE signing_keys (
                kid TEXT PRIMARY KEY NOT NULL,
                algorithm TEXT NOT NULL,
                private_key_pem TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE server_secrets (
                name TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            )
            """,
        ]),
        SQLMigration(version: 2, name: "one current signing key per algorithm", statements: [
            "ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER",
            "CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE retired_at IS NULL",
        ]),
    ]
}
