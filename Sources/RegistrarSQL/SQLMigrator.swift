public import Logging
public import SQLKit

/// Applies versioned migrations, each once, in order, each in its own transaction, recording the
/// versions in `schema_migrations`.
public struct SQLMigrator: Sendable {
    /// The migrations, in any order.
    public let migrations: [SQLMigration]
    /// Statement that opens a migration transaction (`BEGIN IMMEDIATE` on SQLite takes the write
    /// lock at once).
    public let begin: String
    /// Statements that take and release a lock held across the whole run, so that two processes
    /// migrating at the same moment take turns (a PostgreSQL advisory lock); `nil` when the
    /// transactions serialise on their own (SQLite).
    public let lock: (take: String, release: String)?

    /// Creates a migrator.
    public init(migrations: [SQLMigration], begin: String = "BEGIN", lock: (take: String, release: String)? = nil) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.begin = begin
        self.lock = lock
    }

    /// Applies what is missing on a single connection (the lock and the transactions need one
    /// session); returns the versions applied.
    @discardableResult
    public func migrate(on db: any SQLDatabase, now: Int64, logger: Logger) async throws -> [Int] {
        if let lock {
            try await db.raw(SQLQueryString(lock.take)).run()
            do {
                let applied = try await migrateLocked(on: db, now: now, logger: logger)
                try await db.raw(SQLQueryString(lock.release)).run()
                return applied
            } catch {
                try? await db.raw(SQLQueryString(lock.release)).run()
                throw error
            }
        }
        return try await migrateLocked(on: db, now: now, logger: logger)
    }

    func migrateLocked(on db: any SQLDatabase, now: Int64, logger: Logger) async throws -> [Int] {
        try await db.raw("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
            """).run()
        var applied: [Int] = []
        for migration in migrations {
            try await db.raw(SQLQueryString(begin)).run()
            do {
                let done = try await db.raw("SELECT version FROM schema_migrations WHERE version = \(bind: migration.version)").first()
                if done == nil {
                    for statement in migration.statements {
                        try await db.raw(SQLQueryString(statement)).run()
                    }
                    try await db.raw("""
                        INSERT INTO schema_migrations (version, name, applied_at)
                        VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now))
                        """).run()
                    applied.append(migration.version)
                }
                try await db.raw("COMMIT").run()
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
        if !applied.isEmpty {
            logger.info("database migrated", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))])
        }
        return applied
    }

    /// The highest applied version, or 0.
    public func currentVersion(on db: any SQLDatabase) async throws -> Int {
        guard let row = try await db.raw("SELECT MAX(version) AS v FROM schema_migrations").first() else { return 0 }
        return try row.decode(column: "v", as: Int?.self) ?? 0
    }
}
