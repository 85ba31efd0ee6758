import RegistrarCore
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
        SQLMigration(version: 3, name: "policies, client lifetime and use, initial access tokens", statements: [
            "ALTER TABLE clients ADD COLUMN policy TEXT NOT NULL DEFAULT 'anonymous'",
            "ALTER TABLE clients ADD COLUMN dynamically_registered INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE clients ADD COLUMN expires_at INTEGER",
            "ALTER TABLE clients ADD COLUMN last_used_at INTEGER",
            "CREATE INDEX clients_policy ON clients (policy, dynamically_registered)",
            "CREATE INDEX clients_expires_at ON clients (expires_at)",
            "CREATE INDEX clients_unused ON clients (created_at) WHERE last_used_at IS NULL",
            """
            CREATE TABLE initial_access_tokens (
                id TEXT PRIMARY KEY,
                digest TEXT NOT NULL UNIQUE,
                policy TEXT NOT NULL,
                note TEXT,
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                max_uses INTEGER,
                uses INTEGER NOT NULL DEFAULT 0,
                revoked_at INTEGER
            )
            """,
        ]),
        SQLMigration(version: 4, name: "client assertion replay records, revoked access tokens", statements: [
            """
            CREATE TABLE used_assertions (
                client_id TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (client_id, jti)
            )
            """,
            "CREATE INDEX used_assertions_expires_at ON used_assertions (expires_at)",
            """
            CREATE TABLE revoked_tokens (
                jti TEXT PRIMARY KEY,
                expires_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at)",
        ]),
        SQLMigration(version: 5, name: "client search terms, audit trail", statements: [
            """
            CREATE TABLE client_search_terms (
                client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                term TEXT NOT NULL,
                PRIMARY KEY (kind, term, client_id)
            )
            """,
            "CREATE INDEX client_search_terms_client ON client_search_terms (client_id)",
            """
            CREATE TABLE audit_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time INTEGER NOT NULL,
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
        // Search terms in a table that is its own index, kept in step with the clients by triggers.
        // The terms table was a rowid table with two indexes, (kind, term, client_id) for searches
        // and (client_id) for deleting a client's terms: three B-tree entries per term, about 17
        // terms per client, the larger part of a registration's work in SQLite. Now the table is
        // the (kind, term, client_id) key alone; a client's row carries its terms (`search_terms`,
        // a JSON array of "kind<TAB>term"), from which the triggers find the entries to delete.
        // Any connection that writes clients keeps the terms right, with or without foreign keys.
        SQLMigration(version: 7, name: "search terms keyed by term, maintained by triggers", statements: [
            "ALTER TABLE clients ADD COLUMN search_terms TEXT",
            """
            UPDATE clients SET search_terms = (
                SELECT json_group_array(t.kind || char(9) || t.term) FROM client_search_terms t WHERE t.client_id = clients.client_id)
            """,
            """
            CREATE TABLE client_search_terms_by_term (
                kind TEXT NOT NULL,
                term TEXT NOT NULL,
                client_id TEXT NOT NULL,
                PRIMARY KEY (kind, term, client_id)
            ) WITHOUT ROWID
            """,
            """
            INSERT INTO client_search_terms_by_term (kind, term, client_id)
            SELECT kind, term, client_id FROM client_search_terms ORDER BY kind, term, client_id
            """,
            "DROP TABLE client_search_terms",
            "ALTER TABLE client_search_terms_by_term RENAME TO client_search_terms",
        ] + SearchTermTriggers.statements),
        // A new client's terms are indexed after its commit, many clients at a time, instead of by
        // its insert. The terms of common values (a scope, a grant type, a contact's domain) sit
        // at one place in the key for every client, so a batch of 400 clients touches each such
        // page once instead of once per commit of a few clients. Measured with the sqlite3 shell on
        // 200,000 clients, commits of 16: the terms inserted with each commit wrote 124 WAL pages
        // per commit, the terms of 400 clients inserted at once 58 (46 with no terms at all).
        // The insert trigger now only notes the client in `search_terms_pending`, in the same
        // transaction as the client, so a crash loses nothing (an indexer, removed with migration 11,
        // indexed the pending clients in batches after their commit).
        SQLMigration(version: 8, name: "new clients' search terms indexed in batches after commit", statements: [
            "CREATE TABLE search_terms_pending (client_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID",
            "DROP TRIGGER clients_search_terms_insert",
            SearchTermTriggers.pendingInsert,
        ]),
        // No query reads `clients_created_at` (lists are in client ID order, and the reaper's
        // unused clients are found by `clients_unused`); every registration wrote an entry to it.
        // Four interleaved pairs on 200,000 clients without it: register +1 to +12 % (median +5 %),
        // p99 17.2-17.9 ms against 18.7-20.0 ms.
        SQLMigration(version: 9, name: "drop the unused index of clients by creation time", statements: [
            "DROP INDEX clients_created_at",
        ]),
        // No unique index of registration access token digests: a token is checked against the
        // digest stored with the client named in the URL (looked up by ID), and one presented at
        // another client's URL is found through the client its `aud` claim names. That index was
        // the one place each registration wrote at random (a digest's first bytes), one page per
        // client in every commit: on 200,000 clients, 25.5 -> 14.8 KB written per registration and
        // register +9 to +27 % (six interleaved pairs). SQLite cannot drop the index of a column's
        // UNIQUE constraint, so the table is rebuilt without it (rowids kept), with its indexes
        // and triggers as they were.
        SQLMigration(version: 10, name: "no index of registration access token digests", statements: [
            """
            CREATE TABLE clients_rebuilt (
                client_id TEXT PRIMARY KEY NOT NULL,
                document TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                secret_digest TEXT,
                registration_token_digest TEXT,
                version INTEGER NOT NULL,
                policy TEXT NOT NULL DEFAULT 'anonymous',
                dynamically_registered INTEGER NOT NULL DEFAULT 1,
                expires_at INTEGER,
                last_used_at INTEGER,
                search_terms TEXT
            )
            """,
            """
            INSERT INTO clients_rebuilt (rowid, client_id, document, created_at, updated_at, secret_digest, registration_token_digest,
                                         version, policy, dynamically_registered, expires_at, last_used_at, search_terms)
            SELECT rowid, client_id, document, created_at, updated_at, secret_digest, registration_token_digest,
                   version, policy, dynamically_registered, expires_at, last_used_at, search_terms
            FROM clients ORDER BY rowid
            """,
            // Its triggers and indexes go with it (a DROP TABLE fires no trigger).
            "DROP TABLE clients",
            "ALTER TABLE clients_rebuilt RENAME TO clients",
            "CREATE INDEX clients_expires_at ON clients (expires_at)",
            "CREATE INDEX clients_unused ON clients (created_at) WHERE last_used_at IS NULL",
            "CREATE INDEX clients_dynamic ON clients (dynamically_registered, policy, expires_at)",
            SearchTermTriggers.pendingInsert,
            SearchTermTriggers.deleteTrigger,
            SearchTermTriggers.updateTrigger,
        ]),
        // The search terms move from a B-tree keyed by term into an FTS5 index, written by the
        // client's own insert again (no pending list, no catch-up). A B-tree entry per term cost
        // about 3 µs in batches of 250 clients, and its catch-up, the one thing besides the
        // registrations that wrote on the writer, took about a fifth of a registration's CPU under
        // load; FTS5 collects a transaction's terms in memory and writes them as one sorted segment
        // at commit, merging segments later. Measured with the same SQLite on 200,000 clients of
        // the benchmark's shape: 52-77 µs per client as B-tree entries (batches of 250 and 40) against
        // 18-21 µs as FTS5 documents, and 246 MB of terms against 37 MB.
        //
        // Each term is one token: a letter for its kind and the hex digits of its UTF-8 bytes
        // (`SearchIndex`), so that any text is one token of the `ascii` tokenizer, and a prefix
        // search on the term's bytes is an FTS5 prefix query on the token. The index is contentless
        // (the triggers delete a document by its tokens, derived from the row's old terms): a
        // document is the client's terms, its rowid the client's `search_id`. That column, an
        // INTEGER PRIMARY KEY, gives every client a number that `VACUUM` keeps (an implicit rowid
        // it may renumber), so the table is rebuilt with it (the rowids become its values) and
        // `client_id` keeps its unique index.
        SQLMigration(version: 11, name: "search terms in an FTS5 index written with each insert", statements: [
            "DROP TABLE search_terms_pending",
            "DROP TABLE client_search_terms",
            """
            CREATE TABLE clients_rebuilt (
                search_id INTEGER PRIMARY KEY,
                client_id TEXT NOT NULL UNIQUE,
                document TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                secret_digest TEXT,
                registration_token_digest TEXT,
                version INTEGER NOT NULL,
                policy TEXT NOT NULL DEFAULT 'anonymous',
                dynamically_registered INTEGER NOT NULL DEFAULT 1,
                expires_at INTEGER,
                last_used_at INTEGER,
                search_terms TEXT
            )
            """,
            """
            INSERT INTO clients_rebuilt (search_id, client_id, document, created_at, updated_at, secret_digest, registration_token_digest,
                                         version, policy, dynamically_registered, expires_at, last_used_at, search_terms)
            SELECT rowid, client_id, document, created_at, updated_at, secret_digest, registration_token_digest,
                   version, policy, dynamically_registered, expires_at, last_used_at, search_terms
            FROM clients ORDER BY rowid
            """,
            "DROP TABLE clients",
            "ALTER TABLE clients_rebuilt RENAME TO clients",
            "CREATE INDEX clients_expires_at ON clients (expires_at)",
            "CREATE INDEX clients_unused ON clients (created_at) WHERE last_used_at IS NULL",
            "CREATE INDEX clients_dynamic ON clients (dynamically_registered, policy, expires_at)",
            SearchIndex.createTable,
            "INSERT INTO client_search (rowid, terms) SELECT search_id, \(SearchIndex.document(of: "search_terms")) FROM clients WHERE search_terms IS NOT NULL",
            SearchIndex.insertTrigger,
            SearchIndex.deleteTrigger,
            SearchIndex.updateTrigger,
            SearchIndex.optimize,
        ]),
        // A client's FTS5 document is written by Registrar, in a column of its own
        // (`search_document`), instead of being derived by the triggers from the JSON array of
        // `search_terms`: in a registration's profile, SQLite's JSON, hex and string functions
        // spelling the document took about as long as the rest of the trigger. Rows written
        // before keep their `search_terms` (no row is rewritten); the triggers read the document
        // from whichever column a row has, and every later write of a row's terms writes the new
        // column and clears the old one.
        SQLMigration(version: 12, name: "search documents written by Registrar", statements: [
            "ALTER TABLE clients ADD COLUMN search_document TEXT",
            "DROP TRIGGER clients_search_insert",
            "DROP TRIGGER clients_search_delete",
            "DROP TRIGGER clients_search_update",
        ] + SearchIndex.documentTriggers),
        // A client's audit events are found through an FTS5 index of their client IDs instead of
        // the B-tree index on (client_id, time): every event, a read's included, inserted an
        // entry at a random place of that index, which, with reads spread over many clients, cost
        // about as much as the rest of a read's work in SQLite.
        SQLMigration(version: 13, name: "audit events found by client through a full-text index", statements: AuditClientIndex.migration),
    ]
}

