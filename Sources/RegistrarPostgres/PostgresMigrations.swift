import RegistrarSQL

/// The PostgreSQL schema, version by version, kept in step with the SQLite one (same versions,
/// same tables). Never edit a released migration; add the next one.
enum PostgresMigrations {
    static let all: [SQLMigration] = [
        SQLMigration(version: 1, name: "clients, signing keys, server secrets", statements: [
            """
            CREATE TABLE clients (
                client_id TEXT PRIMARY KEY,
                document TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                secret_digest TEXT,
                registration_token_digest TEXT UNIQUE,
                version BIGINT NOT NULL
            )
            """,
            "CREATE INDEX clients_created_at ON clients (created_at)",
            """
            CREATE TABLE signing_keys (
                kid TEXT PRIMARY KEY,
                algorithm TEXT NOT NULL,
                private_key_pem TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE server_secrets (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )
            """,
        ]),
        SQLMigration(version: 2, name: "one current signing key per algorithm", statements: [
            "ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT",
            "CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE retired_at IS NULL",
        ]),
        SQLMigration(version: 3, name: "policies, client lifetime and use, initial access tokens", statements: [
            "ALTER TABLE clients ADD COLUMN policy TEXT NOT NULL DEFAULT 'anonymous'",
            "ALTER TABLE clients ADD COLUMN dynamically_registered INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE clients ADD COLUMN expires_at BIGINT",
            "ALTER TABLE clients ADD COLUMN last_used_at BIGINT",
            "CREATE INDEX clients_policy ON clients (policy, dynamically_registered)",
            "CREATE INDEX clients_expires_at ON clients (expires_at)",
            "CREATE INDEX clients_unused ON clients (created_at) WHERE last_used_at IS NULL",
            """
            CREATE TABLE initial_access_tokens (
                id TEXT PRIMARY KEY,
                digest TEXT NOT NULL UNIQUE,
                policy TEXT NOT NULL,
                note TEXT,
                created_at BIGINT NOT NULL,
                expires_at BIGINT,
                max_uses BIGINT,
                uses BIGINT NOT NULL DEFAULT 0,
                revoked_at BIGINT
            )
            """,
        ]),
        SQLMigration(version: 4, name: "client assertion replay records, revoked access tokens", statements: [
            """
            CREATE TABLE used_assertions (
                client_id TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (client_id, jti)
            )
            """,
            "CREATE INDEX used_assertions_expires_at ON used_assertions (expires_at)",
            """
            CREATE TABLE revoked_tokens (
                jti TEXT PRIMARY KEY,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at)",
        ]),
        SQLMigration(version: 5, name: "client search terms, audit trail", statements: [
            """
            CREATE TABLE client_search_terms (
                client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                term TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (kind, term, client_id)
            )
            """,
            "CREATE INDEX client_search_terms_client ON client_search_terms (client_id)",
            """
            CREATE TABLE audit_events (
                id BIGSERIAL PRIMARY KEY,
                time BIGINT NOT NULL,
                event TEXT NOT NULL,
                client_id TEXT,
                actor_ip TEXT,
                initial_access_token_id TEXT,
                admin_client_id TEXT,
                outcome TEXT NOT NULL,
                detail TEXT
            )
            """,
            "CREATE INDEX audit_events_client_time ON audit_events (client_id, time)",
            "CREATE INDEX audit_events_time ON audit_events (time)",
        ]),
        // Counting dynamically registered clients (the caps, the clients metric) read every
        // client's row through an OR of two index scans; this index answers it on its own.
        SQLMigration(version: 6, name: "index for counting dynamically registered clients", statements: [
            "DROP INDEX clients_policy",
            "CREATE INDEX clients_dynamic ON clients (dynamically_registered, policy, expires_at)",
        ]),
        // As on SQLite: a client's row carries its search terms (`search_terms`, a JSON array of
        // "kind<TAB>term"), and triggers keep `client_search_terms` in step, finding a client's
        // entries by the (kind, term, client_id) key. The (client_id) index, the second index entry
        // of every term, and the foreign key whose cascade needed it, are gone. Inserts and
        // deletes are handled once per statement (transition tables: one join for a reaper's
        // thousand clients or a batch of registrations); an update, per row, only when the terms
        // changed, and then only the terms that differ.
        SQLMigration(version: 7, name: "search terms keyed by term, maintained by triggers", statements: [
            "ALTER TABLE clients ADD COLUMN search_terms TEXT",
            """
            UPDATE clients c SET search_terms = t.terms
            FROM (SELECT client_id, json_agg(kind || E'\\t' || term)::text AS terms FROM client_search_terms GROUP BY client_id) t
            WHERE c.client_id = t.client_id
            """,
            "UPDATE clients SET search_terms = '[]' WHERE search_terms IS NULL",
            "ALTER TABLE client_search_terms DROP CONSTRAINT client_search_terms_client_id_fkey",
            "DROP INDEX client_search_terms_client",
            """
            CREATE FUNCTION registrar_search_terms_of(terms TEXT) RETURNS TABLE (kind TEXT, term TEXT)
            LANGUAGE sql IMMUTABLE AS $$
                SELECT split_part(value, E'\\t', 1), substr(value, strpos(value, E'\\t') + 1)
                FROM json_array_elements_text(COALESCE(terms, '[]')::json) AS value
            $$
            """,
            """
            CREATE FUNCTION registrar_insert_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO client_search_terms (client_id, kind, term)
                SELECT n.client_id, t.kind, t.term FROM inserted_clients n, registrar_search_terms_of(n.search_terms) t;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE FUNCTION registrar_delete_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM client_search_terms s
                USING (SELECT o.client_id, t.kind, t.term FROM deleted_clients o, registrar_search_terms_of(o.search_terms) t) d
                WHERE s.kind = d.kind AND s.term = d.term AND s.client_id = d.client_id;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE FUNCTION registrar_update_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM client_search_terms s
                USING (SELECT * FROM registrar_search_terms_of(OLD.search_terms)
                       EXCEPT SELECT * FROM registrar_search_terms_of(NEW.search_terms)) d
                WHERE s.kind = d.kind AND s.term = d.term AND s.client_id = OLD.client_id;
                INSERT INTO client_search_terms (client_id, kind, term)
                SELECT NEW.client_id, t.kind, t.term FROM registrar_search_terms_of(NEW.search_terms) t
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER clients_search_terms_insert AFTER INSERT ON clients REFERENCING NEW TABLE AS inserted_clients
            FOR EACH STATEMENT EXECUTE FUNCTION registrar_insert_search_terms()
            """,
            """
            CREATE TRIGGER clients_search_terms_delete AFTER DELETE ON clients REFERENCING OLD TABLE AS deleted_clients
            FOR EACH STATEMENT EXECUTE FUNCTION registrar_delete_search_terms()
            """,
            """
            CREATE TRIGGER clients_search_terms_update AFTER UPDATE OF search_terms ON clients
            FOR EACH ROW WHEN (OLD.search_terms IS DISTINCT FROM NEW.search_terms) EXECUTE FUNCTION registrar_update_search_terms()
            """,
        ]),
        // As on SQLite (its migration 9): no query reads `clients_created_at`, and every
        // registration wrote an entry to it.
        SQLMigration(version: 8, name: "drop the unused index of clients by creation time", statements: [
            "DROP INDEX clients_created_at",
        ]),
        // As on SQLite (its migration 10): tokens are checked against the client named in the URL,
        // so nothing looks clients up by token digest, and the unique index of digests, which each
        // registration wrote at a random place, goes.
        SQLMigration(version: 9, name: "no index of registration access token digests", statements: [
            "ALTER TABLE clients DROP CONSTRAINT clients_registration_token_digest_key",
        ]),
    ]

    /// An arbitrary constant naming Registrar's migration lock among advisory locks.
    static let lockKey: Int64 = 0x5245_4749_5354_5241  // "REGISTRA"
}