/// Since migration 13: a client's audit events are found through `audit_client_search`, an FTS5
/// table with one document per event that has a client ID (rowid: the event's `id`), whose one
/// token is the client ID's (``token(of:)``): the letter `c`, then the hex digits of its UTF-8
/// bytes. FTS5 keeps a statement's tokens in memory and writes them as one sorted segment, merged
/// later, where a B-tree index keyed by client took one insert at a random page per event (about
/// 20 µs an event with a million events in the table, against 2-3 µs, measured with Python's
/// `sqlite3`). Triggers keep it in step with `audit_events`, whichever connection writes: an
/// event's token is inserted with it and deleted with it (FTS5's `delete` command, which needs
/// the tokens the insert wrote, derived again from the row's `client_id`).
enum AuditClientIndex {
    /// A client's events: the ones whose document has the client ID's token. The caller still
    /// compares `client_id`, so the index only narrows the rows read.
    static func query(clientID: String) -> String {
        "\"" + token(of: clientID) + "\""
    }

    /// The token of a client ID: `c` and the hex digits of its bytes, spelled as SQL's `hex` does
    /// (upper-case; the `ascii` tokenizer folds documents and queries alike).
    static func token(of clientID: String) -> String {
        SearchIndex.token(letter: UInt8(ascii: "c"), term: clientID)
    }

    /// The token of a row's `client_id` in SQL (`row`: `NEW` or `OLD`).
    static func token(ofRow row: String) -> String { "'c' || hex(\(row).client_id)" }

    /// `detail=none` and `columnsize=0`: one token per document, found whole, needs no positions
    /// nor sizes; contentless, with deletes by tokens, as `client_search` (``SearchIndex/createTable``).
    static let migration = [
        """
        CREATE VIRTUAL TABLE audit_client_search USING fts5(client, content='', tokenize='ascii', detail='none', columnsize=0)
        """,
        "INSERT INTO audit_client_search (rowid, client) SELECT id, \(token(ofRow: "audit_events")) FROM audit_events WHERE client_id IS NOT NULL",
        "INSERT INTO audit_client_search (audit_client_search) VALUES ('optimize')",
        """
        CREATE TRIGGER audit_events_search_insert AFTER INSERT ON audit_events WHEN NEW.client_id IS NOT NULL BEGIN
            INSERT INTO audit_client_search (rowid, client) VALUES (NEW.id, \(token(ofRow: "NEW")));
        END
        """,
        """
        CREATE TRIGGER audit_events_search_delete AFTER DELETE ON audit_events WHEN OLD.client_id IS NOT NULL BEGIN
            INSERT INTO audit_client_search (audit_client_search, rowid, client) VALUES ('delete', OLD.id, \(token(ofRow: "OLD")));
        END
        """,
        """
        CREATE TRIGGER audit_events_search_update AFTER UPDATE OF id, client_id ON audit_events
        WHEN OLD.id IS NOT NEW.id OR OLD.client_id IS NOT NEW.client_id BEGIN
            INSERT INTO audit_client_search (audit_client_search, rowid, client)
            SELECT 'delete', OLD.id, \(token(ofRow: "OLD")) WHERE OLD.client_id IS NOT NULL;
            INSERT INTO audit_client_search (rowid, client) SELECT NEW.id, \(token(ofRow: "NEW")) WHERE NEW.client_id IS NOT NULL;
        END
        """,
        "DROP INDEX audit_events_client_time",
    ]
}

/// The search index since migration 11: an FTS5 table, `client_search`, with one document per
/// client (rowid: the client's `search_id`) whose tokens are the client's terms. A term's token
/// (``token(kind:term:)``) is the letter of its kind, never a hex digit (``letter(of:)``), then the
/// hex digits of its UTF-8 bytes: `g616263` for the name word "abc". Any text is then one token, and
/// a search for a prefix of a kind is the FTS5 prefix query on the prefix's token
/// (``query(kind:prefix:)``): the hex digits of a byte prefix are a prefix of the term's, and of no
/// other kind's tokens. Triggers keep the documents in step with each row's document, whichever
/// connection writes: `clients.search_document`, which Registrar writes (``document(for:)``, since
/// migration 12), or for a row written before, `clients.search_terms`, a JSON array of
/// "kind<TAB>term" that the triggers spell into a document (``document(of:)``).
enum SearchIndex {
    /// The letter that begins a kind's tokens; ``document(of:)`` spells the same mapping in SQL.
    static func letter(of kind: ClientSearchKind) -> String { String(UnicodeScalar(letterByte(of: kind))) }

    private static func letterByte(of kind: ClientSearchKind) -> UInt8 {
        switch kind {
        case .name: UInt8(ascii: "g")
        case .contacts: UInt8(ascii: "h")
        case .scope: UInt8(ascii: "i")
        case .grantType: UInt8(ascii: "j")
        case .redirectUri: UInt8(ascii: "k")
        }
    }

    /// The token of a term (or of a search prefix) of `kind`. Its hex digits are upper-case, as
    /// SQL's `hex` writes them; the `ascii` tokenizer folds them, in documents and queries alike.
    static func token(kind: ClientSearchKind, term: String) -> String {
        token(letter: letterByte(of: kind), term: term)
    }

    /// `letter`, then the hex digits of `term`'s UTF-8 bytes.
    static func token(letter: UInt8, term: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1 + term.utf8.count * 2)
        appendToken(letter: letter, term: term, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendToken(letter: UInt8, term: String, to out: inout [UInt8]) {
        out.append(letter)
        for byte in term.utf8 {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// The FTS5 query for the clients with a term of `kind` starting with `prefix` (lower-cased).
    static func query(kind: ClientSearchKind, prefix: String) -> String {
        "\"" + token(kind: kind, term: prefix) + "\"*"
    }

    /// Merges the index's segments into one. A bulk load (the upgrade, `registrar bench-seed`)
    /// leaves it in many segments of every size, and the merges FTS5 then does by itself, inside
    /// later commits, reach the large ones: with a million seeded clients, register's p99 was
    /// 28-33 ms against 13-14 ms after this (interleaved pairs, 8 s), and 17.6 ms over 40 s of
    /// registrations. It took 1.7 s for a million clients.
    static let optimize = "INSERT INTO client_search (client_search) VALUES ('optimize')"

    /// `ascii`: tokens are runs of ASCII letters and digits, which every token here is, whole.
    ///
    /// Contentless, and without `contentless_delete`: a document is deleted with FTS5's `delete`
    /// command and its tokens, which the triggers derive from the row's old `search_terms` exactly
    /// as they were inserted, and the deletion goes into the next segment like an insert.
    /// `contentless_delete` keeps a tombstone table per segment instead, rewritten and rebuilt as
    /// it grows: deleting random clients of 200,000 ran at the same rate, but with p99 87-112 ms
    /// against 17-21 ms for the B-tree terms (interleaved pairs, 8 s).
    static let createTable = """
        CREATE VIRTUAL TABLE client_search USING fts5(terms, content='', tokenize='ascii')
        """

    /// The document of a client from its `search_terms` column (`column`, a JSON array of
    /// "kind<TAB>term"): the tokens separated by spaces (``letter(of:)``, spelled
    /// in SQL; `hex` gives upper-case digits, which the tokenizer folds). An unknown kind adds no
    /// token.
    static func document(of column: String) -> String {
        """
        (SELECT group_concat(CASE substr(value, 1, instr(value, char(9)) - 1) \
        WHEN 'name' THEN 'g' WHEN 'contacts' THEN 'h' WHEN 'scope' THEN 'i' WHEN 'grantType' THEN 'j' WHEN 'redirectUri' THEN 'k' END \
        || hex(substr(value, instr(value, char(9)) + 1)), ' ') FROM json_each(\(column)))
        """
    }

    /// The column in which a client's row carries its document (since migration 12; before, the
    /// triggers spelled it from `search_terms`).
    static let column = SearchTermsColumn(name: "search_document", replaces: "search_terms", value: document(for:))

    /// A client's document: its terms' tokens (``token(kind:term:)``) separated by spaces; the same
    /// text as ``document(of:)`` makes from the client's `search_terms` (but for a term with a NUL
    /// character, which SQL's string functions cut short there).
    static func document(for client: RegisteredClient) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        for (kind, term) in ClientSearchKind.allTerms(of: client) {
            if !out.isEmpty { out.append(UInt8(ascii: " ")) }
            appendToken(letter: letterByte(of: kind), term: term, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A row's document in SQL (`row`: `NEW` or `OLD`): its `search_document`, or for a row
    /// written before migration 12, the document spelled from its `search_terms`.
    static func rowDocument(_ row: String) -> String {
        "coalesce(\(row).search_document, \(document(of: "\(row).search_terms")))"
    }

    /// Whether a row has terms to index, in SQL.
    static func hasTerms(_ row: String) -> String {
        "(\(row).search_document IS NOT NULL OR \(row).search_terms IS NOT NULL)"
    }

    /// Since migration 12: the triggers of ``insertTrigger``, ``deleteTrigger`` and
    /// ``updateTrigger`` (same names), with a row's document from ``rowDocument(_:)``.
    static let documentTriggers = [
        """
        CREATE TRIGGER clients_search_insert AFTER INSERT ON clients WHEN \(hasTerms("NEW")) BEGIN
            INSERT INTO client_search (rowid, terms) VALUES (NEW.search_id, \(rowDocument("NEW")));
        END
        """,
        """
        CREATE TRIGGER clients_search_delete AFTER DELETE ON clients WHEN \(hasTerms("OLD")) BEGIN
            INSERT INTO client_search (client_search, rowid, terms) VALUES ('delete', OLD.search_id, \(rowDocument("OLD")));
        END
        """,
        """
        CREATE TRIGGER clients_search_update AFTER UPDATE OF search_terms, search_document ON clients
        WHEN \(rowDocument("OLD")) IS NOT \(rowDocument("NEW")) BEGIN
            INSERT INTO client_search (client_search, rowid, terms)
            SELECT 'delete', OLD.search_id, \(rowDocument("OLD")) WHERE \(hasTerms("OLD"));
            INSERT INTO client_search (rowid, terms) SELECT NEW.search_id, \(rowDocument("NEW")) WHERE \(hasTerms("NEW"));
        END
        """,
    ]

    /// Migration 11's trigger: a new client's document, written with its insert.
    static let insertTrigger = """
        CREATE TRIGGER clients_search_insert AFTER INSERT ON clients WHEN NEW.search_terms IS NOT NULL BEGIN
            INSERT INTO client_search (rowid, terms) VALUES (NEW.search_id, \(document(of: "NEW.search_terms")));
        END
        """

    /// Migration 11's trigger: a deleted client's document goes: its tokens, as the insert wrote
    /// them, are deleted.
    static let deleteTrigger = """
        CREATE TRIGGER clients_search_delete AFTER DELETE ON clients WHEN OLD.search_terms IS NOT NULL BEGIN
            INSERT INTO client_search (client_search, rowid, terms) VALUES ('delete', OLD.search_id, \(document(of: "OLD.search_terms")));
        END
        """

    /// Migration 11's trigger: an update of the terms replaces the document.
    static let updateTrigger = """
        CREATE TRIGGER clients_search_update AFTER UPDATE OF search_terms ON clients
        WHEN OLD.search_terms IS NOT NEW.search_terms BEGIN
            INSERT INTO client_search (client_search, rowid, terms)
            SELECT 'delete', OLD.search_id, \(document(of: "OLD.search_terms")) WHERE OLD.search_terms IS NOT NULL;
            INSERT INTO client_search (rowid, terms) SELECT NEW.search_id, \(document(of: "NEW.search_terms")) WHERE NEW.search_terms IS NOT NULL;
        END
        """
}

/// Migrations 7 to 10: the triggers that kept `client_search_terms` in step with `clients.search_terms` (a JSON array
/// of "kind<TAB>term" strings; the kind has no tab, the term may): a client's terms are deleted
/// with it, and on an update only the terms that changed are deleted or inserted (rewriting all of
/// them dirtied about 50 scattered pages per update). A new client's terms are inserted by
/// an indexer (until migration 11) from `search_terms_pending` (since migration 8; `statements[0]`, the insert
/// trigger of migration 7, did it with the insert).
enum SearchTermTriggers {
    /// Since migration 8: a new client is noted for the indexer, in the insert's transaction.
    static let pendingInsert = """
        CREATE TRIGGER clients_search_terms_insert AFTER INSERT ON clients WHEN NEW.search_terms IS NOT NULL BEGIN
            INSERT OR IGNORE INTO search_terms_pending (client_id) VALUES (NEW.client_id);
        END
        """

    static let kind = "substr(value, 1, instr(value, char(9)) - 1)"
    static let term = "substr(value, instr(value, char(9)) + 1)"
    /// Migration 7's triggers: the insert (replaced by ``pendingInsert`` in migration 8), the
    /// delete and the update.
    static let statements = [
        """
        CREATE TRIGGER clients_search_terms_insert AFTER INSERT ON clients WHEN NEW.search_terms IS NOT NULL BEGIN
            INSERT INTO client_search_terms (kind, term, client_id)
            SELECT \(kind), \(term), NEW.client_id FROM json_each(NEW.search_terms);
        END
        """,
        deleteTrigger,
        updateTrigger,
    ]

    /// A deleted client's terms go, found by their key.
    static let deleteTrigger = """
        CREATE TRIGGER clients_search_terms_delete AFTER DELETE ON clients WHEN OLD.search_terms IS NOT NULL BEGIN
            DELETE FROM client_search_terms
            WHERE (kind, term, client_id) IN (SELECT \(kind), \(term), OLD.client_id FROM json_each(OLD.search_terms));
        END
        """

    /// An update deletes and inserts only the terms that changed.
    static let updateTrigger = """
        CREATE TRIGGER clients_search_terms_update AFTER UPDATE OF search_terms ON clients
        WHEN OLD.search_terms IS NOT NEW.search_terms BEGIN
            DELETE FROM client_search_terms
            WHERE (kind, term, client_id) IN (
                SELECT \(kind), \(term), OLD.client_id FROM json_each(OLD.search_terms)
                WHERE value NOT IN (SELECT value FROM json_each(NEW.search_terms)));
            INSERT OR IGNORE INTO client_search_terms (kind, term, client_id)
            SELECT \(kind), \(term), NEW.client_id FROM json_each(NEW.search_terms);
        END
        """
}
